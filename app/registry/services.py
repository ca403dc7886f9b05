"""Producers and products of the current tenant: create, update, search; the taxonomy for forms."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.certification.services import current_stars_column
from app.core.search import text_matches
from app.extensions import db
from app.registry.models import Producer, Product, TaxonomyNode

PRODUCER_KIND_LABELS = {
    "htx": _l("Hợp tác xã"),
    "enterprise": _l("Doanh nghiệp"),
    "coop_group": _l("Tổ hợp tác"),
    "household": _l("Hộ sản xuất, kinh doanh"),
}
TRADEMARK_LABELS = {
    "none": _l("Chưa có"),
    "applied": _l("Đang đăng ký"),
    "registered": _l("Đã đăng ký nhãn hiệu"),
    "collective": _l("Nhãn hiệu tập thể"),
    "geographical_indication": _l("Chỉ dẫn địa lý"),
}
# Tenants on 1489 use the 148 classification (1489 amends 148 without changing it).
TAXONOMY_ACT = {"1489/QĐ-TTg": "148/QĐ-TTg"}


# Product photos are documents like any evidence: uploaded straight to storage, verified, re-encoded.
PHOTO_REQUIREMENT = "product_photo"


class RegistryError(ValueError):
    pass


def taxonomy_act(criteria_act: str) -> str:
    return TAXONOMY_ACT.get(criteria_act, criteria_act)


def product_sets(criteria_act: str) -> list[tuple[TaxonomyNode, TaxonomyNode, TaxonomyNode]]:
    """(group, category, set) triples of the act, in the act's order."""
    nodes = db.session.scalars(
        select(TaxonomyNode).where(TaxonomyNode.act == taxonomy_act(criteria_act)).order_by(TaxonomyNode.position)
    ).all()
    by_id = {n.id: n for n in nodes}
    triples = []
    for node in nodes:
        if node.level == "set":
            category = by_id[node.parent_id]
            triples.append((by_id[category.parent_id], category, node))
    return triples


def producer_save(producer: Producer | None, **values) -> Producer:
    registration_no = values.get("registration_no") or None
    values["registration_no"] = registration_no
    if registration_no:
        clash = select(Producer.id).where(Producer.registration_no == registration_no)
        if producer is not None:
            clash = clash.where(Producer.id != producer.id)
        if db.session.scalar(clash):
            raise RegistryError(_("Đã có chủ thể với mã số đăng ký này."))
    return _save(Producer, producer, values)


def product_save(product: Product | None, **values) -> Product:
    clash = select(Product.id).where(
        Product.producer_id == values["producer_id"], func.lower(Product.name) == values["name"].lower()
    )
    if product is not None:
        clash = clash.where(Product.id != product.id)
    if db.session.scalar(clash):
        raise RegistryError(_("Chủ thể này đã có sản phẩm cùng tên."))
    return _save(Product, product, values)


def _save(model, obj, values: dict):
    """Create (obj None) or update a row from form values."""
    if obj is None:
        obj = model()
        db.session.add(obj)
    for key, value in values.items():
        setattr(obj, key, value)
    db.session.flush()
    return obj


def producers_search(query: str = "", kind: str = "", unit_id: int | None = None):
    stmt = select(Producer).order_by(Producer.name)
    if query:
        stmt = stmt.where(text_matches(query, Producer.name, Producer.representative, Producer.registration_no))
    if kind:
        stmt = stmt.where(Producer.kind == kind)
    if unit_id:
        stmt = stmt.where(Producer.unit_id == unit_id)
    return db.session.scalars(stmt).all()


def with_producer(stmt):
    """Join each product's producer (of the same tenant) onto a statement that selects Product."""
    return stmt.join(Producer, (Producer.id == Product.producer_id) & (Producer.tenant_id == Product.tenant_id))


def filter_products(stmt, *, query: str = "", unit_id: int | None = None, producer_id: int | None = None):
    """The filters every product list offers: name of product or producer (no diacritics), commune, producer."""
    if query:
        stmt = stmt.where(text_matches(query, Product.name, Producer.name))
    if unit_id:
        stmt = stmt.where(Product.unit_id == unit_id)
    if producer_id:
        stmt = stmt.where(Product.producer_id == producer_id)
    return stmt


def products_search(
    query: str = "",
    product_set_id: int | None = None,
    unit_id: int | None = None,
    producer_id: int | None = None,
    stars: int | None = None,
    on: date | None = None,
    group_id: int | None = None,
):
    """Rows of (Product, Producer, stars): stars of the certificate valid on the day (today), or None."""
    stars_now = current_stars_column(on)
    stmt = with_producer(select(Product, Producer, stars_now.label("stars"))).order_by(Product.name)
    stmt = filter_products(stmt, query=query, unit_id=unit_id, producer_id=producer_id)
    if product_set_id:
        stmt = stmt.where(Product.product_set_id == product_set_id)
    if group_id:
        stmt = stmt.where(Product.product_set_id.in_(taxonomy_under(group_id)))
    if stars:
        stmt = stmt.where(stars_now == stars)
    return db.session.execute(stmt).all()


def taxonomy_under(node_id: int):
    """Ids of a taxonomy node and every node below it (a group's categories and sets: three levels)."""
    child, grandchild = aliased(TaxonomyNode), aliased(TaxonomyNode)
    return (
        select(TaxonomyNode.id)
        .outerjoin(child, child.id == TaxonomyNode.parent_id)
        .outerjoin(grandchild, grandchild.id == child.parent_id)
        .where((TaxonomyNode.id == node_id) | (child.id == node_id) | (grandchild.id == node_id))
    )


def product_photos(product_id: int):
    from app.documents.models import Document

    return db.session.scalars(
        select(Document)
        .where(
            Document.product_id == product_id,
            Document.requirement == PHOTO_REQUIREMENT,
            Document.status.in_(("pending", "verifying", "accepted")),
        )
        .order_by(Document.created_at.desc())
    ).all()
