"""Per-project checks: pure functions of a status record, marker readings and a clock."""

from __future__ import annotations

import pytest

from speculum import status
from speculum.monitor import checks
from speculum.monitor.checks import FAIL, OK, UNKNOWN, WARN, Check, Marker, project_checks
from speculum.monitor.settings import Settings, parse

NOW = 1_763_700_000.0
PERIOD = 86400 / 4  # syncs_per_day 4
SETTINGS = Settings()


def project(**sync) -> dict:
    return {"id": "debian", "enabled": True,
            "sync": {"method": "rsync", "syncs_per_day": 4, "upstream": "rsync://x/debian/",
                     "estimate": 900, **sync},
            "verify": {"file": "project/trace/master", "format": "debian-trace"}}


def record(p: dict, **fields) -> dict:
    rec = status.new_record(p)
    rec.update(fields)
    return rec


def succeeded(p: dict, ago: float = 600, **fields) -> dict:
    return record(p, **{"status": status.SUCCESS, "last_update_ts": NOW - ago, "last_ended_ts": NOW - ago,
                        "exit_code": 0, **fields})


def by_name(found: list[Check]) -> dict[str, Check]:
    assert len({c.name for c in found}) == len(found)
    assert all(c.subject == "debian" for c in found)
    return {c.name: c for c in found}


def run(status_="success", duration=100):
    return {"started": 0, "ended": 0, "duration": duration, "exit_code": 0 if status_ == "success" else 23,
            "status": status_}


def test_success_is_ok():
    p = project()
    found = by_name(project_checks(p, succeeded(p), NOW, SETTINGS, ours=Marker(NOW - 900)))
    assert set(found) == {"sync", "freshness", "age"}
    assert {c.state for c in found.values()} == {OK}
    assert found["sync"].message == "last run succeeded 10m ago"
    assert found["age"].value == 600
    assert found["freshness"].value == 900


def test_failed_streak_and_exit_code():
    p = project()
    history = [run(), run(status_="failed"), run(status_="failed"), run(status_="failed")]
    rec = succeeded(p, status=status.FAILED, exit_code=23, error_msg="rsync: some files vanished",
                    history=history)
    sync = by_name(project_checks(p, rec, NOW, SETTINGS))["sync"]
    assert sync.state == FAIL
    assert sync.message == "last run failed (exit 23): rsync: some files vanished; 3 failed runs in a row"


def test_single_failure_has_no_streak_and_a_missing_message_is_said():
    p = project()
    rec = record(p, status=status.FAILED, history=[run(), run(status_="failed")])
    sync = by_name(project_checks(p, rec, NOW, SETTINGS))["sync"]
    assert sync.state == FAIL
    assert sync.message == "last run failed: no message"


def test_never_synced_is_unknown_and_has_no_age():
    p = project()
    found = by_name(project_checks(p, record(p), NOW, SETTINGS))
    assert set(found) == {"sync", "freshness"}
    assert found["sync"].state == UNKNOWN
    assert found["freshness"].state == UNKNOWN  # no marker reading given: "not read"
    assert "not read" in found["freshness"].message
    assert checks.worst(list(found.values())) == UNKNOWN


@pytest.mark.parametrize(("running", "state"), [(900 * 3 + 1, FAIL), (900 * 3 - 1, OK), (0, OK)])
def test_stuck_run(running, state):
    p = project()
    rec = succeeded(p, status=status.SYNCING, last_started_ts=NOW - running)
    found = by_name(project_checks(p, rec, NOW, SETTINGS, ours=Marker(NOW - 900)))
    assert found["sync"].state == OK
    assert found["stuck"].state == state
    assert found["stuck"].value == running
    if state == FAIL:
        assert "expected about 15m" in found["stuck"].message


def test_stuck_factor_comes_from_the_settings():
    p = project()
    rec = record(p, status=status.SYNCING, last_started_ts=NOW - 2000)
    assert by_name(project_checks(p, rec, NOW, parse({"stuck_factor": 2})))["stuck"].state == FAIL
    assert by_name(project_checks(p, rec, NOW, parse({"stuck_factor": 3})))["stuck"].state == OK


def test_expected_duration_is_the_90th_percentile_of_successful_runs():
    p = project(estimate=1234)
    history = [run(duration=100 * i) for i in range(1, 21)] + [run(status_="failed", duration=99999)]
    history.append({"status": "success", "duration": None})
    assert checks.expected_duration(p, record(p, history=history)) == 1900


def test_expected_duration_without_history():
    assert checks.expected_duration(project(estimate=1234), record(project())) == 1234
    p = project()
    del p["sync"]["estimate"]
    assert checks.expected_duration(p, record(p)) == checks.DEFAULT_EXPECTED
    only_failed = record(p, history=[run(status_="failed", duration=5000)])
    assert checks.expected_duration(p, only_failed) == checks.DEFAULT_EXPECTED
    assert checks.expected_duration(p, record(p, history=[run(duration=5)])) == 60  # a floor


def test_stuck_uses_history_not_estimate():
    p = project(estimate=100)
    rec = record(p, status=status.SYNCING, last_started_ts=NOW - 1000, history=[run(duration=600)] * 5)
    assert by_name(project_checks(p, rec, NOW, SETTINGS))["stuck"].state == OK  # 1000 < 3 x 600


def test_unreadable_marker_is_unknown():
    p = project()
    fresh = by_name(project_checks(p, succeeded(p), NOW, SETTINGS, ours=Marker(None, "missing"),
                                   upstream=Marker(NOW)))["freshness"]
    assert fresh.state == UNKNOWN
    assert fresh.message == "our marker project/trace/master is unreadable: missing"


def test_no_verify_no_freshness():
    p = project()
    del p["verify"]
    assert set(by_name(project_checks(p, succeeded(p), NOW, SETTINGS))) == {"sync", "age"}


def freshness(ours: float | None, upstream: Marker | None, settings: Settings = SETTINGS, **sync) -> Check:
    p = project(**sync)
    return by_name(project_checks(p, succeeded(p), NOW, settings, ours=Marker(ours), upstream=upstream))["freshness"]


def test_behind_the_upstream_fails():
    ours = NOW - 50000
    check = freshness(ours, Marker(ours + 2 * PERIOD + 1))
    assert check.state == FAIL
    assert "behind the upstream's marker (allowed: 12h)" in check.message
    assert check.value == 50000


def test_slightly_behind_the_upstream_is_ok():
    ours = NOW - 50000
    check = freshness(ours, Marker(ours + 2 * PERIOD))
    assert check.state == OK
    assert "12h behind the upstream" in check.message
    assert freshness(NOW - 600, Marker(NOW - 600)).message == "data 10m old, in step with the upstream"


def test_stalled_upstream_warns():
    old = NOW - 2 * 86400 - 1
    check = freshness(old, Marker(old))
    assert check.state == WARN
    assert "stalled" in check.message
    # the same old marker, the upstream unreadable: failing on our side
    assert freshness(old, Marker(None, "error")).state == FAIL


def test_unreachable_upstream_judges_our_age():
    fail = freshness(NOW - 2 * 86400 - 1, Marker(None, "connection refused"))
    assert fail.state == FAIL
    assert "more than 2d" in fail.message and "(upstream marker: connection refused)" in fail.message
    ok = freshness(NOW - 2 * 86400 + 1, Marker(None, "connection refused"))
    assert ok.state == OK
    assert "(upstream marker: connection refused)" in ok.message
    assert freshness(NOW - 2 * 86400 - 1, None).state == FAIL  # never read at all


def test_max_age_is_at_least_two_periods():
    # one sync every 4 days: 8 days is fine although max_marker_age is 2 days
    assert freshness(NOW - 7 * 86400, Marker(None, "error"), syncs_per_day=0.25).state == OK
    assert freshness(NOW - 8 * 86400 - 1, Marker(None, "error"), syncs_per_day=0.25).state == FAIL
    short = parse({"max_marker_age": "1h"})  # two periods of 6 hours win
    assert freshness(NOW - 2 * PERIOD + 1, Marker(None, "error"), short).state == OK
    assert freshness(NOW - 2 * PERIOD - 1, Marker(None, "error"), short).state == FAIL


@pytest.mark.parametrize(("ago", "state"), [(4 * PERIOD + 900 + 1, FAIL), (4 * PERIOD + 900, OK)])
def test_age_of_the_last_success(ago, state):
    p = project()
    rec = succeeded(p, ago=ago, status=status.FAILED)
    age = by_name(project_checks(p, rec, NOW, SETTINGS))["age"]
    assert age.state == state
    assert age.value == ago
    if state == FAIL:
        assert "expected every 6h" in age.message


def test_worst():
    def c(state):
        return Check("s", "n", state, "")

    assert checks.worst([]) == UNKNOWN
    assert checks.worst([c(UNKNOWN)]) == UNKNOWN
    assert checks.worst([c(UNKNOWN), c(OK)]) == OK
    assert checks.worst([c(OK), c(WARN), c(UNKNOWN)]) == WARN
    assert checks.worst([c(WARN), c(FAIL), c(OK)]) == FAIL
