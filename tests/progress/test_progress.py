"""Targets progress against independent SQL, and Hà Tĩnh's rewards against hand-computed amounts."""

import re
from datetime import date, timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from app.audit.models import AuditEntry
from app.auth.models import User
from app.core import clock
from app.extensions import db
from app.planning.models import Policy, PolicyItem, Target
from app.progress.models import Entitlement
from app.progress.rewards import (
    RewardChangedMeanwhile,
    RewardError,
    entitlement_approve,
    entitlement_pay,
    entitlements_sync,
)
from app.progress.targets import TargetError, indicator_values, target_update, targets_progress
from tenants.context import tenant_scope
from tests.conftest import csrf_token
from tests.factories import (
    ProducerFactory,
    TargetFactory,
    certificate_recorded,
    new_tenant,
    producer_with_product,
    user_of_role,
)
from tests.race import at_once

TODAY = clock.today()


@pytest.fixture(scope="module")
def province(app):
    """A province with 6 products: valid 3★/4★/5★, an upgraded one, an expired one, a tourism one."""
    tenant_id, slug = new_tenant(app)
    old = TODAY - timedelta(days=5 * 365)
    recent = TODAY - timedelta(days=20)
    with app.app_context(), tenant_scope(tenant_id):
        htx = ProducerFactory(kind="htx").id
        household = ProducerFactory(kind="household").id
        enterprise = ProducerFactory(kind="enterprise").id
        db.session.commit()
    ids = {}
    ids["a"] = producer_with_product(app, tenant_id, producer_id=htx, traceability="QR", set_code="I.1.1")[1]
    ids["b"] = producer_with_product(app, tenant_id, producer_id=htx, set_code="I.1.1")[1]
    ids["c"] = producer_with_product(app, tenant_id, producer_id=household, traceability="Mã vạch")[1]
    ids["d"] = producer_with_product(app, tenant_id, producer_id=enterprise, export_countries=["JP"])[1]
    ids["e"] = producer_with_product(app, tenant_id, producer_id=household)[1]
    ids["t"] = producer_with_product(app, tenant_id, producer_id=enterprise, set_code="VI.1.1")[1]
    certificate_recorded(app, tenant_id, ids["a"], stars=3, decision_date=recent)
    certificate_recorded(app, tenant_id, ids["b"], stars=4, decision_date=recent)
    certificate_recorded(app, tenant_id, ids["c"], stars=3, decision_date=TODAY - timedelta(days=400))
    certificate_recorded(app, tenant_id, ids["c"], stars=5, decision_date=recent)  # an upgrade
    certificate_recorded(app, tenant_id, ids["d"], stars=3, decision_date=TODAY - timedelta(days=300))
    certificate_recorded(app, tenant_id, ids["e"], stars=3, decision_date=old)  # expired
    certificate_recorded(app, tenant_id, ids["t"], stars=3, decision_date=recent)
    return tenant_id, slug, ids


def _sql(app, tenant_id, query, **params):
    with app.app_context(), tenant_scope(tenant_id):
        return db.session.execute(text(query), {"on": TODAY, **params}).scalar()


VALID = """c.valid_from <= :on AND c.valid_to >= :on AND (c.revoked_on IS NULL OR c.revoked_on > :on)
  AND (c.superseded_on IS NULL OR c.superseded_on > :on)"""


def test_each_indicator_equals_an_independent_sql_count(app, province):
    tenant_id, _slug, _ids = province
    start = date(TODAY.year, 1, 1)
    with app.app_context(), tenant_scope(tenant_id):
        values = indicator_values(TODAY)
    q = lambda sql, **p: _sql(app, tenant_id, sql, **p)  # noqa: E731
    valid_products = f"SELECT DISTINCT c.product_id FROM certificates c WHERE {VALID}"
    assert values["certified_products"] == q(f"SELECT count(*) FROM ({valid_products}) v") == 5
    for stars, expected in ((3, 3), (4, 1), (5, 1)):
        got = q(f"SELECT count(DISTINCT product_id) FROM certificates c WHERE {VALID} AND stars = :s", s=stars)
        assert values[f"certified_products_{stars}_star"] == got == expected
    new = q(
        "SELECT count(*) FROM (SELECT product_id FROM certificates GROUP BY 1 HAVING min(decision_date) >= :s) x",
        s=start,
    )
    assert values["new_products"] == new
    upgraded = q(
        "SELECT count(DISTINCT product_id) FROM certificates WHERE kind = 'upgrade' AND decision_date BETWEEN :s AND :on",
        s=start,
    )
    assert values["upgraded_products"] == upgraded
    producers = (
        f"SELECT count(DISTINCT p.producer_id) FROM products p JOIN producers pr ON pr.id = p.producer_id"
        f" WHERE p.id IN ({valid_products})"
    )
    assert values["producers"] == q(producers) == 3
    assert values["producers_htx"] == q(producers + " AND pr.kind = 'htx'") == 1
    assert values["producers_enterprise"] == q(producers + " AND pr.kind = 'enterprise'") == 1
    assert values["producers_household"] == q(producers + " AND pr.kind = 'household'") == 1
    assert str(values["producers_htx_sme_percent"]) == "66.7"
    traced = q(f"SELECT count(*) FROM products WHERE id IN ({valid_products}) AND traceability <> ''")
    assert traced == 2 and str(values["traceability_percent"]) == "40.0"
    tourism = q(
        f"SELECT count(*) FROM products p JOIN taxonomy_nodes s ON s.id = p.product_set_id"
        f" JOIN taxonomy_nodes n ON n.id = s.parent_id JOIN taxonomy_nodes g ON g.id = n.parent_id"
        f" WHERE p.id IN ({valid_products}) AND g.code = 'VI'"
    )
    assert values["tourism_products"] == tourism == 1
    assert values["exporting_products"] == 1
    assert values["green_value_chain_percent"] is None


def test_targets_show_gap_and_progress_from_the_baseline(app, province):
    tenant_id, _slug, _ids = province
    with app.app_context(), tenant_scope(tenant_id):
        TargetFactory(code="t-products", title="10 sản phẩm", deadline=date(TODAY.year + 3, 12, 31), baseline_value=0)
        TargetFactory(
            code="t-green",
            title="xanh",
            metric="green_value_chain_percent",
            value=30,
            unit="%",
            deadline=date(TODAY.year + 3, 12, 31),
        )
        db.session.flush()
        rows = {p.target.code: p for p in targets_progress(TODAY)}
        assert rows["t-products"].current == 5 and rows["t-products"].gap == 5
        assert str(rows["t-products"].percent_done) == "50.0" and rows["t-products"].met is False
        assert rows["t-green"].current is None  # not in the records: "no data", never 0
        with pytest.raises(TargetError):
            target_update(rows["t-products"].target, value="=1+1", deadline=TODAY)
        with pytest.raises(TargetError):
            target_update(rows["t-products"].target, value="1e99", deadline=TODAY)
        db.session.rollback()


# --------------------------------------------------------------------------- rewards (Hà Tĩnh's policy)


def _ha_tinh_policy(app, tenant_id):
    """Hà Tĩnh's planned 2026-2030 rewards (DOMAIN.md), as the province file declares them."""
    lines = [
        ("reward-3-star-first", 3, "first", 100_000_000, None),
        ("reward-3-star-next", 3, "further", 50_000_000, 50),
        ("reward-4-star", 4, "any", 150_000_000, None),
        ("reward-5-star", 5, "any", 300_000_000, None),
        ("reward-upgrade-difference", None, "upgrade", None, None),
    ]
    with app.app_context(), tenant_scope(tenant_id):
        policy = Policy(code="thuong", title="Thưởng OCOP", valid_from=TODAY - timedelta(days=3000))
        db.session.add(policy)
        db.session.flush()
        for code, stars, rule, amount, share in lines:
            db.session.add(
                PolicyItem(
                    policy_id=policy.id,
                    code=code,
                    title=code,
                    kind="reward",
                    stars=stars,
                    applies_to=rule,
                    amount_vnd=amount,
                    share_percent=share,
                    budget_line="Thưởng OCOP",
                )
            )
        db.session.commit()


def test_ha_tinh_rewards_first_second_and_upgrade(app):
    tenant_id, _slug = new_tenant(app)
    _ha_tinh_policy(app, tenant_id)
    with app.app_context(), tenant_scope(tenant_id):
        producer = ProducerFactory(kind="htx").id
        db.session.commit()
    first = producer_with_product(app, tenant_id, producer_id=producer)[1]
    second = producer_with_product(app, tenant_id, producer_id=producer)[1]
    c1 = certificate_recorded(app, tenant_id, first, stars=3, decision_date=TODAY - timedelta(days=60))
    c2 = certificate_recorded(app, tenant_id, second, stars=3, decision_date=TODAY - timedelta(days=50))
    c3 = certificate_recorded(app, tenant_id, first, stars=4, decision_date=TODAY - timedelta(days=10))
    with app.app_context(), tenant_scope(tenant_id):
        assert entitlements_sync() == 3
        assert entitlements_sync() == 0  # idempotent
        db.session.commit()
        got = {e.certificate_id: (e.rule, e.amount_vnd) for e in db.session.scalars(select(Entitlement))}
    # Hand-computed: first 3★ product 100 M; the producer's second 3★ product 50 % = 50 M;
    # the first product upgraded to 4★: 150 M − 100 M already received = 50 M.
    assert got == {c1: ("first", 100_000_000), c2: ("further", 50_000_000), c3: ("upgrade", 50_000_000)}


def test_approval_and_payment_once_even_for_two_officers_at_once(app):
    tenant_id, _slug = new_tenant(app)
    _ha_tinh_policy(app, tenant_id)
    product = producer_with_product(app, tenant_id)[1]
    certificate_recorded(app, tenant_id, product, stars=5)
    officer_a, _ = user_of_role(app, tenant_id, "province_officer")
    officer_b, _ = user_of_role(app, tenant_id, "province_officer")
    with app.app_context(), tenant_scope(tenant_id):
        entitlements_sync()
        db.session.commit()
        ent_id = db.session.scalar(select(Entitlement.id))
        assert db.session.scalar(select(Entitlement.amount_vnd)) == 300_000_000
        with pytest.raises(RewardError):
            entitlement_pay(db.session.get(User, (tenant_id, officer_a)), ent_id, reference="CT-1")  # not approved yet
        with pytest.raises(RewardError):
            entitlement_approve(db.session.get(User, (tenant_id, officer_a)), ent_id, reference="=HYPERLINK(1)")
        db.session.rollback()

    def read(user_id):
        return None

    def approve(user_id, _shown):
        return entitlement_approve(db.session.get(User, (tenant_id, user_id)), ent_id, reference="QĐ-1").status

    def pay(user_id, _shown):
        return entitlement_pay(db.session.get(User, (tenant_id, user_id)), ent_id, reference="CT-1").status

    for act, done in ((approve, "approved"), (pay, "paid")):
        results = at_once(app, tenant_id, [officer_a, officer_b], read, act, RewardChangedMeanwhile)
        assert sorted(map(str, results)) == sorted(
            [done, str(("RewardChangedMeanwhile", "Khoản thưởng đã được người khác xử lý, vui lòng tải lại trang."))]
        )
    with app.app_context(), tenant_scope(tenant_id):
        ent = db.session.scalar(select(Entitlement))
        assert ent.status == "paid" and ent.amount_vnd == 300_000_000


# --------------------------------------------------------------------------- pages


def test_indicators_page_report_and_target_edit(app, province, sign_in):
    tenant_id, slug, _ids = province
    with app.app_context(), tenant_scope(tenant_id):
        target = TargetFactory(
            code="t-page",
            title="Mục tiêu trang",
            metric="certified_products_3_star",
            value=8,
            deadline=date(TODAY.year + 2, 12, 31),
        )
        db.session.commit()
        target_id = target.id
    client = sign_in(slug, tenant_id, roles=("province_admin",))
    page = client.get(f"/{slug}/indicators").get_data(as_text=True)
    assert "<svg" in page and 'data-code="t-page"' in page
    assert re.search(r'data-metric="certified_products"><td>[^<]+</td><td class="num"><a href="[^"]+">5</a>', page)
    assert client.get(f"/{slug}/indicators?on=31/02/2020").status_code == 400
    workbook = load_workbook(BytesIO(client.get(f"/{slug}/indicators/export.xlsx").data))
    assert workbook.active.max_row > 10
    report = client.get(f"/{slug}/indicators/report?period=h&n=1&year={TODAY.year}")
    assert report.status_code == 200 and report.data[:2] == b"PK"
    pdf = client.get(f"/{slug}/indicators/report?period=y&n=1&year={TODAY.year}&format=pdf")
    assert pdf.status_code == 200 and pdf.data[:4] == b"%PDF"
    for bad in ("period=x", "period=q&n=5", "year=99999999999999999999", "n=%00"):
        assert client.get(f"/{slug}/indicators/report?{bad}").status_code == 400, bad
    url = f"/{slug}/targets/{target_id}/edit"
    token = csrf_token(client, url)
    for bad in ("=1+1", "\x00", "9" * 30, "-5"):
        response = client.post(url, data={"csrf_token": token, "value": bad, "deadline": "31/12/2030"})
        assert response.status_code == 422, bad
        assert "phải" in response.get_data(as_text=True)
    response = client.post(url, data={"csrf_token": token, "value": "12", "deadline": "31/12/2030"})
    assert response.status_code == 302
    with app.app_context(), tenant_scope(tenant_id):
        assert db.session.get(Target, (tenant_id, target_id)).value == 12
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.entity == "targets").order_by(AuditEntry.id.desc())
        )
        assert (entry.action, entry.entity_id, entry.actor_kind) == ("update", target_id, "user")
    officer = sign_in(slug, tenant_id, roles=("province_officer",))
    assert officer.get(url).status_code == 403


def test_rewards_page_approve_and_pay(app, sign_in):
    tenant_id, slug = new_tenant(app)
    _ha_tinh_policy(app, tenant_id)
    product = producer_with_product(app, tenant_id)[1]
    certificate_recorded(app, tenant_id, product, stars=4)
    client = sign_in(slug, tenant_id, roles=("province_officer",))
    page = client.get(f"/{slug}/rewards").get_data(as_text=True)
    assert "150.000.000" in page
    with app.app_context(), tenant_scope(tenant_id):
        ent_id = db.session.scalar(select(Entitlement.id))
    token = csrf_token(client, f"/{slug}/rewards")
    assert (
        client.post(f"/{slug}/rewards/{ent_id}/pay", data={"csrf_token": token, "reference": "CT"}).status_code == 422
    )
    bad = client.post(f"/{slug}/rewards/{ent_id}/approve", data={"csrf_token": token, "reference": "=cmd"})
    assert bad.status_code == 422
    assert (
        client.post(f"/{slug}/rewards/{ent_id}/approve", data={"csrf_token": token, "reference": "QĐ 1"}).status_code
        == 302
    )
    assert (
        client.post(f"/{slug}/rewards/{ent_id}/pay", data={"csrf_token": token, "reference": "CT 7"}).status_code == 302
    )
    again = client.post(f"/{slug}/rewards/{ent_id}/pay", data={"csrf_token": token, "reference": "CT 8"})
    assert again.status_code == 422  # never paid twice
    with app.app_context(), tenant_scope(tenant_id):
        ent = db.session.get(Entitlement, (tenant_id, ent_id))
        assert (ent.status, ent.payment_ref) == ("paid", "CT 7")
    rows = list(
        load_workbook(BytesIO(client.get(f"/{slug}/rewards/export.xlsx").data)).active.iter_rows(values_only=True)
    )
    assert rows[1][5] == 150_000_000


def test_reward_rules_by_group_producer_kind_percentage_and_cap(app):
    """A line for group I products of cooperatives pays 10 % of the first-product amount within a cap; an
    enterprise's product of another group gets nothing from it."""
    tenant_id, _slug = new_tenant(app)
    with app.app_context(), tenant_scope(tenant_id):
        policy = Policy(code="nhom-i", title="Thưởng nhóm I cho HTX")
        db.session.add(policy)
        db.session.flush()
        db.session.add_all(
            [
                PolicyItem(
                    policy_id=policy.id,
                    code="first",
                    title="first",
                    kind="reward",
                    stars=3,
                    applies_to="first",
                    amount_vnd=80_000_000,
                    product_group="I",
                    producer_kinds="htx",
                ),
                PolicyItem(
                    policy_id=policy.id,
                    code="next",
                    title="next",
                    kind="reward",
                    stars=3,
                    applies_to="further",
                    share_percent=10,
                    cap_vnd=5_000_000,
                    product_group="I",
                    producer_kinds="htx",
                ),
            ]
        )
        htx = ProducerFactory(kind="htx").id
        enterprise = ProducerFactory(kind="enterprise").id
        db.session.commit()
    first = producer_with_product(app, tenant_id, producer_id=htx, set_code="I.1.1")[1]
    second = producer_with_product(app, tenant_id, producer_id=htx, set_code="I.1.1")[1]
    other = producer_with_product(app, tenant_id, producer_id=enterprise, set_code="I.1.1")[1]
    drink = producer_with_product(app, tenant_id, producer_id=htx, set_code="II.1.1")[1]
    c1 = certificate_recorded(app, tenant_id, first, decision_date=TODAY - timedelta(days=40))
    c2 = certificate_recorded(app, tenant_id, second, decision_date=TODAY - timedelta(days=30))
    certificate_recorded(app, tenant_id, other, decision_date=TODAY - timedelta(days=20))
    certificate_recorded(app, tenant_id, drink, decision_date=TODAY - timedelta(days=10))
    with app.app_context(), tenant_scope(tenant_id):
        assert entitlements_sync() == 2
        got = {e.certificate_id: (e.rule, e.amount_vnd) for e in db.session.scalars(select(Entitlement))}
        db.session.rollback()
    # 10 % of 80 M is 8 M, capped at 5 M.
    assert got == {c1: ("first", 80_000_000), c2: ("further", 5_000_000)}
