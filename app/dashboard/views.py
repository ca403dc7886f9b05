from flask import redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.policy import can, permission_required
from app.certification.counts import (
    DIMENSIONS,
    CountFilter,
    CountsError,
    certificate_counts_cached,
    counted_query,
    filter_labels,
)
from app.core import clock
from app.core.access import login_required
from app.core.pagination import paginate
from app.dashboard.services import dashboard_summary
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("dashboard", __name__, template_folder="templates")


@bp.route("/")
@login_required
def home():
    if not can(current_user, "dashboard.view"):  # a producer alone: its portal is its home
        return redirect(url_for("portal.home"))
    today = clock.today()
    try:
        flt = CountFilter.from_args({"on": request.args.get("on")}, today)
    except CountsError as error:
        page = render_template(
            "dashboard/home.html", summary=dashboard_summary(today), counts=None, error=str(error), flt=None
        )
        return page, 400
    summary = dashboard_summary(today)  # first: it reads the data version the counts are cached under
    counts = certificate_counts_cached(flt.on, summary.data_version)
    return render_template(
        "dashboard/home.html",
        summary=summary,
        counts=counts,
        flt=flt,
        dimensions=DIMENSIONS,
        error=None,
    )


@bp.route("/counts/products")
@permission_required("registry.view")
def counted():
    """The products behind one number of the dashboard's counts (same query, same filters)."""
    try:
        flt = CountFilter.from_args(request.args, clock.today())
    except CountsError as error:
        return render_template("dashboard/counted.html", error=str(error), page=None, flt=None), 400
    return render_template(
        "dashboard/counted.html", page=paginate(counted_query(flt)), flt=flt, labels=filter_labels(flt), error=None
    )
