from flask_babel import lazy_gettext as _l
from wtforms import EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from app.core.forms import BaseForm, DecimalNumberField, NumberField, QuickSelectField

# The largest values the columns hold (bigint, integer, numeric(14, 2)): beyond them a form error, not a 500.
MAX_ID = MAX_BIGINT = 2**63 - 1
MAX_INTEGER = 2**31 - 1
MAX_NUMERIC_14_2 = 10**12 - 1


def optional_int(value):
    """An id chosen in a select (0 or empty: none); one no row can have is not a choice (ValueError)."""
    if value in (None, "", "0", 0):
        return None
    number = int(value)
    if not 0 < number <= MAX_ID:
        raise ValueError("no such id")
    return number


class _TextForm(BaseForm):
    def validate(self, extra_validators=None):
        """Every text field refuses NUL (PostgreSQL text cannot hold it): a message, not a 500."""
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and "\x00" in field.data:
                field.errors = [*field.errors, _l("Không được chứa ký tự NUL.")]
                valid = False
        return valid


class ProducerForm(_TextForm):
    name = StringField(_l("Tên chủ thể"), validators=[DataRequired(), Length(max=300)])
    kind = SelectField(_l("Loại hình"), validators=[DataRequired()])
    registration_no = StringField(_l("Mã số đăng ký kinh doanh"), validators=[Optional(), Length(max=64)])
    address = StringField(_l("Địa chỉ"), validators=[Optional(), Length(max=500)])
    unit_id = QuickSelectField(_l("Xã/phường"), coerce=optional_int, validators=[Optional()])
    representative = StringField(_l("Người đại diện"), validators=[Optional(), Length(max=200)])
    phone = StringField(_l("Điện thoại"), validators=[Optional(), Length(max=32)])
    email = EmailField(_l("Email"), validators=[Optional(), Email(), Length(max=254)])
    capital_vnd = NumberField(_l("Vốn (đồng)"), validators=[Optional(), NumberRange(min=0, max=MAX_BIGINT)])
    workforce = NumberField(_l("Số lao động"), validators=[Optional(), NumberRange(min=0, max=MAX_INTEGER)])
    land_area_m2 = DecimalNumberField(
        _l("Diện tích đất (m²)"), validators=[Optional(), NumberRange(min=0, max=MAX_NUMERIC_14_2)]
    )
    members = NumberField(_l("Số thành viên"), validators=[Optional(), NumberRange(min=0, max=MAX_INTEGER)])


class ProductForm(_TextForm):
    name = StringField(_l("Tên sản phẩm"), validators=[DataRequired(), Length(max=300)])
    producer_id = SelectField(_l("Chủ thể"), coerce=optional_int, validators=[DataRequired()])
    product_set_id = QuickSelectField(_l("Bộ sản phẩm"), coerce=optional_int, validators=[DataRequired()])
    unit_id = QuickSelectField(_l("Xã/phường sản xuất"), coerce=optional_int, validators=[Optional()])
    other_units = StringField(_l("Các xã khác"), validators=[Optional(), Length(max=500)])
    raw_material_area = StringField(_l("Vùng nguyên liệu"), validators=[Optional(), Length(max=500)])
    capacity = StringField(_l("Công suất"), validators=[Optional(), Length(max=300)])
    annual_output = DecimalNumberField(
        _l("Sản lượng năm"), validators=[Optional(), NumberRange(min=0, max=MAX_NUMERIC_14_2)]
    )
    output_unit = StringField(_l("Đơn vị sản lượng"), validators=[Optional(), Length(max=32)])
    markets = TextAreaField(_l("Thị trường tiêu thụ"), validators=[Optional(), Length(max=2000)])
    export_countries = StringField(
        _l("Nước xuất khẩu (phân cách bằng dấu phẩy)"), validators=[Optional(), Length(max=500)]
    )
    traceability = StringField(_l("Truy xuất nguồn gốc"), validators=[Optional(), Length(max=200)])
    trademark_status = SelectField(_l("Nhãn hiệu / chỉ dẫn địa lý"))


class RegistrySearchForm(BaseForm):
    class Meta:
        csrf = False

    q = StringField(_l("Tìm kiếm"), validators=[Optional(), Length(max=100)])
    kind = SelectField(_l("Loại hình"), validators=[Optional()])
    unit_id = QuickSelectField(_l("Xã/phường"), coerce=optional_int, validators=[Optional()])
    group_id = QuickSelectField(_l("Nhóm sản phẩm"), coerce=optional_int, validators=[Optional()])
    product_set_id = QuickSelectField(_l("Bộ sản phẩm"), coerce=optional_int, validators=[Optional()])
    stars = SelectField(_l("Hạng sao"), coerce=optional_int, validators=[Optional()])
