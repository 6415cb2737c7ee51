"""Filters of the certbot role's preflight: thin adapters over speculum.tls."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

try:
    from speculum import tls
except ImportError as exc:  # pragma: no cover - depends on the controller's venv
    _IMPORT_ERROR = exc
else:
    _IMPORT_ERROR = None


def tls_errors(settings):
    """Every problem of the HTTPS settings (a dict of speculum_tls_*/speculum_acme_* values)."""
    if _IMPORT_ERROR is not None:
        raise AnsibleFilterError(f"the speculum Python package is not importable ({_IMPORT_ERROR}); "
                                 "run `make setup`")
    return tls.settings_errors(dict(settings))


class FilterModule:
    def filters(self):
        return {"tls_errors": tls_errors}
