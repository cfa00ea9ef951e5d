"""Charts drawn on the server as SVG: no JavaScript, print as they show, scale to a
phone's width (a viewBox, width 100%). Each is an image with its title and a
description (role="img", <title>, <desc>); the page puts the same figures in a table
beside it. A hidden figure is drawn as an empty, dashed bar saying "hidden", never
with a length that would give its size away."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 320  # viewBox units; the SVG is drawn at 100% of its column
ROW = 34
LABEL = 14  # the bar's label sits above it
BAR = 12
_ids = itertools.count(1)


def bar_chart(
    title: str,
    description: str,
    bars: Sequence[tuple[str, int | None]],
    hidden_word: str,
) -> Markup:
    """Horizontal bars, one per (label, value); value None: hidden."""
    n = next(_ids)
    shown = [v for _, v in bars if v is not None]
    top = max(shown, default=0) or 1
    height = max(ROW, ROW * len(bars) + 6)
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'role="img" aria-labelledby="chart-{n}-title chart-{n}-desc" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-{n}-title">{escape(title)}</title>',
        f'<desc id="chart-{n}-desc">{escape(description)}</desc>',
    ]
    for i, (label, value) in enumerate(bars):
        y = i * ROW + 4
        out.append(
            f'<text x="0" y="{y + LABEL - 3}" font-size="12" '
            f'fill="currentColor">{escape(label)}</text>'
        )
        bar_y = y + LABEL
        if value is None:
            out.append(
                f'<rect x="0" y="{bar_y}" width="{WIDTH - 60}" height="{BAR}" '
                'fill="none" stroke="currentColor" stroke-dasharray="3 3"/>'
                f'<text x="{WIDTH - 56}" y="{bar_y + BAR - 2}" font-size="11" '
                f'fill="currentColor">{escape(hidden_word)}</text>'
            )
            continue
        length = round((WIDTH - 60) * value / top, 1)
        out.append(
            f'<rect x="0" y="{bar_y}" width="{max(length, 1)}" height="{BAR}" '
            'fill="#1f5fa8" stroke="#000" stroke-width="0.5"/>'
            f'<text x="{min(length, WIDTH - 60) + 4}" y="{bar_y + BAR - 2}" '
            f'font-size="11" fill="currentColor">{value}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text in it went through escape
