"""Platform administration: provinces (tenants) and their first admin accounts."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import any_, func, select

from app.auth import services as auth_services
from app.auth.models import User
from app.auth.roles import PROVINCE_ADMIN
from app.extensions import db
from tenants.context import tenant_scope
from tenants.models import Tenant

RESERVED_SLUGS = {"national", "platform", "verify", "p", "api", "static", "healthz", "lang"}


class PlatformError(ValueError):
    pass


def tenant_create(
    *, slug: str, name: str, name_en: str, official_code: str | None, standing_agency: str, criteria_act: str
) -> Tenant:
    if slug in RESERVED_SLUGS:
        raise PlatformError(_("Mã đường dẫn này được hệ thống dùng riêng."))
    if db.session.scalar(select(func.count()).select_from(Tenant).where(Tenant.slug == slug)):
        raise PlatformError(_("Đã có tỉnh với mã đường dẫn này."))
    tenant = Tenant(
        slug=slug,
        name=name,
        name_en=name_en,
        official_code=official_code or None,
        standing_agency=standing_agency,
        criteria_act=criteria_act,
    )
    db.session.add(tenant)
    db.session.flush()
    return tenant


def tenant_admins(tenant: Tenant) -> list[User]:
    with tenant_scope(tenant.id):
        return db.session.scalars(select(User).where(PROVINCE_ADMIN == any_(User.roles)).order_by(User.full_name)).all()


def tenant_admin_invite(tenant: Tenant, *, email: str, full_name: str) -> str:
    """Invite a province admin into the tenant; the change is audited in that tenant."""
    with tenant_scope(tenant.id):
        _user, token = auth_services.user_invite(email=email, full_name=full_name, roles=[PROVINCE_ADMIN])
    return token
