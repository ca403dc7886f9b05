"""Producers and products of the province: lists with diacritic-insensitive search, forms, Excel."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth.policy import permission_required
from app.documents.hooks import document_hooks
from app.extensions import db
from app.registry import services
from app.registry.forms import ProducerForm, ProductForm
from app.registry.hooks import registry_hooks
from app.registry.models import Producer
from app.registry.search import search_form, set_choices, unit_choices
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("registry", __name__, template_folder="templates")
# Documents belong to producers and products: the registry tells documents which owners exist.
bp.record_once(lambda state: setattr(document_hooks(state.app), "owner", services.document_owner))


def _producer_choices():
    return [(p.id, p.name) for p in db.session.scalars(select(Producer).order_by(Producer.name))]


def _producer_form(obj=None):
    form = ProducerForm(obj=obj)
    form.kind.choices = [(k, str(v)) for k, v in services.PRODUCER_KIND_LABELS.items()]
    form.unit_id.choices = unit_choices("—")
    return form


def _product_form(obj=None):
    form = ProductForm(obj=obj)
    form.producer_id.choices = _producer_choices()
    form.product_set_id.choices = set_choices("—")
    form.unit_id.choices = unit_choices("—")
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
    form = search_form()
    items = services.producers_search(form.q.data or "", form.kind.data or "", form.unit_id.data)
    return render_template("registry/producers.html", producers=items, form=form, kinds=services.PRODUCER_KIND_LABELS)


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
        units=dict(unit_choices("—")),
    )


@bp.route("/products")
@permission_required("registry.view")
def products():
    form = search_form()
    rows = services.products_search(
        form.q.data or "",
        form.product_set_id.data,
        form.unit_id.data,
        stars=form.stars.data,
        group_id=form.group_id.data,
    )
    return render_template("registry/products.html", rows=rows, form=form, sets=dict(set_choices("—")))


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
        sets=dict(set_choices("—")),
        units=dict(unit_choices("—")),
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
