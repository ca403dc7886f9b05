"""Platform administrators manage provinces (tenants) and their admin accounts."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.auth.areas import account_area_blueprint
from app.auth.policy import permission_required
from app.auth.roles import PLATFORM_ADMIN
from app.auth.services import AuthError
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
    if form.validate_on_submit():
        try:
            tenant = services.tenant_create(
                slug=form.slug.data,
                name=form.name.data,
                name_en=form.name_en.data,
                official_code=form.official_code.data,
                standing_agency=form.standing_agency.data,
                criteria_act=form.criteria_act.data,
            )
        except services.PlatformError as error:
            form.slug.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Đã thêm tỉnh %(name)s.", name=tenant.name), "success")
            return redirect(url_for("platform.tenant", tenant_id=tenant.id))
    return render_template("platform/tenant_new.html", form=form)


@bp.route("/tenants/<int:tenant_id>", methods=["GET", "POST"])
@permission_required("platform.manage")
def tenant(tenant_id):
    tenant = _tenant_or_404(tenant_id)
    form = TenantAdminForm()
    if form.validate_on_submit():
        try:
            token = services.tenant_admin_invite(tenant, email=form.email.data, full_name=form.full_name.data)
        except AuthError as error:
            form.email.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Đã mời quản trị tỉnh. Gửi đường dẫn kích hoạt này:"), "success")
            flash(url_for("auth.accept_invite", tenant_slug=tenant.slug, token=token, _external=True), "link")
            return redirect(url_for("platform.tenant", tenant_id=tenant.id))
    return render_template("platform/tenant.html", tenant=tenant, admins=services.tenant_admins(tenant), form=form)
