from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.core.forms import BaseForm, NumberField
from app.registry.forms import optional_int


class CycleOpenForm(BaseForm):
    year = NumberField(_l("Năm"), grouping=False, validators=[DataRequired(), NumberRange(min=2018, max=2100)])


class CycleWindowsForm(BaseForm):
    ideas_from = DateField(_l("Nhận ý tưởng từ"), validators=[DataRequired()])
    ideas_until = DateField(_l("đến"), validators=[DataRequired()])
    plans_from = DateField(_l("Nhận phương án kinh doanh từ"), validators=[DataRequired()])
    plans_until = DateField(_l("đến"), validators=[DataRequired()])
    dossiers_from = DateField(_l("Nộp hồ sơ từ"), validators=[DataRequired()])
    dossiers_until = DateField(_l("đến"), validators=[DataRequired()])


class ApplicationStartForm(BaseForm):
    product_id = SelectField(_l("Sản phẩm"), coerce=optional_int, validators=[DataRequired()])
    kind = SelectField(_l("Loại đánh giá"), validators=[DataRequired()])
    idea_summary = TextAreaField(_l("Ý tưởng sản phẩm (với đánh giá mới)"), validators=[Optional(), Length(max=5000)])
    target_stars = SelectField(_l("Hạng sao đề nghị (với nâng hạng)"), coerce=optional_int, validators=[Optional()])


class ApplicationActForm(BaseForm):
    reason = TextAreaField(_l("Lý do / ghi chú"), validators=[Optional(), Length(max=5000)])
    business_plan = TextAreaField(_l("Tóm tắt phương án kinh doanh"), validators=[Optional(), Length(max=20000)])
    idea_summary = TextAreaField(_l("Ý tưởng sản phẩm"), validators=[Optional(), Length(max=5000)])
    # The status the page showed: an action on a record someone else moved meanwhile is refused.
    expected_status = HiddenField(validators=[Optional(), Length(max=32)])


class PipelineFilterForm(BaseForm):
    class Meta:
        csrf = False

    year = NumberField(_l("Năm"), grouping=False, validators=[Optional()])
    q = StringField(_l("Tìm sản phẩm, chủ thể"), validators=[Optional(), Length(max=100)])
    status = SelectField(_l("Trạng thái"), validators=[Optional()])
    kind = SelectField(_l("Loại đánh giá"), validators=[Optional()])
    unit_id = SelectField(_l("Xã/phường"), coerce=optional_int, validators=[Optional()])
