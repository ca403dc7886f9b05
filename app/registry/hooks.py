"""What the registry learns from the features above it.

Certificates sit above the registry (they point at products), so the registry never imports them:
the certification feature registers, when its blueprint is registered, the SQL expression that gives
a product's stars on a day and the panel it adds to the product page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from flask import Flask, current_app
from sqlalchemy import null


@dataclass
class ProductPanel:
    template: str  # rendered inside the product page with `product` and the panel's context
    context: dict


@dataclass
class RegistryHooks:
    # day (None: today) -> scalar SQL expression correlated to Product: its stars on that day, or NULL.
    stars_column: Callable[[date | None], object] = lambda on=None: null()
    # product -> a panel shown on the product page (the certificate chain, …).
    product_panels: list[Callable[[object], ProductPanel]] = field(default_factory=list)


def registry_hooks(app: Flask | None = None) -> RegistryHooks:
    app = app or current_app
    return app.extensions.setdefault("ocop.registry_hooks", RegistryHooks())
