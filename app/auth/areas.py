"""Blueprints for the areas used by global accounts: /national and /platform.

Each gets the same sign-in, sign-out and language routes; the area's role is checked at login and
on every request (an account of one area is anonymous in the other).
"""

from flask import Blueprint, g, url_for

from app.auth import services
from app.auth.identity import login_page, logout_page
from app.auth.throttle import throttled_login
from app.core.i18n import language_switch_response


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

    @bp.route("/lang/<code>", methods=["POST"])
    def switch_language(code):
        return language_switch_response(code)

    return bp
