"""Platform administrators manage provinces (tenants) and their admin accounts."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.auth.areas import account_area_blueprint
from app.auth.policy import permission_required
from app.auth.roles import PLATFORM_ADMIN
from app.auth.services import AuthError
from app.core.forms import form_saved, form_values, show_on
from app.extensions import db
from app.platform import services
from app.platform.forms import TenantAdminForm, TenantForm
from tenants.models import Tenant

bp = account_area_blueprint("platform", PLATFORM_ADMIN, __name__)


def _tenant_or_404(tenant_id: int) -> Tenant:
    return db.get_or_404(Tenant, tenant_id)


@bp.route("/")
@permission_required("platform.manage")
def home():
    tenants = db.session.scalars(select(Tenant).order_by(Tenant.name)).all()
    return render_template("platform/home.html", tenants=tenants)


@bp.route("/tenants/new", methods=["GET", "POST"])
@permission_required("platform.manage")
def tenant_new():
    form = TenantForm()
    tenant = form_saved(
        form, lambda: services.tenant_create(**form_values(form)), services.PlatformError, show_on(form.slug)
    )
    if tenant is None:
        return render_template("platform/tenant_new.html", form=form)
    flash(_("Đã thêm tỉnh %(name)s.", name=tenant.name), "success")
    return redirect(url_for("platform.tenant", tenant_id=tenant.id))


@bp.route("/tenants/<int:tenant_id>", methods=["GET", "POST"])
@permission_required("platform.manage")
def tenant(tenant_id):
    tenant = _tenant_or_404(tenant_id)
    form = TenantAdminForm()
    token = form_saved(
        form, lambda: services.tenant_admin_invite(tenant, **form_values(form)), AuthError, show_on(form.email)
    )
    if token is None:
        return render_template("platform/tenant.html", tenant=tenant, admins=services.tenant_admins(tenant), form=form)
    flash(_("Đã mời quản trị tỉnh. Gửi đường dẫn kích hoạt này:"), "success")
    flash(url_for("auth.accept_invite", tenant_slug=tenant.slug, token=token, _external=True), "link")
    return redirect(url_for("platform.tenant", tenant_id=tenant.id))
