"""The alert state machine: from the checks of each run to the few messages
a human should read.

Per subject (a project, or a host check): an incident opens after
``threshold`` consecutive runs in which it was failing or warning and is
announced once; it is repeated at most every ``repeat_every``, announced
again only if it gets worse (warning -> failing), and closed by one recovery
message on the first healthy run. Incidents that open (or recover) in the
same run share one message. Mentions are rate-limited; a daily summary goes
out at ``summary_time``. An unknown result (an unreadable marker, a project
never synced) changes nothing: it neither opens nor closes an incident.

``step`` is pure: state in (a JSON-able dict), messages out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from ..durations import format_duration
from .checks import FAIL, OK, SEVERITY, UNKNOWN, WARN, Check, worst
from .settings import Settings

ALERT, REMINDER, RECOVERY, SUMMARY = "alert", "reminder", "recovery", "summary"
MAX_BODY = 1700  # Discord takes 2000 characters of content, title and mention included
TAGS = {ALERT: "ALERT", REMINDER: "STILL FAILING", RECOVERY: "RECOVERED", SUMMARY: "DAILY SUMMARY"}


@dataclass
class Message:
    kind: str
    title: str
    body: str
    severity: str  # fail, warn, ok or info: the notification's type
    subjects: list[str] = field(default_factory=list)
    mention: bool = False

    def as_json(self) -> dict:
        return asdict(self)


def new_state() -> dict:
    return {"subjects": {}, "last_mention": 0, "summary_day": "", "outbox": []}


def step(state: dict, checks: list[Check], now: float, settings: Settings, label: str) -> list[Message]:
    """Advance ``state`` (in place) by one run's ``checks``; the messages to send."""
    by_subject: dict[str, list[Check]] = {}
    for check in checks:
        by_subject.setdefault(check.subject, []).append(check)
    subjects = state.setdefault("subjects", {})
    opened, worse, reminders, recovered = [], [], [], []
    for name in sorted(set(subjects) - set(by_subject)):
        del subjects[name]  # a removed project or a check turned off: nothing to report
    for name, found in sorted(by_subject.items()):
        severity = worst(found)
        entry = subjects.get(name)
        if severity == UNKNOWN:
            continue  # no evidence either way: an open incident stays open, nothing starts
        if severity == OK:
            if entry and entry.get("open"):
                recovered.append((name, entry))
            subjects.pop(name, None)
            continue
        entry = entry or {"streak": 0, "since": now, "open": False}
        subjects[name] = entry
        entry["streak"] += 1
        entry["lines"] = [f"{c.name}: {c.message}" for c in found if c.state in (WARN, FAIL)]
        entry["severity"] = severity  # now; "peak": the worst announced
        if not entry["open"]:
            if entry["streak"] >= settings.threshold:
                entry.update(open=True, peak=severity, last_sent=now)
                opened.append((name, entry))
        elif SEVERITY[severity] > SEVERITY[entry["peak"]]:
            entry.update(peak=severity, last_sent=now)
            worse.append((name, entry))
        elif settings.repeat_every and now - entry["last_sent"] >= settings.repeat_every:
            entry["last_sent"] = now
            reminders.append((name, entry))
    messages = []
    if opened or worse:
        messages.append(_incidents(ALERT, opened + worse, now, label))
    if reminders:
        messages.append(_incidents(REMINDER, reminders, now, label))
    if recovered:
        messages.append(_recovery(recovered, now, label))
    for message in messages:
        if message.severity == FAIL and message.kind != RECOVERY and settings.mention \
                and now - state.get("last_mention", 0) >= settings.mention_every:
            message.mention = True
            message.body = f"{settings.mention}\n{message.body}"
            state["last_mention"] = now
    summary = _summary_due(state, now, settings)
    if summary:
        messages.append(_summary(by_subject, subjects, now, label))
    return messages


def _incidents(kind: str, items: list[tuple[str, dict]], now: float, label: str) -> Message:
    severity = FAIL if any(e["severity"] == FAIL for _, e in items) else WARN
    word = "failing" if severity == FAIL else "warning"
    blocks = []
    for name, entry in items:
        since = f"{word} for {format_duration(now - entry['since'])}" if now - entry["since"] >= 60 else word
        blocks.append(f"**{name}** ({since})\n" + "\n".join(f"- {line}" for line in entry["lines"]))
    return Message(kind, _title(kind, label, [n for n, _ in items]), _fit(blocks), severity,
                   [n for n, _ in items])


def _recovery(items: list[tuple[str, dict]], now: float, label: str) -> Message:
    blocks = [f"**{name}** is healthy again after {format_duration(now - entry['since'])}"
              for name, entry in items]
    return Message(RECOVERY, _title(RECOVERY, label, [n for n, _ in items]), _fit(blocks), OK,
                   [n for n, _ in items])


def _summary_due(state: dict, now: float, settings: Settings) -> bool:
    if not settings.summary_time:
        return False
    local = datetime.fromtimestamp(now).astimezone()
    hour, minute = map(int, settings.summary_time.split(":"))
    past = (local.hour, local.minute) >= (hour, minute)
    today = local.date().isoformat()
    if not state.get("summary_day"):  # first run: the next summary time, not one already past
        state["summary_day"] = today if past else (local.date() - timedelta(days=1)).isoformat()
        return False
    if past and state["summary_day"] != today:
        state["summary_day"] = today
        return True
    return False


def _summary(by_subject: dict[str, list[Check]], subjects: dict, now: float, label: str) -> Message:
    verdicts = {name: worst(found) for name, found in by_subject.items()}
    counts = {s: sum(v == s for v in verdicts.values()) for s in (OK, WARN, FAIL, UNKNOWN)}
    title = (f"[{TAGS[SUMMARY]}] {label}: {counts[OK]} healthy, {counts[FAIL]} failing, "
             f"{counts[WARN]} warning, {counts[UNKNOWN]} unknown")
    blocks = []
    for name, verdict in sorted(verdicts.items(), key=lambda kv: (-SEVERITY[kv[1]], kv[0])):
        if verdict == OK:
            continue
        found = [c for c in by_subject[name] if c.state == verdict]
        opened = subjects.get(name, {})
        since = f", for {format_duration(now - opened['since'])}" if opened.get("open") else ""
        blocks.append(f"- **{name}** {verdict}{since}: " + "; ".join(c.message for c in found))
    return Message(SUMMARY, title, _fit(blocks) if blocks else "Everything is healthy.", "info",
                   sorted(verdicts))


def _title(kind: str, label: str, names: list[str]) -> str:
    listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f"[{TAGS[kind]}] {label}: {listed}"


def _fit(blocks: list[str]) -> str:
    """Join blocks within MAX_BODY characters, saying how many were left out."""
    out: list[str] = []
    used = 0
    for number, block in enumerate(blocks):
        block = block if len(block) <= 600 else block[:597] + "..."
        if used + len(block) + 1 > MAX_BODY - 40:
            out.append(f"... and {len(blocks) - number} more")
            break
        out.append(block)
        used += len(block) + 1
    return "\n".join(out)
