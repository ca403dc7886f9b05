"""Certificates of the province: list (status on a chosen date), Excel, entry by hand, correction, revocation."""

from __future__ import annotations

import re
from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from app.auth.policy import permission_required
from app.certification import reminders, services
from app.certification.forms import CertificateForm, CertificateSearchForm, RevokeForm
from app.certification.models import Certificate
from app.core import clock
from app.core.access import get_or_404
from app.core.forms import form_saved, show_on
from app.core.pagination import CURSOR_ARGS, paginate
from app.extensions import db
from app.notices.hooks import register_daily_sweep
from app.registry.hooks import ProductPanel, registry_hooks
from app.registry.models import Producer, Product
from tenants.resolution import tenant_blueprint

bp = tenant_blueprint("certification", __name__, template_folder="templates")


@bp.record_once
def _register(state) -> None:
    """The registry shows a product's stars and its certificate chain without importing certificates."""
    hooks = registry_hooks(state.app)
    hooks.stars_column = services.current_stars_column
    hooks.product_panels.append(
        lambda product: ProductPanel(
            "certification/_product_panel.html", {"certificates": services.product_certificate_rows(product)}
        )
    )
    # Producers are reminded before their certificates expire (app/certification/reminders.py).
    register_daily_sweep(state.app, reminders.KIND, reminders.expiry_reminders_sweep)


PER_PAGE = 50


def _search_form() -> CertificateSearchForm:
    form = CertificateSearchForm(request.args)
    form.status.choices = [("", _("Mọi tình trạng")), ("valid_any", _("Còn hiệu lực (kể cả sắp hết hạn)"))] + [
        (code, str(label)) for code, label in services.STATUS_LABELS.items()
    ]
    form.stars.choices = [("", _("Mọi hạng sao"))] + [(str(s), _("%(n)d sao", n=s)) for s in (3, 4, 5)]
    years = services.certificate_decision_years()
    asked = request.args.get("year", "")
    if re.fullmatch(r"(19|20)\d\d", asked) and int(asked) not in years:  # a year without certificates: empty list
        years = sorted([*years, int(asked)], reverse=True)
    form.year.choices = [("", _("Mọi năm"))] + [(str(y), str(y)) for y in years]
    form.validate()
    return form


def certificates_search() -> tuple[CertificateSearchForm, dict, date]:
    """The search form from the query string, its valid filters, and the day statuses are computed for.

    Also the certificates export's (app/exchange/views.py: it writes the import layout, so it lives above).
    """
    form = _search_form()
    filters = _filters(form)
    return form, filters, filters["on"] or clock.today()


def _filters(form: CertificateSearchForm) -> dict:
    """Valid filter values only: a bad value is shown as an error on the form and ignored."""
    status = form.status.data if form.status.data in services.STATUS_FILTERS else None
    stars = int(form.stars.data) if form.stars.data in ("3", "4", "5") else None
    year = int(form.year.data) if re.fullmatch(r"(19|20)\d\d", form.year.data or "") else None
    return {
        "on": form.on.value if not form.on.errors else None,
        "status": status,
        "stars": stars,
        "year": year,
        "query": (form.q.data or "") if not form.q.errors else "",
    }


@bp.route("/certificates")
@permission_required("certificate.view")
def certificates():
    form, filters, on = certificates_search()
    page = paginate(services.certificates_query(**filters), per_page=PER_PAGE, keyset=True)
    rows = services.certificate_rows(page.items, on)
    args = {k: v for k, v in request.args.items() if k not in ("page", *CURSOR_ARGS)}
    return render_template("certification/list.html", form=form, rows=rows, page=page, on=on, args=args)


def _certificate_form(obj: Certificate | None = None) -> CertificateForm:
    form = CertificateForm(obj=obj)
    form.authority.choices = [("", _("Theo bộ tiêu chí và hạng sao"))] + [
        (k, str(v)) for k, v in services.AUTHORITY_LABELS.items()
    ]
    form.kind.choices = [("", _("Tự xác định theo giấy trước"))] + [
        (k, str(v)) for k, v in services.KIND_LABELS.items()
    ]
    if obj is not None and request.method == "GET":
        form.stars.data = str(obj.stars)
        form.score.data = "" if obj.score is None else str(obj.score)
        for part in services.PARTS:
            getattr(form, f"part_{part.lower()}").data = (obj.part_scores or {}).get(part, "")
    return form


def _form_values(form: CertificateForm) -> dict:
    parts = {p: getattr(form, f"part_{p.lower()}").data for p in services.PARTS}
    return {
        "stars": form.stars.data,
        "decision_number": form.decision_number.data,
        "decision_date": form.decision_date.value,
        "score": form.score.data or None,
        "part_scores": {k: v for k, v in parts.items() if v} or None,
        "authority": form.authority.data or None,
        "kind": form.kind.data or None,
        "valid_from": form.valid_from.value,
        "valid_to": form.valid_to.value,
    }


def _changes(cert: Certificate, values: dict) -> dict:
    """Only what the officer changed, so that validity left as it was follows a corrected decision date."""
    changes = {"score": values["score"], "part_scores": values["part_scores"]}
    for key in ("stars", "decision_number", "decision_date", "authority", "kind", "valid_from", "valid_to"):
        value = values[key]
        if value is None or value == "" or str(value) == str(getattr(cert, key)):
            continue
        changes[key] = value
    return changes


def _form_page(form, save, heading, **page):
    """Save the form and go to the certificate's page, flashing what `save` says; or show the form again
    with the error on the field it names (a flash when none)."""

    def show_error(error: services.CertificateError) -> None:
        field = getattr(form, error.field, None) if error.field else None
        if field is None and error.field in ("revoke_decision_number", "revoke_decision_date"):
            field = getattr(form, error.field.removeprefix("revoke_"), None)
        if field is None:
            flash(str(error), "error")
        else:
            show_on(field)(error)

    saved = form_saved(form, save, services.CertificateError, show_error)
    if saved is None:
        return render_template("form_page.html", form=form, heading=heading, **page)
    cert, message = saved
    flash(message, "success")
    return redirect(url_for("certification.certificate", certificate_id=cert.id))


def _recorded(cert: Certificate, created: bool) -> tuple[Certificate, str]:
    if created:
        return cert, _("Đã ghi giấy chứng nhận %(number)s.", number=cert.decision_number)
    return cert, _("Quyết định này đã được ghi; đã cập nhật các giá trị khác.")


@bp.route("/products/<int:product_id>/certificates/new", methods=["GET", "POST"])
@permission_required("certificate.manage")
def certificate_new(product_id):
    product = get_or_404(Product, product_id)
    form = _certificate_form()
    return _form_page(
        form,
        lambda: _recorded(*services.certificate_record(product, source="manual", **_form_values(form))),
        _("Ghi giấy chứng nhận cho %(name)s", name=product.name),
        intro=_("Để trống hiệu lực thì giấy có giá trị 36 tháng kể từ ngày quyết định."),
    )


@bp.route("/certificates/<int:certificate_id>")
@permission_required("certificate.view")
def certificate(certificate_id):
    cert = get_or_404(Certificate, certificate_id)
    product = db.session.scalar(select(Product).where(Product.id == cert.product_id))
    producer = db.session.scalar(select(Producer).where(Producer.id == product.producer_id))
    return render_template(
        "certification/certificate.html",
        cert=cert,
        product=product,
        producer=producer,
        status=services.certificate_status(cert),
        chain=services.product_certificate_rows(product),
        labels=services,
    )


@bp.route("/certificates/<int:certificate_id>/edit", methods=["GET", "POST"])
@permission_required("certificate.manage")
def certificate_edit(certificate_id):
    cert = get_or_404(Certificate, certificate_id)
    form = _certificate_form(cert)
    if request.method == "GET":
        form.version.data = services.certificate_version(cert)
    return _form_page(
        form,
        lambda: (
            services.certificate_correct(
                cert, expected_version=form.version.data or None, **_changes(cert, _form_values(form))
            ),
            _("Đã sửa giấy chứng nhận."),
        ),
        _("Sửa giấy chứng nhận %(n)s", n=cert.decision_number),
    )


@bp.route("/certificates/<int:certificate_id>/revoke", methods=["GET", "POST"])
@permission_required("certificate.manage")
def certificate_revoke(certificate_id):
    cert = get_or_404(Certificate, certificate_id)
    form = RevokeForm()
    if request.method == "GET":
        form.version.data = services.certificate_version(cert)

    def revoke():
        services.certificate_revoke(
            cert,
            form.reason.data,
            form.decision_number.data,
            form.decision_date.value,
            expected_version=form.version.data or None,
        )
        return cert, _("Đã thu hồi giấy chứng nhận.")

    return _form_page(
        form, revoke, _("Thu hồi giấy chứng nhận %(n)s", n=cert.decision_number), submit_label=_("Thu hồi")
    )
