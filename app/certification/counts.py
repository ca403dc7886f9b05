"""Counts computed from the certificate records, on any date: what the province's reports count.

Each product counts once. On a date, a product is "ever certified" when a decision recognised it on
or before that date, and "valid" when one of its certificates is in force that day (not expired,
revoked or superseded). Its breakdown follows the certificate that represents it on that date: the
valid one, else the latest recognised. District and commune are the product's own unit (the
producer's when the product has none). Everything is one set-wise query (GROUPING SETS), and the
lists behind each number use the same query, so a number and its list always agree.
"""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from redis.exceptions import RedisError
from sqlalchemy import Integer, and_, case, extract, func, literal, select, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import aliased

from app.certification.models import Certificate
from app.certification.services import certificate_valid_on
from app.core import clock
from app.extensions import db
from app.registry.models import Producer, Product, TaxonomyNode
from app.registry.services import PRODUCER_KIND_LABELS
from jobs.queues import redis_connection
from tenants.context import current_tenant_id
from tenants.models import AdminUnit

STATUSES = ("valid", "ever")
SCORE_BANDS = {
    "50": "50–59",
    "60": "60–69",
    "70": "70–79",
    "80": "80–89",
    "90": "90–100",
    "none": _l("Chưa rõ điểm"),
}
DIMENSIONS = {
    "stars": _l("Hạng sao"),
    "group": _l("Nhóm sản phẩm"),
    "set": _l("Bộ sản phẩm"),
    "kind": _l("Loại hình chủ thể"),
    "district": _l("Huyện (của sản phẩm)"),
    "commune": _l("Xã/phường (của sản phẩm)"),
    "band": _l("Điểm đánh giá"),
    "year": _l("Năm công nhận"),
}
DB_LABELLED = ("group", "set", "district", "commune")  # their labels come from the database
UNKNOWN = "none"  # the query-string value of an unknown group, district, score, …
MAX_ID = 2**63 - 1
SMALL_MAX = {"stars": 9999, "year": 9999}  # compared as int/smallint columns: a bigger number is no such value


class CountsError(ValueError):
    pass


def day_parse(text: str | None, default: date) -> date:
    """A dd/mm/yyyy date from the query string (ISO yyyy-mm-dd also accepted); empty → default."""
    text = (text or "").strip()
    if not text:
        return default
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            day = datetime.strptime(text[:10], pattern).date() if len(text) <= 10 else None
        except ValueError:
            continue
        if day is not None and 1900 <= day.year <= 2200:
            return day
    raise CountsError(_("Ngày không hợp lệ: '%(text)s'. Nhập theo dạng ngày/tháng/năm, vd 31/12/2020.", text=text[:40]))


@dataclass(frozen=True)
class CountFilter:
    """Which products a number counts: the date, valid or ever certified, and one value per dimension."""

    on: date
    status: str = "valid"
    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args, today: date) -> CountFilter:
        on = day_parse(args.get("on"), today)
        status = args.get("status") or "valid"
        if status not in STATUSES:
            raise CountsError(_("Trạng thái không hợp lệ: chọn 'valid' hoặc 'ever'."))
        values = {}
        for name in DIMENSIONS:
            value = (args.get(name) or "").strip()
            if value:
                _check_value(name, value)
                values[name] = value
        return cls(on, status, values)

    def query_args(self, **changes) -> dict[str, str]:
        """Query-string arguments of this filter (dates as dd/mm/yyyy), with some changed."""
        args = {"on": self.on.strftime("%d/%m/%Y"), "status": self.status, **self.values}
        args.update({k: v for k, v in changes.items()})
        return {k: str(v) for k, v in args.items() if v not in (None, "")}


def _check_value(name: str, value: str) -> None:
    if value == UNKNOWN:
        return
    if name == "kind":
        if value not in PRODUCER_KIND_LABELS:
            raise CountsError(_("Loại hình chủ thể không hợp lệ: '%(value)s'.", value=value[:40]))
    elif name == "band":
        if value not in SCORE_BANDS:
            raise CountsError(_("Khoảng điểm không hợp lệ: '%(value)s'.", value=value[:40]))
    elif not (value.isascii() and value.isdigit() and 0 < int(value) <= SMALL_MAX.get(name, MAX_ID)):
        raise CountsError(
            _("Giá trị không hợp lệ cho %(name)s: '%(value)s'.", name=str(DIMENSIONS[name]), value=value[:40])
        )


def _representative(on: date):
    """One row per product recognised by `on`: its valid certificate that day, else its latest one."""
    c = Certificate
    valid = certificate_valid_on(on)
    return (
        select(
            c.tenant_id,
            c.product_id,
            c.stars,
            c.score,
            c.decision_date,
            valid.label("valid"),
        )
        .where(c.decision_date <= on)
        .ext(distinct_on(c.tenant_id, c.product_id))
        .order_by(c.tenant_id, c.product_id, valid.desc(), c.decision_date.desc(), c.id.desc())
        .subquery("representative")
    )


def _base(on: date):
    """(from-clause pieces, dimension expressions, the valid flag) of the counting query."""
    rep = _representative(on)
    unit, parent = aliased(AdminUnit, name="unit"), aliased(AdminUnit, name="parent_unit")
    node, node_up, node_top = (aliased(TaxonomyNode, name=n) for n in ("node", "node_up", "node_top"))
    unit_id = func.coalesce(Product.unit_id, Producer.unit_id)
    score = rep.c.score
    dims = {
        "stars": rep.c.stars,
        # The group is the top of the product's node: a 148 set → its group; a 1048 sector is its own.
        "group": case(
            (node.parent_id.is_(None), node.id),
            (node_up.parent_id.is_(None), node_up.id),
            else_=node_top.id,
        ),
        "set": case((node.level == "set", node.id)),
        "kind": Producer.kind,
        "district": case((unit.kind == "district", unit.id), (parent.kind == "district", parent.id)),
        "commune": case((unit.kind != "district", unit.id)),
        "band": case(
            (score.is_(None), literal(UNKNOWN)),
            (score >= 90, literal("90")),
            (score >= 80, literal("80")),
            (score >= 70, literal("70")),
            (score >= 60, literal("60")),
            (score >= 50, literal("50")),
            else_=literal(UNKNOWN),
        ),
        "year": extract("year", rep.c.decision_date).cast(Integer),
    }

    def joined(stmt):
        return (
            stmt.select_from(rep)
            .join(Product, (Product.tenant_id == rep.c.tenant_id) & (Product.id == rep.c.product_id))
            .join(Producer, (Producer.tenant_id == Product.tenant_id) & (Producer.id == Product.producer_id))
            .outerjoin(unit, (unit.tenant_id == Product.tenant_id) & (unit.id == unit_id))
            .outerjoin(parent, (parent.tenant_id == unit.tenant_id) & (parent.id == unit.parent_id))
            .outerjoin(node, node.id == Product.product_set_id)
            .outerjoin(node_up, node_up.id == node.parent_id)
            .outerjoin(node_top, node_top.id == node_up.parent_id)
        )

    return joined, dims, rep.c.valid


@dataclass
class CountRow:
    key: str  # the query-string value of this row ("none" when unknown)
    label: str
    valid: int
    ever: int


@dataclass
class CertificateCounts:
    on: date
    valid: int
    ever: int
    by: dict[str, list[CountRow]]


# A breakdown longer than this (the communes: 100–600 in a province) shows its largest rows on the dashboard and
# the rest on a page of its own: the dashboard stays a glance on a phone, and a page a third of the size.
GLANCE_ROWS = 10


def count_rows_glance(rows: list[CountRow], limit: int = GLANCE_ROWS) -> list[CountRow]:
    """The rows with the most valid products (then the most ever certified, then by label), at most `limit`."""
    if len(rows) <= limit:
        return rows
    return sorted(rows, key=lambda r: (-r.valid, -r.ever, r.label))[:limit]


def certificate_counts(on: date | None = None) -> CertificateCounts:
    """Products valid on `on` (default today) and ever certified by then, by every dimension, in one query."""
    on = on or clock.today()
    return counts_from_tally(on, certificate_tally(on))


# The dashboard's counts, kept in Redis per (province, data version, date). The version is the province's
# (tenants.models.data_version_of): PostgreSQL replaces it at the commit of any change of certificates,
# products, producers or units, however written, so a cached figure is never served after a change; a
# province's key holds its id and its version is read under its own RLS, so no province is served another's.
# Taxonomy nodes are reference data only migrations write; the TTL bounds anything else (and memory).
COUNTS_TTL_SECONDS = 900


def _tally_key(tenant_id: int, version: str, on: date) -> str:
    return f"{current_app.config['RQ_QUEUE_PREFIX']}:counts:{tenant_id}:{version}:{on.isoformat()}"


def certificate_counts_cached(on: date, version: str | None) -> CertificateCounts:
    """certificate_counts(on), from the cache when the province's data version is the one read before.

    `version`: the value of tenants.models.data_version_of, read before this call (None: count, cache nothing).
    Redis out of order: counted each time.
    """
    if version is None:
        return certificate_counts(on)
    key = _tally_key(current_tenant_id(), version, on)
    try:
        cached = redis_connection().get(key)
    except RedisError:
        return certificate_counts(on)
    if cached is not None:
        return counts_from_tally(on, json.loads(cached))
    tally = certificate_tally(on)
    with suppress(RedisError):
        redis_connection().set(key, json.dumps(tally, separators=(",", ":")), ex=COUNTS_TTL_SECONDS)
    return counts_from_tally(on, tally)


def certificate_tally(on: date) -> dict:
    """The counts on `on` as plain data (JSON-able, no translated text): one statement, the labels that come
    from the database (taxonomy nodes, administrative units) joined to the aggregated rows.

    {"valid": n, "ever": n, "by": {dimension: [[key, valid, ever, label or None], …]}}
    """
    joined, dims, valid = _base(on)
    names = list(dims)
    columns = [dims[n].label(n) for n in names]
    groupings = [func.grouping(dims[n]).label(f"g_{n}") for n in names]
    agg = (
        joined(
            select(
                *columns,
                *groupings,
                func.count().label("ever"),
                func.count().filter(valid).label("valid"),
            )
        )
        .group_by(func.grouping_sets(*(tuple_(dims[n]) for n in names), tuple_()))
        .subquery("tally")
    )
    # In a row of one grouping set only that dimension is open: group and set never both, district and
    # commune never both, so one join each finds the row's label.
    node, unit = aliased(TaxonomyNode, name="label_node"), aliased(AdminUnit, name="label_unit")
    stmt = (
        select(agg, node.code.label("node_code"), node.name.label("node_name"), node.act.label("node_act"))
        .add_columns(unit.name.label("unit_name"))
        .outerjoin(node, node.id == func.coalesce(agg.c.group, agg.c.set))
        .outerjoin(unit, unit.id == func.coalesce(agg.c.district, agg.c.commune))
    )
    by: dict[str, list] = {n: [] for n in names}
    tally = {"valid": 0, "ever": 0, "by": by}
    for row in db.session.execute(stmt).mappings():
        open_dims = [n for n in names if row[f"g_{n}"] == 0]
        if not open_dims:
            tally["valid"], tally["ever"] = row["valid"], row["ever"]
            continue
        name = open_dims[0]
        key, label = row[name], None
        if key is not None and name in ("group", "set") and row["node_code"] is not None:
            label = _node_label(row["node_code"], row["node_name"], row["node_act"])
        elif key is not None and name in ("district", "commune"):
            label = row["unit_name"]
        by[name].append([key, row["valid"], row["ever"], label])
    return tally


def counts_from_tally(on: date, tally: dict) -> CertificateCounts:
    """CertificateCounts (labels in the current language, rows in order) from certificate_tally's data."""
    by = {name: _rows(name, rows) for name, rows in tally["by"].items()}
    return CertificateCounts(on, tally["valid"], tally["ever"], by)


def _node_label(code: str, name: str, act: str) -> str:
    return f"{code} {name}" if act.startswith("148") else f"{name} (QĐ {act})"


def _rows(name: str, tallied: list) -> list[CountRow]:
    if name in DB_LABELLED:
        labels = {key: label for key, _valid, _ever, label in tallied if label is not None}
    else:
        labels = _labels(name, [key for key, *_ in tallied if key is not None])
    unknown = _("Chưa rõ")
    rows = [
        CountRow(UNKNOWN if key is None else str(key), labels.get(key, unknown), valid, ever)
        for key, valid, ever, _label in tallied
    ]
    if name in ("stars", "year", "band"):
        rows.sort(key=lambda r: (r.key == UNKNOWN, r.key))
    else:
        rows.sort(key=lambda r: (r.key == UNKNOWN, r.label))
    return rows


def _labels(name: str, keys: list) -> dict:
    if name == "stars":
        return {k: _("%(n)d sao", n=k) for k in keys}
    if name == "year":
        return {k: str(k) for k in keys}
    if name == "kind":
        return {k: str(PRODUCER_KIND_LABELS.get(k, k)) for k in keys}
    if name == "band":
        return {k: str(SCORE_BANDS[k]) for k in keys if k != UNKNOWN} | {UNKNOWN: str(SCORE_BANDS[UNKNOWN])}
    if name in ("group", "set"):
        nodes = db.session.execute(select(TaxonomyNode).where(TaxonomyNode.id.in_(keys))).scalars() if keys else []
        return {n.id: _node_label(n.code, n.name, n.act) for n in nodes}
    units = db.session.scalars(select(AdminUnit).where(AdminUnit.id.in_(keys))) if keys else []
    return {u.id: u.name for u in units}


def _matches(name: str, expr, value: str):
    if value == UNKNOWN and name != "band":
        return expr.is_(None)
    return expr == (value if name in ("kind", "band") else int(value))


def counted_products(flt: CountFilter):
    """(Product, Producer, stars, score, decision date, valid) rows behind one number of the counts."""
    return db.session.execute(counted_query(flt)).all()


def counted_query(flt: CountFilter):
    """The select of counted_products (the list pages it)."""
    joined, dims, valid = _base(flt.on)
    stmt = joined(
        select(Product, Producer, dims["stars"].label("stars"), dims["band"].label("band"), valid.label("valid"))
    )
    conditions = [valid] if flt.status == "valid" else []
    conditions += [_matches(name, dims[name], value) for name, value in flt.values.items()]
    if conditions:
        stmt = stmt.where(and_(*conditions))
    return stmt.order_by(Product.name, Product.id)


def filter_labels(flt: CountFilter) -> list[tuple[str, str]]:
    """(dimension, value) labels of a filter, for the list's heading."""
    labels = []
    for name, value in flt.values.items():
        if value == UNKNOWN and name != "band":
            label = _("Chưa rõ")
        else:
            key = value if name in ("kind", "band") else int(value)
            label = _labels(name, [key]).get(key, value)
        labels.append((str(DIMENSIONS[name]), label))
    return labels
