"""Producers and products of the current tenant: create, update, search; the taxonomy for forms."""

from __future__ import annotations

from datetime import date

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.auth.policy import own_producer_id
from app.core.access import get_or_404
from app.core.acts import taxonomy_act
from app.core.search import id_in_found, ids_found
from app.documents.models import Document
from app.documents.services import DocumentError
from app.extensions import db
from app.registry.hooks import registry_hooks
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


# Product photos are documents like any evidence: uploaded straight to storage, verified, re-encoded.
PHOTO_REQUIREMENT = "product_photo"


class RegistryError(ValueError):
    pass


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


def producer_get(user, producer_id: int, action: str = "registry.record") -> Producer:
    """One producer the user may reach; another producer's (for a producer user) is as missing as a foreign one."""
    own = own_producer_id(user, action)
    return get_or_404(Producer, producer_id, *(() if own is None else (Producer.id == own,)))


def product_get(user, product_id: int, action: str = "registry.record") -> Product:
    """One product the user may reach (a producer user: only its own producer's)."""
    own = own_producer_id(user, action)
    return get_or_404(Product, product_id, *(() if own is None else (Product.producer_id == own,)))


def product_page_get(user, product_id: int):
    """(product, producer, stars today) in one query, for the product's page; 404 as product_get."""
    stars = registry_hooks().stars_column(None)
    stmt = with_producer(select(Product, Producer, stars.label("stars"))).where(Product.id == product_id)
    own = own_producer_id(user, "registry.record")
    if own is not None:  # in the one query: another producer's id costs what a missing one does
        stmt = stmt.where(Product.producer_id == own)
    row = db.session.execute(stmt).first()
    if row is None:
        abort(404)
    return row


def products_for(user, action: str) -> list[Product]:
    """The products the user may act on through an action, by name (a producer user: its own)."""
    stmt = select(Product).order_by(Product.name)
    own = own_producer_id(user, action)
    if own is not None:
        stmt = stmt.where(Product.producer_id == own)
    return db.session.scalars(stmt).all()


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
    return db.session.scalars(producers_query(query, kind, unit_id)).all()


def producers_query(query: str = "", kind: str = "", unit_id: int | None = None):
    """The producers asked for, by name (the list pages it, the export reads it all)."""
    stmt = select(Producer).order_by(Producer.name, Producer.id)
    if query:
        stmt = stmt.where(id_in_found(Producer.id, func.search.producer_ids, query, db.session))
    if kind:
        stmt = stmt.where(Producer.kind == kind)
    if unit_id:
        stmt = stmt.where(Producer.unit_id == unit_id)
    return stmt


def with_producer(stmt):
    """Join each product's producer (of the same tenant) onto a statement that selects Product."""
    return stmt.join(Producer, (Producer.id == Product.producer_id) & (Producer.tenant_id == Product.tenant_id))


def filter_products(stmt, *, query: str = "", unit_id: int | None = None, producer_id: int | None = None):
    """The filters every product list offers: name of product or producer (no diacritics), commune, producer."""
    if query:
        stmt = stmt.where(Product.id.in_(ids_found(func.search.product_ids, query)))
    if unit_id:
        stmt = stmt.where(Product.unit_id == unit_id)
    if producer_id:
        stmt = stmt.where(Product.producer_id == producer_id)
    return stmt


def products_search(*args, **kwargs):
    """Rows of (Product, Producer, stars): stars of the certificate valid on the day (today), or None."""
    return db.session.execute(products_query(*args, **kwargs)).all()


def products_query(
    query: str = "",
    product_set_id: int | None = None,
    unit_id: int | None = None,
    producer_id: int | None = None,
    stars: int | None = None,
    on: date | None = None,
    group_id: int | None = None,
):
    """The select of (Product, Producer, stars) rows, by name (the list pages it, the export reads it all)."""
    stars_now = registry_hooks().stars_column(on)
    stmt = with_producer(select(Product, Producer, stars_now.label("stars"))).order_by(Product.name, Product.id)
    if query:  # searched once here, not inside both the count and the page
        stmt = stmt.where(id_in_found(Product.id, func.search.product_ids, query, db.session))
    stmt = filter_products(stmt, unit_id=unit_id, producer_id=producer_id)
    if product_set_id:
        stmt = stmt.where(Product.product_set_id == product_set_id)
    if group_id:
        stmt = stmt.where(Product.product_set_id.in_(taxonomy_under(group_id)))
    if stars:
        stmt = stmt.where(stars_now == stars)
    return stmt


def product_stars(product_id: int, on: date | None = None) -> int | None:
    """The stars of the product's certificate valid on the day (today), or None."""
    stars = registry_hooks().stars_column(on)
    return db.session.scalar(select(stars).select_from(Product).where(Product.id == product_id))


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
    return db.session.scalars(
        select(Document)
        .where(
            Document.product_id == product_id,
            Document.requirement == PHOTO_REQUIREMENT,
            Document.status.in_(("pending", "verifying", "accepted")),
        )
        .order_by(Document.created_at.desc())
    ).all()


def document_owner(producer_id: int | None, product_id: int | None) -> tuple[int, int | None]:
    """Who a new document belongs to: the product's producer, or a producer of this tenant."""
    if product_id is not None:
        product = db.session.scalar(select(Product).where(Product.id == product_id))
        if product is None or (producer_id is not None and product.producer_id != producer_id):
            raise DocumentError(_("Không tìm thấy sản phẩm của chủ thể này."))
        return product.producer_id, product.id
    if producer_id is None or db.session.scalar(select(Producer.id).where(Producer.id == producer_id)) is None:
        raise DocumentError(_("Không tìm thấy chủ thể."))
    return producer_id, None
