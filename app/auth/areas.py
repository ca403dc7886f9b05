"""Blueprints for the areas used by global accounts: /national and /platform.

Each gets the same sign-in, sign-out and language routes; the area's role is checked at login and
on every request (an account of one area is anonymous in the other).
"""
from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from app.auth import services
from app.auth.forms import LoginForm
from app.auth.identity import end_session, safe_next, start_session
from app.auth.throttle import FAILED_LOGIN_STATUS, throttled_login
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
        form = LoginForm()
        if form.validate_on_submit():
            account = services.authenticate_account(form.email.data, form.password.data, role)
            if account is not None:
                db.session.commit()
                start_session(account)
                return redirect(safe_next(url_for(f"{area}.home")))
            flash(_("Email hoặc mật khẩu không đúng."), "error")
            return render_template("auth/login.html", form=form), FAILED_LOGIN_STATUS
        return render_template("auth/login.html", form=form)

    @bp.route("/logout", methods=["POST"])
    def logout():
        end_session()
        flash(_("Bạn đã đăng xuất."), "info")
        return redirect(url_for(f"{area}.login"))

    @bp.route("/lang/<code>", methods=["POST"])
    def switch_language(code):
        return language_switch_response(code)

    return bp
