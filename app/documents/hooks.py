"""What documents learn from the features that use them.

Documents sit below registry and cycle: those import documents, never the other way round. The
registry says who may own a document (a producer, or a product of that producer); the cycle's
checklists say which file types a requirement takes and how long its papers stay valid. Each
feature registers its part when its blueprint is registered on the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app


def _no_owner_lookup(producer_id, product_id):
    raise RuntimeError("no feature registered the owner lookup of documents (app.registry does)")


@dataclass
class DocumentHooks:
    # (producer_id, product_id) as sent -> (producer_id, product_id) checked; raises DocumentError.
    owner: Callable[[object, object], tuple[int, int | None]] = _no_owner_lookup
    # requirement code -> the content types it takes (None: any allowed type).
    accepted_types: Callable[[str], tuple[str, ...] | None] = lambda requirement: None
    # requirement code -> months a paper stays valid from its issue date (None: no usual term).
    validity_months: Callable[[str], int | None] = lambda requirement: None


def document_hooks(app: Flask | None = None) -> DocumentHooks:
    app = app or current_app
    return app.extensions.setdefault("ocop.document_hooks", DocumentHooks())
