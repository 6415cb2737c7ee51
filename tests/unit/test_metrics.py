"""Prometheus textfile metrics: the exposition format and atomic, never-failing writes."""

from __future__ import annotations

import math
import re

import pytest

from speculum import metrics

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # not a dependency: a small parser of the same format below
    text_string_to_metric_families = None

WEIRD = 'a "quoted" C:\\path\nsecond line'
SAMPLES = [
    ("speculum_sync_duration_seconds", {"project": "debian"}, 12.5),
    ("speculum_check_state", {"subject": WEIRD, "check": "sync"}, 2),
    ("speculum_sync_duration_seconds", {"project": "arch"}, 3),
    ("speculum_sync_last_run_timestamp_seconds", {"project": "arch"}, 1763700000.0),
    ("custom_metric", {}, True),
    ("speculum_sync_exit_code", {"project": "gone"}, None),
    ("speculum_sync_size_bytes", {"project": "nan"}, float("nan")),
]

_SAMPLE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)')


def parse(text: str) -> dict[str, dict]:
    """{metric: {"help": str, "type": str, "samples": [(labels, value)]}}, checking the format's rules."""
    out: dict[str, dict] = {}
    if text_string_to_metric_families is not None:
        for family in text_string_to_metric_families(text):
            out[family.name] = {"help": family.documentation, "type": family.type,
                                "samples": [(s.labels, s.value) for s in family.samples]}
        return out
    assert text.endswith("\n")
    current = ""
    for line in text.splitlines():
        if line.startswith("# HELP "):
            current, _, doc = line[7:].partition(" ")
            assert current not in out, f"second HELP for {current}"
            out[current] = {"help": doc, "type": None, "samples": []}
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert name == current and out[name]["type"] is None
            out[name]["type"] = kind
        else:
            match = _SAMPLE.fullmatch(line)
            assert match, f"not a sample line: {line!r}"
            name, inner, value = match.groups()
            assert name == current, f"{name} out of its group"
            pairs = list(_LABEL.finditer(inner or ""))
            assert "".join(m.group(0) for m in pairs) == (inner or ""), f"bad labels: {inner!r}"
            labels = {m.group(1): re.sub(r"\\(.)", _unescape, m.group(2)) for m in pairs}
            out[name]["samples"].append((labels, float(value)))
    return out


def _unescape(match: re.Match) -> str:
    return "\n" if match.group(1) == "n" else match.group(1)


def test_render_is_valid_exposition():
    text = metrics.render(SAMPLES)
    parsed = parse(text)
    assert sorted(parsed) == ["custom_metric", "speculum_check_state", "speculum_sync_duration_seconds",
                              "speculum_sync_last_run_timestamp_seconds"]
    assert {p["type"] for p in parsed.values()} == {"gauge"}
    assert parsed["speculum_sync_duration_seconds"]["help"] == metrics.HELP["speculum_sync_duration_seconds"]
    assert parsed["custom_metric"]["help"] == "custom_metric"
    assert parsed["speculum_sync_duration_seconds"]["samples"] == [({"project": "debian"}, 12.5),
                                                                   ({"project": "arch"}, 3.0)]
    assert parsed["speculum_check_state"]["samples"] == [({"check": "sync", "subject": WEIRD}, 2.0)]
    for name in parsed:
        assert text.count(f"# HELP {name} ") == 1
        assert text.count(f"# TYPE {name} gauge\n") == 1


def test_render_text_details():
    lines = metrics.render(SAMPLES).splitlines()
    assert 'speculum_check_state{check="sync",subject="a \\"quoted\\" C:\\\\path\\nsecond line"} 2' in lines
    assert 'speculum_sync_duration_seconds{project="arch"} 3' in lines
    assert 'speculum_sync_duration_seconds{project="debian"} 12.5' in lines
    assert 'speculum_sync_last_run_timestamp_seconds{project="arch"} 1763700000' in lines
    assert "custom_metric 1" in lines
    assert not any("gone" in line or "nan" in line.lower() or "exit_code" in line for line in lines)


def test_render_nothing():
    assert metrics.render([]) == ""
    assert metrics.render([("speculum_sync_exit_code", {}, None)]) == ""


@pytest.mark.parametrize("name", ["bad-name", "9lives", "", "sp ace", "é"])
def test_bad_metric_name(name):
    with pytest.raises(ValueError, match="bad metric name"):
        metrics.render([(name, {}, 1)])


def test_numbers():
    text = metrics.render([("a", {}, 0), ("b", {}, -3.0), ("c", {}, 0.1), ("d", {}, 2 ** 40), ("e", {}, False)])
    assert text.splitlines()[2::3] == ["a 0", "b -3", "c 0.1", "d 1099511627776", "e 0"]
    assert math.isclose(parse(text)["c"]["samples"][0][1], 0.1)


def test_write_is_atomic_and_replaces(tmp_path):
    assert metrics.write(tmp_path, "check.prom", SAMPLES[:1]) is None
    assert metrics.write(str(tmp_path), "check.prom", SAMPLES) is None
    assert [p.name for p in tmp_path.iterdir()] == ["check.prom"]  # no temporary file left
    assert (tmp_path / "check.prom").read_text() == metrics.render(SAMPLES)
    assert (tmp_path / "check.prom").stat().st_mode & 0o777 == 0o644


def test_write_failure_is_a_reason_not_an_exception(tmp_path):
    missing = tmp_path / "missing"
    reason = metrics.write(missing, "check.prom", SAMPLES)
    assert reason is not None and reason.startswith(f"metrics not written to {missing}: ")
    assert not missing.exists()
    (tmp_path / "file").write_text("")
    reason = metrics.write(tmp_path / "file", "check.prom", SAMPLES)
    assert reason is not None and "not written" in reason


@pytest.mark.parametrize("directory", [None, ""])
def test_no_directory_no_write(directory, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert metrics.write(directory, "check.prom", SAMPLES) is None
    assert list(tmp_path.iterdir()) == []
