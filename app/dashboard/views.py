from datetime import date

from flask import redirect, render_template, url_for
from flask_login import current_user

from app.auth.policy import can
from app.core.access import login_required
from app.dashboard.services import dashboard_summary
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("dashboard", __name__, template_folder="templates")


@bp.route("/")
@login_required
def home():
    if not can(current_user, "dashboard.view"):  # a producer alone: its portal is its home
        return redirect(url_for("portal.home"))
    return render_template("dashboard/home.html", summary=dashboard_summary(date.today()))
