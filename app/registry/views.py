"""Producers and products of the province: lists with diacritic-insensitive search, forms, Excel."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth.policy import permission_required
from app.core.excel import xlsx_response
from app.documents.hooks import document_hooks
from app.extensions import db
from app.registry import services
from app.registry.forms import ProducerForm, ProductForm, RegistrySearchForm
from app.registry.hooks import registry_hooks
from app.registry.imports.export import EXPORT_HEADERS, export_rows, producers_with_products
from app.registry.models import Producer, TaxonomyNode
from tenants.models import AdminUnit
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("registry", __name__, template_folder="templates")
# Documents belong to producers and products: the registry tells documents which owners exist.
bp.record_once(lambda state: setattr(document_hooks(state.app), "owner", services.document_owner))


def _unit_choices(blank: str):
    units = db.session.scalars(select(AdminUnit).order_by(AdminUnit.kind.desc(), AdminUnit.name)).all()
    return [(0, blank)] + [(u.id, u.name) for u in units]


def _set_choices(blank: str):
    return [(0, blank)] + [
        (node.id, f"{node.code} {node.name}")
        for _group, _category, node in services.product_sets(g.tenant.criteria_act)
    ]


def _group_choices():
    """The 6 groups of the tenant's classification (148), then the 1048 sectors kept for history."""
    acts = (services.taxonomy_act(g.tenant.criteria_act), "1048/QĐ-TTg")
    nodes = db.session.scalars(
        select(TaxonomyNode).where(TaxonomyNode.parent_id.is_(None), TaxonomyNode.act.in_(acts))
    ).all()
    nodes.sort(key=lambda n: (acts.index(n.act), n.position))
    return [(n.id, f"{n.code} {n.name}" if n.act == acts[0] else f"{n.name} (QĐ 1048)") for n in nodes]


def _producer_choices():
    return [(p.id, p.name) for p in db.session.scalars(select(Producer).order_by(Producer.name))]


def _search_form():
    form = RegistrySearchForm(request.args)
    form.kind.choices = [("", _("Tất cả loại hình"))] + [(k, str(v)) for k, v in services.PRODUCER_KIND_LABELS.items()]
    form.unit_id.choices = _unit_choices(_("Tất cả xã/phường"))
    form.product_set_id.choices = _set_choices(_("Tất cả bộ sản phẩm"))
    form.group_id.choices = [(0, _("Tất cả nhóm sản phẩm"))] + _group_choices()
    form.stars.choices = [(0, _("Mọi hạng sao"))] + [(s, _("%(n)d sao", n=s)) for s in (3, 4, 5)]
    form.validate()
    return form


def _producer_form(obj=None):
    form = ProducerForm(obj=obj)
    form.kind.choices = [(k, str(v)) for k, v in services.PRODUCER_KIND_LABELS.items()]
    form.unit_id.choices = _unit_choices("—")
    return form


def _product_form(obj=None):
    form = ProductForm(obj=obj)
    form.producer_id.choices = _producer_choices()
    form.product_set_id.choices = _set_choices("—")
    form.unit_id.choices = _unit_choices("—")
    form.trademark_status.choices = [(k, str(v)) for k, v in services.TRADEMARK_LABELS.items()]
    if obj is not None and request.method == "GET":
        form.export_countries.data = ", ".join(obj.export_countries or [])
    return form


def _product_values(form: ProductForm) -> dict:
    values = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
    values["export_countries"] = [c.strip() for c in (form.export_countries.data or "").split(",") if c.strip()]
    return values


def _producer_values(form: ProducerForm) -> dict:
    return {name: field.data for name, field in form._fields.items() if name != "csrf_token"}


@bp.route("/producers")
@permission_required("registry.view")
def producers():
    form = _search_form()
    items = services.producers_search(form.q.data or "", form.kind.data or "", form.unit_id.data)
    return render_template("registry/producers.html", producers=items, form=form, kinds=services.PRODUCER_KIND_LABELS)


@bp.route("/producers/export.xlsx")
@permission_required("registry.view")
def producers_export():
    form = _search_form()
    items = services.producers_search(form.q.data or "", form.kind.data or "", form.unit_id.data)
    rows = export_rows(producers_with_products(items))
    return xlsx_response(f"chu-the-{g.tenant.slug}.xlsx", _("Chủ thể"), EXPORT_HEADERS, rows)


@bp.route("/producers/new", methods=["GET", "POST"])
@permission_required("registry.edit")
def producer_new():
    return _producer_edit(None)


@bp.route("/producers/<int:producer_id>/edit", methods=["GET", "POST"])
@permission_required("registry.edit")
def producer_edit(producer_id):
    return _producer_edit(services.producer_get(current_user, producer_id, "registry.edit"))


def _producer_edit(producer):
    form = _producer_form(producer)
    if form.validate_on_submit():
        try:
            producer = services.producer_save(producer, **_producer_values(form))
        except services.RegistryError as error:
            form.registration_no.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Đã lưu chủ thể %(name)s.", name=producer.name), "success")
            return redirect(url_for("registry.producer", producer_id=producer.id))
    heading = _("Sửa chủ thể") if producer else _("Thêm chủ thể")
    return render_template("form_page.html", form=form, heading=heading)


@bp.route("/producers/<int:producer_id>")
@permission_required("registry.record")
def producer(producer_id):
    producer = services.producer_get(current_user, producer_id)
    products = services.products_search(producer_id=producer.id)
    return render_template(
        "registry/producer.html",
        producer=producer,
        products=products,
        kinds=services.PRODUCER_KIND_LABELS,
        units=dict(_unit_choices("—")),
    )


@bp.route("/products")
@permission_required("registry.view")
def products():
    form = _search_form()
    rows = services.products_search(
        form.q.data or "",
        form.product_set_id.data,
        form.unit_id.data,
        stars=form.stars.data,
        group_id=form.group_id.data,
    )
    return render_template("registry/products.html", rows=rows, form=form, sets=dict(_set_choices("—")))


@bp.route("/products/export.xlsx")
@permission_required("registry.view")
def products_export():
    form = _search_form()
    rows = services.products_search(
        form.q.data or "",
        form.product_set_id.data,
        form.unit_id.data,
        stars=form.stars.data,
        group_id=form.group_id.data,
    )
    data = export_rows(rows)
    return xlsx_response(f"san-pham-{g.tenant.slug}.xlsx", _("Sản phẩm"), EXPORT_HEADERS, data)


@bp.route("/products/<int:product_id>")
@permission_required("registry.record")
def product(product_id):
    product = services.product_get(current_user, product_id)
    producer = services.producer_get(current_user, product.producer_id)
    photos = services.product_photos(product.id)
    return render_template(
        "registry/product.html",
        panels=[panel(product) for panel in registry_hooks().product_panels],
        stars=services.product_stars(product.id),
        product=product,
        producer=producer,
        photos=photos,
        sets=dict(_set_choices("—")),
        units=dict(_unit_choices("—")),
        trademarks=services.TRADEMARK_LABELS,
        photo_requirement=services.PHOTO_REQUIREMENT,
    )


@bp.route("/products/new", methods=["GET", "POST"])
@permission_required("registry.edit")
def product_new():
    return _product_edit(None)


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@permission_required("registry.edit")
def product_edit(product_id):
    return _product_edit(services.product_get(current_user, product_id, "registry.edit"))


def _product_edit(product):
    form = _product_form(product)
    if request.method == "GET" and product is None and request.args.get("producer_id", "").isdigit():
        form.producer_id.data = int(request.args["producer_id"])
    if form.validate_on_submit():
        try:
            product = services.product_save(product, **_product_values(form))
        except services.RegistryError as error:
            form.name.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Đã lưu sản phẩm %(name)s.", name=product.name), "success")
            return redirect(url_for("registry.product", product_id=product.id))
    heading = _("Sửa sản phẩm") if product else _("Thêm sản phẩm")
    return render_template("form_page.html", form=form, heading=heading)
