"""Who may do what, in one place: role groups, the table of actions, `can()`, the view decorator and a
producer's scope.

Views are guarded with `permission_required("action")`; templates ask `can("action")` so menus and
buttons show only what the user may open. Ownership ("a producer sees only its own records") is
applied by the services through `own_producer_id(user, action)` (a query's filter) or
`reach_or_404(user, action, producer_id)` (one record), never by views or templates.
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from app.auth.roles import (
    COMMUNE_OFFICER,
    COUNCIL_MEMBER,
    INSPECTOR,
    NATIONAL_VIEWER,
    PLATFORM_ADMIN,
    PRODUCER,
    PROVINCE_ADMIN,
    PROVINCE_OFFICER,
)
from app.core.access import roles_required

# Role groups.
OFFICERS = (PROVINCE_ADMIN, PROVINCE_OFFICER)  # province-level staff: edit the registry, manage cycles
STAFF = (*OFFICERS, COMMUNE_OFFICER)  # everyone who works the province's registry and pipeline
PROVINCE_WIDE = (*STAFF, COUNCIL_MEMBER, INSPECTOR)  # every tenant role that is not a producer
# Roles whose grant covers only the user's own producer (its producers, products, applications, documents).
OWN_RECORDS = (PRODUCER,)

# action -> the roles that may perform it. Ownership scopes narrow it further in the services.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    # Tenant area
    "dashboard.view": PROVINCE_WIDE,  # a producer alone lands on the portal instead
    "portal.view": (PRODUCER,),
    "planning.view": PROVINCE_WIDE,
    "registry.view": STAFF,  # producer and product lists, exports
    "registry.record": (*STAFF, PRODUCER),  # one producer or product page (a producer: its own)
    "registry.edit": OFFICERS,
    "registry.import": OFFICERS,
    "product.photo.upload": (*OFFICERS, PRODUCER),
    "cycle.view": STAFF,
    "cycle.manage": OFFICERS,
    "application.view": (*STAFF, PRODUCER),  # the pipeline and one application (a producer: its own)
    "application.export": STAFF,
    "application.start": (*OFFICERS, PRODUCER),
    # The workflow's transitions, one action each group of them (see app/cycle/workflow.py).
    "application.submit": (PRODUCER,),
    "application.screen": STAFF,
    "application.review_plan": OFFICERS,
    "application.forward": OFFICERS,
    "documents.upload": (*STAFF, PRODUCER),
    "documents.view": (*STAFF, PRODUCER, COUNCIL_MEMBER, INSPECTOR),  # evaluators read all evidence
    "users.manage": (PROVINCE_ADMIN,),
    "audit.view": (PROVINCE_ADMIN,),
    # Coming features
    "certificate.view": PROVINCE_WIDE,  # the province's certificates; a producer sees its own in the portal
    "certificate.manage": OFFICERS,
    "certificate.download": (*PROVINCE_WIDE, PRODUCER),  # the PDF with its QR (a producer: its own)
    # Councils, rounds, criteria templates and results (officers); scoring (members: their own rounds only,
    # scoped by app/evaluation/services.py); a producer's results and review requests (its own products).
    "evaluation.manage": OFFICERS,
    "evaluation.view": (*OFFICERS, COUNCIL_MEMBER),
    "evaluation.score": (COUNCIL_MEMBER,),
    "evaluation.results": (*OFFICERS, PRODUCER),
    # Notices: everyone signed in to the province reads their own (the bell); the outbox (what was or
    # would have been e-mailed) and the province's background jobs (recent, failed, retry) are the admin's.
    "notices.view": (*PROVINCE_WIDE, PRODUCER),
    "notices.outbox": (PROVINCE_ADMIN,),
    "jobs.view": (PROVINCE_ADMIN,),
    "jobs.retry": (PROVINCE_ADMIN,),
    # Targets (edited by the province admin, audited), rewards computed from certificates and policies.
    "target.manage": (PROVINCE_ADMIN,),
    "reward.view": STAFF,
    "reward.manage": OFFICERS,  # approve and record payment
    # Post-certification inspections (app/inspection): the queue, lists and calendar (a producer: its own
    # products' inspections and corrective actions, scoped by the services); recording a visit (checklist,
    # photos, samples, outcome, corrective actions, revocation proposal); planning them (assigning
    # inspectors, ad hoc inspections, cancelling, closing corrective actions, deciding proposals); the
    # province's inspection policy; a producer answering a corrective action with its evidence.
    "inspection.view": (*STAFF, INSPECTOR, PRODUCER),
    "inspection.record": (*OFFICERS, INSPECTOR),
    "inspection.manage": OFFICERS,
    "inspection.policy.edit": (PROVINCE_ADMIN,),
    "corrective_action.respond": (PRODUCER,),
    # Global accounts
    "national.view": (NATIONAL_VIEWER,),
    "platform.manage": (PLATFORM_ADMIN,),
}


def roles_for(action: str) -> tuple[str, ...]:
    """The roles granted an action; an unknown action is a programming error, not a denial."""
    try:
        return PERMISSIONS[action]
    except KeyError:
        raise KeyError(f"unknown action {action!r}: declare it in app/auth/policy.py") from None


def can(user, action: str) -> bool:
    roles = roles_for(action)
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.has_role(*roles)


def current_user_can(action: str) -> bool:
    """`can(...)` for templates: the signed-in user."""
    return can(current_user, action)


def permission_required(action: str):
    """Signed in to this area and granted the action (403 otherwise). Checked when the view is declared."""
    return roles_required(*roles_for(action))


def own_producer_id(user, action: str) -> int | None:
    """The producer whose records the user may reach through this action, or None for every record.

    A user holding a role that grants the action province-wide sees everything; one who holds it only
    through the producer role sees its own producer (0 when the account is bound to none: nothing).
    """
    roles = roles_for(action)
    if user.has_role(*(r for r in roles if r not in OWN_RECORDS)):
        return None
    return getattr(user, "producer_id", None) or 0


def own_unit_id(user) -> int | None:
    """The commune a commune officer works in (0 when none is set), or None for a province-wide user:
    a commune officer screens only the dossiers of its own commune."""
    if user.has_role(COMMUNE_OFFICER) and not user.has_role(*OFFICERS):
        return getattr(user, "unit_id", None) or 0
    return None


def bound_by_windows(user) -> bool:
    """A producer submits only while the cycle's window is open; officers register at any time."""
    return user.has_role(*OWN_RECORDS)


def reaches(user, action: str, producer_id: int | None) -> bool:
    """Whether the user may reach, through the action, a record that belongs to this producer."""
    own = own_producer_id(user, action)
    return own is None or own == producer_id


def reach_or_404(user, action: str, producer_id: int | None) -> None:
    """Another producer's record (for a user who holds the action only for its own) answers the same
    404 as a missing or foreign id."""
    if not reaches(user, action, producer_id):
        abort(404)


def init_app(app) -> None:
    app.jinja_env.globals["can"] = current_user_can
