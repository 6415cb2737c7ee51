"""Filters over the project database: thin adapters over the speculum package."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

try:
    from speculum import config, schema, units
except ImportError as exc:  # pragma: no cover - depends on the controller's venv
    _IMPORT_ERROR = exc
else:
    _IMPORT_ERROR = None


def _need_package() -> None:
    if _IMPORT_ERROR is not None:
        raise AnsibleFilterError(
            "the speculum Python package is not importable on the controller "
            f"({_IMPORT_ERROR}); run `make setup` or `pip install -e .` in the repository")


def project_errors(projects, secrets=None):
    """Every validation error of the database as readable strings (empty when valid)."""
    _need_package()
    return [str(e) for e in schema.validate(projects, secrets)]


def runtime_config(projects, site=None):
    """The normalised database with schedules plus site settings (config.json on the host)."""
    _need_package()
    try:
        return config.build(projects, site)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


def sync_units(runtime, header, mirrorctl, user, group):
    """{file name: content} of the sync services, timers and target."""
    _need_package()
    try:
        return units.render(runtime, header=header, mirrorctl=mirrorctl, user=user, group=group)
    except (KeyError, TypeError) as exc:
        raise AnsibleFilterError(f"sync_units needs the output of runtime_config: {exc}") from None


class FilterModule:
    def filters(self):
        return {
            "project_errors": project_errors,
            "runtime_config": runtime_config,
            "sync_units": sync_units,
        }
