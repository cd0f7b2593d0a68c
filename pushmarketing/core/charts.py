"""Small server-side SVG charts (no JavaScript): the sparklines of the health pages. The
dashboards' charts are drawn in the browser by the vendored uPlot (static/js/charts.js)."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString


def sparkline_svg(values: list[int], *, label: str) -> SafeString:
    """A tiny bar sparkline; the numbers are in the title for screen readers and hover."""
    top = max(values) if values and max(values) > 0 else 1
    width, height, step = 120, 24, 120 / max(len(values), 1)
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="#b42318"/>',
        (
            (
                f"{i * step:.1f}",
                f"{height - v * height / top:.1f}",
                f"{max(step - 1, 1):.1f}",
                f"{v * height / top:.1f}",
            )
            for i, v in enumerate(values)
        ),
    )
    return format_html(
        '<svg viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{}"><title>{}</title>'
        '<line x1="0" y1="{}" x2="{}" y2="{}" stroke="#d0d5dd"/>{}</svg>',
        width,
        height,
        width,
        height,
        label,
        ", ".join(map(str, values)),
        height - 0.5,
        width,
        height - 0.5,
        bars,
    )
