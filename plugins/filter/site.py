"""Filters of the site, HTTPS, monitoring and backup settings: thin adapters
over speculum.site, speculum.tls, speculum.monitor.settings and
speculum.backup.settings (and the backup's units)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

try:
    from speculum import tls, units
    from speculum.backup import settings as backup_settings
    from speculum.monitor import settings as monitor_settings
    from speculum.site import PAGE_DIRS, settings
except ImportError as exc:  # pragma: no cover - depends on the controller's venv
    _IMPORT_ERROR = exc
else:
    _IMPORT_ERROR = None


def _need_package() -> None:
    if _IMPORT_ERROR is not None:
        raise AnsibleFilterError(f"the speculum Python package is not importable ({_IMPORT_ERROR}); "
                                 "run `make setup`")


def site_errors(raw):
    """Every problem of the public site settings (site.json), as strings (empty when valid)."""
    _need_package()
    try:
        settings.validate(raw)
    except ValueError as exc:
        return str(exc).splitlines()
    return []


def site_page_dirs(_ignored=None):
    """Directories of the site's HTML pages (speculum.site.PAGE_DIRS)."""
    _need_package()
    return list(PAGE_DIRS)


def tls_errors(values):
    """Every problem of the HTTPS settings (a dict of speculum_tls_*/speculum_acme_* values)."""
    _need_package()
    return tls.settings_errors(dict(values))


def monitor_errors(raw, notify_secrets=None, secrets=None):
    """Every problem of the monitor settings and of its notification secrets."""
    _need_package()
    out = monitor_settings.errors(raw)
    names = notify_secrets if notify_secrets is not None else []
    if not isinstance(names, list):
        return out + ["speculum_monitor_notify_secrets: must be a list of speculum_secrets names"]
    for name in names:
        if name not in (secrets or {}):
            out.append(f"speculum_monitor_notify_secrets: '{name}' is not a key of speculum_secrets (the vault)")
        elif "://" not in str(secrets[name]):
            out.append(f"speculum_secrets['{name}']: not an apprise URL (e.g. discord://WEBHOOK_ID/TOKEN)")
    return out


def backup_errors(raw, secrets=None, mirror_root=""):
    """Every problem of the backup settings (speculum_backup_* without the prefix)."""
    _need_package()
    return backup_settings.errors(raw, secrets, mirror_root)


def backup_config(raw, state_dir, log_dir, mirror_root, backup_dir, metrics_dir, databases):
    """The deployed /etc/speculum/backup.json."""
    _need_package()
    return backup_settings.deployed(dict(raw), state_dir=state_dir, log_dir=log_dir, mirror_root=mirror_root,
                                    backup_dir=backup_dir, metrics_dir=metrics_dir, databases=dict(databases))


def backup_ssh_config(backup_dir):
    _need_package()
    return backup_settings.ssh_config(backup_dir)


def backup_units(config_file, header, mirrorctl, writable, time):
    _need_package()
    try:
        return units.backup_units(header=header, mirrorctl=mirrorctl, config=config_file,
                                  writable=list(writable), time=time)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"site_errors": site_errors, "site_page_dirs": site_page_dirs, "tls_errors": tls_errors,
                "monitor_errors": monitor_errors, "backup_errors": backup_errors, "backup_config": backup_config,
                "backup_ssh_config": backup_ssh_config, "backup_units": backup_units}
