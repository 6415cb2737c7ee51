"""The alert state machine, run by run, with the state through JSON between runs."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime

import pytest

from speculum.monitor import alerts
from speculum.monitor.alerts import ALERT, RECOVERY, REMINDER, SUMMARY
from speculum.monitor.checks import FAIL, OK, UNKNOWN, WARN, Check
from speculum.monitor.settings import parse

T0 = datetime(2025, 3, 10, 12, 0, tzinfo=UTC).timestamp()
H = 3600
MENTION = "<@&123456789>"


def settings(**raw):
    return parse({"summary_time": "", **raw})


class Monitor:
    """Runs ``alerts.step`` as the timer does: the state saved as JSON between runs."""

    def __init__(self, **raw):
        self.settings = settings(**raw)
        self.saved = json.dumps(alerts.new_state())

    def run(self, now: float, *checks: Check) -> list[alerts.Message]:
        state = json.loads(self.saved)
        messages = alerts.step(state, list(checks), now, self.settings, "mirror1")
        self.saved = json.dumps(state)
        return messages

    @property
    def subjects(self) -> dict:
        return json.loads(self.saved)["subjects"]


def c(subject: str, state: str, message: str = "broken", name: str = "sync") -> Check:
    return Check(subject, name, state, message)


def kinds(messages):
    return [m.kind for m in messages]


def test_alert_after_threshold_then_reminders_then_recovery():
    m = Monitor(threshold=2, repeat_every="6h")
    assert m.run(T0, c("debian", FAIL), c("arch", OK)) == []
    [alert] = m.run(T0 + H, c("debian", FAIL, "last run failed (exit 23)"), c("arch", OK))
    assert (alert.kind, alert.severity, alert.subjects) == (ALERT, FAIL, ["debian"])
    assert alert.title == "[ALERT] mirror1: debian"
    assert alert.body == "**debian** (failing for 1h)\n- sync: last run failed (exit 23)"
    assert alert.mention is False  # no mention configured
    for hours in (2, 3, 6.5):
        assert m.run(T0 + hours * H, c("debian", FAIL)) == []
    [reminder] = m.run(T0 + 7 * H, c("debian", FAIL))
    assert (reminder.kind, reminder.subjects) == (REMINDER, ["debian"])
    assert reminder.title.startswith("[STILL FAILING] mirror1: debian")
    assert "failing for 7h" in reminder.body
    assert m.run(T0 + 8 * H, c("debian", FAIL)) == []
    assert m.run(T0 + 12.9 * H, c("debian", FAIL)) == []
    assert kinds(m.run(T0 + 13 * H, c("debian", FAIL))) == [REMINDER]
    [recovery] = m.run(T0 + 14 * H, c("debian", OK))
    assert (recovery.kind, recovery.severity, recovery.subjects) == (RECOVERY, OK, ["debian"])
    assert recovery.body == "**debian** is healthy again after 14h"
    assert m.subjects == {}
    assert m.run(T0 + 15 * H, c("debian", OK)) == []


def test_repeat_every_zero_never_reminds():
    m = Monitor(threshold=1, repeat_every="0")
    assert kinds(m.run(T0, c("debian", FAIL))) == [ALERT]
    for day in range(1, 5):
        assert m.run(T0 + day * 86400, c("debian", FAIL)) == []


def test_flapping_below_threshold_never_alerts():
    m = Monitor(threshold=2)
    for n in range(10):
        assert m.run(T0 + n * H, c("debian", FAIL if n % 2 == 0 else OK)) == []


def test_subjects_opening_together_share_one_message():
    m = Monitor(threshold=2)
    m.run(T0, c("debian", FAIL), c("host/disk", WARN, "4.0% free", "disk"))
    [alert] = m.run(T0 + H, c("debian", FAIL), c("host/disk", WARN, "4.0% free", "disk"))
    assert alert.subjects == ["debian", "host/disk"]
    assert alert.severity == FAIL
    assert alert.title == "[ALERT] mirror1: debian, host/disk"
    assert "**debian**" in alert.body and "**host/disk**" in alert.body and "- disk: 4.0% free" in alert.body


def test_only_failing_and_warning_checks_are_listed():
    m = Monitor(threshold=1)
    [alert] = m.run(T0, c("debian", FAIL, "old", "age"), c("debian", OK, "fine", "sync"),
                    c("debian", UNKNOWN, "unreadable", "freshness"))
    assert alert.body == "**debian** (failing)\n- age: old"


def test_warning_escalates_to_failing_once_but_not_back():
    m = Monitor(threshold=2)
    m.run(T0, c("debian", WARN))
    [first] = m.run(T0 + H, c("debian", WARN))
    assert (first.kind, first.severity) == (ALERT, WARN)
    assert "(warning for 1h)" in first.body
    [worse] = m.run(T0 + 2 * H, c("debian", FAIL))
    assert (worse.kind, worse.severity, worse.subjects) == (ALERT, FAIL, ["debian"])
    assert m.run(T0 + 3 * H, c("debian", FAIL)) == []
    assert m.run(T0 + 4 * H, c("debian", WARN)) == []
    assert m.run(T0 + 5 * H, c("debian", FAIL)) == []  # it was failing already
    assert m.subjects["debian"]["severity"] == FAIL


def test_unknown_neither_opens_nor_closes_an_incident():
    m = Monitor(threshold=2)
    assert m.run(T0, c("debian", UNKNOWN)) == []
    assert m.run(T0 + H, c("debian", UNKNOWN)) == []  # never opens
    assert m.subjects == {}
    m.run(T0 + 2 * H, c("debian", FAIL))
    assert kinds(m.run(T0 + 3 * H, c("debian", FAIL))) == [ALERT]
    assert m.run(T0 + 4 * H, c("debian", UNKNOWN)) == []  # no evidence: still open
    assert m.subjects["debian"]["open"]
    assert m.run(T0 + 5 * H, c("debian", FAIL)) == []  # the same incident, not a new alert
    assert kinds(m.run(T0 + 6 * H, c("debian", OK))) == [RECOVERY]
    assert m.subjects == {}


def test_a_failure_that_eases_to_a_warning_is_reminded_as_a_warning():
    m = Monitor(threshold=1, repeat_every="1h", mention=MENTION)
    assert kinds(m.run(T0, c("a", FAIL))) == [ALERT]
    [reminder] = m.run(T0 + 2 * H, c("a", WARN))
    assert (reminder.kind, reminder.severity, reminder.mention) == ("reminder", WARN, False)
    assert m.run(T0 + 2 * H + 60, c("a", FAIL)) == []  # back to its worst: not a new alert


def test_unknown_beside_a_failure_does_not_hide_it():
    m = Monitor(threshold=2)
    m.run(T0, c("debian", FAIL), c("debian", UNKNOWN, name="freshness"))
    assert kinds(m.run(T0 + H, c("debian", FAIL), c("debian", UNKNOWN, name="freshness"))) == [ALERT]


def test_mentions_are_rate_limited():
    m = Monitor(threshold=1, mention=MENTION, mention_every="1h", repeat_every="6h")
    [first] = m.run(T0, c("a", FAIL))
    assert first.mention is True
    assert first.body.startswith(MENTION + "\n**a**")
    [second] = m.run(T0 + 600, c("a", FAIL), c("b", FAIL))
    assert (second.kind, second.subjects, second.mention) == (ALERT, ["b"], False)
    assert MENTION not in second.body
    [third] = m.run(T0 + H, c("a", FAIL), c("b", FAIL), c("x", FAIL))
    assert (third.subjects, third.mention) == (["x"], True)
    assert third.body.startswith(MENTION)


def test_warnings_and_recoveries_never_mention():
    m = Monitor(threshold=1, mention=MENTION)
    [warning] = m.run(T0, c("a", WARN))
    assert warning.mention is False and MENTION not in warning.body
    [recovery] = m.run(T0 + H, c("a", OK))
    assert recovery.kind == RECOVERY
    assert recovery.mention is False and MENTION not in recovery.body
    [failing] = m.run(T0 + 2 * H, c("a", FAIL))  # warnings did not use up the mention
    assert failing.mention is True


def test_removed_subjects_are_dropped_silently():
    m = Monitor(threshold=1)
    assert kinds(m.run(T0, c("old", FAIL), c("new", OK))) == [ALERT]
    assert m.run(T0 + H, c("new", OK)) == []
    assert "old" not in m.subjects
    assert m.run(T0 + 2 * H, c("new", OK), c("old", OK)) == []  # no recovery for a forgotten incident


def test_long_lists_fit_a_discord_message():
    m = Monitor(threshold=1, mention=MENTION)
    many = [c(f"project-{n:03}", FAIL, "last run failed (exit 23): " + "x" * 80) for n in range(300)]
    [alert] = m.run(T0, *many)
    assert len(alert.body) <= 1900
    assert alert.title == "[ALERT] mirror1: project-000, project-001, project-002, project-003, " \
                          "project-004 and 295 more"
    assert len(alert.subjects) == 300
    shown = re.findall(r"\*\*(project-\d+)\*\*", alert.body)
    more = re.search(r"\n\.\.\. and (\d+) more$", alert.body)
    assert shown and more and len(shown) + int(more.group(1)) == 300
    [recovery] = m.run(T0 + H, *[c(x.subject, OK) for x in many])
    assert len(recovery.body) <= 1900 and recovery.body.endswith("more")


def test_one_huge_check_message_is_cut():
    [alert] = Monitor(threshold=1).run(T0, c("a", FAIL, "y" * 5000))
    assert len(alert.body) <= 600
    assert alert.body.endswith("...")


@pytest.fixture
def tz(monkeypatch):
    def use(name: str):
        monkeypatch.setenv("TZ", name)
        time.tzset()

    use("UTC")
    yield use
    monkeypatch.undo()
    time.tzset()


def at(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC).timestamp()


def summaries(messages):
    return [m for m in messages if m.kind == SUMMARY]


def test_daily_summary_once_a_day_not_on_the_first_run(tz):
    m = Monitor(threshold=1, summary_time="08:00")
    healthy = c("a", OK)
    assert m.run(at(10, 9), healthy) == []  # first run past the time: not today's summary
    assert m.run(at(10, 23), healthy) == []
    assert m.run(at(11, 7, 59), healthy) == []
    [summary] = m.run(at(11, 8), healthy)
    assert summary.title == "[DAILY SUMMARY] mirror1: 1 healthy, 0 failing, 0 warning, 0 unknown"
    assert summary.body == "Everything is healthy."
    assert (summary.severity, summary.mention) == ("info", False)
    assert m.run(at(11, 8, 5), healthy) == []
    assert m.run(at(11, 20), healthy) == []
    assert len(summaries(m.run(at(12, 9), healthy))) == 1


def test_summary_counts_subjects_and_lists_the_unhealthy(tz):
    m = Monitor(threshold=1, summary_time="08:00")
    now = [c("a", OK), c("b", FAIL, "old", "age"), c("b", OK), c("c", WARN, "low"), c("d", UNKNOWN, "?"),
           c("e", OK)]
    m.run(at(10, 7), *now)  # first run before the time: today's summary is still due
    [summary] = summaries(m.run(at(10, 8, 30), *now))
    assert summary.title == "[DAILY SUMMARY] mirror1: 2 healthy, 1 failing, 1 warning, 1 unknown"
    assert summary.subjects == ["a", "b", "c", "d", "e"]
    assert summary.body.splitlines() == ["- **b** fail, for 1h30m: old", "- **c** warn, for 1h30m: low",
                                         "- **d** unknown: ?"]


def test_summary_time_is_local_time(tz):
    tz("EST+5")  # 08:00 local is 13:00 UTC
    m = Monitor(summary_time="08:00")
    m.run(at(10, 14), c("a", OK))
    assert m.run(at(11, 12, 59), c("a", OK)) == []
    assert len(summaries(m.run(at(11, 13), c("a", OK)))) == 1


def test_no_summary_time_no_summary(tz):
    m = Monitor(summary_time="")
    for hour in range(0, 24 * 4, 3):
        assert m.run(T0 + hour * H, c("a", OK)) == []
