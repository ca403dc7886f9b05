from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from app.core.forms import BaseForm


class AuditFilterForm(BaseForm):
    class Meta:
        csrf = False

    entity = SelectField(_l("Dữ liệu"), validators=[Optional()])
    action = SelectField(
        _l("Thao tác"),
        choices=[
            SelectChoice("", _l("Tất cả")),
            SelectChoice("create", _l("Tạo mới")),
            SelectChoice("update", _l("Sửa")),
            SelectChoice("delete", _l("Xóa")),
        ],
        validators=[Optional()],
    )
    actor = StringField(_l("Người thực hiện"), validators=[Optional(), Length(max=100)])
    date_from = DateField(_l("Từ ngày"), validators=[Optional()])
    date_to = DateField(_l("Đến ngày"), validators=[Optional()])
