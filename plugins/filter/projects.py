"""Filters over the project database: thin adapters over the speculum package."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

try:
    from speculum import config, schedule, schema, units
except ImportError as exc:  # pragma: no cover - depends on the controller's venv
    _IMPORT_ERROR = exc
else:
    _IMPORT_ERROR = None


def _need_package() -> None:
    if _IMPORT_ERROR is not None:
        raise AnsibleFilterError(
            "the speculum Python package is not importable on the controller "
            f"({_IMPORT_ERROR}); run `make setup` or `pip install -e .` in the repository")


def project_errors(projects, secrets=None, schedule_settings=None, site=None):
    """Every error of the database and the schedule settings, as strings (empty when valid)."""
    _need_package()
    errors = [str(e) for e in schema.validate(projects, secrets)]
    if errors:
        return errors
    try:
        normalized = config.settle(projects, site)[1]
        schedule.parse_settings(schedule_settings, normalized)
    except ValueError as exc:
        return str(exc).splitlines()
    return []


def stagger(projects, settings=None, history=None, previous=None, site=None):
    """The sync timetable (speculum.schedule): {"projects": {id: {"times", "on_calendar",
    "duration_s"}}, "metrics": {...}}.

    ``history``: {id: [seconds of recent runs]} and ``previous``: {id: [start
    minutes]} as the sync_info module reads them from the host.
    """
    _need_package()
    try:
        normalized = config.settle(projects, site)[1]
        return schedule.plan_projects(normalized, settings, history=history or {},
                                      previous=previous or {}).as_json()
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


def runtime_config(projects, site=None, plan=None):
    """The normalised database with each project's schedule from ``plan`` (the
    stagger filter's output), plus site settings: config.json on the host."""
    _need_package()
    try:
        return config.build(projects, site, plan)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


def sync_units(runtime, header, mirrorctl, user, group):
    """{file name: content} of the sync services, timers and target."""
    _need_package()
    try:
        return units.render(runtime, header=header, mirrorctl=mirrorctl, user=user, group=group)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError(f"sync_units needs the output of runtime_config: {exc}") from None


def site_units(webroot, header, mirrorctl, user, group, watch, interval):
    """{file name: content} of the site generator's service, timer and path unit."""
    _need_package()
    return units.site_units(header=header, mirrorctl=mirrorctl, user=user, group=group,
                            webroot=webroot, watch=list(watch), interval=str(interval))


def stats_units(store, header, mirrorctl, user, group, logs, interval, keep_hourly, keep_daily, top_files,
                export, export_days, interface):
    """{file name: content} of the log ingester's service and timer."""
    _need_package()
    return units.stats_units(header=header, mirrorctl=mirrorctl, user=user, group=group, store=store,
                             logs=list(logs), interval=str(interval), keep_hourly=int(keep_hourly),
                             keep_daily=int(keep_daily), top_files=int(top_files), export=export,
                             export_days=int(export_days), interface=interface or "")


def monitor_units(state_dir, header, mirrorctl, user, group, metrics_dir, secrets_dir, notify_urls, settings_file,
                  interval):
    """{file name: content} of the health checks' service and timer."""
    _need_package()
    return units.monitor_units(header=header, mirrorctl=mirrorctl, user=user, group=group,
                               state_dir=state_dir, metrics_dir=metrics_dir, secrets_dir=secrets_dir,
                               notify_urls=notify_urls, settings=settings_file, interval=int(interval))


def watch_units(urls, header, mirrorctl, user, group, settings_file, notify_urls, interval):
    """{file name: content} of the outside watchdog's service and timer."""
    _need_package()
    try:
        return units.watch_units(header=header, mirrorctl=mirrorctl, user=user, group=group, urls=list(urls),
                                 settings=settings_file, notify_urls=notify_urls, interval=int(interval))
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {
            "project_errors": project_errors,
            "stagger": stagger,
            "runtime_config": runtime_config,
            "sync_units": sync_units,
            "site_units": site_units,
            "stats_units": stats_units,
            "monitor_units": monitor_units,
            "watch_units": watch_units,
        }
