"""Province admins invite the users of their province and assign roles."""

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth import services
from app.auth.forms import UserForm, UserSearchForm
from app.auth.models import User
from app.auth.policy import permission_required
from app.auth.roles import ROLE_LABELS, TENANT_ROLES
from app.core import clock
from app.core.access import get_or_404
from app.core.excel import xlsx_response
from app.core.forms import form_saved, form_values, show_on
from app.core.pagination import paginate
from app.extensions import db
from app.registry.models import Producer
from tenants.catalogue import commune_choices
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("users", __name__, url_prefix="/users", template_folder="templates")


def _role_choices():
    return [(role, str(ROLE_LABELS[role])) for role in TENANT_ROLES]


def _unit_choices():
    return commune_choices("—", clock.today())  # a commune officer works in one commune


def _producer_choices():
    producers = db.session.scalars(select(Producer).order_by(Producer.name)).all()
    return [(0, "—")] + [(p.id, p.name) for p in producers]


def _prepare(form: UserForm) -> UserForm:
    form.roles.choices = _role_choices()
    form.unit_id.choices = _unit_choices()
    form.producer_id.choices = _producer_choices()
    return form


def _invite_link(token: str) -> str:
    return url_for("auth.accept_invite", token=token, _external=True)


@bp.route("/")
@permission_required("users.manage")
def index():
    search = UserSearchForm(request.args)
    search.role.choices = [("", _("Tất cả vai trò"))] + _role_choices()
    page = paginate(services.users_query(search.q.data or "", search.role.data or ""), scalars=True)
    return render_template("users/index.html", page=page, search=search, role_labels=ROLE_LABELS)


@bp.route("/export.xlsx")
@permission_required("users.manage")
def export():
    users = services.users_search(request.args.get("q", ""), request.args.get("role", ""))
    rows = (
        (
            u.full_name,
            u.email,
            ", ".join(str(ROLE_LABELS[r]) for r in u.roles),
            _("Có") if u.active else _("Không"),
            u.last_login_at,
        )
        for u in users
    )
    headers = [_("Họ và tên"), _("Email"), _("Vai trò"), _("Đang hoạt động"), _("Đăng nhập gần nhất")]
    return xlsx_response(f"nguoi-dung-{g.tenant.slug}.xlsx", _("Người dùng"), headers, rows)


def _user_values(form, *ignored: str) -> dict:
    """The form's fields as the services take them (no unit, no producer: None), less the ignored ones."""
    values = {k: v for k, v in form_values(form).items() if k not in ignored}
    values["unit_id"] = values["unit_id"] or None
    values["producer_id"] = values["producer_id"] or None
    return values


@bp.route("/new", methods=["GET", "POST"])
@permission_required("users.manage")
def create():
    form = _prepare(UserForm())
    # An invited account starts active whatever the box says.
    invited = form_saved(
        form, lambda: services.user_invite(**_user_values(form, "active")), services.AuthError, show_on(form.email)
    )
    if invited is None:
        return render_template("users/form.html", form=form, user=None)
    user, token = invited
    flash(_("Đã tạo tài khoản. Gửi đường dẫn kích hoạt này cho %(name)s:", name=user.full_name), "success")
    flash(_invite_link(token), "link")
    return redirect(url_for("users.index"))


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@permission_required("users.manage")
def edit(user_id):
    user = get_or_404(User, user_id)
    form = _prepare(UserForm(obj=user))
    del form.email  # the email is the login: change it by inviting again
    if request.method == "GET":
        form.unit_id.data = user.unit_id or 0
        form.producer_id.data = user.producer_id or 0
    acting_user = current_user._get_current_object()
    saved = form_saved(
        form,
        lambda: services.user_update(user, **_user_values(form), acting_user=acting_user),
        services.AuthError,
        show_on(form.roles),
    )
    if saved is None:
        return render_template("users/form.html", form=form, user=user)
    flash(_("Đã lưu."), "success")
    return redirect(url_for("users.index"))


@bp.route("/<int:user_id>/invite", methods=["POST"])
@permission_required("users.manage")
def reinvite(user_id):
    user = get_or_404(User, user_id)
    if user.password_hash is not None:
        flash(_("%(name)s đã kích hoạt tài khoản.", name=user.full_name), "info")
        return redirect(url_for("users.index"))
    token = services.user_reinvite(user)
    db.session.commit()
    flash(_("Đường dẫn kích hoạt mới cho %(name)s:", name=user.full_name), "success")
    flash(_invite_link(token), "link")
    return redirect(url_for("users.index"))
