from flask import redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.roles import COMMUNE_OFFICER, PRODUCER, PROVINCE_ADMIN, PROVINCE_OFFICER
from app.certification.services import vietnam_today
from app.core.access import login_required, roles_required
from app.dashboard.counts import (
    DIMENSIONS,
    CountFilter,
    CountsError,
    certificate_counts,
    counted_products,
    filter_labels,
)
from app.dashboard.services import dashboard_summary
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("dashboard", __name__, template_folder="templates")
STAFF = (PROVINCE_ADMIN, PROVINCE_OFFICER, COMMUNE_OFFICER)


@bp.route("/")
@login_required
def home():
    if current_user.has_role(PRODUCER) and len(current_user.roles) == 1:
        return redirect(url_for("portal.home"))
    today = vietnam_today()
    try:
        flt = CountFilter.from_args({"on": request.args.get("on")}, today)
    except CountsError as error:
        page = render_template(
            "dashboard/home.html", summary=dashboard_summary(today), counts=None, error=str(error), flt=None
        )
        return page, 400
    counts = certificate_counts(flt.on)
    return render_template(
        "dashboard/home.html",
        summary=dashboard_summary(today),
        counts=counts,
        flt=flt,
        dimensions=DIMENSIONS,
        error=None,
    )


@bp.route("/counts/products")
@roles_required(*STAFF)
def counted():
    """The products behind one number of the dashboard's counts (same query, same filters)."""
    try:
        flt = CountFilter.from_args(request.args, vietnam_today())
    except CountsError as error:
        return render_template("dashboard/counted.html", error=str(error), rows=[], flt=None), 400
    return render_template(
        "dashboard/counted.html", rows=counted_products(flt), flt=flt, labels=filter_labels(flt), error=None
    )
