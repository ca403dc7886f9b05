"""Producers and products of the province: lists with diacritic-insensitive search, forms, Excel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.auth.page_cache import cached_page
from app.auth.policy import permission_required
from app.core.forms import form_saved, form_values, show_on
from app.core.pagination import paginate
from app.documents.hooks import document_hooks
from app.extensions import db
from app.registry import services
from app.registry.forms import ProducerForm, ProductForm
from app.registry.hooks import registry_hooks
from app.registry.models import Producer
from app.registry.search import (
    producers_found,
    products_found,
    search_form,
    set_choices,
    unit_choices,
    unit_names,
)
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
    if obj is None and request.method == "GET" and request.args.get("producer_id", "").isdigit():
        form.producer_id.data = int(request.args["producer_id"])  # "add a product" from a producer's page
    return form


def _product_values(form: ProductForm) -> dict:
    values = form_values(form)
    values["export_countries"] = [c.strip() for c in (form.export_countries.data or "").split(",") if c.strip()]
    return values


@bp.route("/producers")
@permission_required("registry.view")
def producers():
    form = search_form()
    page = paginate(producers_found(form), scalars=True, keyset=True)
    return render_template("registry/producers.html", page=page, form=form, kinds=services.PRODUCER_KIND_LABELS)


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
        units=unit_names(),
    )


@bp.route("/products")
@cached_page
@permission_required("registry.view")
def products():
    form = search_form()
    page = paginate(products_found(form), keyset=True)
    return render_template("registry/products.html", page=page, form=form, sets=dict(set_choices("—")))


@bp.route("/products/<int:product_id>")
@cached_page
@permission_required("registry.record")
def product(product_id):
    product, producer, stars = services.product_page_get(current_user, product_id)
    photos = services.product_photos(product.id)
    return render_template(
        "registry/product.html",
        panels=[panel(product) for panel in registry_hooks().product_panels],
        stars=stars,
        product=product,
        producer=producer,
        photos=photos,
        sets=dict(set_choices("—")),
        units=unit_names(),
        trademarks=services.TRADEMARK_LABELS,
        photo_requirement=services.PHOTO_REQUIREMENT,
    )


@dataclass(frozen=True)
class _Editable:
    """What differs between the create/edit pages of a producer and of a product."""

    name: str  # "producer" → /producers/new, /producers/<producer_id>/edit, registry.producer_new, …
    get: Callable
    form: Callable
    values: Callable
    save: Callable
    error_field: str  # where a RegistryError is shown
    saved: object  # the flash message, with %(name)s
    heading_new: object
    heading_edit: object


def _edit_view(kind: _Editable):
    def view(**ids):
        record = kind.get(current_user, ids[f"{kind.name}_id"], "registry.edit") if ids else None
        form = kind.form(record)
        saved = form_saved(
            form,
            lambda: kind.save(record, **kind.values(form)),
            services.RegistryError,
            show_on(getattr(form, kind.error_field)),
        )
        if saved is None:
            heading = kind.heading_edit if record else kind.heading_new
            return render_template("form_page.html", form=form, heading=str(heading))
        flash(str(kind.saved) % {"name": saved.name}, "success")
        return redirect(url_for(f"registry.{kind.name}", **{f"{kind.name}_id": saved.id}))

    return permission_required("registry.edit")(view)


for _kind in (
    _Editable(
        "producer",
        services.producer_get,
        _producer_form,
        form_values,
        services.producer_save,
        "registration_no",
        _l("Đã lưu chủ thể %(name)s."),
        _l("Thêm chủ thể"),
        _l("Sửa chủ thể"),
    ),
    _Editable(
        "product",
        services.product_get,
        _product_form,
        _product_values,
        services.product_save,
        "name",
        _l("Đã lưu sản phẩm %(name)s."),
        _l("Thêm sản phẩm"),
        _l("Sửa sản phẩm"),
    ),
):
    _view = _edit_view(_kind)
    bp.add_url_rule(f"/{_kind.name}s/new", f"{_kind.name}_new", _view, methods=["GET", "POST"])
    bp.add_url_rule(f"/{_kind.name}s/<int:{_kind.name}_id>/edit", f"{_kind.name}_edit", _view, methods=["GET", "POST"])
