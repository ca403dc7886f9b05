"""`flask demo generate`: a synthetic nation (or one large province) written set-wise into PostgreSQL.

How it writes. app/demo/plan.py draws each province's rows in Python (seeded, natural keys only). Each writer
(`jobs`, default two connections on the app's own database role: RLS forced, no BYPASSRLS) takes its share of
the provinces and, for each, sets the tenant as the app does (`set_config('app.tenant_id', …, true)`), COPYs
each table's rows into a temporary table (COPY FROM cannot write into a table under row-level security,
INSERT … SELECT can) and moves them with one INSERT … SELECT per table, whose RETURNING gives the parents' ids
for the children's rows. The certificate chains are then linked by one UPDATE (each certificate superseded by
the product's next one from the day it takes effect, exactly as certificate_record keeps them). The writers
commit together once all are done, or all roll back.

Re-running: the provinces it targets must hold no data, or --replace wipes them first (every tenant table but
the append-only audit log, committed before the writers start); it never adds to existing rows.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
from botocore.exceptions import BotoCoreError, ClientError
from flask import current_app
from sqlalchemy import select

from app.core.acts import DEFAULT_TAXONOMY_ACT
from app.demo import plan as planner
from app.demo.nation import LARGE_PROVINCE, SYNTHETIC_AGENCY, SyntheticProvince, pick_provinces
from app.extensions import db
from app.platform.services import tenant_create
from app.registry.models import TaxonomyNode
from tenants.models import Tenant
from tenants.page_versions import ALL, pages_expire

TENANT = "NULLIF(current_setting('app.tenant_id'), '')::bigint"


Keys = dict[str, dict]  # "unit" → {code: id}, "producer", "product", "cycle" → {year: id}, "application", "document"


@dataclass(frozen=True)
class Table:
    """One table family: its columns (the temporary table's, in the order of the plan's tuples once `resolve` has
    turned natural keys into ids), and what its INSERT returns to resolve the keys of later tables."""

    name: str
    columns: str  # "name type, …"
    resolve: Callable[[tuple, Keys], tuple] | None = None
    returning: str | None = None  # "id, code": the parents' ids, kept in Keys[key]
    key: str | None = None
    after: str | None = None  # one more statement once the rows are in


def _unit(row, k):
    return (*row[:5], k["unit"][row[5]], *row[6:])


def _product(row, k):
    return (row[0], k["producer"][row[1]], row[2], row[3], k["unit"][row[4]], *row[5:], "")


def _application_of(row, k):
    return k["application"][k["cycle"][row[0]], k["product"][row[1]]]


TABLES = (
    Table(
        "admin_units",
        "code text, name text, kind text, valid_from date, is_sample boolean",
        returning="code",
        key="unit",
    ),
    Table(
        "producers",
        "code text, name text, kind text, registration_no text, address text, unit_id bigint, representative text,"
        " phone text, capital_vnd bigint, workforce int, members int, created_at timestamptz",
        _unit,
        returning="code",
        key="producer",
    ),
    Table(
        "products",
        "code text, producer_id bigint, name text, product_set_id bigint, unit_id bigint, raw_material_area text,"
        " capacity text, annual_output numeric, output_unit text, markets text, export_countries text[],"
        " traceability text, trademark_status text, created_at timestamptz, other_units text",
        _product,
        returning="code",
        key="product",
    ),
    Table(
        "certificates",
        "product_id bigint, stars int, score numeric, part_scores jsonb, decision_number text, decision_date date,"
        " authority text, act text, kind text, source text, valid_from date, valid_to date, revoked_on date,"
        " revoke_reason text, revoke_decision_number text, public_code text",
        lambda row, k: (k["product"][row[0]], *row[1:]),
        # The chain, as certification.services._chain_refresh keeps it.
        after=f"""UPDATE certificates c SET superseded_by_id = n.next_id, superseded_on = n.next_from
            FROM (
                SELECT id, lead(id) OVER w AS next_id, lead(valid_from) OVER w AS next_from
                FROM certificates WHERE tenant_id = {TENANT}
                WINDOW w AS (PARTITION BY product_id ORDER BY valid_from, decision_date, id)
            ) n
            WHERE c.tenant_id = {TENANT} AND c.id = n.id AND n.next_id IS NOT NULL""",
    ),
    Table(
        "cycles",
        "year int, ideas_from date, ideas_until date, plans_from date, plans_until date, dossiers_from date,"
        " dossiers_until date",
        returning="year",
        key="cycle",
    ),
    Table(
        "evaluation_rounds",
        "cycle_id bigint, code text, name text, level text, deadline date",
        lambda row, k: (k["cycle"][row[0]], *row[1:]),
    ),
    Table(
        "applications",
        "cycle_id bigint, product_id bigint, kind text, status text, screening_level text, target_stars int,"
        " idea_summary text, business_plan text, last_reason text, created_at timestamptz, updated_at timestamptz",
        lambda row, k: (k["cycle"][row[0]], k["product"][row[1]], *row[2:]),
        returning="cycle_id, product_id",
        key="application",
    ),
    Table(
        "application_events",
        "application_id bigint, at timestamptz, actor_label text, action text, from_status text, to_status text,"
        " note text",
        lambda row, k: (_application_of(row, k), *row[2:]),
    ),
    Table(
        "documents",
        "producer_id bigint, product_id bigint, requirement text, title text, original_filename text,"
        " content_type text, declared_size bigint, size bigint, sha256 text, storage_key text, status text,"
        " reject_reason text, issued_on date, valid_until date, created_at timestamptz, confirmed_at timestamptz,"
        " verified_at timestamptz, verify_attempts int",
        lambda row, k: (k["producer"][row[0]], k["product"][row[1]], *row[2:], 0 if row[16] is None else 1),
        returning="storage_key",
        key="document",
    ),
    Table(
        "application_documents",
        "application_id bigint, requirement text, document_id bigint",
        lambda row, k: (_application_of(row, k), row[2], k["document"][row[3]]),
    ),
)


@dataclass(frozen=True)
class Scale:
    producers: int
    products: int
    certificates: int
    documents: int
    provinces: int | None = None  # the first N synthetic provinces (None: all 30)
    province: str | None = None  # or exactly this one

    def times(self, factor: float) -> Scale:
        def scaled(n: int) -> int:
            return max(1, round(n * factor))

        return Scale(
            scaled(self.producers),
            scaled(self.products),
            scaled(self.certificates),
            scaled(self.documents),
            self.provinces,
            self.province,
        )


# Issue 11: 34 provinces (30 synthetic + the 4 real), 20,000 producers, 60,000 products, 60,000 certificates,
# 200,000 documents. One large province: a quarter more products than the 5,000 of the measurements.
SCALES = {
    "national": Scale(producers=20_000, products=60_000, certificates=60_000, documents=200_000),
    "province": Scale(producers=2_500, products=7_500, certificates=7_500, documents=25_000, province=LARGE_PROVINCE),
}
DEFAULT_SEED = 2026
_REPORT_LOCK = threading.Lock()


class GenerateRefused(RuntimeError):
    """The targeted provinces already hold data and --replace was not given: nothing was written."""


@dataclass
class GenerateReport:
    seconds: float = 0.0
    provinces: list[str] = field(default_factory=list)
    rows: Counter = field(default_factory=Counter)  # table → rows written
    by_province: dict[str, Counter] = field(default_factory=dict)  # slug → table → rows
    replaced: int = 0  # rows wiped first (--replace)
    objects: int = 0  # real objects put into storage
    objects_error: str | None = None  # storage refused the sample files (the rows are written all the same)
    cpu_seconds: float = 0.0  # this process (planning, COPY)
    server_cpu_seconds: float = 0.0  # the writers' PostgreSQL backends (0 when the server is elsewhere)
    analyzed: bool = False  # planner statistics refreshed at the end (needs MIGRATION_DATABASE_URL)
    timings: Counter = field(default_factory=Counter)  # phase → seconds (plan, copy, insert per table, objects)


def _ensure_tenants(provinces: list[SyntheticProvince]) -> dict[str, int]:
    """The synthetic tenants, created as the platform admin would (marked synthetic in every name)."""
    ids = {}
    for province in provinces:
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == province.slug))
        if tenant is None:
            tenant = tenant_create(
                slug=province.slug,
                name=province.tenant_name,
                name_en=province.tenant_name_en,
                official_code=None,
                standing_agency=SYNTHETIC_AGENCY,
                criteria_act="1489/QĐ-TTg",
            )
        ids[province.slug] = tenant.id
    db.session.commit()
    return ids


def _tenant_tables() -> list[str]:
    """Every tenant table, children before parents (for wiping), except the append-only audit log."""
    return [t.name for t in reversed(db.metadata.sorted_tables) if "tenant_id" in t.columns and t.name != "audit_log"]


def _set_tenant(cur, tenant_id: int) -> None:
    cur.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])


def _existing_rows(cur, tenant_ids: dict[str, int]) -> dict[str, int]:
    held = {}
    for slug, tenant_id in tenant_ids.items():
        _set_tenant(cur, tenant_id)
        count = sum(
            cur.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1) x").fetchone()[0]  # noqa: S608
            for table in ("producers", "products", "certificates", "admin_units", "cycles", "users")
        )
        if count:
            held[slug] = count
    return held


def _wipe(cur, tenant_ids: dict[str, int]) -> int:
    wiped = 0
    # Append-only tables (the application history) go with their parents by ON DELETE CASCADE.
    tables = [t for t in _tenant_tables() if cur.execute("SELECT has_table_privilege(%s, 'DELETE')", [t]).fetchone()[0]]
    for tenant_id in tenant_ids.values():
        _set_tenant(cur, tenant_id)
        for table in tables:
            wiped += cur.execute(f"DELETE FROM {table}").rowcount  # noqa: S608  (RLS keeps it in the tenant)
    return wiped


def _write_plan(cur, plan: planner.ProvincePlan, report: GenerateReport) -> None:
    """COPY each table's rows into its temporary table, then INSERT … SELECT them as the tenant (RLS checks every
    row), keeping the ids of the parents for the children's rows."""
    _set_tenant(cur, plan.tenant_id)
    counts, keys = Counter(), {}
    for table in TABLES:
        rows = plan.rows.get(table.name, [])
        started = time.perf_counter()
        if table.resolve is not None:
            rows = [table.resolve(row, keys) for row in rows]
        columns = ", ".join(c.split()[0] for c in table.columns.split(", "))
        cur.execute(f"TRUNCATE tmp_{table.name}")
        with cur.copy(f"COPY tmp_{table.name} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        copied = time.perf_counter()
        insert = f"INSERT INTO {table.name} (tenant_id, {columns}) SELECT {TENANT}, {columns} FROM tmp_{table.name}"
        if table.returning:
            cur.execute(f"{insert} RETURNING id, {table.returning}")
            width = table.returning.count(",") + 1
            keys[table.key] = {(r[1] if width == 1 else r[1:]): r[0] for r in cur.fetchall()}
        else:
            cur.execute(insert)
        if table.after:
            cur.execute(table.after)
        with _REPORT_LOCK:
            report.timings[f"copy {table.name}"] += copied - started
            report.timings[f"insert {table.name}"] += time.perf_counter() - copied
        counts[table.name] = len(rows)
    with _REPORT_LOCK:
        report.by_province[plan.province.slug] = counts
        report.rows.update(counts)


def _put_objects(provinces: list[SyntheticProvince], tenant_ids: dict[str, int], per_province: int, cur) -> int:
    """A few real objects: the first accepted PDFs of each province get bytes in storage, with the size and
    sha256 the verification job would have recorded, so their download works like any verified document's."""
    from app.core.storage import s3_client
    from app.documents.models import verified_key
    from app.documents.services import VERIFIED_SHA256_META

    client, bucket, put = s3_client(), current_app.config["S3_BUCKET"], 0
    for province in provinces:
        _set_tenant(cur, tenant_ids[province.slug])
        rows = cur.execute(
            "SELECT id, storage_key, title FROM documents WHERE status = 'accepted' AND content_type = "
            "'application/pdf' ORDER BY storage_key LIMIT %s",
            [per_province],
        ).fetchall()
        for document_id, key, title in rows:
            body = _pdf(f"{title} - {province.tenant_name_en}")
            digest = hashlib.sha256(body).hexdigest()
            client.put_object(
                Bucket=bucket,
                Key=verified_key(key),  # where the verification job puts accepted bytes (downloads read only there)
                Body=body,
                ContentType="application/pdf",
                Metadata={VERIFIED_SHA256_META: digest},
            )
            cur.execute(
                "UPDATE documents SET size = %s, declared_size = %s, sha256 = %s WHERE id = %s",
                [len(body), len(body), digest, document_id],
            )
            put += 1
    return put


def _pdf(text: str) -> bytes:
    from fpdf import FPDF

    from app.core.text import fold

    pdf = FPDF()
    pdf.set_creation_date(datetime(2026, 1, 1, tzinfo=UTC))  # same bytes on every run (the seed's promise)
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, f"OCOP - synthetic demo document\n{fold(text)}")
    return bytes(pdf.output())


def generate(
    scale: Scale,
    *,
    seed: int = DEFAULT_SEED,
    as_of: date | None = None,
    replace: bool = False,
    objects_per_province: int = 2,
    jobs: int = 2,
) -> GenerateReport:
    """Write the synthetic provinces of `scale`; see the module docstring. Raises GenerateRefused when they hold
    data and `replace` is False, ValueError when the figures cannot fit (e.g. more certificates than chains allow)."""
    from app.core import clock

    started, cpu_started = time.perf_counter(), time.process_time()
    as_of = as_of or clock.today()
    provinces = pick_provinces(scale.provinces, scale.province)
    weights = [len(p.communes) for p in provinces]
    shares = {
        name: planner.allocate(getattr(scale, name), weights)
        for name in ("producers", "products", "certificates", "documents")
    }
    set_ids = dict(
        db.session.execute(
            select(TaxonomyNode.code, TaxonomyNode.id).where(
                TaxonomyNode.act == DEFAULT_TAXONOMY_ACT, TaxonomyNode.level == "set"
            )
        ).all()
    )
    tenant_ids = _ensure_tenants(provinces)
    report = GenerateReport(provinces=[p.slug for p in provinces])

    counts = {
        province.slug: planner.Counts(
            *(shares[name][i] for name in ("producers", "products", "certificates", "documents"))
        )
        for i, province in enumerate(provinces)
    }

    connection = db.engine.raw_connection()
    try:
        pg = connection.driver_connection
        with pg.cursor() as cur:
            held = _existing_rows(cur, tenant_ids)
            if held and not replace:
                pg.rollback()
                raise GenerateRefused(
                    "These synthetic provinces already hold data: "
                    + ", ".join(sorted(held))
                    + ". Nothing was written; run again with --replace to wipe and regenerate them."
                )
            if held:
                wiping = time.perf_counter()
                report.replaced = _wipe(cur, tenant_ids)
                report.timings["wipe"] = time.perf_counter() - wiping
        pg.commit()
    finally:
        connection.close()

    def plan_of(province: SyntheticProvince) -> planner.ProvincePlan:
        planning = time.perf_counter()
        plan = planner.plan_province(
            province, tenant_ids[province.slug], counts[province.slug], seed=seed, as_of=as_of, set_ids=set_ids
        )
        with _REPORT_LOCK:
            report.timings["plan"] += time.perf_counter() - planning
        return plan

    # Each writer plans and writes its share of the provinces on its own connection (PostgreSQL works on one
    # core per connection while Python plans the next province); all commit, or all roll back.
    _run_writers(db.engine, [provinces[i::jobs] for i in range(min(jobs, len(provinces)))], plan_of, report)

    if objects_per_province:
        placing = time.perf_counter()
        connection = db.engine.raw_connection()
        try:
            with connection.driver_connection.cursor() as cur:
                report.objects = _put_objects(provinces, tenant_ids, objects_per_province, cur)
            connection.driver_connection.commit()
        except (BotoCoreError, ClientError) as error:  # the rows are in; only the sample files are missing
            connection.driver_connection.rollback()
            report.objects_error = str(error)
        finally:
            connection.close()
        report.timings["objects"] = time.perf_counter() - placing
    pages_expire({ALL})  # written through raw connections, which the engine's write marks do not see
    analysing = time.perf_counter()
    report.analyzed = _analyze()
    report.timings["analyze"] = time.perf_counter() - analysing
    report.seconds = time.perf_counter() - started
    report.cpu_seconds = time.process_time() - cpu_started
    return report


def _analyze() -> bool:
    """Fresh planner statistics for the tables just filled: without them PostgreSQL still believes a province
    holds one row and sorts every product to show a page of 50 (14 ms instead of 1 ms). ANALYZE needs the
    tables' owner: the migration URL when set, else autovacuum catches up within minutes."""
    url = os.environ.get("MIGRATION_DATABASE_URL")
    if not url:
        return False
    with psycopg.connect(url, autocommit=True) as conn:
        for table in _tenant_tables():
            conn.execute(f'ANALYZE "{table}"')
    return True


def _backend_cpu(pid: int) -> float | None:
    """CPU seconds a PostgreSQL backend has used, when the server runs on this machine (else None): on a shared
    machine the wall time says little, the CPU time says what the work costs."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run_writers(engine, shares: list[list[SyntheticProvince]], plan_of, report: GenerateReport) -> None:
    connections = [engine.raw_connection() for _ in shares]
    failed: list[BaseException] = []
    written = threading.Barrier(len(shares))

    def write(connection, provinces: list[SyntheticProvince]) -> None:
        pg = connection.driver_connection
        try:
            with pg.cursor() as cur:
                for table in TABLES:
                    cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS tmp_{table.name} ({table.columns}) ON COMMIT DROP")
                for province in provinces:
                    if failed:
                        break
                    _write_plan(cur, plan_of(province), report)
        except BaseException as error:  # noqa: B036  (handed to the caller, which re-raises it)
            failed.append(error)
        backend = _backend_cpu(pg.info.backend_pid)
        if backend is not None:
            with _REPORT_LOCK:
                report.server_cpu_seconds += backend
        written.wait()
        if failed:
            pg.rollback()
        else:
            committing = time.perf_counter()
            pg.commit()
            with _REPORT_LOCK:
                report.timings["commit"] += time.perf_counter() - committing

    threads = [
        threading.Thread(target=write, args=(connection, share), daemon=True)
        for connection, share in zip(connections, shares, strict=True)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for connection in connections:
            connection.close()
    if failed:
        raise failed[0]


# ----------------------------------------------------------------------------- digest (tests, `demo digest`)

DIGEST_QUERIES = {
    "admin_units": "SELECT code, name, kind, valid_from FROM admin_units",
    "producers": """SELECT p.code, p.name, p.kind, p.registration_no, p.address, u.code, p.representative, p.phone,
        p.capital_vnd, p.workforce, p.members, p.created_at FROM producers p LEFT JOIN admin_units u ON u.id = p.unit_id""",
    "products": """SELECT p.code, r.code, p.name, s.code, u.code, p.raw_material_area, p.capacity, p.annual_output,
        p.output_unit, p.markets, p.export_countries, p.traceability, p.trademark_status, p.created_at
        FROM products p JOIN producers r ON r.id = p.producer_id LEFT JOIN taxonomy_nodes s ON s.id = p.product_set_id
        LEFT JOIN admin_units u ON u.id = p.unit_id""",
    "certificates": """SELECT p.code, c.stars, c.score, c.part_scores, c.decision_number, c.decision_date, c.authority,
        c.act, c.kind, c.source, c.valid_from, c.valid_to, c.revoked_on, c.revoke_reason, c.revoke_decision_number,
        n.public_code, c.superseded_on, c.public_code
        FROM certificates c JOIN products p ON p.id = c.product_id LEFT JOIN certificates n ON n.id = c.superseded_by_id""",
    "cycles": "SELECT year, ideas_from, ideas_until, plans_from, plans_until, dossiers_from, dossiers_until FROM cycles",
    "evaluation_rounds": """SELECT c.year, r.code, r.name, r.level, r.deadline
        FROM evaluation_rounds r JOIN cycles c ON c.id = r.cycle_id""",
    "applications": """SELECT c.year, p.code, a.kind, a.status, a.screening_level, a.target_stars, a.idea_summary,
        a.business_plan, a.last_reason, a.created_at, a.updated_at
        FROM applications a JOIN cycles c ON c.id = a.cycle_id JOIN products p ON p.id = a.product_id""",
    "application_events": """SELECT c.year, p.code, e.at, e.actor_label, e.action, e.from_status, e.to_status, e.note
        FROM application_events e JOIN applications a ON a.id = e.application_id JOIN cycles c ON c.id = a.cycle_id
        JOIN products p ON p.id = a.product_id""",
    # The storage key names the tenant id, which differs between databases: compared without it.
    "documents": """SELECT r.code, p.code, d.requirement, d.title, d.original_filename, d.content_type,
        d.declared_size, d.size, d.sha256, regexp_replace(d.storage_key, '^tenants/[0-9]+/', ''), d.status,
        d.reject_reason, d.issued_on, d.valid_until, d.created_at, d.confirmed_at, d.verified_at
        FROM documents d JOIN producers r ON r.id = d.producer_id LEFT JOIN products p ON p.id = d.product_id""",
    "application_documents": """SELECT c.year, p.code, x.requirement, regexp_replace(d.storage_key, '^tenants/[0-9]+/', '')
        FROM application_documents x JOIN applications a ON a.id = x.application_id JOIN cycles c ON c.id = a.cycle_id
        JOIN products p ON p.id = a.product_id JOIN documents d ON d.id = x.document_id""",
}


def generated_digest(slugs: list[str]) -> str:
    """sha256 over every generated row of the provinces, ids replaced by natural keys: equal for equal data."""
    total = hashlib.sha256()
    connection = db.engine.raw_connection()
    try:
        with connection.driver_connection.cursor() as cur:
            for slug in sorted(slugs):
                tenant_id = cur.execute("SELECT id FROM tenants WHERE slug = %s", [slug]).fetchone()[0]
                _set_tenant(cur, tenant_id)
                for table, query in DIGEST_QUERIES.items():
                    digest = cur.execute(
                        f"SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM ({query}) x"  # noqa: S608
                    ).fetchone()
                    total.update(f"{slug}:{table}:{digest[0]}:{digest[1]};".encode())
        connection.driver_connection.rollback()
    finally:
        connection.close()
    return total.hexdigest()
