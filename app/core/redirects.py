"""Where a `next=` may send someone after a login or a language switch: a path on this site, nothing else."""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit


def _unsafe(target: str) -> bool:
    # Browsers drop tabs and newlines and read "\" as "/": "/\t/evil" and "/\\evil" lead off-site.
    if "\\" in target or any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in target):
        return True
    if not target.startswith("/") or target.startswith("//"):
        return True
    parts = urlsplit(target)
    return bool(parts.scheme or parts.netloc)


def safe_next_path(candidate, default: str) -> str:
    """`candidate` when it is a local path (also once and twice percent-decoded), else `default`."""
    if not isinstance(candidate, str) or not candidate or len(candidate) > 2048:
        return default
    target = candidate
    for _ in range(3):  # encoded variants (%2F%2F, %5C, %09) must not decode into something unsafe
        if _unsafe(target):
            return default
        decoded = unquote(target)
        if decoded == target:
            break
        target = decoded
    return candidate
