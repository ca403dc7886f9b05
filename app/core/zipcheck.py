"""Zip containers (DOCX, XLSX) that inflate past a bound are refused before anyone parses them.

The sizes a container declares can lie, so the members are really inflated, in chunks, and counted:
memory stays at one chunk, time at most the bound. A ratio check catches a small file that would
grow a thousandfold (one 256 MiB shared string in a 256 KB workbook) early.
"""

from __future__ import annotations

import zipfile
from typing import IO

CHUNK = 1024 * 1024


class ZipBomb(ValueError):
    """The container inflates past the bound (or says it would)."""


def check_inflation(
    source: str | IO[bytes],
    *,
    max_total: int,
    max_member: int | None = None,
    max_ratio: int = 200,
    ratio_floor: int = 8 * CHUNK,
    max_members: int = 10_000,
) -> int:
    """Raise ZipBomb when the members together inflate past `max_total`, one past `max_member`, or a
    member over `ratio_floor` bytes inflates more than `max_ratio` times its compressed size.
    Returns the total inflated size. zipfile errors (a broken container) propagate."""
    max_member = max_member or max_total
    total = 0
    with zipfile.ZipFile(source) as container:
        members = container.infolist()
        if len(members) > max_members:
            raise ZipBomb("too many members")
        declared = sum(m.file_size for m in members)
        if declared > max_total or any(m.file_size > max_member for m in members):
            raise ZipBomb("declared sizes past the bound")
        for member in members:
            inflated = 0
            compressed = max(member.compress_size, 1)
            with container.open(member) as stream:
                while chunk := stream.read(CHUNK):
                    inflated += len(chunk)
                    total += len(chunk)
                    if total > max_total or inflated > max_member:
                        raise ZipBomb(member.filename)
                    if inflated > ratio_floor and inflated > compressed * max_ratio:
                        raise ZipBomb(member.filename)
    return total
