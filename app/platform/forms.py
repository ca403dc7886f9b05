from flask_babel import lazy_gettext as _l
from wtforms import EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from app.core.acts import SELECTABLE_ACTS
from app.core.forms import BaseForm

CRITERIA_ACTS = [SelectChoice(act, act) for act in SELECTABLE_ACTS]


class TenantForm(BaseForm):
    slug = StringField(
        _l("Mã đường dẫn (slug)"),
        validators=[
            DataRequired(),
            Length(max=64),
            Regexp(r"^[a-z0-9]+(-[a-z0-9]+)*$", message=_l("Chỉ dùng chữ thường không dấu, số và dấu gạch ngang.")),
        ],
    )
    name = StringField(_l("Tên tỉnh"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Tên tiếng Anh"), validators=[DataRequired(), Length(max=200)])
    official_code = StringField(_l("Mã tỉnh (GSO)"), validators=[Optional(), Length(max=16)])
    standing_agency = StringField(_l("Cơ quan thường trực"), validators=[DataRequired(), Length(max=500)])
    criteria_act = SelectField(_l("Bộ tiêu chí áp dụng"), choices=CRITERIA_ACTS)


class TenantAdminForm(BaseForm):
    full_name = StringField(_l("Họ và tên"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
