"""The main menu of each area: every item names the action its page is guarded by, so a user sees
exactly the items `can(user, action)` lets them open (tests/e2e/test_menus.py opens each one per role)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import g, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth.policy import can


@dataclass(frozen=True)
class MenuItem:
    endpoint: str
    label: object
    action: str
    # Shown only when none of these actions is granted (a producer's portal stands in for the dashboard).
    unless: tuple[str, ...] = ()


MENUS: dict[str, tuple[MenuItem, ...]] = {
    "tenant": (
        MenuItem("dashboard.home", _l("Tổng quan"), "dashboard.view"),
        MenuItem("portal.home", _l("Trang của tôi"), "portal.view", unless=("dashboard.view",)),
        MenuItem("cycle.applications", _l("Hồ sơ"), "application.view"),
        MenuItem("registry.producers", _l("Chủ thể"), "registry.view"),
        MenuItem("registry.products", _l("Sản phẩm"), "registry.view"),
        MenuItem("certification.certificates", _l("Giấy chứng nhận"), "certificate.view"),
        MenuItem("inspections.queue", _l("Việc kiểm tra"), "inspection.record"),
        # A producer sees its own inspections in its portal, not the province's lists.
        MenuItem("inspections.index", _l("Kiểm tra"), "inspection.view", unless=("portal.view",)),
        MenuItem("evaluation.rounds", _l("Đánh giá"), "evaluation.view"),
        MenuItem("evaluation.results", _l("Kết quả đánh giá"), "evaluation.results"),
        MenuItem("cycle.cycles", _l("Chu trình"), "cycle.view"),
        MenuItem("progress.indicators", _l("Chỉ số"), "planning.view"),
        MenuItem("planning.targets", _l("Mục tiêu"), "planning.view"),
        MenuItem("planning.policies", _l("Chính sách"), "planning.view"),
        MenuItem("planning.councils", _l("Hội đồng"), "planning.view"),
        MenuItem("planning.units", _l("Địa bàn"), "planning.view"),
        MenuItem("progress.rewards", _l("Thưởng"), "reward.view"),
        MenuItem("users.index", _l("Người dùng"), "users.manage"),
        MenuItem("audit.index", _l("Nhật ký"), "audit.view"),
        MenuItem("notices.outbox", _l("Hộp thư đi"), "notices.outbox"),
        MenuItem("tenant_jobs.index", _l("Công việc nền"), "jobs.view"),
    ),
    "national": (
        MenuItem("national.home", _l("Các tỉnh"), "national.view"),
        MenuItem("national.statistics", _l("Thống kê"), "national.view"),
    ),
    "platform": (MenuItem("platform.home", _l("Các tỉnh"), "platform.manage"),),
}


def menu_items_for(user, area: str | None) -> list[MenuItem]:
    """The items of the area's menu this user may open, in menu order."""
    return [
        item
        for item in MENUS.get(area or "", ())
        if can(user, item.action) and not any(can(user, other) for other in item.unless)
    ]


@dataclass(frozen=True)
class _Holder:
    """Who the menu is for, as `can` sees it: roles only (a menu item names an action, and actions go by roles)."""

    roles: frozenset
    is_authenticated: bool = True

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)


def current_menu() -> tuple[tuple[str, str], ...]:
    """(url, label) of the current user's menu, for base.html: built once per process for each area, province,
    set of roles and language (every page shows it; building it took a tenth of a simple page's time)."""
    tenant = g.get("tenant")
    return _menu(
        g.get("area"), tenant.slug if tenant else None, current_user.role_set, str(get_locale()), request.script_root
    )


@functools.lru_cache(maxsize=1024)
def _menu(area, _slug, roles: frozenset, _locale, _root) -> tuple[tuple[str, str], ...]:
    # The key holds everything the URLs (the province's slug, the script root) and labels (language) depend on.
    return tuple((url_for(item.endpoint), str(item.label)) for item in menu_items_for(_Holder(roles), area))


def init_app(app) -> None:
    app.jinja_env.globals["main_menu"] = current_menu
