"""Sign-in for province staff and producers, invitations, own account."""

from flask import flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth import services
from app.auth.forms import ChangePasswordForm, SetPasswordForm
from app.auth.identity import actor_for, login_page, logout_page, start_session
from app.auth.passwords import verify_password
from app.auth.roles import role_label
from app.auth.throttle import throttled_login
from app.core.access import login_required
from app.core.i18n import language_switch_response
from app.extensions import db
from tenants.context import acting_as
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("auth", __name__, template_folder="templates")
bp.add_app_template_global(role_label, "role_label")  # every area's templates name roles alike


@bp.route("/login", methods=["GET", "POST"])
@throttled_login
def login():
    return login_page(services.authenticate_user, url_for("dashboard.home"))


@bp.route("/logout", methods=["POST"])
def logout():
    return logout_page(url_for("auth.login"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invite(token):
    user = services.user_by_invite(token)
    if user is None:
        return render_template("auth/invite_invalid.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            with acting_as(actor_for(user)):
                services.user_accept_invite(user, form.password.data)
                db.session.flush()
        except services.AuthError as error:
            form.password.errors.append(str(error))
        else:
            db.session.commit()
            start_session(user)
            flash(_("Chào mừng %(name)s! Tài khoản đã sẵn sàng.", name=user.full_name), "success")
            return redirect(url_for("dashboard.home"))
    return render_template("auth/accept_invite.html", form=form, user=user, tenant=g.tenant)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not verify_password(current_user.password_hash, form.current.data):
            form.current.errors.append(_("Mật khẩu hiện tại không đúng."))
        else:
            try:
                services.set_password(current_user, form.password.data)
            except services.AuthError as error:
                form.password.errors.append(str(error))
            else:
                db.session.commit()
                start_session(current_user._get_current_object())
                flash(_("Đã đổi mật khẩu."), "success")
                return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form)


@bp.route("/lang/<code>", methods=["POST"])
def switch_language(code):
    return language_switch_response(code)
