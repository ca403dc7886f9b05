"""Base form (CSRF from Flask-WTF, every text field normalised to NFC and stripped) and the one way a
view saves a submitted form."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import DecimalField, Field, IntegerField, SelectField
from wtforms.validators import ValidationError
from wtforms.widgets import Select, TextInput, html_params

from app.core.numbers import NumberError, format_number, parse_number
from app.core.text import nfc
from app.extensions import db

T = TypeVar("T")


# WTForms' own messages (it ships no Vietnamese): its English text → our Vietnamese source string, which the
# English catalogue turns back into English. Placeholders are filled by WTForms after translation.
WTFORMS_MESSAGES = {
    "This field is required.": _l("Trường này là bắt buộc."),
    "Invalid input.": _l("Giá trị không hợp lệ."),
    "Invalid email address.": _l("Địa chỉ email không hợp lệ."),
    "Not a valid choice.": _l("Lựa chọn không hợp lệ."),
    "Invalid Choice: could not coerce.": _l("Lựa chọn không hợp lệ."),
    "Invalid choice(s): one or more data inputs could not be coerced.": _l("Lựa chọn không hợp lệ."),
    "Not a valid integer value.": _l("Hãy nhập một số nguyên."),
    "Not a valid decimal value.": _l("Hãy nhập một số."),
    "Not a valid float value.": _l("Hãy nhập một số."),
    "Not a valid date value.": _l("Ngày không hợp lệ (dd/mm/yyyy)."),
    "Not a valid datetime value.": _l("Thời điểm không hợp lệ."),
    "Number must be at least %(min)s.": _l("Số phải từ %(min)s trở lên."),
    "Number must be at most %(max)s.": _l("Số không được lớn hơn %(max)s."),
    "Number must be between %(min)s and %(max)s.": _l("Số phải từ %(min)s đến %(max)s."),
    "Field must be at least %(min)d character long.": _l("Phải có ít nhất %(min)d ký tự."),
    "Field must be at least %(min)d characters long.": _l("Phải có ít nhất %(min)d ký tự."),
    "Field cannot be longer than %(max)d character.": _l("Không được dài quá %(max)d ký tự."),
    "Field cannot be longer than %(max)d characters.": _l("Không được dài quá %(max)d ký tự."),
    "Field must be exactly %(max)d character long.": _l("Phải có đúng %(max)d ký tự."),
    "Field must be exactly %(max)d characters long.": _l("Phải có đúng %(max)d ký tự."),
    "Field must be between %(min)d and %(max)d characters long.": _l("Phải có từ %(min)d đến %(max)d ký tự."),
    "Field must be equal to %(other_name)s.": _l("Phải trùng với %(other_name)s."),
    "Invalid value, must be one of: %(values)s.": _l("Giá trị phải là một trong: %(values)s."),
    "Invalid value, can't be any of: %(values)s.": _l("Giá trị không được là: %(values)s."),
    "The CSRF token is missing.": _l("Phiên làm việc đã hết hạn, hãy tải lại trang và thử lại."),
    "The CSRF token has expired.": _l("Phiên làm việc đã hết hạn, hãy tải lại trang và thử lại."),
    "The CSRF token is invalid.": _l("Phiên làm việc đã hết hạn, hãy tải lại trang và thử lại."),
    "The CSRF tokens do not match.": _l("Phiên làm việc đã hết hạn, hãy tải lại trang và thử lại."),
    "The CSRF session token is missing.": _l("Phiên làm việc đã hết hạn, hãy tải lại trang và thử lại."),
}


class _Messages:
    """WTForms' translations object: its messages in the UI's language."""

    def gettext(self, string):
        message = WTFORMS_MESSAGES.get(string)
        return string if message is None else str(message)

    def ngettext(self, singular, plural, n):
        return self.gettext(singular if n == 1 else plural)


MESSAGES = _Messages()


class BaseForm(FlaskForm):
    class Meta:
        def bind_field(self, form, unbound_field, options):
            filters = list(unbound_field.kwargs.get("filters", ())) + [nfc]
            return unbound_field.bind(form=form, filters=filters, **options)

        def get_translations(self, form):
            return MESSAGES

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


_NOT_A_CHOICE = "Not a valid choice."  # WTForms' message, translated through WTFORMS_MESSAGES


class Options(tuple):
    """A select's (value, label) choices built once and shared by many requests (a province's communes, the
    product sets): each option's coerced value and escaped tag are then worked out once per list, not on every
    render and validation (WTForms builds an object per option twice per request: 5 ms for 175 communes)."""

    def prepared(self, coerce) -> list[tuple[object, str]]:
        cache = self.__dict__.setdefault("_prepared", {})
        if coerce not in cache:
            cache[coerce] = [(coerce(v), f'value="{escape(v)}">{escape(label)}</option>') for v, label in self]
        return cache[coerce]


class _QuickSelect(Select):
    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        for flag in self.validation_attrs:  # as WTForms' Select: required, disabled
            if getattr(field.flags, flag, False) and flag not in kwargs:
                kwargs[flag] = True
        html = [f"<select {html_params(name=field.name, **kwargs)}>"]
        # As WTForms writes them (attributes in alphabetical order): <option selected value="1">…</option>
        html += [
            ("<option selected " if value == field.data else "<option ") + rest for value, rest in field.prepared()
        ]
        html.append("</select>")
        return Markup("".join(html))


class QuickSelectField(SelectField):
    """A SelectField for long lists of plain (value, label) choices, best given as `Options`: validation compares
    the coerced values, rendering joins the pre-escaped options. Same HTML and errors as SelectField."""

    widget = _QuickSelect()

    def prepared(self) -> list[tuple[object, str]]:
        choices = self.choices if isinstance(self.choices, Options) else Options(self.choices or ())
        return choices.prepared(self.coerce)

    def pre_validate(self, form):
        if self.process_errors or not self.validate_choice:
            return
        if self.choices is None:
            raise TypeError("Choices cannot be None.")
        if not any(value == self.data for value, _rest in self.prepared()):
            raise ValidationError(self.invalid_choice_message or self.gettext(_NOT_A_CHOICE))


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
