"""Platform administrators manage provinces (tenants) and their admin accounts."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.auth.areas import account_area_blueprint
from app.auth.policy import permission_required
from app.auth.roles import PLATFORM_ADMIN
from app.auth.services import AuthError
from app.core.forms import form_saved, form_values, show_on
from app.core.i18n import current_language
from app.extensions import db
from app.notices.services import OUTBOX_STATUSES, outbox_page
from app.platform import services
from app.platform.forms import TenantAdminForm, TenantForm
from tenants.context import tenant_scope
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


@bp.route("/tenants/<int:tenant_id>/outbox")
@permission_required("platform.manage")
def tenant_outbox(tenant_id):
    """What a province's notices said and to whom (the outbox when no SMTP server is configured)."""
    tenant = _tenant_or_404(tenant_id)
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < len(page) < 7 else 1
    status = request.args.get("status") if request.args.get("status") in OUTBOX_STATUSES else None
    with tenant_scope(tenant.id):
        shown = outbox_page(page, status, 20, current_language())
        return render_template("platform/outbox.html", tenant=tenant, page=shown, status=status)
