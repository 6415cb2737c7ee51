"""Monitoring: check (on the mirror host), watch (from another machine),
notify-test (does a notification arrive?)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from .. import config
from ..fsutil import read_json
from ..monitor import settings as monitor_settings
from ..monitor.alerts import Message
from ..monitor.checks import OK
from ..monitor.notify import Notifier, read_urls
from . import common

SETTINGS = "/etc/speculum/monitor.json"
NOTIFY_URLS = "/etc/speculum/monitor/notify-urls"
WATCH_STATE = "/var/lib/speculum-watch"


def register(add) -> None:
    p = add("check", "check every project and the host; alert on incidents (on the mirror host)",
            "mirrorctl check\nmirrorctl check --all\nmirrorctl check --no-notify --json")
    p.add_argument("--all", action="store_true", help="also list the checks that pass")
    p.add_argument("--json", action="store_true", help="the results and the messages as JSON")
    p.add_argument("--no-notify", action="store_true",
                   help="advance nothing and send nothing: only show the results")
    p.add_argument("--no-upstream", action="store_true", help="don't read the upstreams' markers")
    _common_options(p)
    p.add_argument("--secrets", metavar="DIR", help="rsync passwords (default: the site's secrets_dir)")
    p.set_defaults(func=cmd_check)

    p = add("watch", "fetch a mirror's URLs from outside and alert when it stops answering",
            "mirrorctl watch https://mirror.example.edu/ https://mirror.example.edu/debian/\n"
            "mirrorctl watch --state-dir /tmp/w --threshold 1 http://127.0.0.1:8080/")
    p.add_argument("urls", metavar="URL", nargs="+")
    p.add_argument("--state-dir", metavar="DIR", default=WATCH_STATE,
                   help=f"the watchdog's alert state (default: {WATCH_STATE})")
    p.add_argument("--timeout", metavar="SECONDS", type=float, default=15)
    p.add_argument("--threshold", metavar="N", type=int, help="failing runs before an alert (default: 2)")
    _common_options(p)
    p.set_defaults(func=cmd_watch)

    p = add("notify-test", "send a test notification to every configured URL",
            "mirrorctl notify-test\nmirrorctl notify-test --notify-urls ./urls.txt")
    _common_options(p)
    p.set_defaults(func=cmd_notify_test)


def _common_options(p) -> None:
    p.add_argument("--settings", metavar="FILE",
                   help=f"thresholds and alert policy (default: {SETTINGS}, if present)")
    p.add_argument("--notify-urls", metavar="FILE",
                   help=f"apprise URLs, one per line (default: $SPECULUM_NOTIFY_URLS, else {NOTIFY_URLS})")


def _settings(args, **override) -> monitor_settings.Settings:
    path = args.settings or (SETTINGS if os.path.exists(SETTINGS) else None)
    raw = read_json(path) if path else {}
    raw.update({k: v for k, v in override.items() if v is not None})
    try:
        return monitor_settings.parse(raw)
    except ValueError as exc:
        raise common.CliError(f"{path or 'settings'}: {exc}") from None


def _notifier(args) -> Notifier:
    path = args.notify_urls or os.environ.get("SPECULUM_NOTIFY_URLS")
    if not path and os.access(NOTIFY_URLS, os.R_OK):
        path = NOTIFY_URLS
    try:
        return Notifier(read_urls(path))
    except OSError as exc:
        raise common.CliError(f"cannot read the notification URLs: {exc}") from None


def cmd_check(args) -> int:
    from ..monitor import run

    src = common.source(args)
    if not src.on_host:
        raise common.CliError("check runs on the mirror host (it reads the status records and "
                              "the trees there); try: podman exec speculum-lab mirrorctl check", common.USAGE)
    cfg = config.load(src.path)
    site = cfg["site"]
    ctx = run.Context(
        config=cfg, settings=_settings(args), now=time.time(),
        monitor_dir=Path(site["state_dir"]) / "monitor",
        notifier=Notifier([]) if args.no_notify else _notifier(args),
        secrets_dir=args.secrets or os.environ.get("SPECULUM_SECRETS_DIR") or site["secrets_dir"],
        metrics_dir=site.get("metrics_dir"), read_upstream=not args.no_upstream)
    if args.no_notify:
        state = run.load_state(ctx.monitor_dir / run.STATE)
        report = run.Report(run.gather(ctx, state), [])
    else:
        report = run.run(ctx)
    if args.json:
        common.print_json({"checks": [c.as_json() for c in report.checks],
                           "messages": [m.as_json() for m in report.messages],
                           "undelivered": report.undelivered})
    else:
        _print_checks(report.checks, args.all)
        for message in report.messages:
            print(f"sent: {message.title}")
        if report.undelivered:
            print(f"mirrorctl: {report.undelivered} message(s) not delivered; retried on the next run")
    for problem in report.problems:
        print(f"mirrorctl: {problem}")
    return common.FAILING if report.failing else common.OK


def _print_checks(checks, show_all: bool) -> None:
    shown = [c for c in checks if show_all or c.state != OK]
    if shown:
        rows = [("subject", "check", "state", "result")]
        rows += [(c.subject, c.name, c.state, c.message) for c in shown]
        print(common.table(rows, colour_column=2))
    subjects = {c.subject for c in checks}
    bad = {c.subject for c in checks if c.state != OK}
    print(f"{len(subjects) - len(bad)} of {len(subjects)} subjects healthy")


def cmd_watch(args) -> int:
    from ..monitor.watch import watch

    settings = _settings(args, threshold=args.threshold)
    checks, messages, undelivered = watch(args.urls, Path(args.state_dir), settings, _notifier(args),
                                          timeout=args.timeout)
    for check in checks:
        print(f"{common.colour(check.state):>4}  {check.subject}  {check.message}")
    for message in messages:
        print(f"sent: {message.title}")
    if undelivered:
        print(f"mirrorctl: {undelivered} message(s) not delivered; retried on the next run")
    return common.FAILING if any(c.state != OK for c in checks) else common.OK


def cmd_notify_test(args) -> int:
    notifier = _notifier(args)
    if not notifier.urls:
        raise common.CliError("no notification URLs configured (speculum_monitor_notify_secrets)")
    label = _settings(args).hostname or os.uname().nodename
    message = Message("test", f"[TEST] {label}: Speculum can reach you",
                      "This is a test notification from `mirrorctl notify-test`.", "info")
    if not notifier.send(message):
        raise common.CliError(f"at least one of {len(notifier.urls)} URL(s) did not take the message")
    print(f"sent to {len(notifier.urls)} URL(s)")
    return common.OK
