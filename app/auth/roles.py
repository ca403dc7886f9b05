"""Roles of the platform. Tenant users hold tenant roles; national and platform accounts hold one global role."""

from flask_babel import lazy_gettext as _l

PLATFORM_ADMIN = "platform_admin"
NATIONAL_VIEWER = "national_viewer"
PROVINCE_ADMIN = "province_admin"
PROVINCE_OFFICER = "province_officer"
COMMUNE_OFFICER = "commune_officer"
COUNCIL_MEMBER = "council_member"
INSPECTOR = "inspector"
PRODUCER = "producer"

GLOBAL_ROLES = (PLATFORM_ADMIN, NATIONAL_VIEWER)
TENANT_ROLES = (
    PROVINCE_ADMIN,
    PROVINCE_OFFICER,
    COMMUNE_OFFICER,
    COUNCIL_MEMBER,
    INSPECTOR,
    PRODUCER,
)

ROLE_LABELS = {
    PLATFORM_ADMIN: _l("Quản trị nền tảng"),
    NATIONAL_VIEWER: _l("Văn phòng Điều phối Trung ương"),
    PROVINCE_ADMIN: _l("Quản trị tỉnh"),
    PROVINCE_OFFICER: _l("Cán bộ tỉnh"),
    COMMUNE_OFFICER: _l("Cán bộ xã/phường"),
    COUNCIL_MEMBER: _l("Thành viên Hội đồng"),
    INSPECTOR: _l("Cán bộ kiểm tra"),
    PRODUCER: _l("Chủ thể OCOP"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))
