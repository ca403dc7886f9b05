"""Base form: CSRF from Flask-WTF, and every text field normalised to NFC and stripped."""

from flask_wtf import FlaskForm

from app.core.text import nfc


class BaseForm(FlaskForm):
    class Meta:
        def bind_field(self, form, unbound_field, options):
            filters = list(unbound_field.kwargs.get("filters", ())) + [nfc]
            return unbound_field.bind(form=form, filters=filters, **options)
