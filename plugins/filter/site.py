"""Filters of the site role: thin adapters over speculum.site."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

try:
    from speculum.site import PAGE_DIRS, settings
except ImportError as exc:  # pragma: no cover - depends on the controller's venv
    _IMPORT_ERROR = exc
else:
    _IMPORT_ERROR = None


def site_errors(raw):
    """Every problem of the public site settings (site.json), as strings (empty when valid)."""
    if _IMPORT_ERROR is not None:
        raise AnsibleFilterError(f"the speculum Python package is not importable ({_IMPORT_ERROR}); "
                                 "run `make setup`")
    try:
        settings.validate(raw)
    except ValueError as exc:
        return str(exc).splitlines()
    return []


def site_page_dirs(_ignored=None):
    """Directories of the site's HTML pages (speculum.site.PAGE_DIRS)."""
    if _IMPORT_ERROR is not None:
        raise AnsibleFilterError(f"the speculum Python package is not importable ({_IMPORT_ERROR}); "
                                 "run `make setup`")
    return list(PAGE_DIRS)


class FilterModule:
    def filters(self):
        return {"site_errors": site_errors, "site_page_dirs": site_page_dirs}
