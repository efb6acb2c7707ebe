"""Small inline SVG charts (no JavaScript, no library); every label is escaped."""

from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def bar_chart(rows: list[tuple[str, int]], *, title: str, width: int = 640, bar_height: int = 22) -> SafeString:
    """Horizontal bars, one per (label, value), largest first as given."""
    if not rows:
        return mark_safe("")
    label_width, gap = 110, 6
    peak = max(value for _, value in rows) or 1
    height = len(rows) * (bar_height + gap) + gap
    room = width - label_width - 50
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for index, (label, value) in enumerate(rows):
        y = gap + index * (bar_height + gap)
        length = max(2, round(room * value / peak))
        parts.append(
            f'<g class="bar" data-label="{escape(label)}" data-value="{value}">'
            f'<text x="{label_width - 8}" y="{y + bar_height * 0.7:.0f}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length}" height="{bar_height}" rx="3"></rect>'
            f'<text x="{label_width + length + 6}" y="{y + bar_height * 0.7:.0f}">{value}</text></g>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - built from escaped labels and integers


def step_chart(series: list[tuple[datetime, int]], *, title: str, width: int = 640, height: int = 200) -> SafeString:
    """Link count over time as a step line; x is time, y the count after each change."""
    if not series:
        return mark_safe("")
    pad = 30
    start, end = series[0][0].timestamp(), series[-1][0].timestamp()
    span = max(end - start, 1.0)
    peak = max(count for _, count in series) or 1

    def x(ts: float) -> float:
        return pad + (width - 2 * pad) * (ts - start) / span

    def y(count: int) -> float:
        return height - pad - (height - 2 * pad) * count / peak

    points, previous = [], 0
    for when, count in series:
        points.append(f"{x(when.timestamp()):.1f},{y(previous):.1f}")
        points.append(f"{x(when.timestamp()):.1f},{y(count):.1f}")
        previous = count
    dots = "".join(
        f'<circle cx="{x(w.timestamp()):.1f}" cy="{y(c):.1f}" r="3" data-count="{c}"></circle>' for w, c in series
    )
    svg = (
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" class="axis"></line>'
        f'<text x="4" y="{y(peak) + 4:.0f}">{peak}</text><text x="4" y="{height - pad + 4}">0</text>'
        f'<polyline fill="none" points="{" ".join(points)}"></polyline>{dots}</svg>'
    )
    return mark_safe(svg)  # noqa: S308 - numbers and escaped text only
