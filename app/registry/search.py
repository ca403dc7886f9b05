"""The registry's search filters (query string → form with its choices), shared by its lists and the
Excel exports, so that an export holds exactly the rows the list shows."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType

from flask import g, request
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app.core import clock
from app.core.acts import ACT_1048
from app.core.forms import Options
from app.extensions import db
from app.registry import services
from app.registry.forms import RegistrySearchForm
from app.registry.models import TaxonomyNode
from tenants.catalogue import commune_choices
from tenants.models import AdminUnit


def unit_choices(blank: str) -> Options:
    """A "Xã/phường" picker: commune-level units, current ones first (tenants/catalogue.py). Kept per process
    by province: units change only when the province file is synced, which changes the tenant row's
    fingerprint and time (part of the key), as do the day (units end) and the language (labels)."""
    tenant = g.tenant
    return _commune_options(
        tenant.id, tenant.definition_sha256, tenant.updated_at, clock.today(), str(get_locale()), str(blank)
    )


@functools.lru_cache(maxsize=256)
def _commune_options(tenant_id: int, _fingerprint, _updated_at, today, _locale: str, blank: str) -> Options:
    # Runs under the request's tenant (RLS), which is `tenant_id`: the key keeps provinces apart.
    return Options(commune_choices(blank, today))


def unit_names() -> Mapping[int, str]:
    """Every unit's name by id (a record may name a district), for showing a record's unit; kept per process
    like the communes' choices (below)."""
    tenant = g.tenant
    return _unit_names(tenant.id, tenant.definition_sha256, tenant.updated_at)


@functools.lru_cache(maxsize=64)
def _unit_names(tenant_id: int, _fingerprint, _updated_at) -> Mapping[int, str]:
    # Under the request's tenant (RLS), which is `tenant_id`; read-only, as it is shared.
    return MappingProxyType(dict(db.session.execute(select(AdminUnit.id, AdminUnit.name)).all()))


# The taxonomy is national reference data that only migrations change: read once per process.
@functools.cache
def _set_choices(criteria_act: str) -> tuple:
    return tuple(
        (node.id, f"{node.code} {node.name}") for _group, _category, node in services.product_sets(criteria_act)
    )


@functools.cache
def _group_choices(criteria_act: str) -> tuple:
    acts = (services.taxonomy_act(criteria_act), ACT_1048)
    nodes = db.session.scalars(
        select(TaxonomyNode).where(TaxonomyNode.parent_id.is_(None), TaxonomyNode.act.in_(acts))
    ).all()
    nodes.sort(key=lambda n: (acts.index(n.act), n.position))
    return tuple((n.id, f"{n.code} {n.name}" if n.act == acts[0] else f"{n.name} (QĐ 1048)") for n in nodes)


@functools.lru_cache(maxsize=64)
def _set_options(criteria_act: str, blank: str) -> Options:
    return Options(((0, blank), *_set_choices(criteria_act)))


def set_choices(blank: str) -> Options:
    return _set_options(g.tenant.criteria_act, str(blank))


def group_choices():
    """The 6 groups of the tenant's classification (148), then the 1048 sectors kept for history."""
    return list(_group_choices(g.tenant.criteria_act))


@functools.lru_cache(maxsize=64)
def _group_options(criteria_act: str, blank: str) -> Options:
    return Options(((0, blank), *_group_choices(criteria_act)))


def search_form():
    form = RegistrySearchForm(request.args)
    form.kind.choices = [("", _("Tất cả loại hình"))] + [(k, str(v)) for k, v in services.PRODUCER_KIND_LABELS.items()]
    form.unit_id.choices = unit_choices(_("Tất cả xã/phường"))
    form.product_set_id.choices = set_choices(_("Tất cả bộ sản phẩm"))
    form.group_id.choices = _group_options(g.tenant.criteria_act, _("Tất cả nhóm sản phẩm"))
    form.stars.choices = [(0, _("Mọi hạng sao"))] + [(s, _("%(n)d sao", n=s)) for s in (3, 4, 5)]
    form.validate()
    return form


def producers_found(form: RegistrySearchForm):
    """The select of the producers the search form asks for (its list pages it, its export reads it all)."""
    return services.producers_query(form.q.data or "", form.kind.data or "", form.unit_id.data)


def products_found(form: RegistrySearchForm):
    """The select of (product, producer, stars) rows the search form asks for (its list and its export)."""
    return services.products_query(
        form.q.data or "",
        form.product_set_id.data,
        form.unit_id.data,
        stars=form.stars.data,
        group_id=form.group_id.data,
    )
