from datetime import date

from flask import render_template

from app.core.access import login_required
from app.dashboard.services import dashboard_summary
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("dashboard", __name__, template_folder="templates")


@bp.route("/")
@login_required
def home():
    return render_template("dashboard/home.html", summary=dashboard_summary(date.today()))
