"""Loading the OCOP taxonomy (app/registry/taxonomy.toml) into taxonomy_nodes.

Reference data shared by all tenants: migrations load it as the owner (the app role may only read
it), so a new act's classification arrives with a migration. Idempotent upsert by (act, code).
"""

from __future__ import annotations

import tomllib
import unicodedata
from pathlib import Path

from sqlalchemy import text

TAXONOMY_FILE = Path(__file__).with_name("taxonomy.toml")


def taxonomy_rows(path: Path = TAXONOMY_FILE) -> list[dict]:
    data = tomllib.loads(unicodedata.normalize("NFC", path.read_text(encoding="utf-8")))
    rows = []
    for act in data["acts"]:
        for position, node in enumerate(act["nodes"]):
            rows.append(
                {
                    "act": act["act"],
                    "code": node["code"],
                    "level": node["level"],
                    "name": node["name"],
                    "name_en": node["name_en"],
                    "parent": node.get("parent") or None,
                    "position": position,
                }
            )
    return rows


def load_taxonomy(connection) -> None:
    """Upsert every node, then link parents (a parent may be listed after its child)."""
    rows = taxonomy_rows()
    for row in rows:
        connection.execute(
            text(
                "INSERT INTO taxonomy_nodes (act, code, level, name, name_en, position)"
                " VALUES (:act, :code, :level, :name, :name_en, :position)"
                " ON CONFLICT (act, code) DO UPDATE SET level = EXCLUDED.level, name = EXCLUDED.name,"
                " name_en = EXCLUDED.name_en, position = EXCLUDED.position"
            ),
            row,
        )
    for row in rows:
        connection.execute(
            text(
                "UPDATE taxonomy_nodes child SET parent_id = parent.id FROM taxonomy_nodes parent"
                " WHERE child.act = :act AND child.code = :code AND parent.act = :act AND parent.code = :parent"
            ),
            row,
        )
