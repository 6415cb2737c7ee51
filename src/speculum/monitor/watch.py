"""The outside watchdog (``mirrorctl watch URL…``): a dead mirror cannot
report its own death, so another machine fetches the mirror's pages and
alerts through the same state machine and apprise URLs as the checks.
"""

from __future__ import annotations

import fcntl
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

from ..fsutil import read_json, write_json
from . import alerts
from .checks import FAIL, OK, Check
from .run import deliver
from .settings import Settings

USER_AGENT = "speculum-watchdog"


def probe(url: str, *, timeout: float = 15, clock=time.monotonic) -> Check:
    """GET ``url``: failing on no answer, a timeout or an HTTP error."""
    started = clock()
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(65536)
            code = response.status
    except urllib.error.HTTPError as exc:
        return Check(url, "http", FAIL, f"answers HTTP {exc.code}")
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return Check(url, "http", FAIL, f"does not answer: {reason}")
    took = clock() - started
    return Check(url, "http", OK, f"answers HTTP {code} in {took:.2f}s", round(took, 3))


def watch(urls: list[str], state_dir: Path, settings: Settings, notifier, *, now: float | None = None,
          timeout: float = 15, probe_fn=probe) -> tuple[list[Check], list[alerts.Message], int]:
    """Probe every URL once and advance the watchdog's own alert state."""
    now = time.time() if now is None else now
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            state = read_json(state_dir / "watch.json")
        except (FileNotFoundError, ValueError):
            state = alerts.new_state()
        checks = [probe_fn(url, timeout=timeout) for url in urls]
        label = f"watchdog {settings.hostname or socket.getfqdn()}"
        messages = alerts.step(state, checks, now, settings, label)
        undelivered = deliver(state, messages, notifier, now)
        write_json(state_dir / "watch.json", state)
    return checks, messages, undelivered
