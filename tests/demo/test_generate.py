"""The synthetic nation generator (app/demo/generate.py) on a small scale: exact counts per table and province,
the services' invariants, reproducibility from the seed, re-runs that never duplicate, pages and isolation.

The national scale itself is timed by tests/benchmarks/test_bench_generate.py (its own database).
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, text

from app.demo.generate import GenerateRefused, Scale, generate, generated_digest
from app.demo.nation import LARGE_PROVINCE, REAL_TENANTS, pick_provinces, synthetic_provinces
from app.demo.plan import allocate
from app.extensions import db
from tenants.context import tenant_scope

AS_OF = date(2026, 6, 30)
SMALL = Scale(producers=30, products=90, certificates=80, documents=300, provinces=2)
TABLES = ("producers", "products", "certificates", "documents", "applications", "admin_units", "cycles")


def _counts(app, tenant_id: int) -> dict[str, int]:
    with app.app_context():
        connection = db.engine.raw_connection()
        try:
            with connection.driver_connection.cursor() as cur:
                cur.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
                counts = {t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # noqa: S608
            connection.driver_connection.rollback()
        finally:
            connection.close()
    return counts


def _drop_synthetic(app, app_env) -> None:
    """Leave the shared test database as it was: the synthetic tenants' rows, then the tenants (as the owner:
    the app role may not delete tenants)."""
    import psycopg

    from app.demo.generate import _tenant_tables

    with app.app_context():
        tables = _tenant_tables()
    with psycopg.connect(app_env["MIGRATION_DATABASE_URL"]) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM tenants WHERE slug LIKE 'demo-%'")]
        for tenant_id in ids:
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
            for table in [*tables, "audit_log"]:
                conn.execute(f"DELETE FROM {table}")  # noqa: S608
        conn.execute("DELETE FROM tenants WHERE slug LIKE 'demo-%'")


@pytest.fixture(scope="module")
def generated(app, app_env, tenants):
    """A small nation of two provinces, generated once for the module (and removed after it)."""
    real_before = {slug: _counts(app, tenant_id) for slug, tenant_id in tenants.items()}
    with app.app_context():
        report = generate(SMALL, seed=7, as_of=AS_OF, objects_per_province=1)
        ids = {slug: tid for slug, tid in db.session.execute(text("SELECT slug, id FROM tenants")).all()}
    yield report, ids, real_before
    _drop_synthetic(app, app_env)


def test_the_nation_is_the_34_provinces_of_2025_with_the_four_real_ones_standing_for_theirs():
    provinces = synthetic_provinces()
    assert len(provinces) == 30
    assert len(provinces) + len(REAL_TENANTS) == 34
    assert all(p.slug.startswith("demo-") and "(dữ liệu mô phỏng)" in p.tenant_name for p in provinces)
    names = {p.name for p in provinces}
    assert {"Hà Nội", "Hồ Chí Minh", "Nghệ An", "Cà Mau"} <= names
    assert not names & {"Hà Tĩnh", "Bắc Ninh", "Thái Nguyên", "Ninh Bình"}  # the real tenants' provinces
    assert sum(len(p.communes) for p in provinces) == 2932  # of the 3,321 (package data of 18/10/2025)
    assert pick_provinces(1)[0].slug == LARGE_PROVINCE


def test_allocate_splits_exactly():
    assert allocate(10, [1, 1, 1]) == [4, 3, 3]
    assert allocate(90, [130, 65]) == [60, 30]
    assert sum(allocate(60_000, [len(p.communes) for p in synthetic_provinces()])) == 60_000


def test_exact_counts_per_table_and_province(app, generated):
    report, ids, _ = generated
    provinces = pick_provinces(2)
    assert report.provinces == [p.slug for p in provinces] == [LARGE_PROVINCE, "demo-ha-noi"]
    weights = [len(p.communes) for p in provinces]
    expected = {
        name: allocate(getattr(SMALL, name), weights) for name in ("producers", "products", "certificates", "documents")
    }
    assert expected["products"] == [46, 44]  # Nghệ An 130 communes, Hà Nội 126
    for i, province in enumerate(provinces):
        counts = _counts(app, ids[province.slug])
        for name in ("producers", "products", "certificates", "documents"):
            assert counts[name] == expected[name][i], (province.slug, name)
        assert counts["admin_units"] == len(province.communes)
        assert counts["cycles"] == AS_OF.year - 2019 + 1
        assert counts["applications"] == report.by_province[province.slug]["applications"]
    assert report.rows["producers"] == 30
    assert report.rows["products"] == 90
    assert report.rows["certificates"] == 80
    assert report.rows["documents"] == 300
    assert report.rows["application_documents"] == 300
    assert report.objects == 2


def test_the_four_real_provinces_are_untouched(app, generated):
    _, ids, real_before = generated
    for slug, before in real_before.items():
        assert _counts(app, ids[slug]) == before, slug


def test_certificates_keep_the_services_rules(app, generated):
    from app.certification.models import Certificate
    from app.certification.services import (
        certificate_term_end,
        criteria_act_on,
        default_authority,
        product_certificates,
        stars_for_score,
    )
    from app.registry.models import Product

    _, ids, _ = generated
    with app.app_context(), tenant_scope(ids[LARGE_PROVINCE]):
        stars = {
            s: n for s, n in db.session.execute(select(Certificate.stars, func.count()).group_by(Certificate.stars))
        }
        assert stars[3] > stars.get(4, 0) > stars.get(5, 0)  # mostly 3★, fewer 4★, few 5★
        for product in db.session.scalars(select(Product)):
            chain = list(reversed(product_certificates(product)))  # oldest first
            for i, cert in enumerate(chain):
                assert stars_for_score(cert.score) == cert.stars
                assert abs(sum(float(v) for v in cert.part_scores.values()) - float(cert.score)) < 0.05
                assert cert.valid_from == cert.decision_date <= AS_OF
                assert cert.valid_to == certificate_term_end(cert.decision_date)
                assert cert.act == criteria_act_on(cert.decision_date)
                assert cert.authority == default_authority(cert.act, cert.stars)
                assert len(cert.public_code) == 32
                successor = chain[i + 1] if i + 1 < len(chain) else None
                assert cert.superseded_by_id == (successor.id if successor else None)
                assert cert.superseded_on == (successor.valid_from if successor else None)
                if i == 0:
                    assert cert.kind == "new"
                else:
                    assert cert.kind == ("upgrade" if cert.stars > chain[i - 1].stars else "re_recognition")
                if cert.revoked_on is not None:
                    assert cert.valid_from <= cert.revoked_on <= AS_OF and successor is None


def test_same_seed_same_data_and_a_rerun_refuses_or_replaces(app, generated):
    report, ids, _ = generated
    slugs = report.provinces
    with app.app_context():
        first = generated_digest(slugs)
        with pytest.raises(GenerateRefused, match="--replace"):
            generate(SMALL, seed=7, as_of=AS_OF, objects_per_province=0)
        assert generated_digest(slugs) == first  # refused: nothing written
        again = generate(SMALL, seed=7, as_of=AS_OF, objects_per_province=1, replace=True)
        assert again.replaced > 0
        assert generated_digest(slugs) == first  # replaced, never duplicated; same seed → same rows
        generate(SMALL, seed=8, as_of=AS_OF, objects_per_province=0, replace=True)
        assert generated_digest(slugs) != first
        generate(SMALL, seed=7, as_of=AS_OF, objects_per_province=1, replace=True)
        assert generated_digest(slugs) == first
    assert _counts(app, ids[LARGE_PROVINCE])["products"] == 46


def test_pages_of_a_generated_province_answer(app, generated, sign_in):
    from app.registry.models import Product

    _, ids, _ = generated
    client = sign_in(LARGE_PROVINCE, ids[LARGE_PROVINCE])
    with app.app_context(), tenant_scope(ids[LARGE_PROVINCE]):
        product_id = db.session.scalar(select(Product.id).order_by(Product.code).limit(1))
    for url in ("/", "/products", f"/products/{product_id}", "/producers", "/certificates", "/cycles"):
        response = client.get(f"/{LARGE_PROVINCE}{url}")
        assert response.status_code == 200, (url, response.status_code)
    assert "mô phỏng" in client.get(f"/{LARGE_PROVINCE}/").get_data(as_text=True)


def test_the_generated_files_download_as_verified_ones(app, generated):
    import hashlib

    import requests

    from app.demo.generate import _put_objects
    from app.demo.nation import pick_provinces
    from app.documents.models import Document
    from app.documents.services import delete_object, document_download_url

    _, ids, _ = generated
    with app.test_request_context():
        with tenant_scope(ids[LARGE_PROVINCE]):
            document = db.session.scalar(
                select(Document)
                .where(Document.status == "accepted", Document.content_type == "application/pdf")
                .order_by(Document.storage_key)
                .limit(1)
            )
            document_id, keys = document.id, (document.storage_key, document.verified_key)
            db.session.rollback()
        # Storage outlives test runs and the seed gives the same keys: start from no object at all.
        for key in keys:
            delete_object(key)
        connection = db.engine.raw_connection()
        try:
            with connection.driver_connection.cursor() as cur:
                province = [p for p in pick_provinces(SMALL.provinces, SMALL.province) if p.slug == LARGE_PROVINCE]
                assert _put_objects(province, ids, 1, cur) == 1
            connection.driver_connection.commit()
        finally:
            connection.close()
        with tenant_scope(ids[LARGE_PROVINCE]):
            document = db.session.scalar(select(Document).where(Document.id == document_id))
            body = requests.get(document_download_url(document), timeout=30).content
    assert body.startswith(b"%PDF-") and hashlib.sha256(body).hexdigest() == document.sha256


def test_a_generated_province_sees_only_its_rows(app, generated, sign_in):
    from app.registry.models import Product

    _, ids, _ = generated
    mine, other = ids[LARGE_PROVINCE], ids["demo-ha-noi"]
    with app.app_context():
        with tenant_scope(other):
            foreign_id = db.session.scalar(select(Product.id).limit(1))
        with tenant_scope(mine):
            assert db.session.scalar(select(func.count()).select_from(Product)) == 46
            assert db.session.scalar(select(Product).where(Product.id == foreign_id)) is None
        connection = db.engine.raw_connection()
        try:
            with connection.driver_connection.cursor() as cur:  # the database itself (RLS), not the ORM hook
                cur.execute("SELECT set_config('app.tenant_id', %s, true)", [str(mine)])
                tenants_seen = {r[0] for r in cur.execute("SELECT DISTINCT tenant_id FROM certificates")}
                assert tenants_seen == {mine}
            connection.driver_connection.rollback()
        finally:
            connection.close()
    client = sign_in(LARGE_PROVINCE, mine)
    assert client.get(f"/{LARGE_PROVINCE}/products/{foreign_id}").status_code == 404


def test_the_command_refuses_clearly_when_the_provinces_hold_data(app, generated):
    runner = app.test_cli_runner()
    args = ["demo", "generate", "--provinces", "2", "--producers", "30", "--products", "90", "--objects", "0"]
    result = runner.invoke(args=[*args, "--certificates", "80", "--documents", "300", "--as-of", "2026-06-30"])
    assert result.exit_code == 1
    assert "demo-ha-noi, demo-nghe-an" in result.output and "--replace" in result.output
