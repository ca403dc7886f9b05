"""Base form (CSRF from Flask-WTF, every text field normalised to NFC and stripped) and the one way a
view saves a submitted form."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field

from app.core.text import nfc
from app.extensions import db

T = TypeVar("T")


class BaseForm(FlaskForm):
    class Meta:
        def bind_field(self, form, unbound_field, options):
            filters = list(unbound_field.kwargs.get("filters", ())) + [nfc]
            return unbound_field.bind(form=form, filters=filters, **options)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # No field may carry NUL (PostgreSQL text cannot): said under the field, like any other rule.
        for field in self:
            if field.type == "HiddenField":  # set by the page, not typed: what it is compared to refuses it
                continue
            if any(isinstance(raw, str) and "\x00" in raw for raw in (field.raw_data or ())):
                field.errors = [*field.errors, _l("Không được chứa ký tự NUL.")]
                valid = False
        return valid


def form_values(form: FlaskForm) -> dict:
    """Every field's data by name, without the CSRF token: the keyword arguments of a `<entity>_save`."""
    return {name: field.data for name, field in form._fields.items() if name != "csrf_token"}


def show_on(field: Field) -> Callable[[Exception], None]:
    """An error handler for form_saved(): the service's message under one field."""

    def on_error(error: Exception) -> None:
        field.errors = [*field.errors, str(error)]

    return on_error


def form_saved(
    form: FlaskForm, save: Callable[[], T], errors: type[Exception], on_error: Callable[[Exception], None]
) -> T | bool | None:
    """On a valid submission: save, commit and return what `save` returned (True when it returned None).

    A rule the service refuses with (`errors`) is rolled back and handed to `on_error`; then, as on a
    GET or an invalid form, None is returned and the view shows the form again.
    """
    if not form.validate_on_submit():
        return None
    try:
        result = save()
    except errors as error:
        db.session.rollback()
        on_error(error)
        return None
    db.session.commit()
    return True if result is None else result
