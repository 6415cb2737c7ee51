"""Filters of the site and HTTPS settings: thin adapters over speculum.site and speculum.tls."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

try:
    from speculum import tls
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


class FilterModule:
    def filters(self):
        return {"site_errors": site_errors, "site_page_dirs": site_page_dirs, "tls_errors": tls_errors}
