"""Charts drawn on the server as SVG (no script, no CDN): a stacked bar chart and progress
bars. Every chart is shown with a table of the same figures beside or under it."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

#: one colour a series, in the order the series are given
PALETTE = ("#1f5fa8", "#d9822b", "#3a9a5b", "#a33b8f", "#7a7a7a", "#c9b33a")


def stacked_bars(
    title: str, categories: list[str], series: dict[str, list[int]], unit: str = "₫"
) -> Markup:
    """A vertical bar a category, stacked by series (their values in category order)."""
    width, height, left, bottom, top = 720, 260, 90, 30, 30
    totals = [sum(values[i] for values in series.values()) for i in range(len(categories))]
    peak = max(totals, default=0) or 1
    step = (width - left - 10) / max(len(categories), 1)
    bar = step * 0.6
    plot = height - bottom - top
    parts = [
        f'<svg viewBox="0 0 {width} {height + 10 + 16 * len(series)}" '
        f'role="img" aria-label="{escape(title)}" class="chart">',
        f'<text x="{left}" y="18" class="chart-title">{escape(title)}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" '
        'class="axis"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" class="tick">'
        f"{escape(_short(peak))} {escape(unit)}</text>",
    ]
    for i, category in enumerate(categories):
        x = left + i * step + (step - bar) / 2
        y: float = height - bottom
        for s, (name, values) in enumerate(series.items()):
            h = plot * values[i] / peak
            if h <= 0:
                continue
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(category)} · '
                f"{escape(name)}: {escape(_full(values[i]))} {escape(unit)}</title></rect>"
            )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f'class="tick">{escape(category)}</text>'
        )
    for s, name in enumerate(series):  # one legend line a series: names may be long
        ly = height + 4 + 16 * s
        parts.append(
            f'<rect x="{left}" y="{ly}" width="12" height="12" '
            f'fill="{PALETTE[s % len(PALETTE)]}"/>'
            f'<text x="{left + 16}" y="{ly + 11}" class="tick">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def progress(percent: float, label: str) -> Markup:
    """A horizontal bar filled to ``percent`` (capped at 100 in the drawing, not the label)."""
    filled = max(0.0, min(100.0, percent))
    return Markup(
        '<svg viewBox="0 0 200 14" class="progress" '
        f'role="img" aria-label="{escape(label)}">'
        '<rect x="0" y="0" width="200" height="14" class="progress-bg"/>'
        f'<rect x="0" y="0" width="{2 * filled:.1f}" height="14" class="progress-fill"/>'
        "</svg>"
    )


def _full(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def _short(value: int) -> str:
    for size, name in ((10**9, "tỷ"), (10**6, "triệu")):
        if value >= size:
            return f"{value / size:,.1f} {name}".replace(",", " ").replace(".", ",")
    return _full(value)
