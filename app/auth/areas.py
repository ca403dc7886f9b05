"""Blueprints for the areas used by global accounts: /national and /platform.

Each gets the same sign-in, sign-out and language routes; the area's role is checked at login and
on every request (an account of one area is anonymous in the other).
"""

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth import services
from app.auth.forms import ChangePasswordForm
from app.auth.identity import login_page, logout_page, start_session
from app.auth.throttle import throttled_login
from app.core.access import login_required
from app.core.i18n import language_switch_response
from app.extensions import db


def account_area_blueprint(area: str, role: str, import_name: str) -> Blueprint:
    bp = Blueprint(area, import_name, url_prefix=f"/{area}", template_folder="templates")

    @bp.url_value_preprocessor
    def _enter_area(endpoint, values):
        g.area = area

    @bp.route("/login", methods=["GET", "POST"])
    @throttled_login
    def login():
        def authenticate(email, password):
            return services.authenticate_account(email, password, role)

        return login_page(authenticate, url_for(f"{area}.home"))

    @bp.route("/logout", methods=["POST"])
    def logout():
        return logout_page(url_for(f"{area}.login"))

    @bp.route("/account", methods=["GET", "POST"])
    @login_required
    def account():
        """The account's own page: a new password, given the current one (every other session ends)."""
        form = ChangePasswordForm()
        if form.validate_on_submit():
            identity = current_user._get_current_object()
            try:
                services.account_password_change(identity, form.current.data, form.password.data)
            except services.AuthError as error:
                db.session.rollback()
                field = form.current if isinstance(error, services.WrongCurrentPassword) else form.password
                field.errors.append(str(error))
            else:
                db.session.commit()
                start_session(identity)
                flash(_("Đã đổi mật khẩu."), "success")
                return redirect(url_for(f"{area}.account"))
        return render_template("auth/account.html", form=form)

    @bp.route("/lang/<code>", methods=["POST"])
    def switch_language(code):
        return language_switch_response(code)

    return bp
