"""The monitor's settings: defaults, every bad setting named, durations in seconds."""

from __future__ import annotations

import pytest

from speculum.monitor import settings
from speculum.monitor.settings import Settings


def test_defaults_parse_to_the_dataclass_defaults():
    assert settings.errors(settings.DEFAULTS) == []
    parsed = settings.parse(None)
    assert parsed == settings.parse({}) == Settings()
    assert parsed.repeat_every == 6 * 3600
    assert parsed.max_marker_age == 2 * 86400
    assert parsed.units == ("speculum-*", "certbot.service")


@pytest.mark.parametrize(("raw", "name", "words"), [
    ({"thresold": 2}, "thresold", "unknown setting"),
    ({"repeat_every": "six hours"}, "repeat_every", "not a duration"),
    ({"mention_every": "0"}, "mention_every", "positive"),
    ({"upstream_every": -5}, "upstream_every", "positive"),
    ({"threshold": 0}, "threshold", "positive number"),
    ({"threshold": 1.5}, "threshold", "whole number"),
    ({"threshold": True}, "threshold", "positive number"),
    ({"stuck_factor": "3"}, "stuck_factor", "positive number"),
    ({"disk_warn_percent": 120}, "disk_warn_percent", "percentage"),
    ({"disk_fail_percent": -1}, "disk_fail_percent", "percentage"),
    ({"disk_warn_percent": 5, "disk_fail_percent": 10}, "disk_fail_percent", "must not exceed"),
    ({"summary_time": "25:00"}, "summary_time", "HH:MM"),
    ({"summary_time": "8:00"}, "summary_time", "HH:MM"),
    ({"summary_time": None}, "summary_time", "HH:MM"),
    ({"https_port": 0}, "https_port", "TCP port"),
    ({"https_port": 65536}, "https_port", "TCP port"),
    ({"units": "speculum-*"}, "units", "list"),
    ({"units": ["speculum-*", ""]}, "units", "list"),
    ({"https_names": "mirror.example.org"}, "https_names", "list"),
    ({"http_url": "ftp://x/"}, "http_url", "URL"),
    ({"mention": 123}, "mention", "text"),
])
def test_each_bad_setting_is_named(raw, name, words):
    problems = settings.errors(raw)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"monitor setting '{name}'")
    assert words in problems[0]
    with pytest.raises(ValueError, match=f"monitor setting '{name}'"):
        settings.parse(raw)


def test_every_problem_is_listed_at_once():
    problems = settings.errors({"threshold": 0, "https_port": 0, "bogus": 1})
    assert [p.split(":")[0] for p in problems] == [
        "monitor setting 'bogus'", "monitor setting 'threshold'", "monitor setting 'https_port'"]


def test_not_a_mapping():
    assert settings.errors(["threshold"]) == ["monitor settings: expected a mapping, got list"]


@pytest.mark.parametrize("summary", ["", "00:00", "23:59", "08:30"])
def test_good_summary_times(summary):
    assert settings.errors({"summary_time": summary}) == []
    assert settings.parse({"summary_time": summary}).summary_time == summary


@pytest.mark.parametrize("value", ["0", 0])
def test_repeat_every_zero_means_never(value):
    assert settings.parse({"repeat_every": value}).repeat_every == 0


def test_durations_become_seconds_and_lists_tuples():
    parsed = settings.parse({"repeat_every": "1h30m", "mention_every": 600, "max_marker_age": "3d",
                             "upstream_every": "45s", "https_names": ["a.example", "b.example"],
                             "units": ["x.service"], "disk_fail_percent": 5, "disk_warn_percent": 5})
    assert (parsed.repeat_every, parsed.mention_every, parsed.max_marker_age, parsed.upstream_every) == \
        (5400, 600, 3 * 86400, 45)
    assert parsed.https_names == ("a.example", "b.example")
    assert parsed.units == ("x.service",)
