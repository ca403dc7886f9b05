from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.core.forms import BaseForm


class LoginForm(BaseForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(), Length(max=200)])


class SetPasswordForm(BaseForm):
    password = PasswordField(_l("Mật khẩu mới"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Nhập lại mật khẩu"),
        validators=[DataRequired(), EqualTo("password", message=_l("Hai mật khẩu không khớp."))],
    )


class ChangePasswordForm(SetPasswordForm):
    current = PasswordField(_l("Mật khẩu hiện tại"), validators=[DataRequired()])


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserForm(BaseForm):
    full_name = StringField(_l("Họ và tên"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    roles = CheckboxList(_l("Vai trò"), validators=[DataRequired(message=_l("Chọn ít nhất một vai trò."))])
    unit_id = SelectField(_l("Đơn vị hành chính (xã/phường)"), coerce=int, validators=[Optional()])
    producer_id = SelectField(_l("Chủ thể (với tài khoản chủ thể OCOP)"), coerce=int, validators=[Optional()])
    active = BooleanField(_l("Đang hoạt động"), default=True)


class UserSearchForm(BaseForm):
    class Meta:
        csrf = False

    q = StringField(_l("Tìm theo tên hoặc email"), validators=[Optional(), Length(max=100)])
    role = SelectField(_l("Vai trò"), validators=[Optional()])
