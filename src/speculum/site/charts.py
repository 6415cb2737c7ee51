"""Server-rendered SVG charts for the public /stats/ page.

Each chart is one inline <svg> that needs no JavaScript and no stylesheet:
series colours are presentation attributes, which the rules in CSS override
(author CSS beats presentation attributes) to add a dark-mode palette; text
and axes use currentColor so they follow the page. Every text is escaped, and
the output depends only on the arguments, so an unchanged page regenerates
byte for byte. Values are assumed non-negative.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

Fmt = Callable[[float], str]

W, H = 720, 240  # viewBox of the plot part; the svg scales to its container's width
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 10, 26  # room for y labels on the left and x labels below
CHAR = 7.0  # estimated advance of one character at font-size 12: layout without measuring text
MAX_LABELS = 12
ROW, BAR = 24, 16  # hbars: row pitch and bar thickness
LEGEND_ROW = 18

# Tableau 10 (colour-blind friendly), lightened for dark backgrounds; "other" is a neutral grey
LIGHT = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
         "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac", "#8a8a8a")
DARK = ("#7aa6d6", "#ffa24d", "#ff7b7d", "#8fd1cb", "#74c26a",
        "#f5d65f", "#cc98bf", "#ffb3bb", "#c0967c", "#d4cbc7", "#767676")
CLASSES = tuple(f"series-{i}" for i in range(10)) + ("other",)


def _palette(colours: Sequence[str]) -> str:
    pairs = zip(CLASSES, colours, strict=True)
    return "".join(f".chart .{c} {{ --series: {v}; fill: var(--series); }}\n" for c, v in pairs)


# For the site stylesheet: .chart scopes the generic class names; lines take the stroke of their series group.
CSS = (_palette(LIGHT) + "@media (prefers-color-scheme: dark) {\n" + _palette(DARK) + "}\n"
       ".chart .line { stroke: var(--series); }\n")


def _human(n: float, units: Sequence[str], sep: str) -> str:
    value, i = float(n), 0
    while abs(value) >= 999.5 and i < len(units) - 1:  # 999.5 would print as "1000"
        value, i = value / 1000, i + 1
    if i == 0:
        text = f"{value:.0f}" if value == int(value) or abs(value) >= 10 else f"{value:.2f}".rstrip("0").rstrip(".")
    else:
        text = f"{value:.1f}" if abs(value) < 9.95 else f"{value:.0f}"
    return f"{text}{sep}{units[i]}"


def human_bytes(n: float) -> str:
    """Decimal (SI) byte size: 512 B, 1.5 kB, 12 MB, 3.4 GB."""
    return _human(n, ("B", "kB", "MB", "GB", "TB", "PB"), " ")


def human_count(n: float) -> str:
    """Compact count: 999, 1.2k, 34k, 1.5M."""
    return _human(n, ("", "k", "M", "G", "T"), "")


def nice_ticks(maximum: float) -> list[float]:
    """0 and 3-4 equal steps of 1, 2, 2.5 or 5 x 10^n, the last step >= maximum."""
    if maximum <= 0:
        return [0.0]
    exp = math.floor(math.log10(maximum)) - 1  # a step of maximum/10 or less: always too fine, so k ends in 3..4
    while True:
        for mant in (1, 2, 2.5, 5):
            k = math.ceil(maximum / _tick(1, mant, exp) - 1e-9)
            if k <= 4:
                return [_tick(i, mant, exp) for i in range(k + 1)]
        exp += 1


def _tick(i: int, mant: float, exp: int) -> float:
    # dividing by an exact power of ten keeps 0.1-steps free of float noise like 0.30000000000000004
    return float(i * mant * 10**exp if exp >= 0 else i * mant / 10**-exp)


def _n(x: float) -> str:
    """A coordinate, rounded so the markup stays small."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _fit(text: str, px: float) -> str:
    chars = max(1, int(px / CHAR))
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _style(i: int, count: int, name: str) -> tuple[str, str]:
    """(class, fallback colour) of series i; the caller's aggregate "other" comes last and is grey."""
    k = 10 if i == count - 1 and name.lower() == "other" else i % 10
    return CLASSES[k], LIGHT[k]


def _svg(id: str, title: str, desc: str, height: float, body: str) -> Markup:
    if not re.fullmatch(r"[A-Za-z][\w-]*", id):
        raise ValueError(f"not a usable id prefix: {id!r}")
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{id}" class="chart" viewBox="0 0 {W} {_n(height)}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet" role="img" aria-labelledby="{id}-title" '
        f'aria-describedby="{id}-desc" font-size="12" fill="currentColor">'
        f'<title id="{id}-title">{escape(title)}</title><desc id="{id}-desc">{escape(desc)}</desc>{body}</svg>')


def _no_data(height: float) -> str:
    return f'<text class="empty" x="{W // 2}" y="{_n(height / 2)}" text-anchor="middle" dy=".35em">No data yet</text>'


def _grid(ticks: list[float], fmt: Fmt, y: Callable[[float], float]) -> str:
    """Horizontal gridlines with their labels left of the plot; the zero line is the x axis."""
    return "".join(
        f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{_n(y(t))}" y2="{_n(y(t))}" stroke="currentColor" '
        f'stroke-opacity="{0.6 if t == 0 else 0.15}"/>'
        f'<text class="tick" x="{LEFT - 6}" y="{_n(y(t))}" text-anchor="end" dy=".35em">{escape(fmt(t))}</text>'
        for t in ticks)


def _x_labels(categories: list[str], band: float) -> str:
    """At most MAX_LABELS evenly thinned labels, spaced by the widest; any still overlapping are dropped."""
    widest = max(len(c) for c in categories) * CHAR + 8
    step = max(math.ceil(len(categories) / MAX_LABELS), math.ceil(widest / band))
    out, right = [], -math.inf
    for i in range(0, len(categories), step):
        half = len(categories[i]) * CHAR / 2 + 4
        x = min(max(LEFT + (i + 0.5) * band, half), W - half)  # keep the first and last inside the viewBox
        if x - half >= right:
            out.append(f'<text class="label" x="{_n(x)}" y="{H - 8}" text-anchor="middle">'
                       f'{escape(categories[i])}</text>')
            right = x + half
    return "".join(out)


def _legend(entries: list[tuple[str, str, str]], y0: float) -> tuple[str, float]:
    """Swatch + name per series, wrapped into rows below the plot; returns (markup, height used)."""
    out, x, y = [], float(LEFT), y0 + LEGEND_ROW / 2
    for name, cls, colour in entries:
        text = _fit(name, W - RIGHT - LEFT - 16)
        width = 16 + len(text) * CHAR + 14
        if x > LEFT and x + width > W - RIGHT:
            x, y = float(LEFT), y + LEGEND_ROW
        out.append(f'<g class="{cls}" fill="{colour}"><rect x="{_n(x)}" y="{_n(y - 5)}" width="10" height="10"/></g>'
                   f'<text x="{_n(x + 16)}" y="{_n(y)}" dy=".35em">{escape(text)}</text>')
        x += width
    return f'<g class="legend">{"".join(out)}</g>', y + LEGEND_ROW / 2 - y0


def _check(categories: list[str], series: Sequence[tuple[str, Sequence[float | None]]]) -> None:
    for name, values in series:
        if len(values) != len(categories):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(categories)} categories")


def _frame(series: Sequence[tuple[str, Sequence[float | None]]], categories: list[str], top: float, fmt: Fmt):
    """Shared pieces of the category charts: band width, value -> y, and grid + x labels + legend."""
    ticks = nice_ticks(top)
    plot_h = H - TOP - BOTTOM
    band = (W - LEFT - RIGHT) / len(categories)
    y = lambda v: TOP + plot_h * (1 - v / (ticks[-1] or 1))
    entries = [(name, *_style(i, len(series), name)) for i, (name, _) in enumerate(series)]
    legend, legend_h = _legend(entries, H)
    return band, y, _grid(ticks, fmt, y) + _x_labels(categories, band) + legend, H + legend_h


def stacked_bars(id: str, title: str, categories: list[str], series: list[tuple[str, list[float]]], fmt: Fmt,
                 desc: str = "") -> Markup:
    """One bar per category, stacked bottom-up in series order, with a legend below the plot."""
    _check(categories, series)
    totals = [sum(values[i] or 0 for _, values in series) for i in range(len(categories))]
    if not totals or max(totals) <= 0:
        return _svg(id, title, desc or "No data yet.", H, _no_data(H))
    top = max(totals)
    band, y, frame, height = _frame(series, categories, top, fmt)
    base = [0.0] * len(categories)
    groups = []
    for s, (name, values) in enumerate(series):
        cls, colour = _style(s, len(series), name)
        rects = []
        for i, v in enumerate(values):
            if not v or v <= 0:
                continue
            y0, y1 = y(base[i]), y(base[i] + v)  # from cumulative sums, so rounding never accumulates
            base[i] += v
            rects.append(f'<rect x="{_n(LEFT + (i + 0.1) * band)}" y="{_n(y1)}" width="{_n(band * 0.8)}" '
                         f'height="{_n(y0 - y1)}"><title>{escape(categories[i])} · {escape(name)}: '
                         f'{escape(fmt(v))}</title></rect>')
        groups.append(f'<g class="{cls}" fill="{colour}">{"".join(rects)}</g>')
    peak = totals.index(top)
    desc = desc or (f"Stacked bars of {len(series)} series from {categories[0]} to {categories[-1]}; "
                    f"the highest total is {fmt(top)} ({categories[peak]}).")
    return _svg(id, title, desc, height, frame + "".join(groups))


def hbars(id: str, title: str, items: list[tuple[str, float]], fmt: Fmt, desc: str = "") -> Markup:
    """Horizontal bars in the given order, label left and value right of each bar; one row per item."""
    top = max((v for _, v in items), default=0)
    if top <= 0:
        return _svg(id, title, desc or "No data yet.", 80, _no_data(80))
    values = [fmt(v) for _, v in items]
    label_w = min(200.0, max(40.0, max(len(label) for label, _ in items) * CHAR + 8))
    room = W - RIGHT - label_w - (max(len(t) for t in values) * CHAR + 8)
    out = []
    for row, ((label, v), text) in enumerate(zip(items, values, strict=True)):
        mid = TOP + (row + 0.5) * ROW
        shown = _fit(label, label_w - 8)
        tip = f"<title>{escape(label)}</title>" if shown != label else ""
        out.append(f'<text class="label" x="{_n(label_w - 6)}" y="{_n(mid)}" text-anchor="end" dy=".35em">'
                   f'{escape(shown)}{tip}</text>')
        width = room * max(v, 0) / top
        if v > 0:
            out.append(f'<rect class="series-0" fill="{LIGHT[0]}" x="{_n(label_w)}" y="{_n(mid - BAR / 2)}" '
                       f'width="{_n(width)}" height="{BAR}"><title>{escape(label)}: {escape(text)}</title></rect>')
        out.append(f'<text class="value" x="{_n(label_w + width + 4)}" y="{_n(mid)}" dy=".35em">{escape(text)}</text>')
    first = max(range(len(items)), key=lambda i: items[i][1])
    desc = desc or f"{len(items)} bars; the largest is {items[first][0]} with {values[first]}."
    return _svg(id, title, desc, TOP * 2 + len(items) * ROW, "".join(out))


def lines(id: str, title: str, categories: list[str], series: list[tuple[str, list[float | None]]], fmt: Fmt,
          desc: str = "") -> Markup:
    """Lines over shaded areas, a dot with its value per sample; None (no sample) breaks the line."""
    _check(categories, series)
    samples = [v for _, values in series for v in values if v is not None]
    if not samples:
        return _svg(id, title, desc or "No data yet.", H, _no_data(H))
    band, y, frame, height = _frame(series, categories, max(samples), fmt)
    x = lambda i: LEFT + (i + 0.5) * band
    groups, peaks = [], []
    for s, (name, values) in enumerate(series):
        cls, colour = _style(s, len(series), name)
        runs: list[list[int]] = [[]]
        dots = []
        for i, v in enumerate(values):
            if v is None:
                runs.append([])
                continue
            runs[-1].append(i)
            dots.append(f'<circle cx="{_n(x(i))}" cy="{_n(y(v))}" r="{_n(min(3, band / 3))}"><title>'
                        f'{escape(categories[i])} · {escape(name)}: {escape(fmt(v))}</title></circle>')
        paths = []
        for run in (r for r in runs if len(r) > 1):  # a lone sample shows only as its dot
            d = "M" + " L".join(f"{_n(x(i))},{_n(y(values[i]))}" for i in run)
            paths.append(f'<path class="area" fill-opacity="0.15" d="{d} L{_n(x(run[-1]))},{_n(y(0))} '
                         f'L{_n(x(run[0]))},{_n(y(0))} Z"/>'
                         f'<path class="line" fill="none" stroke="{colour}" stroke-width="2" '
                         f'stroke-linejoin="round" d="{d}"/>')
        groups.append(f'<g class="{cls}" fill="{colour}">{"".join(paths)}{"".join(dots)}</g>')
        known = [(v, i) for i, v in enumerate(values) if v is not None]
        if known:
            v, i = max(known, key=lambda p: (p[0], -p[1]))
            peaks.append(f"{name} peaks at {fmt(v)} ({categories[i]})")
    desc = desc or f"From {categories[0]} to {categories[-1]}: {'; '.join(peaks)}."
    return _svg(id, title, desc, height, frame + "".join(groups))
