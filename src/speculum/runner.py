"""The sync runner: one run of one project, as its systemd unit starts it.

Per run: take the project's lock (a second run leaves the tree alone), run
the stages in order without a shell, bound the whole run by wall-clock time,
retry transient rsync failures with backoff, keep a log file per run, and
record the outcome in the project's status file.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TextIO

from . import metrics, rsync, status, timetable
from .lock import Busy, ProjectLock, try_slot
from .markers import marker_time
from .process import stop_group

EXIT_BUSY = 75  # EX_TEMPFAIL: another run holds the lock
EXIT_TIMEOUT = 124  # like timeout(1)
EXIT_CONFIG = 78  # EX_CONFIG
EXIT_INTERRUPTED = 143
EXIT_SOFTWARE = 70  # EX_SOFTWARE: a bug of ours, see the run log
EXIT_NO_SLOT = 69  # EX_UNAVAILABLE: no sync slot came free in time
KILL_GRACE = 10  # seconds between SIGTERM and SIGKILL of a stage


class Interrupted(Exception):
    """The runner itself got SIGTERM/SIGINT (unit stopped, host shutting down)."""


@dataclass
class Result:
    exit_code: int
    message: str
    stats: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass
class Run:
    """Everything one run needs; clock and sleep are injectable for tests."""

    project: dict
    site: dict
    log: TextIO = sys.stderr
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    environ: dict = field(default_factory=lambda: dict(os.environ))
    now: bool = False  # a manual `mirrorctl sync --now`: bypasses the global cap
    slot_poll: float = 5.0

    @property
    def pid(self) -> str:
        return self.project["id"]

    @property
    def target(self) -> Path:
        return Path(self.site["mirror_root"]) / self.pid


def sync(project: dict, site: dict, **kwargs) -> int:
    """Run one sync of ``project``; returns the process exit code."""
    run = Run(project, site, **kwargs)
    method = project["sync"]["method"]
    if method == "static":
        print(f"{run.pid}: static project, nothing to sync", file=run.log)
        return 0
    if not project.get("enabled"):
        print(f"{run.pid}: project is disabled; enable it in the project database first", file=run.log)
        return EXIT_CONFIG
    state_dir = Path(site["state_dir"])
    try:
        with ProjectLock(state_dir / "locks", run.pid):
            return _locked_run(run)
    except Busy as busy:
        print(f"{run.pid}: another run (pid {busy.holder}) is in progress; leaving the tree alone",
              file=run.log)
        return EXIT_BUSY


def _locked_run(run: Run) -> int:
    status_dir = Path(run.site["state_dir"]) / "status"
    status_dir.mkdir(parents=True, exist_ok=True)
    run.target.mkdir(parents=True, exist_ok=True)
    record = status.load(status_dir, run.project)
    log_path = _open_log_path(run, run.clock())
    record.update(status=status.PRE_SYNCING, log_file=str(log_path), error_msg="")
    status.save(status_dir, record)
    slots: list[int] = []
    started = run.clock()
    previous = _install_signal_handlers()
    try:
        with open(log_path, "ab", buffering=0) as log:
            try:
                result = _take_slots(run, log, slots)
                started = run.clock()
                if result is None:
                    status.stamp(record, "last_started", started)
                    record.update(status=status.SYNCING)
                    status.save(status_dir, record)
                    print(f"{run.pid}: sync started, log {log_path}", file=run.log)
                    result = _run_method(run, log, started)
            except Interrupted:
                result = Result(EXIT_INTERRUPTED, "interrupted by a signal (unit stopped?)")
            except Exception as exc:  # record it: a crash must never look like "syncing"
                _log_line(log, "internal error:\n" + traceback.format_exc())
                result = Result(EXIT_SOFTWARE, f"internal error: {exc!r}")
            _log_line(log, f"result: exit {result.exit_code}: {result.message}")
    finally:
        _restore_signal_handlers(previous)
        for fd in slots:
            os.close(fd)

    ended = run.clock()
    status.stamp(record, "last_ended", ended)
    record.update(exit_code=result.exit_code, duration=round(ended - started, 3))
    if result.ok:
        status.stamp(record, "last_update", ended)
        record.update(status=status.SUCCESS, error_msg="")
        if "total_size" in result.stats:
            record.update(size_bytes=result.stats["total_size"],
                          size=status.human_size(result.stats["total_size"]))
        record["marker_ts"] = _read_marker(run)
    else:
        record.update(status=status.FAILED, error_msg=result.message)
    _set_next_schedule(record, run.project, ended)
    history = (record.get("history") or []) + [{
        "started": int(started), "ended": int(ended), "duration": record["duration"],
        "exit_code": result.exit_code, "status": record["status"],
    }]
    record["history"] = history[-int(run.site["history_keep"]):]
    status.save(status_dir, record)
    problem = metrics.write(run.site.get("metrics_dir"), f"sync-{run.pid}.prom",
                            _samples(record, result))
    if problem:
        print(f"{run.pid}: {problem}", file=run.log)
    print(f"{run.pid}: {record['status']} ({result.message}) in {record['duration']:.0f}s",
          file=run.log)
    return result.exit_code


def _samples(record: dict, result: Result) -> list[metrics.Sample]:
    labels = {"project": record["name"]}
    out = [("speculum_sync_last_run_timestamp_seconds", labels, record["last_ended_ts"]),
           ("speculum_sync_duration_seconds", labels, record["duration"]),
           ("speculum_sync_exit_code", labels, record["exit_code"])]
    if record["last_update_ts"]:
        out.append(("speculum_sync_last_success_timestamp_seconds", labels, record["last_update_ts"]))
    if record["size_bytes"] is not None:
        out.append(("speculum_sync_size_bytes", labels, record["size_bytes"]))
    if result.ok and "transferred_size" in result.stats:
        out.append(("speculum_sync_transferred_bytes", labels, result.stats["transferred_size"]))
    if record.get("marker_ts"):
        out.append(("speculum_marker_timestamp_seconds", labels, record["marker_ts"]))
    return out


def _take_slots(run: Run, log, held: list[int]) -> Result | None:
    """The runtime guard: one of the upstream host's slots, then one of the
    global slots (a manual --now run skips the global cap). Waits, logging
    that it waits, for at most the site's slot_wait; None when both are held.
    """
    site = run.site
    slot_dir = Path(site["state_dir"]) / "slots"
    wanted = []
    host = run.project["sync"].get("upstream_host")
    if host:
        wanted.append((f"host-{host}", int(site["max_per_upstream"]), f"upstream {host}"))
    now_flag = Path(site["state_dir"]) / "locks" / f"{run.pid}.now"
    if now_flag.exists():  # left by `mirrorctl sync --now` for the unit it starts
        now_flag.unlink(missing_ok=True)
        run.now = True
    if run.now:
        _log_line(log, "manual run (--now): not waiting for a global slot")
    else:
        wanted.append(("global", int(site["max_concurrent"]), "global"))
    deadline = run.clock() + float(site["slot_wait"])
    for name, count, label in wanted:
        waiting_since = None
        while (fd := try_slot(slot_dir, name, count)) is None:
            if waiting_since is None:
                waiting_since = run.clock()
                _log_line(log, f"waiting for a {label} sync slot ({count} in use)")
                print(f"{run.pid}: waiting for a {label} sync slot ({count} in use)", file=run.log)
            if run.clock() >= deadline:
                return Result(EXIT_NO_SLOT, f"gave up after waiting {site['slot_wait']:.0f}s "
                              f"for a {label} sync slot ({count} in use)")
            run.sleep(min(run.slot_poll, max(0.0, deadline - run.clock())))
        held.append(fd)
        if waiting_since is not None:
            _log_line(log, f"got a {label} sync slot after {run.clock() - waiting_since:.0f}s")
    return None


def _run_method(run: Run, log, started: float) -> Result:
    deadline = started + run.project["sync"]["timeout"]
    if run.project["sync"]["method"] == "script":
        return _run_script(run, log, deadline)
    return _run_rsync(run, log, deadline)


def _run_rsync(run: Run, log, deadline: float) -> Result:
    sync_cfg = run.project["sync"]
    password_file, env = _password(run)
    if sync_cfg.get("password_secret") and not password_file and "RSYNC_PASSWORD" not in env:
        return Result(EXIT_CONFIG, "the upstream needs a password but none was provided: "
                      "run the sync through its unit (mirrorctl sync as root) or set RSYNC_PASSWORD")
    upstream = sync_cfg["upstream"]
    if sync_cfg.get("user"):
        upstream = upstream.replace("rsync://", f"rsync://{sync_cfg['user']}@", 1)
    stages = sync_cfg["stages"]
    retries = int(run.site["retries"])
    for attempt in range(retries + 1):
        result = Result(0, "ok")
        for number, stage in enumerate(stages, 1):
            argv = rsync.stage_argv(
                rsync=run.site["rsync"], options=run.site["rsync_options"], stage=stage,
                last=number == len(stages), max_delete=sync_cfg["max_delete"],
                upstream=upstream, target=str(run.target), password_file=password_file)
            _log_line(log, f"stage {number}/{len(stages)}, attempt {attempt + 1}: {_quote(argv)}")
            code, output = _execute(argv, log, deadline, env, run.clock)
            if code == EXIT_TIMEOUT:
                return Result(EXIT_TIMEOUT, f"stage {number} hit the wall-clock timeout of "
                              f"{sync_cfg['timeout']}s")
            outcome = rsync.classify(code)
            if outcome is rsync.Outcome.SUCCESS:
                result.stats = rsync.parse_stats(output)
                continue
            result = Result(code, f"stage {number}: rsync exit {code} ({rsync.describe_exit(code)})")
            if outcome is rsync.Outcome.FAIL:
                return result
            break  # transient: retry the whole run (rsync is incremental)
        if result.ok:
            return result
        backoff = float(run.site["retry_delay"]) * (2 ** attempt)
        if attempt == retries or run.clock() + backoff >= deadline:
            return Result(result.exit_code, result.message + f"; gave up after {attempt + 1} attempt(s)")
        _log_line(log, f"transient failure, retrying in {backoff:.0f}s")
        run.sleep(backoff)
    raise AssertionError("unreachable")


def _run_script(run: Run, log, deadline: float) -> Result:
    sync_cfg = run.project["sync"]
    env = dict(run.environ)
    env.update(sync_cfg.get("env") or {})
    env.update({
        "SPECULUM_PROJECT": run.pid,
        "SPECULUM_TARGET": str(run.target),
        "SPECULUM_UPSTREAM": sync_cfg.get("upstream") or "",
        "SPECULUM_LOG_FILE": log.name,
        "SPECULUM_TIMEOUT": str(int(deadline - run.clock())),
    })
    argv = list(sync_cfg["command"])
    _log_line(log, f"script: {_quote(argv)}")
    code, _ = _execute(argv, log, deadline, env, run.clock)
    if code == EXIT_TIMEOUT:
        return Result(code, f"script hit the wall-clock timeout of {sync_cfg['timeout']}s")
    if code == 0:
        return Result(0, "ok")
    return Result(code if code > 0 else 1, f"script exited with {code}")


def _execute(argv: list[str], log, deadline: float, env: dict, clock) -> tuple[int, bytes]:
    """Run ``argv`` (no shell) with output appended to ``log``; kill it at ``deadline``.

    Returns (exit code or EXIT_TIMEOUT, the output it wrote).
    """
    start = log.tell()
    remaining = deadline - clock()
    if remaining <= 0:
        return EXIT_TIMEOUT, b""
    try:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
    except OSError as exc:
        _log_line(log, f"cannot start {argv[0]}: {exc}")
        return 127, b""
    try:
        code = proc.wait(timeout=remaining)
    except subprocess.TimeoutExpired:
        stop_group(proc, KILL_GRACE)
        _log_line(log, "wall-clock timeout: stopped the process group")
        return EXIT_TIMEOUT, b""
    except Interrupted:
        stop_group(proc, KILL_GRACE)
        raise
    with open(log.name, "rb") as reader:
        reader.seek(start)
        output = reader.read()
    return code, output


def _password(run: Run) -> tuple[str | None, dict]:
    """The password file the unit prepared ($SPECULUM_PASSWORD_FILE), else the environment.

    The unit copies the root-only secret into its private runtime directory
    as a 0600 file of the sync user (what rsync demands of a password file)
    and systemd removes it when the run ends.
    """
    env = dict(run.environ)
    path = env.get("SPECULUM_PASSWORD_FILE")
    if path and run.project["sync"].get("password_secret") and os.path.isfile(path):
        return path, env
    return None, env


def _read_marker(run: Run) -> float | None:
    verify = run.project.get("verify")
    if not verify:
        return None
    try:
        return marker_time(run.target / verify["file"], verify["format"])
    except (OSError, ValueError) as exc:
        print(f"{run.pid}: freshness marker unreadable: {exc}", file=run.log)
        return None


def _set_next_schedule(record: dict, project: dict, now: float) -> None:
    starts = project.get("schedule", {}).get("starts") or []
    nxt = timetable.next_start(starts, datetime.fromtimestamp(now).astimezone())
    status.stamp(record, "next_schedule", nxt.timestamp() if nxt else 0)


def _open_log_path(run: Run, started: float) -> Path:
    """A new log file for this run; keep only the newest ``log_keep`` of them."""
    log_dir = Path(run.site["log_dir"]) / run.pid
    log_dir.mkdir(parents=True, exist_ok=True)
    # Names sort in run order: microseconds, then _N for a clash within one.
    name = datetime.fromtimestamp(started).astimezone().strftime("%Y%m%dT%H%M%S.%f")
    path = log_dir / f"{name}.log"
    n = 1
    while path.exists():
        path = log_dir / f"{name}_{n}.log"
        n += 1
    path.touch(mode=0o644)
    old = sorted(p for p in log_dir.glob("*.log") if p.name != "latest.log")
    for stale in old[:-int(run.site["log_keep"])]:
        stale.unlink(missing_ok=True)
    latest = log_dir / "latest.log"
    tmp = log_dir / ".latest.log.new"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(path.name)
    tmp.replace(latest)
    return path


def _log_line(log, text: str) -> None:
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S%z")
    log.write(f"[speculum {stamp}] {text}\n".encode())


def _quote(argv: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in argv)


def _raise_interrupted(signum, frame):
    raise Interrupted()


def _install_signal_handlers():
    try:
        return {sig: signal.signal(sig, _raise_interrupted) for sig in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not in the main thread (tests): leave handlers alone
        return None


def _restore_signal_handlers(previous) -> None:
    if previous:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
