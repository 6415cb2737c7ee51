"""Every role documents exactly its defaults in meta/argument_specs.yml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"
ROLES = sorted(p.name for p in ROLES_DIR.iterdir() if p.is_dir())


def load(path: Path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def defaults(role: str) -> dict:
    path = ROLES_DIR / role / "defaults" / "main.yml"
    return (load(path) or {}) if path.exists() else {}


def main_options(role: str) -> dict:
    spec = load(ROLES_DIR / role / "meta" / "argument_specs.yml")
    return spec["argument_specs"]["main"].get("options") or {}


def test_there_are_roles():
    assert {"common", "nginx", "preflight", "sync"} <= set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_exist_with_a_main_entry_point(role):
    path = ROLES_DIR / role / "meta" / "argument_specs.yml"
    assert path.is_file()
    spec = load(path)
    assert isinstance(spec, dict) and "argument_specs" in spec
    main = spec["argument_specs"]["main"]
    assert main.get("short_description")
    assert isinstance(main.get("options", {}), dict)


@pytest.mark.parametrize("role", ROLES)
def test_options_are_exactly_the_defaults(role):
    options, values = main_options(role), defaults(role)
    assert sorted(options) == sorted(values), (
        f"only in argument_specs: {sorted(set(options) - set(values))}; "
        f"only in defaults: {sorted(set(values) - set(options))}")


@pytest.mark.parametrize("role", ROLES)
def test_option_defaults_equal_defaults_main(role):
    options, values = main_options(role), defaults(role)
    for name, option in options.items():
        if name in values:
            assert "default" in option, f"{role}: option {name} documents no default"
            assert option["default"] == values[name], name


@pytest.mark.parametrize("role", ROLES)
def test_options_have_type_and_description(role):
    for name, option in main_options(role).items():
        assert option.get("type"), name
        assert option.get("description"), name
        if option["type"] == "list":
            assert option.get("elements"), name


@pytest.mark.parametrize("role", ROLES)
def test_default_variables_are_prefixed_with_the_role_name(role):
    for name in defaults(role):
        assert name.startswith(role + "_"), name
    for name in main_options(role):
        assert name.startswith(role + "_"), name


PYTHON_TYPES = {"str": str, "path": str, "int": int, "bool": bool, "list": list, "dict": dict}


@pytest.mark.parametrize("role", ROLES)
def test_literal_defaults_match_the_declared_type(role):
    for name, value in defaults(role).items():
        if isinstance(value, str) and "{{" in value:
            continue  # a template: its type is only known at run time
        declared = main_options(role).get(name, {}).get("type")
        assert declared in PYTHON_TYPES, f"{name}: type {declared!r}"
        assert isinstance(value, PYTHON_TYPES[declared]), f"{name}: {value!r} is not {declared}"
        if declared == "int":
            assert not isinstance(value, bool), name
