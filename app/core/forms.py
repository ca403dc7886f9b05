"""Base form: CSRF from Flask-WTF, and every text field normalised to NFC and stripped."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from app.core.text import nfc

NUL_MESSAGE = _l("Không được chứa ký tự NUL.")


class BaseForm(FlaskForm):
    class Meta:
        def bind_field(self, form, unbound_field, options):
            filters = list(unbound_field.kwargs.get("filters", ())) + [nfc]
            return unbound_field.bind(form=form, filters=filters, **options)

    def validate(self, extra_validators=None):
        """Every text field refuses NUL (PostgreSQL text cannot hold it), whatever its own validators."""
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and "\x00" in field.data:
                if NUL_MESSAGE not in field.errors:
                    field.errors = [*field.errors, NUL_MESSAGE]
                valid = False
        return valid
