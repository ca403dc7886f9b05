"""Base form (CSRF from Flask-WTF, every text field normalised to NFC and stripped) and the one way a
view saves a submitted form."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask_wtf import FlaskForm
from wtforms import DecimalField, Field, IntegerField
from wtforms.widgets import TextInput

from app.core.numbers import NumberError, format_number, parse_number
from app.core.text import nfc
from app.extensions import db

T = TypeVar("T")


class BaseForm(FlaskForm):
    class Meta:
        def bind_field(self, form, unbound_field, options):
            filters = list(unbound_field.kwargs.get("filters", ())) + [nfc]
            return unbound_field.bind(form=form, filters=filters, **options)


class _VietnameseNumber:
    """Reads "12.000", "1.500.000", "2,5" (app/core/numbers.py) and shows a stored value back the same way;
    an ambiguous or malformed number is a field error with its explanation, never a silent 12."""

    integer = False
    grouping = True
    widget = TextInput()  # a type=number input refuses "12.000" in the browser before we can read it

    def __init__(self, *args, **kwargs):
        kwargs["render_kw"] = {"inputmode": "numeric" if self.integer else "decimal", **(kwargs.get("render_kw") or {})}
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist):
        if not valuelist or valuelist[0] is None or not str(valuelist[0]).strip():
            self.data = None
            if valuelist and self.flags.required:
                raise ValueError(self.gettext("This field is required."))
            return
        try:
            self.data = parse_number(valuelist[0], integer=self.integer)
        except NumberError as error:
            self.data = None
            raise ValueError(str(error)) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return format_number(self.data, grouping=self.grouping)


class NumberField(_VietnameseNumber, IntegerField):
    """A whole number (money in đồng, people, years with grouping=False)."""

    integer = True

    def __init__(self, *args, grouping: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.grouping = grouping


class DecimalNumberField(_VietnameseNumber, DecimalField):
    """A number with a decimal comma (areas, outputs, scores)."""


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
