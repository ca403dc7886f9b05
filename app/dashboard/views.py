import hashlib
from contextlib import suppress
from functools import cache
from pathlib import Path

from flask import current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from redis.exceptions import RedisError

from app.auth.page_cache import cached_page
from app.auth.policy import can, permission_required
from app.certification.counts import (
    COUNTS_TTL_SECONDS,
    DIMENSIONS,
    CountFilter,
    CountsError,
    certificate_counts_cached,
    count_rows_glance,
    counted_query,
    filter_labels,
)
from app.core import clock
from app.core.access import login_required
from app.core.i18n import current_language
from app.core.pagination import paginate
from app.dashboard.services import counts_version, dashboard_summary
from jobs.queues import redis_connection
from tenants.context import current_tenant_id
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("dashboard", __name__, template_folder="templates")


@bp.route("/")
@cached_page
@login_required
def home():
    if not can(current_user, "dashboard.view"):  # a producer alone: its portal is its home
        return redirect(url_for("portal.home"))
    today = clock.today()
    try:
        flt = CountFilter.from_args({"on": request.args.get("on")}, today)
    except CountsError as error:
        page = render_template(
            "dashboard/home.html", summary=dashboard_summary(today), counts_html=None, error=str(error), flt=None
        )
        return page, 400
    summary = dashboard_summary(today)  # first: it reads the data version the counts are cached under
    return render_template(
        "dashboard/home.html",
        summary=summary,
        counts_html=_counts_section(flt, summary.data_version),
        flt=flt,
        error=None,
    )


# The counts section (dashboard/_counts.html) holds nothing of the user: rendered once per province, data version,
# date and language, then served from Redis (its ~400 links and numbers are most of the page's rendering). The key
# also holds the section's template and the translation catalogues (a deploy that changes either renders anew) and
# the province's URL prefix; the TTL is the counts' own.
def _counts_section(flt, version: str | None) -> Markup:
    def render() -> str:
        counts = certificate_counts_cached(flt.on, version)
        return render_template(
            "dashboard/_counts.html", counts=counts, flt=flt, dimensions=DIMENSIONS, glance=count_rows_glance
        )

    if version is None or current_app.jinja_env.auto_reload:  # uncommitted changes; or templates being edited
        return Markup(render())
    key = ":".join(
        (
            current_app.config["RQ_QUEUE_PREFIX"],
            "counts-html",
            str(current_tenant_id()),
            version,
            flt.on.isoformat(),
            current_language(),
            _section_salt(),
            request.script_root + "/" + g.tenant.slug,
        )
    )
    try:
        cached = redis_connection().get(key)
    except RedisError:
        return Markup(render())
    if cached is not None:
        return Markup(cached.decode())
    html = render()
    with suppress(RedisError):
        redis_connection().set(key, html, ex=COUNTS_TTL_SECONDS)
    return Markup(html)


@cache
def _section_salt() -> str:
    """What else the section's text depends on: its templates' source and the translation catalogues."""
    digest = hashlib.sha256()
    for template in ("dashboard/_counts.html", "dashboard/_count_table.html"):
        source, _filename, _uptodate = current_app.jinja_env.loader.get_source(current_app.jinja_env, template)
        digest.update(source.encode())
    for catalogue in sorted(Path(current_app.root_path, "translations").glob("*/LC_MESSAGES/*.mo")):
        digest.update(catalogue.read_bytes())
    return digest.hexdigest()[:16]


@bp.route("/counts/breakdown")
@permission_required("dashboard.view")
def breakdown():
    """One breakdown of the dashboard's counts in full (the dashboard shows a long one's largest rows)."""
    name = request.args.get("by", "")
    try:
        flt = CountFilter.from_args({"on": request.args.get("on")}, clock.today())
        if name not in DIMENSIONS:
            raise CountsError(_("Không có bảng số liệu này: '%(name)s'.", name=name[:40]))
    except CountsError as error:
        return render_template("dashboard/breakdown.html", error=str(error), flt=None, title=None), 400
    counts = certificate_counts_cached(flt.on, counts_version())
    return render_template(
        "dashboard/breakdown.html", error=None, flt=flt, name=name, title=DIMENSIONS[name], rows=counts.by[name]
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
        "dashboard/counted.html",
        page=paginate(counted_query(flt), keyset=True),
        flt=flt,
        labels=filter_labels(flt),
        error=None,
    )
