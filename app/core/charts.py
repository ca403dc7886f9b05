"""Server-rendered SVG bar charts: no script, scale with the page (viewBox), labels escaped by markupsafe.

Each chart is drawn with its numbers, and pages show the same numbers in a table too.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from app.core.i18n import format_number

ROW = 26
LABEL_W = 150
BAR_W = 200
WIDTH = LABEL_W + BAR_W + 70


def bar_chart(title: str, rows: Sequence[tuple[str, float | int | None]], *, target: float | None = None) -> Markup:
    """Horizontal bars, one per (label, value); an optional target drawn as a vertical line."""
    values = [float(v or 0) for _label, v in rows]
    top = max([*values, float(target or 0), 1.0])
    height = ROW * len(rows) + 30
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" preserveAspectRatio="xMinYMin meet"'
        f' xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for index, ((label, value), v) in enumerate(zip(rows, values, strict=True)):
        y = 10 + index * ROW
        width = round(BAR_W * v / top, 1)
        text = escape(str(label))[:40]
        shown = "—" if value is None else format_number(value)
        parts.append(
            f'<text x="{LABEL_W - 6}" y="{y + 15}" text-anchor="end" font-size="12">{text}</text>'
            f'<rect x="{LABEL_W}" y="{y + 3}" width="{width}" height="{ROW - 8}" fill="#2e7d32"></rect>'
            f'<text x="{LABEL_W + width + 4}" y="{y + 15}" font-size="12">{escape(shown)}</text>'
        )
    if target:
        x = round(LABEL_W + BAR_W * float(target) / top, 1)
        parts.append(
            f'<line x1="{x}" y1="4" x2="{x}" y2="{height - 18}" stroke="#c62828" stroke-dasharray="4 3"></line>'
            f'<text x="{x}" y="{height - 4}" font-size="11" text-anchor="middle" fill="#c62828">'
            f"{escape(format_number(target))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
