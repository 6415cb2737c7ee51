"""Filters of the site role: thin adapters over speculum.site."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

try:
    from speculum.site import settings
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


class FilterModule:
    def filters(self):
        return {"site_errors": site_errors}
