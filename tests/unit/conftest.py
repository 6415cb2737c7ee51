"""Shared fixtures of the unit tests.

The repository is the collection speculum.mirror through the link
.collections/ansible_collections/speculum/mirror; putting .collections on
sys.path makes its plugins importable as ansible_collections.speculum.mirror.
"""

from __future__ import annotations

import copy
import functools
import os
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".collections"

if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))


@functools.cache
def _group_var(file: str, name: str):
    with open(REPO / "group_vars" / "all" / file, encoding="utf-8") as handle:
        return yaml.safe_load(handle)[name]


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def lab_db() -> dict:
    """The lab's project database (group_vars/all/projects.yml), a fresh copy per test."""
    return copy.deepcopy(_group_var("projects.yml", "speculum_projects"))


@pytest.fixture
def lab_secrets() -> dict:
    return copy.deepcopy(_group_var("secrets.yml", "speculum_secrets"))


@pytest.fixture
def umask022():
    """A known umask for tests that look at file modes."""
    old = os.umask(0o022)
    try:
        yield 0o022
    finally:
        os.umask(old)
