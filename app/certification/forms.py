"""Certificate forms: entered by hand, corrected, revoked. Values are parsed here, rules live in services."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, StopValidation, ValidationError

from app.core.forms import BaseForm


def parse_day(text: str | None) -> date | None:
    """dd/mm/yyyy (also d/m/yyyy, dd-mm-yyyy, dd.mm.yyyy); None when empty; ValueError when not a day."""
    text = (text or "").strip()
    if not text:
        return None
    for separator in ("-", "."):
        text = text.replace(separator, "/")
    return datetime.strptime(text, "%d/%m/%Y").date()


class DayField(StringField):
    """A date typed as dd/mm/yyyy (the browser's date pickers disagree on formats; this one does not)."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.day = self.data if isinstance(self.data, date) else None  # no value posted keeps the record's day
        if isinstance(self.data, str) and self.data and "\x00" not in self.data:
            try:
                self.day = parse_day(self.data)
            except ValueError:
                self.day = None

    def _value(self):
        if isinstance(self.data, date):
            return self.data.strftime("%d/%m/%Y")
        return super()._value()

    def pre_validate(self, form):
        if self.data and "\x00" in str(self.data):
            raise ValidationError(_l("Không được chứa ký tự NUL."))
        if self.data and getattr(self, "day", None) is None and not isinstance(self.data, date):
            raise ValidationError(_l("Ngày không hợp lệ, hãy ghi dd/mm/yyyy (ví dụ 05/03/2020)."))

    @property
    def value(self) -> date | None:
        if isinstance(self.data, date):
            return self.data
        return getattr(self, "day", None)


def _required(form, field):
    if not str(field.data or "").strip():
        field.errors[:] = []
        raise StopValidation(_l("Bắt buộc nhập."))


def _no_nul(form, field):
    if field.data and "\x00" in str(field.data):
        raise ValidationError(_l("Không được chứa ký tự NUL."))


class CertificateForm(BaseForm):
    # Checked by the service (a clear message in both languages rather than WTForms' "Not a valid choice").
    stars = SelectField(
        _l("Hạng sao"), choices=[SelectChoice(str(s), f"{s} ★") for s in (3, 4, 5)], validate_choice=False
    )
    decision_number = StringField(_l("Số quyết định công nhận"), validators=[_required, _no_nul])
    decision_date = DayField(_l("Ngày quyết định (dd/mm/yyyy)"), validators=[_required])
    score = StringField(_l("Điểm (0–100)"), validators=[Optional(), _no_nul])
    part_a = StringField(_l("Điểm phần A"), validators=[Optional(), _no_nul])
    part_b = StringField(_l("Điểm phần B"), validators=[Optional(), _no_nul])
    part_c = StringField(_l("Điểm phần C"), validators=[Optional(), _no_nul])
    authority = SelectField(_l("Cấp công nhận"))
    kind = SelectField(_l("Loại đánh giá"))
    valid_from = DayField(_l("Có hiệu lực từ (để trống: ngày quyết định)"), validators=[Optional()])
    valid_to = DayField(_l("Có hiệu lực đến hết ngày (để trống: 36 tháng)"), validators=[Optional()])
    # The certificate's version when the page was shown (correction only): checked under the row lock.
    version = HiddenField(validators=[Optional(), Length(max=20)])


class RevokeForm(BaseForm):
    reason = TextAreaField(_l("Lý do thu hồi"), validators=[_required, _no_nul])
    decision_number = StringField(_l("Số quyết định thu hồi"), validators=[_required, _no_nul])
    decision_date = DayField(_l("Ngày quyết định thu hồi (dd/mm/yyyy)"), validators=[_required])
    version = HiddenField(validators=[Optional(), Length(max=20)])


def _plausible_day(form, field):
    """A day the lists can compute with (a status 90 days on from 31/12/9999 does not exist)."""
    day = field.value
    if day is not None and not (1900 <= day.year <= 2200):
        raise ValidationError(_l("Ngày phải từ năm 1900 đến năm 2200."))


class CertificateSearchForm(BaseForm):
    class Meta:
        csrf = False

    q = StringField(_l("Tìm sản phẩm, chủ thể"), validators=[Optional(), Length(max=100)])
    on = DayField(_l("Tình trạng vào ngày"), validators=[Optional(), _plausible_day])
    status = SelectField(_l("Tình trạng"), validators=[Optional()])
    stars = SelectField(_l("Hạng sao"), validators=[Optional()])
    year = SelectField(_l("Năm công nhận"), validators=[Optional()])
