"""Draw a dimension's daily usage as an SVG bar chart, embedded in the page as an image.

pygal writes a <style> and a <script> into its SVG, which the page's Content-Security-Policy
would refuse inline. As an <img> with a data: URI the SVG is a separate image document:
its styles apply inside it, its script never runs, and the page keeps its strict policy.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import pygal
from pygal.style import Style

WIDTH = 640
HEIGHT = 260
# Bootstrap's primary blue, so the chart matches the pages around it.
CHART_STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#212529",
    foreground_strong="#212529",
    foreground_subtle="#6c757d",
    colors=("#0d6efd",),
    font_family="sans-serif",
    label_font_size=11,
    major_label_font_size=11,
    value_font_size=11,
)


def daily_usage_chart(title: str, days: Sequence[date], quantities: Sequence[Decimal]) -> str:
    """Return a data: URI of a bar chart with one bar per day (labels as MM-DD)."""
    chart = pygal.Bar(
        width=WIDTH,
        height=HEIGHT,
        style=CHART_STYLE,
        show_legend=False,
        js=[],  # no script from a CDN; the image shows without one
        disable_xml_declaration=True,
        x_label_rotation=-45,
        show_minor_x_labels=False,
        x_labels_major_every=max(len(days) // 10, 1),
        print_values=False,
        margin=12,
        range=(0, _ceiling(quantities)),
    )
    chart.x_labels = [day.strftime("%m-%d") for day in days]
    chart.add(title, [float(q) for q in quantities])
    svg = chart.render(is_unicode=True).encode()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def _ceiling(quantities: Sequence[Decimal]) -> float:
    """Return the top of the value axis: the largest bar, or 1 so an empty chart has a scale."""
    return float(max(quantities, default=Decimal(0))) or 1.0
