"""systemd units of the sync role, rendered from the runtime configuration:
one oneshot service and one timer per enabled, syncing project, plus
speculum-sync.target that pulls every timer in at boot.
"""

from __future__ import annotations

import re
from typing import Any

UNIT_PREFIX = "speculum-sync-"
TARGET = "speculum-sync.target"
STOP_MARGIN = 120  # seconds systemd waits beyond the runner's own wall-clock limit

# Exposure ~1.5 in `systemd-analyze security` (a bare User= oneshot scores 9.2).
SANDBOX = """\
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
SystemCallArchitectures=native
UMask=0022
"""


def render(runtime: dict[str, Any], *, header: str, mirrorctl: str, user: str, group: str) -> dict[str, str]:
    """{file name: content} for /etc/systemd/system."""
    site = runtime["site"]
    files: dict[str, str] = {}
    timers = []
    for pid, project in sorted(runtime["projects"].items()):
        if not project["enabled"] or not project["schedule"]["oncalendar"]:
            continue
        name = f"{UNIT_PREFIX}{pid}"
        files[f"{name}.service"] = _service(project, site, header=header, mirrorctl=mirrorctl,
                                            user=user, group=group)
        files[f"{name}.timer"] = _timer(project, header=header)
        timers.append(f"{name}.timer")
    wants = "".join(f"Wants={t}\n" for t in timers)
    files[TARGET] = (f"# {header}\n[Unit]\nDescription=Speculum sync timers\n{wants}\n"
                     "[Install]\nWantedBy=timers.target\n")
    return files


def _service(project: dict, site: dict, *, header: str, mirrorctl: str, user: str, group: str) -> str:
    pid = project["id"]
    tree = f"{site['mirror_root']}/{pid}"
    writable = [tree, f"{site['state_dir']}/status", f"{site['state_dir']}/locks",
                f"{site['state_dir']}/slots", f"{site['log_dir']}/{pid}"]
    if site.get("metrics_dir"):
        writable.append(f"-{site['metrics_dir']}")  # "-": a missing directory is no error
    credential = ""
    if project["sync"].get("password_secret"):
        # LoadCredential= would be neater but fails for User= units inside
        # containers (systemd 252); a private runtime directory works everywhere.
        # "+": this one command runs as root, to read the root-only secret.
        runtime = f"/run/{UNIT_PREFIX}{pid}"
        credential = (
            f"RuntimeDirectory={UNIT_PREFIX}{pid}\nRuntimeDirectoryMode=0700\n"
            f"ExecStartPre=+/usr/bin/install -m 0600 -o {user} -g {group} "
            f"{site['secrets_dir']}/{pid} {runtime}/rsync-password\n"
            f"Environment=SPECULUM_PASSWORD_FILE={runtime}/rsync-password\n")
    return f"""# {header}
[Unit]
Description=Speculum sync of {project['name']} ({pid})
After=network-online.target
Wants=network-online.target
RequiresMountsFor={tree}

[Service]
Type=oneshot
User={user}
Group={group}
ExecStart={mirrorctl} sync {pid}
# 75: another run of this project holds its lock; not a failure of this start.
SuccessExitStatus=75
# the run's own limit, plus the longest wait for a sync slot, plus a margin
TimeoutStartSec={project['sync']['timeout'] + int(site['slot_wait']) + STOP_MARGIN}
Nice=10
IOSchedulingClass=best-effort
IOSchedulingPriority=7
{credential}ReadWritePaths={' '.join(writable)}
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
{SANDBOX}"""


def _timer(project: dict, *, header: str) -> str:
    calendars = "".join(f"OnCalendar={c}\n" for c in project["schedule"]["oncalendar"])
    return f"""# {header}
[Unit]
Description=Speculum sync schedule of {project['name']} ({project['id']})

[Timer]
{calendars}AccuracySec=1s
Persistent=true
Unit={UNIT_PREFIX}{project['id']}.service

[Install]
WantedBy={TARGET}
"""


def _periodic_timer(unit: str, description: str, *, header: str, interval: int | str, boot: str,
                    accuracy: str) -> str:
    """A timer that starts ``unit``.service every ``interval`` minutes and once after boot."""
    return f"""# {header}
[Unit]
Description={description}

[Timer]
OnBootSec={boot}
OnCalendar=*:0/{interval}
AccuracySec={accuracy}
Unit={unit}.service

[Install]
WantedBy=timers.target
"""


SITE_UNIT = "speculum-site"


def site_units(*, header: str, mirrorctl: str, user: str, group: str, webroot: str,
               watch: list[str], interval: str) -> dict[str, str]:
    """The site generator's service, its timer and a path unit that starts it
    whenever a status record, the deployed config or the news change (so a
    finished sync shows on the site within seconds)."""
    watches = "".join(f"PathChanged={path}\n" for path in watch)
    return {
        f"{SITE_UNIT}.service": f"""# {header}
[Unit]
Description=Speculum web site, status pages and API

[Service]
Type=oneshot
User={user}
Group={group}
ExecStart={mirrorctl} site build
Nice=10
ReadWritePaths={webroot}
RestrictAddressFamilies=AF_UNIX
{SANDBOX}""",
        f"{SITE_UNIT}.timer": _periodic_timer(
            SITE_UNIT, "Refresh the Speculum web site (lags, next runs, disk usage)",
            header=header, interval=interval, boot="1min", accuracy="1s"),
        f"{SITE_UNIT}.path": f"""# {header}
[Unit]
Description=Rebuild the Speculum web site when a sync ends or the config changes

[Path]
{watches}Unit={SITE_UNIT}.service

[Install]
WantedBy=paths.target
""",
    }


STATS_UNIT = "speculum-stats"


def stats_units(*, header: str, mirrorctl: str, user: str, group: str, store: str, logs: list[str],
                interval: str, keep_hourly: int, keep_daily: int, top_files: int, export: str,
                export_days: int, interface: str) -> dict[str, str]:
    """The log ingester's service and timer. It reads the web server's logs
    through the adm group and writes only its store's directory; then it
    exports what the site shows (with vnstat's history of ``interface``)."""
    store_dir = store.rsplit("/", 1)[0]
    bandwidth = f" --interface {interface}" if interface else ""
    return {
        f"{STATS_UNIT}.service": f"""# {header}
[Unit]
Description=Speculum usage statistics from the access logs

[Service]
Type=oneshot
User={user}
Group={group}
SupplementaryGroups=adm
ExecStart={mirrorctl} stats ingest --store {store} --keep-hourly {keep_hourly} --keep-daily {keep_daily} \
--top-files {top_files} {' '.join(logs)}
ExecStart={mirrorctl} stats export --store {store} --days {export_days}{bandwidth} --out {export}
Nice=15
IOSchedulingClass=idle
ReadWritePaths={store_dir}
RestrictAddressFamilies=AF_UNIX
{SANDBOX}""",
        f"{STATS_UNIT}.timer": _periodic_timer(
            STATS_UNIT, "Ingest the access logs into the usage statistics",
            header=header, interval=interval, boot="2min", accuracy="1min"),
    }


CHECK_UNIT = "speculum-check"


def monitor_units(*, header: str, mirrorctl: str, user: str, group: str, state_dir: str, metrics_dir: str,
                  secrets_dir: str, notify_urls: str, settings: str, interval: int) -> dict[str, str]:
    """The checks' service and timer. The check runs as the sync user; root
    copies it the rsync passwords (to read password-protected upstreams'
    markers) and the notification URLs into a private runtime directory."""
    runtime = f"/run/{CHECK_UNIT}"
    metrics = f" -{metrics_dir}" if metrics_dir else ""
    return {
        f"{CHECK_UNIT}.service": f"""# {header}
[Unit]
Description=Speculum health checks and alerts
After=network-online.target nginx.service
Wants=network-online.target

[Service]
Type=oneshot
User={user}
Group={group}
RuntimeDirectory={CHECK_UNIT}
RuntimeDirectoryMode=0700
ExecStartPre=+/bin/sh -c 'umask 077; cp -rT {secrets_dir} {runtime}/secrets && \
cp {notify_urls} {runtime}/notify-urls && chown -R {user}:{group} {runtime}'
Environment=SPECULUM_SECRETS_DIR={runtime}/secrets SPECULUM_NOTIFY_URLS={runtime}/notify-urls
ExecStart={mirrorctl} check --settings {settings}
# 3: the checks ran and found a failure; the alert is the message, not the unit
SuccessExitStatus=3
TimeoutStartSec=10min
Nice=5
ReadWritePaths={state_dir}/monitor{metrics}
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
{SANDBOX}""",
        f"{CHECK_UNIT}.timer": _periodic_timer(
            CHECK_UNIT, "Run the Speculum health checks",
            header=header, interval=interval, boot="3min", accuracy="10s"),
    }


WATCH_UNIT = "speculum-watch"


def watch_units(*, header: str, mirrorctl: str, user: str, group: str, urls: list[str],
                settings: str, notify_urls: str, interval: int) -> dict[str, str]:
    """The outside watchdog's service and timer (on a host of the watchdogs group)."""
    bad = [u for u in urls if not isinstance(u, str) or not u.startswith(("http://", "https://"))
           or any(c.isspace() for c in u)]
    if bad or not urls:
        raise ValueError(f"watchdog URLs must be http:// or https:// URLs without spaces, got {bad or urls!r}")
    runtime = f"/run/{WATCH_UNIT}"
    listed = " ".join(u.replace("%", "%%") for u in urls)  # % starts a systemd specifier
    return {
        f"{WATCH_UNIT}.service": f"""# {header}
[Unit]
Description=Speculum watchdog: is the mirror answering?
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
User={user}
Group={group}
RuntimeDirectory={WATCH_UNIT}
RuntimeDirectoryMode=0700
ExecStartPre=+/usr/bin/install -m 0600 -o {user} -g {group} {notify_urls} {runtime}/notify-urls
ExecStart={mirrorctl} watch --settings {settings} --state-dir /var/lib/{WATCH_UNIT} \
--notify-urls {runtime}/notify-urls {listed}
SuccessExitStatus=3
TimeoutStartSec=5min
StateDirectory={WATCH_UNIT}
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
{SANDBOX}""",
        f"{WATCH_UNIT}.timer": _periodic_timer(
            WATCH_UNIT, "Run the Speculum watchdog",
            header=header, interval=interval, boot="1min", accuracy="10s"),
    }


BACKUP_UNIT = "speculum-backup"


def backup_units(*, header: str, mirrorctl: str, config: str, writable: list[str], time: str) -> dict[str, str]:
    """The backup's service and daily timer. It runs as root, to read what
    other users own (the certificates' keys, the stats store, vnStat's
    database); it may write only ``writable`` (its own directory, the metrics,
    a local repository, and the databases' directories: SQLite reads a WAL
    database through its -shm file, which root creates with the database
    owner's ownership, hence CAP_CHOWN)."""
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", time):
        raise ValueError(f'the backup time must be "HH:MM", got {time!r}')
    caps = "CAP_DAC_READ_SEARCH CAP_DAC_OVERRIDE CAP_CHOWN CAP_FOWNER"
    sandbox = SANDBOX.replace("CapabilityBoundingSet=\n", f"CapabilityBoundingSet={caps}\n")
    return {
        f"{BACKUP_UNIT}.service": f"""# {header}
[Unit]
Description=Speculum backup of the host's state (restic)
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
ExecStart={mirrorctl} backup run --settings {config}
TimeoutStartSec=6h
Nice=15
IOSchedulingClass=idle
CacheDirectory={BACKUP_UNIT}
CacheDirectoryMode=0700
ReadWritePaths={' '.join(f'-{w}' for w in writable)}
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
{sandbox}""",
        f"{BACKUP_UNIT}.timer": f"""# {header}
[Unit]
Description=Back up the Speculum host's state daily

[Timer]
OnCalendar=*-*-* {time}:00
RandomizedDelaySec=10min
Persistent=true
Unit={BACKUP_UNIT}.service

[Install]
WantedBy=timers.target
""",
    }
