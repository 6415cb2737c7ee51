"""The SVG charts of the /stats/ page: well-formed, accessible, proportional and escaped."""

from __future__ import annotations

import itertools
import math
import re

import pytest
from lxml import etree
from markupsafe import Markup

from speculum.site import charts
from speculum.site.charts import CSS, hbars, human_bytes, human_count, lines, nice_ticks, stacked_bars

NS = {"s": "http://www.w3.org/2000/svg"}
PLOT_TOP, PLOT_BOTTOM = charts.TOP, charts.H - charts.BOTTOM
DAYS = ["2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21"]
SERIES = [("debian", [1.2e9, 0.0, 2.4e9, 5e8]), ("ubuntu", [3e8, 6e8, 0.0, 0.0]), ("other", [1e8, 1e8, 1e8, 0.0])]
NASTY = 'a<b>&"c\''


def parse(markup: Markup) -> etree._Element:
    assert isinstance(markup, Markup)
    return etree.fromstring(str(markup).encode())


def bars(root) -> list:
    """Data rects, i.e. not the legend swatches."""
    return root.xpath("//s:rect[not(ancestor::s:g[@class='legend'])]", namespaces=NS)


def title_of(element) -> str:
    return element.find("s:title", NS).text


def texts(root, cls: str) -> list[str]:
    return [t.text for t in root.xpath(f"//s:text[@class='{cls}']", namespaces=NS)]


def all_charts(prefix: str = "c") -> list[Markup]:
    return [
        stacked_bars(f"{prefix}1", "Traffic", DAYS, SERIES, human_bytes),
        hbars(f"{prefix}2", "Top projects", [("debian", 4e9), ("ubuntu", 9e8)], human_bytes),
        lines(f"{prefix}3", "Bandwidth", DAYS, [("rx", [1.0, None, 3.0, 4.0]), ("tx", [2.0, 2.0, 2.0, None])],
              human_bytes),
    ]


@pytest.mark.parametrize("index", range(3))
def test_svg_is_well_formed_and_accessible(index):
    root = parse(all_charts()[index])
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("role") == "img" and root.get("width") == "100%" and root.get("preserveAspectRatio")
    assert re.fullmatch(r"0 0 720 \d+(\.\d+)?", root.get("viewBox"))
    label = root.xpath(f"//*[@id='{root.get('aria-labelledby')}']")[0]
    assert label.tag == "{http://www.w3.org/2000/svg}title" and label.text
    described = root.xpath(f"//*[@id='{root.get('aria-describedby')}']")[0]
    assert described.tag == "{http://www.w3.org/2000/svg}desc" and described.text.endswith(".")


def test_ids_are_prefixed_and_unique_across_a_page():
    ids = [i for prefix in ("day", "month") for chart in all_charts(prefix) for i in parse(chart).xpath("//@id")]
    assert len(ids) == len(set(ids)) == 2 * 3 * 3  # svg, title, desc per chart
    assert all(re.match(r"(day|month)\d(-|$)", i) for i in ids)
    with pytest.raises(ValueError):
        hbars("has space", "t", [("a", 1)], human_count)


def test_stacked_bars_one_rect_per_nonzero_value_with_exact_title():
    root = parse(stacked_bars("t", "Traffic", DAYS, SERIES, human_bytes))
    expected = [f"{day} · {name}: {human_bytes(v)}"
                for name, values in SERIES for day, v in zip(DAYS, values, strict=True) if v]
    assert [title_of(r) for r in bars(root)] == expected
    assert "2026-11-20 · debian: 2.4 GB" in expected


def test_stacked_heights_are_proportional_contiguous_and_fit_the_plot():
    root = parse(stacked_bars("t", "Traffic", DAYS, SERIES, human_bytes))
    by_title = {title_of(r): r for r in bars(root)}
    height = lambda key: float(by_title[key].get("height"))
    unit = height("2026-11-18 · debian: 1.2 GB") / 1.2e9
    values = {f"{day} · {name}: {human_bytes(v)}": v for name, vs in SERIES for day, v in zip(DAYS, vs, strict=True)}
    for key, rect in by_title.items():
        assert float(rect.get("height")) == pytest.approx(values[key] * unit, abs=0.02)
    assert height("2026-11-20 · debian: 2.4 GB") == pytest.approx(2 * height("2026-11-18 · debian: 1.2 GB"), abs=0.02)
    # the day's segments stack without gaps from the x axis up; the tallest stays inside the plot
    for day in DAYS:
        segments = [r for key, r in by_title.items() if key.startswith(day)]
        bottom = PLOT_BOTTOM
        for rect in segments:
            assert float(rect.get("y")) + float(rect.get("height")) == pytest.approx(bottom, abs=0.02)
            bottom = float(rect.get("y"))
        assert bottom >= PLOT_TOP - 0.01
    tallest = min(float(r.get("y")) for r in bars(root))
    assert PLOT_TOP - 0.01 <= tallest < PLOT_BOTTOM


def test_stacked_bars_classes_and_legend():
    many = [(f"p{i}", [1.0]) for i in range(11)] + [("other", [1.0])]
    root = parse(stacked_bars("t", "x", ["d"], many, human_count))
    classes = [r.getparent().get("class") for r in bars(root)]
    assert classes == [f"series-{i % 10}" for i in range(11)] + ["other"]
    legend = root.xpath("//s:g[@class='legend']", namespaces=NS)[0]
    assert [t.text for t in legend.iterfind("s:text", NS)] == [name for name, _ in many]
    assert all(float(t.get("y")) > charts.H for t in legend.iterfind("s:text", NS))  # below the plot
    assert float(root.get("viewBox").split()[3]) > charts.H  # the legend rows enlarge the chart
    # long names wrap into more rows instead of running off the right edge
    wide = [(f"project-with-a-long-name-{i}", [1.0]) for i in range(8)]
    legend = parse(stacked_bars("t", "x", ["d"], wide, human_count)).xpath("//s:g[@class='legend']/s:text",
                                                                          namespaces=NS)
    assert all(float(t.get("x")) + len(t.text) * charts.CHAR <= 720 for t in legend)
    assert len({t.get("y") for t in legend}) > 2
    # "other" is only special as the last series
    root = parse(stacked_bars("t", "x", ["d"], [("other", [1.0]), ("b", [1.0])], human_count))
    assert [r.getparent().get("class") for r in bars(root)] == ["series-0", "series-1"]


@pytest.mark.parametrize("maximum", [0.3, 1, 3, 7, 9.99, 10, 11, 99, 101, 1000, 1001, 12345, 2.4e9, 7.7e12])
def test_nice_ticks(maximum):
    ticks = nice_ticks(maximum)
    step = ticks[1]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(mantissa == pytest.approx(m) for m in (1, 2, 2.5, 5))
    assert ticks == [pytest.approx(i * step) for i in range(len(ticks))]
    assert 4 <= len(ticks) <= 5 and ticks[0] == 0
    assert ticks[-1] >= maximum > ticks[-2]  # covers the maximum, and not with a spare gridline


def test_chart_grid_uses_nice_ticks_and_the_formatter():
    fmt = lambda v: f"<{v:g}>"  # escaped on the way in, so it also checks tick labels are escaped
    root = parse(stacked_bars("t", "x", ["a", "b"], [("s", [7.0, 3.0])], fmt))
    assert texts(root, "tick") == ["<0>", "<2>", "<4>", "<6>", "<8>"]
    grid = [float(y) for y in root.xpath("//s:line/@y1", namespaces=NS)]
    assert grid[0] == pytest.approx(PLOT_BOTTOM) and grid[-1] == pytest.approx(PLOT_TOP)
    assert float(bars(root)[0].get("height")) == pytest.approx((PLOT_BOTTOM - PLOT_TOP) * 7 / 8, abs=0.02)


def test_text_is_escaped_and_round_trips():
    out = [
        stacked_bars("a", NASTY, [NASTY], [(NASTY, [5.0])], human_count, desc=NASTY),
        hbars("b", NASTY, [(NASTY, 5.0)], human_count),
        lines("c", NASTY, [NASTY, "x"], [(NASTY, [5.0, 6.0])], human_count),
    ]
    for markup in out:
        assert "<b>" not in markup
        root = parse(markup)
        assert title_of(root) == NASTY
        assert f"{NASTY} · {NASTY}: 5" in [t.text for t in root.iter("{*}title")] or \
            f"{NASTY}: 5" in [t.text for t in root.iter("{*}title")]
    assert parse(out[0]).find("s:desc", NS).text == NASTY
    assert texts(parse(out[1]), "label") == [NASTY]


@pytest.mark.parametrize("markup", [
    stacked_bars("e", "x", [], [], human_bytes),
    stacked_bars("e", "x", DAYS, [("debian", [0.0] * 4)], human_bytes),
    hbars("e", "x", [], human_count),
    hbars("e", "x", [("debian", 0)], human_count),
    lines("e", "x", DAYS, [("rx", [None] * 4)], human_bytes),
    lines("e", "x", [], [], human_bytes),
])
def test_empty_input_renders_no_data_yet(markup):
    root = parse(markup)
    assert texts(root, "empty") == ["No data yet"]
    assert not bars(root) and not root.xpath("//s:path|//s:circle", namespaces=NS)
    assert root.find("s:title", NS).text == "x"


def test_lines_break_at_none_and_title_every_point():
    root = parse(lines("l", "Bandwidth", [f"{h:02d}:00" for h in range(7)],
                       [("rx", [1.0, 2.0, None, 4.0, 5.0, None, 7.0]), ("tx", [0.0] * 7)], human_bytes))
    rx, tx = root.xpath("//s:g[@class='series-0' or @class='series-1'][s:circle]", namespaces=NS)
    assert [p.get("d").count("L") for p in rx.xpath("s:path[@class='line']", namespaces=NS)] == [1, 1]
    assert [p.get("d").count("M") for p in rx.xpath("s:path[@class='line']", namespaces=NS)] == [1, 1]
    assert len(tx.xpath("s:path[@class='line']", namespaces=NS)) == 1  # zeros are samples, not gaps
    assert [title_of(c) for c in rx.iterfind("s:circle", NS)] == [
        "00:00 · rx: 1 B", "01:00 · rx: 2 B", "03:00 · rx: 4 B", "04:00 · rx: 5 B", "06:00 · rx: 7 B"]
    assert all(float(c.get("cy")) == pytest.approx(PLOT_BOTTOM) for c in tx.iterfind("s:circle", NS))
    seven = rx.findall("s:circle", NS)[-1]
    assert PLOT_TOP - 0.01 <= float(seven.get("cy")) < PLOT_BOTTOM


def test_x_labels_are_thinned_and_do_not_overlap():
    days = [f"2026-{m:02d}-{d:02d}" for m in range(1, 13) for d in range(1, 29)]
    root = parse(lines("l", "x", days, [("rx", [float(i) for i in range(len(days))])], human_bytes))
    labels = root.xpath("//s:text[@class='label']", namespaces=NS)
    assert 2 <= len(labels) <= 12
    spans = [(float(t.get("x")) - len(t.text) * charts.CHAR / 2, float(t.get("x")) + len(t.text) * charts.CHAR / 2)
             for t in labels]
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert spans[0][0] >= 0 and spans[-1][1] <= 720
    steps = {b - a for a, b in itertools.pairwise(days.index(t.text) for t in labels)}
    assert len(steps) == 1  # evenly thinned, not just whatever happened not to collide
    hours = parse(lines("l", "x", [str(h) for h in range(24)], [("rx", [1.0] * 24)], human_count))
    assert texts(hours, "label") == [str(h) for h in range(0, 24, 2)]


def test_hbars_rows_values_and_proportions():
    items = [("debian", 4e9), ("ubuntu", 1e9), ("idle", 0.0), ("archlinux", 2e9)]
    root = parse(hbars("h", "Top", items, human_bytes))
    rects = bars(root)
    assert [title_of(r) for r in rects] == ["debian: 4.0 GB", "ubuntu: 1.0 GB", "archlinux: 2.0 GB"]
    widths = [float(r.get("width")) for r in rects]
    assert widths[0] > 720 / 2  # the largest bar uses the room left by the label and value columns
    assert widths[0] == pytest.approx(4 * widths[1], abs=0.05) and widths[0] == pytest.approx(2 * widths[2], abs=0.05)
    assert texts(root, "label") == ["debian", "ubuntu", "idle", "archlinux"]
    values = root.xpath("//s:text[@class='value']", namespaces=NS)
    assert [v.text for v in values] == ["4.0 GB", "1.0 GB", "0 B", "2.0 GB"]
    for rect, value in zip(rects, [values[0], values[1], values[3]], strict=True):  # the value sits at the bar's end
        assert float(value.get("x")) == pytest.approx(float(rect.get("x")) + float(rect.get("width")) + 4, abs=0.02)
        assert float(value.get("x")) + len(value.text) * charts.CHAR <= 720
    short = float(parse(hbars("h", "Top", items[:2], human_bytes)).get("viewBox").split()[3])
    assert float(root.get("viewBox").split()[3]) - short == pytest.approx(2 * charts.ROW)


def test_long_hbar_labels_are_shortened_but_keep_the_full_name():
    name = "x" * 80
    label = parse(hbars("h", "Top", [(name, 1.0)], human_count)).xpath("//s:text[@class='label']", namespaces=NS)[0]
    assert label.text.endswith("…") and len(label.text) < 40 and title_of(label) == name


def test_output_is_deterministic():
    assert all_charts() == all_charts()
    assert [str(c) for c in all_charts()] == [str(c) for c in all_charts()]


def test_css_gives_every_class_a_light_and_a_dark_colour():
    light, dark = CSS.split("@media (prefers-color-scheme: dark)")
    for cls in [f"series-{i}" for i in range(10)] + ["other"]:
        assert re.search(rf"\.chart \.{cls} \{{ --series: #[0-9a-f]{{6}}; fill: var\(--series\); }}", light)
        assert f".chart .{cls} {{" in dark
    assert ".line { stroke: var(--series); }" in CSS


@pytest.mark.parametrize(("n", "text"), [
    (0, "0 B"), (512, "512 B"), (999, "999 B"), (1000, "1.0 kB"), (1500, "1.5 kB"), (9_949, "9.9 kB"),
    (9_950, "10 kB"), (12e6, "12 MB"), (999_499, "999 kB"), (999_500, "1.0 MB"), (3.4e9, "3.4 GB"),
    (1.2e12, "1.2 TB"),
])
def test_human_bytes(n, text):
    assert human_bytes(n) == text


@pytest.mark.parametrize(("n", "text"), [
    (0, "0"), (7, "7"), (999, "999"), (1234, "1.2k"), (34_000, "34k"), (1.5e6, "1.5M"), (2.5, "2.5"),
    (999_999, "1.0M"),
])
def test_human_count(n, text):
    assert human_count(n) == text
