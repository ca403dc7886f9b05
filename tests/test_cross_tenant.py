"""Every URL rule is classified, and every id-bearing rule answers a foreign id exactly like a missing one.

A new route fails this test until it is classified here: that is the point.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.auth import services as auth
from app.extensions import db
from app.planning.models import Policy
from tenants.context import tenant_scope
from tests import factories
from tests.conftest import SUMMARY_LINES, csrf_token, unique_email

# /verify/<code> is the public QR check: the code is global and names one certificate of any province.
# /metrics holds no tenant data and answers only the scraper's bearer token (app/core/observability.py);
# /readyz says only which service is down.
PUBLIC_RULES = {
    "/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/lang/<code>",
    "/static/<path:filename>",
    "/verify/<path:code>",
}
AREA_PREFIXES = {"/<tenant_slug>": "tenant", "/national": "national", "/platform": "platform"}
# Tenant URL arguments that are secrets resolved inside the tenant (an invitation token), or string ids
# of something kept outside PostgreSQL (an RQ job: its first argument names its province).
TENANT_SECRET_ARGS = {"token", "job_id"}
# Arguments that identify no tenant data.
PLAIN_ARGS = {"tenant_slug", "code", "filename", "action", "kind", "step", "slug"}
# Platform admins manage every tenant by design: tenant ids are global there.
PLATFORM_GLOBAL_ARGS = {"tenant_id"}
# Tenant endpoints reachable without signing in.
TENANT_PUBLIC_ENDPOINTS = {"auth.login", "auth.accept_invite", "auth.switch_language", "auth.logout"}
# The value of plain arguments in the matrix (an action the application at "idea_submitted" allows; a format).
PLAIN_VALUES = {"action": "accept_idea", "kind": "pdf", "step": "approve"}
INT_ARG_RE = re.compile(r"<int(?:\([^)]*\))?:(\w+)>")


def _invited_user(app, tenant_id, base):
    """A user who has not accepted yet (so the re-invite POST goes through)."""
    with app.app_context(), tenant_scope(tenant_id):
        user, _token = auth.user_invite(email=unique_email("matrix"), full_name="Người thử", roles=["province_officer"])
        db.session.commit()
        return user.id


def _invite_token(app, tenant_id, base):
    with app.app_context(), tenant_scope(tenant_id):
        _user, token = auth.user_invite(
            email=unique_email("token"), full_name="Người thử", roles=["producer"], producer_id=base.producer_id
        )
        db.session.commit()
        return token


def _audit_entry(app, tenant_id, base):
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.scalar(select(func.max(AuditEntry.id)))


def _policy(app, tenant_id, base):
    """A policy of the province file when the tenant has one (a new row there would be a change the next
    sync of that file reports), else a new one."""
    with app.app_context(), tenant_scope(tenant_id):
        policy_id = db.session.scalar(select(func.min(Policy.id)))
        if policy_id is None:
            policy_id = factories.PolicyFactory().id
            db.session.commit()
        return policy_id


def _target(app, tenant_id, base):

    from tests.factories import TargetFactory

    with app.app_context(), tenant_scope(tenant_id):
        target = TargetFactory()
        db.session.commit()
        return target.id


def _entitlement(app, tenant_id, base):
    """A computed reward of a certificate of the base product."""
    from app.planning.models import PolicyItem
    from app.progress.models import Entitlement
    from app.progress.rewards import entitlements_sync

    certificate_id = factories.certificate_recorded(app, tenant_id, base.product_id, stars=5)
    with app.app_context(), tenant_scope(tenant_id):
        policy = factories.PolicyFactory()
        db.session.add(
            PolicyItem(
                policy_id=policy.id, code="r5", title="5 sao", kind="reward", stars=5, applies_to="any", amount_vnd=1000
            )
        )
        db.session.flush()
        entitlements_sync()
        db.session.commit()
        return db.session.scalar(select(Entitlement.id).where(Entitlement.certificate_id == certificate_id))


def _row(factory):
    def make(app, tenant_id, base):
        with app.app_context(), tenant_scope(tenant_id):
            row = factory()
            db.session.commit()
            return row.id

    return make


def _notice(app, tenant_id, base):
    """A notice of the province (to its producer's contact address)."""
    from app.notices.services import notice_create

    with app.app_context(), tenant_scope(tenant_id):
        notice = notice_create("certificate_expiry", f"matrix:{base.product_id}", "90d", emails=["matrix@example.vn"])
        db.session.commit()
        return notice.id


def _failed_job(app, tenant_id, base):
    """A job of the province in RQ's failed list."""
    from tests.notices.test_jobs_page import failed_job_of

    return failed_job_of(app, tenant_id)


_EVALUATION: dict[int, dict] = {}


def _evaluation(key):
    """A council with one member, a round holding the base application and a review request (once per tenant)."""

    def make(app, tenant_id, base):
        if tenant_id not in _EVALUATION:
            from datetime import date
            from decimal import Decimal

            from app.evaluation.models import CouncilMember, CouncilRound, ReviewRequest, RoundProduct

            council_id, [(member_user_id, _email)] = factories.council_with_members(app, tenant_id, ("chair",))
            with app.app_context(), tenant_scope(tenant_id):
                member = db.session.scalar(select(CouncilMember).where(CouncilMember.council_id == council_id))
                council_round = CouncilRound(
                    council_id=council_id, name="Đợt thử", meeting_on=date.today(), act="1489/QĐ-TTg", status="open"
                )
                db.session.add(council_round)
                db.session.flush()
                item = RoundProduct(
                    round_id=council_round.id,
                    application_id=base.application_id,
                    product_id=base.product_id,
                    outcome="not_recognised",
                    mean_score=Decimal(40),
                )
                db.session.add(item)
                db.session.flush()
                review = ReviewRequest(round_product_id=item.id, requested_by=member_user_id, reason="Thử")
                db.session.add(review)
                db.session.commit()
                _EVALUATION[tenant_id] = {
                    "council_id": council_id,
                    "member_id": member.id,
                    "round_id": council_round.id,
                    "item_id": item.id,
                    "review_id": review.id,
                }
        return _EVALUATION[tenant_id][key]

    return make


_INSPECTION: dict[int, dict] = {}


def _inspection(key):
    """A done inspection (major) with one of every record: answer, photo, sample, lab result, corrective action,
    revocation proposal (once per tenant)."""

    def make(app, tenant_id, base):
        if tenant_id not in _INSPECTION:
            from app.inspection.models import CorrectiveAction, InspectionSample, RevocationProposal

            certificate_id = factories.certificate_recorded(app, tenant_id, base.product_id)
            inspector_id, _email = factories.user_of_role(app, tenant_id, "inspector")
            inspection_id = factories.inspection_with_records(app, tenant_id, certificate_id, inspector_id)
            with app.app_context(), tenant_scope(tenant_id):
                of_it = {"inspection_id": inspection_id}
                _INSPECTION[tenant_id] = {
                    "inspection_id": inspection_id,
                    "sample_id": db.session.scalar(select(InspectionSample.id).filter_by(**of_it)),
                    "action_id": db.session.scalar(select(CorrectiveAction.id).filter_by(**of_it)),
                    "proposal_id": db.session.scalar(select(RevocationProposal.id).filter_by(**of_it)),
                }
        return _INSPECTION[tenant_id][key]

    return make


# How to make, in a tenant, the row each id argument of a tenant URL names: (app, tenant_id, base) -> id,
# where base is an application at "idea_submitted" with its producer, product and cycle. A rule added
# later is picked up from the url_map by itself; only a new argument name needs an entry here.
ID_FACTORIES = {
    "user_id": _invited_user,
    "audit_id": _audit_entry,
    "policy_id": _policy,
    "producer_id": lambda app, tenant_id, base: base.producer_id,
    "product_id": lambda app, tenant_id, base: base.product_id,
    "cycle_id": lambda app, tenant_id, base: base.cycle_id,
    "application_id": lambda app, tenant_id, base: base.application_id,
    "import_id": _row(factories.RegistryImportFactory),
    "document_id": lambda app, tenant_id, base: factories.document_accepted(
        app, tenant_id, base.producer_id, base.product_id, stored=True
    ),
    "certificate_id": lambda app, tenant_id, base: factories.certificate_recorded(app, tenant_id, base.product_id),
    "token": _invite_token,
    "notice_id": _notice,
    "job_id": _failed_job,
    "target_id": _target,
    "entitlement_id": _entitlement,
    **{key: _evaluation(key) for key in ("council_id", "member_id", "round_id", "item_id", "review_id")},
    **{key: _inspection(key) for key in ("inspection_id", "sample_id", "action_id", "proposal_id")},
}
MISSING = {key: 10**12 for key in ID_FACTORIES} | {"token": "no-such-invitation-token", "job_id": "no-such-job"}


def classify(rule) -> str:
    if rule.rule in PUBLIC_RULES:
        return "public"
    for prefix, area in AREA_PREFIXES.items():
        if rule.rule == prefix or rule.rule.startswith(prefix + "/"):
            return area
    return "unclassified"


def tenant_rules(app):
    return [rule for rule in app.url_map.iter_rules() if classify(rule) == "tenant"]


def id_args(rule) -> set[str]:
    """Arguments of a tenant rule that name a row: every int converter, and the secrets."""
    return set(INT_ARG_RE.findall(rule.rule)) | (set(rule.arguments) & TENANT_SECRET_ARGS)


def checked_methods(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def test_every_rule_is_classified(app):
    unclassified = [rule.rule for rule in app.url_map.iter_rules() if classify(rule) == "unclassified"]
    assert unclassified == []
    known = PLAIN_ARGS | set(ID_FACTORIES) | PLATFORM_GLOBAL_ARGS
    for rule in app.url_map.iter_rules():
        unknown = set(rule.arguments) - known
        assert not unknown, f"{rule.rule}: classify the argument(s) {unknown}"
        if classify(rule) != "platform":
            assert not (set(rule.arguments) & PLATFORM_GLOBAL_ARGS), rule.rule


def test_every_id_argument_has_a_factory(app):
    for rule in tenant_rules(app):
        missing = id_args(rule) - set(ID_FACTORIES)
        assert not missing, f"{rule.rule}: add a factory for {missing} to ID_FACTORIES in tests/test_cross_tenant.py"


def _ids_in(app, tenant_id: int) -> dict:
    base = factories.application_at(app, tenant_id, "idea_submitted")
    return {arg: make(app, tenant_id, base) for arg, make in ID_FACTORIES.items()}


@pytest.fixture(scope="module")
def matrix_ids(app, tenants):
    """Ids of rows of Hà Tĩnh (foreign), of the requesting province (own) and ids that exist nowhere."""
    own_tenant_id, own_slug = factories.new_tenant(app)
    return {
        "foreign": _ids_in(app, tenants["ha-tinh"]),
        "own": _ids_in(app, own_tenant_id),
        "missing": MISSING,
        "slug": own_slug,
        "tenant_id": own_tenant_id,
    }


def _url(rule, values) -> str:
    url = rule.rule
    for arg, value in values.items():
        url = re.sub(rf"<(?:[a-z]+(?:\([^)]*\))?:)?{arg}>", str(value), url)
    return url


def _normalised(body: str, url: str) -> str:
    # The CSRF token and the page's own URL (in the language switch) differ; nothing else may.
    body = body.replace(url, "<url>")
    return re.sub(r'value="[^"]*" name="csrf_token"|name="csrf_token" (type="hidden" )?value="[^"]*"', "", body)


def test_foreign_id_answers_exactly_like_missing_id(app, matrix_ids, request):
    """Every id-bearing tenant rule × method, signed in as an admin of the requesting province, with a
    valid CSRF token: a foreign id answers 404, byte for byte like a missing id, while the province's own
    id reaches the route (neither the CSRF 400, nor 403, nor 404)."""
    slug = matrix_ids["slug"]
    _user_id, email = factories.user_of_role(app, matrix_ids["tenant_id"], "province_admin")
    # Two sessions of that admin, so what an own-id POST leaves (a flash message) never reaches the
    # foreign/missing pair being compared.
    clients = {kind: factories.signed_in(app, slug, email) for kind in ("other", "own")}
    tokens = {kind: csrf_token(client, f"/{slug}/account") for kind, client in clients.items()}
    rules = [rule for rule in tenant_rules(app) if id_args(rule)]
    expected = sum(len(checked_methods(rule)) for rule in rules)
    checked = 0
    for rule in rules:
        for method in checked_methods(rule):
            answers = {}
            for kind in ("foreign", "missing", "own"):
                url = _url(
                    rule, {"tenant_slug": slug, **PLAIN_VALUES, **{a: matrix_ids[kind][a] for a in id_args(rule)}}
                )
                session = "own" if kind == "own" else "other"
                data = {"csrf_token": tokens[session]} if method == "POST" else None
                response = clients[session].open(url, method=method, data=data)
                # An own id may answer a file (a certificate PDF): compare bytes decoded leniently.
                body = response.get_data().decode("utf-8", "replace")
                answers[kind] = (response.status_code, _normalised(body, url))
            where = f"{method} {rule.rule}"
            assert answers["foreign"][0] == 404, f"{where} with a foreign id answered {answers['foreign'][0]}"
            assert answers["foreign"] == answers["missing"], f"{where}: foreign and missing ids differ"
            # The request reached the route: the token is valid and the user may open it.
            assert answers["own"][0] not in (400, 403, 404), f"{where} with an own id answered {answers['own'][0]}"
            checked += 1
    summary = f"cross-tenant matrix: {checked} checks of {len(rules)} id-bearing tenant rules × methods"
    print(summary)
    request.config.stash.setdefault(SUMMARY_LINES, []).append(summary)
    assert checked == expected


def test_a_post_without_a_valid_csrf_token_is_refused(app, matrix_ids):
    """What a CSRF refusal looks like, so that the matrix's own-id POSTs above prove they got past it."""
    slug = matrix_ids["slug"]
    _user_id, email = factories.user_of_role(app, matrix_ids["tenant_id"], "province_admin")
    client = factories.signed_in(app, slug, email)
    url = f"/{slug}/users/{matrix_ids['own']['user_id']}/invite"
    assert client.post(url, data={"csrf_token": "not-the-token"}).status_code == 400
    assert client.post(url, data={"csrf_token": csrf_token(client, f"/{slug}/account")}).status_code == 302


def test_signed_in_province_sees_nothing_of_another(app, officer_login):
    """A Bắc Giang session is anonymous under /ha-tinh/: every page sends it to Hà Tĩnh's login."""
    client, _user_id, _email = officer_login("bac-giang", roles=("province_admin",))
    token = csrf_token(client, "/bac-giang/account")  # valid for the session, so POSTs reach the login check
    for rule in tenant_rules(app):
        if rule.arguments - {"tenant_slug", "action"} or rule.endpoint in TENANT_PUBLIC_ENDPOINTS:
            continue
        for method in checked_methods(rule):
            data = {"csrf_token": token} if method == "POST" else None
            response = client.open(_url(rule, {"tenant_slug": "ha-tinh", "action": "x"}), method=method, data=data)
            assert response.status_code == 302, f"{method} {rule.rule} answered {response.status_code}"
            assert response.headers["Location"].startswith("/ha-tinh/login"), rule.rule


def test_unknown_tenant_is_404(client):
    assert client.get("/khong-co-tinh-nay/login").status_code == 404
    assert client.get("/khong-co-tinh-nay/").status_code == 404


def test_account_of_one_area_is_anonymous_in_others(app, tenants, officer_login):
    client, _user_id, _email = officer_login("bac-giang", roles=("province_admin",))
    assert client.get("/national/").status_code == 302
    assert client.get("/platform/").status_code == 302


# Tenant URLs that take tenant-owned ids in the query string (filters), and those arguments.
QUERY_ID_RULES = {"/<tenant_slug>/counts/products": ("district", "commune")}


def test_foreign_ids_in_query_strings_answer_like_missing_ids(app, tenants, officer_login):
    """The counts' lists filter by unit ids: another province's unit is a missing unit (no rows, same page)."""
    from tenants.models import AdminUnit

    assert set(QUERY_ID_RULES) <= {rule.rule for rule in tenant_rules(app)}
    with app.app_context(), tenant_scope(tenants["ha-tinh"]):
        foreign_unit = db.session.scalar(select(func.min(AdminUnit.id)))
    client, _user_id, _email = officer_login("bac-giang")
    for rule, args in QUERY_ID_RULES.items():
        for arg in args:
            bodies = []
            for value in (foreign_unit, 10**12):
                url = f"{rule.replace('<tenant_slug>', 'bac-giang')}?status=ever&{arg}={value}"
                response = client.get(url)
                assert response.status_code == 200, url
                bodies.append(_normalised(response.get_data(as_text=True).replace(str(value), "<id>"), url))
            assert bodies[0] == bodies[1], f"{rule} {arg}: foreign and missing ids differ"
