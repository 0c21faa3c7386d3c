"""Charts as inline SVG written on the server: no JavaScript, readable by a screen reader and printable.

Plain data in, text out (a reports module: no models, no services). Each chart is one ``<svg
role="img">`` with a ``<title>`` and a ``<desc>`` that says every figure in words, and every bar
carries its label and its value as text, so the chart says the same as the table beside it.
Amounts are written by ``grants.formats.usd``, counts by ``grants.formats.quantity``. The caller
passes the words (already translated): this module writes no text of its own.
"""
from __future__ import annotations

from decimal import Decimal
from html import escape
from itertools import count

from grants import formats

WIDTH = 640
LABEL_W = 220          # the left column: each row's name (cut to LABEL_CHARS)
VALUE_W = 120          # the right column: each bar's value
LABEL_CHARS = 28
BAR_H = 14
GAP = 10
_ids = count(1)


def _scale(values) -> Decimal:
    top = max((Decimal(v) for v in values), default=Decimal(0))
    return top if top > 0 else Decimal(1)


def _width(value, top: Decimal) -> int:
    span = WIDTH - LABEL_W - VALUE_W
    return max(0, round(Decimal(value) / top * span)) if value else 0


def _short(text: str, size: int = LABEL_CHARS) -> str:
    text = str(text)
    return text if len(text) <= size else text[: size - 1] + "…"


def _frame(title: str, desc: str, height: int, body: list[str], css: str) -> str:
    n = next(_ids)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css}" role="img" '
            f'aria-labelledby="chart-{n}-title chart-{n}-desc" viewBox="0 0 {WIDTH} {height}" '
            f'width="100%" preserveAspectRatio="xMinYMin meet">'
            f'<title id="chart-{n}-title">{escape(title)}</title><desc id="chart-{n}-desc">{escape(desc)}</desc>'
            + "".join(body) + "</svg>")


def _row_label(y: int, label: str) -> str:
    return (f'<text class="chart-label" x="{LABEL_W - 8}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(_short(label))}</text>')


def _bar(y: int, width: int, css: str, value_text: str) -> str:
    return (f'<rect class="{css}" x="{LABEL_W}" y="{y}" width="{width}" height="{BAR_H}"></rect>'
            f'<text class="chart-value" x="{LABEL_W + width + 6}" y="{y + BAR_H // 2}" '
            f'dominant-baseline="middle">{escape(value_text)}</text>')


def paired_bars(title: str, rows: list[tuple[str, Decimal, Decimal]], first: str, second: str) -> str:
    """Two horizontal bars per row (e.g. assigned and executed), amounts in dollars.

    ``rows``: (label, first amount, second amount); ``first``/``second``: the names of the two
    figures, shown in the legend and in the description."""
    top = _scale([v for _, a, b in rows for v in (a, b)])
    step = 2 * BAR_H + GAP + 4
    body, words = [], []
    legend_y = 12
    body.append(f'<rect class="bar-first" x="{LABEL_W}" y="{legend_y - 9}" width="12" height="12"></rect>'
                f'<text class="chart-legend" x="{LABEL_W + 16}" y="{legend_y}">{escape(first)}</text>'
                f'<rect class="bar-second" x="{LABEL_W + 180}" y="{legend_y - 9}" width="12" height="12"></rect>'
                f'<text class="chart-legend" x="{LABEL_W + 196}" y="{legend_y}">{escape(second)}</text>')
    y = 24
    for label, a, b in rows:
        body.append(_row_label(y + BAR_H, label))
        body.append(_bar(y, _width(a, top), "bar-first", formats.usd(a)))
        body.append(_bar(y + BAR_H + 2, _width(b, top), "bar-second", formats.usd(b)))
        words.append(f"{label}: {first} {formats.usd(a)}, {second} {formats.usd(b)}")
        y += step
    return _frame(title, "; ".join(words) + ".", max(y + 4, 40), body, "chart-paired")


def bars(title: str, rows: list[tuple[str, Decimal | int]], *, money: bool = False) -> str:
    """One horizontal bar per row: counts (``quantity``) or amounts (``usd``)."""
    top = _scale([v for _, v in rows])
    write = formats.usd if money else formats.quantity
    body, words = [], []
    y = 6
    for label, value in rows:
        body.append(_row_label(y + BAR_H // 2, label))
        body.append(_bar(y, _width(value, top), "bar-first", write(value)))
        words.append(f"{label}: {write(value)}")
        y += BAR_H + GAP
    return _frame(title, "; ".join(words) + ".", max(y + 4, 30), body, "chart-bars")
