"""Bandwidth history of the public interface, as Debian's vnstat keeps it.

vnstatd samples /proc/net/dev and keeps 5-minute, hourly, daily and monthly
totals in its own database; ``vnstat --json`` prints them. This module only
reads that output and picks the last 24 hours, 30 days and 12 months, with
``None`` where vnstat has no entry (the daemon was not running).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime, timedelta

WINDOWS = {"hours": 24, "days": 30, "months": 12}  # output name -> entries
_VNSTAT_LISTS = {"hours": "hour", "days": "day", "months": "month"}


class BandwidthError(Exception):
    pass


def read_vnstat(interface: str, vnstat: str = "vnstat", timeout: float = 30) -> str:
    """``vnstat --json`` of one interface (text)."""
    if shutil.which(vnstat) is None:
        raise BandwidthError(f"{vnstat}: not installed (Debian package vnstat)")
    try:
        done = subprocess.run([vnstat, "--json", "-i", interface], capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise BandwidthError(f"vnstat --json -i {interface}: no answer within {timeout:.0f} s") from None
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise BandwidthError(f"vnstat --json -i {interface}: {reason[-1] if reason else f'exit {done.returncode}'}")
    return done.stdout


def _key(kind: str, entry: dict) -> str:
    d, t = entry.get("date", {}), entry.get("time", {})
    if kind == "months":
        return f"{d['year']:04d}-{d['month']:02d}"
    if kind == "days":
        return f"{d['year']:04d}-{d['month']:02d}-{d['day']:02d}"
    return f"{d['year']:04d}-{d['month']:02d}-{d['day']:02d}T{t['hour']:02d}"


def _slots(kind: str, now: datetime) -> list[str]:
    """The last WINDOWS[kind] periods up to ``now`` (host local time, as vnstat writes), oldest first."""
    count = WINDOWS[kind]
    if kind == "hours":
        top = now.replace(minute=0, second=0, microsecond=0)
        return [(top - timedelta(hours=n)).strftime("%Y-%m-%dT%H") for n in reversed(range(count))]
    if kind == "days":
        return [(now.date() - timedelta(days=n)).isoformat() for n in reversed(range(count))]
    months = now.year * 12 + now.month - 1
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(months - count + 1, months + 1)]


def parse_vnstat(text: str, interface: str, now: datetime) -> dict:
    """{"interface", "hours"|"days"|"months": [{"period", "rx", "tx"}], "total": {"rx", "tx"}}.

    ``now`` is the host's local time; rx/tx are bytes, None for a period vnstat did not record.
    """
    try:
        data = json.loads(text)
        found = [i for i in data["interfaces"] if i.get("name") == interface]
    except (ValueError, KeyError, TypeError) as exc:
        raise BandwidthError(f"vnstat --json: unexpected output ({exc})") from None
    if not found:
        raise BandwidthError(f"vnstat has no interface {interface!r} (vnstat --add -i {interface})")
    if str(data.get("jsonversion")) != "2":
        raise BandwidthError(f"vnstat --json: version {data.get('jsonversion')!r}, expected 2 (vnstat 2.x)")
    traffic = found[0].get("traffic", {})
    out: dict = {"interface": interface,
                 "total": {k: int(traffic.get("total", {}).get(k, 0)) for k in ("rx", "tx")}}
    for kind, name in _VNSTAT_LISTS.items():
        try:
            entries = {_key(kind, e): e for e in traffic.get(name, [])}
        except (KeyError, TypeError, ValueError) as exc:
            raise BandwidthError(f"vnstat --json: unexpected {name} entry ({exc})") from None
        out[kind] = [{"period": slot, "rx": _bytes(entries.get(slot), "rx"), "tx": _bytes(entries.get(slot), "tx")}
                     for slot in _slots(kind, now)]
    return out


def _bytes(entry: dict | None, field: str) -> int | None:
    return None if entry is None else int(entry.get(field, 0))
