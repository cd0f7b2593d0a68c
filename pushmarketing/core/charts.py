"""Small server-side SVG charts: no JavaScript library, no CDN. Bars are stacked iOS (solid)
over Android (hatched), so the two read apart without colour; every chart has a data table."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 640, 200, 44, 28, 10

_DEFS = (
    '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#c7d7fe"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#3538cd" stroke-width="3"/></pattern></defs>'
)


def stacked_bars_svg(points: list[list[int]], *, title: str, x_unit: str) -> SafeString:
    """points: [[x, ios, android], ...] with x ascending (minutes or hours)."""
    if not points:
        return format_html('<p class="muted">{}: no data yet.</p>', title)
    top = max(ios + android for _, ios, android in points) or 1
    span = points[-1][0] + 1
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP
    bar_w = max(1.0, plot_w / span - 1)
    bars = []
    for x, ios, android in points:
        left = PAD_LEFT + x * plot_w / span
        h_ios, h_and = ios * plot_h / top, android * plot_h / top
        base = PAD_TOP + plot_h
        label = f"{x} {x_unit}: iOS {ios}, Android {android}"
        bars.append(
            (left, base - h_ios, bar_w, h_ios, left, base - h_ios - h_and, bar_w, h_and, label)
        )
    body = format_html_join(
        "",
        '<g><title>{}</title><rect x="{}" y="{}" width="{}" height="{}" fill="#1d2939"/>'
        '<rect x="{}" y="{}" width="{}" height="{}" fill="url(#hatch)"/></g>',
        ((b[8], *b[:8]) for b in bars),
    )
    axis = format_html(
        '<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#98a2b3"/>'
        '<text x="{l}" y="{ty}" font-size="11" fill="#475467">0</text>'
        '<text x="{r}" y="{ty}" font-size="11" fill="#475467" text-anchor="end">{last} {unit}</text>'
        '<text x="4" y="{tt}" font-size="11" fill="#475467">{top}</text>',
        l=PAD_LEFT,
        r=WIDTH - 8,
        b=PAD_TOP + plot_h,
        ty=HEIGHT - 8,
        last=points[-1][0],
        unit=x_unit,
        tt=PAD_TOP + 10,
        top=top,
    )
    legend = format_html(
        '<g font-size="11" fill="#475467"><rect x="{}" y="0" width="10" height="10" fill="#1d2939"/>'
        '<text x="{}" y="9">iOS</text><rect x="{}" y="0" width="10" height="10" fill="url(#hatch)"/>'
        '<text x="{}" y="9">Android</text></g>',
        WIDTH - 150,
        WIDTH - 136,
        WIDTH - 96,
        WIDTH - 82,
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{t}">{d}{legend}{body}{axis}</svg>',
        w=WIDTH,
        h=HEIGHT,
        t=title,
        d=mark_safe(_DEFS),  # noqa: S308 - a constant SVG fragment of ours
        legend=legend,
        body=body,
        axis=axis,
    )


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
