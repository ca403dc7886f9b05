"""The producer portal: one page with everything a chủ thể OCOP needs next."""

from flask import render_template
from flask_login import current_user

from app.auth.policy import permission_required
from app.certification.services import current_stars_by_product, producer_certificates
from app.core import clock
from app.cycle.workflow import KIND_LABELS, STATUS_LABELS
from app.inspection.work import producer_inspections
from app.portal.services import portal_producer_id, producer_overview
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("portal", __name__, url_prefix="/portal", template_folder="templates")


@bp.route("/")
@permission_required("portal.view")
def home():
    producer_id = portal_producer_id(current_user)
    producer, products, summaries, messages = producer_overview(producer_id, clock.today())
    # Read-only: the producer's own certificates with their status today.
    certificates = producer_certificates(producer_id)
    inspections, actions = producer_inspections(producer_id)
    return render_template(
        "portal/home.html",
        producer=producer,
        products=products,
        stars=current_stars_by_product(p.id for p in products),
        certificates=certificates,
        summaries=summaries,
        messages=messages,
        statuses=STATUS_LABELS,
        kinds=KIND_LABELS,
        inspections=inspections,
        corrective_actions=actions,
    )
