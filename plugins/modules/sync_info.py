#!/usr/bin/python
"""Read the sync history and the schedule in force from a mirror host (read-only)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sync_info
short_description: Read recorded sync durations and the current schedule from a mirror host
version_added: "0.1.0"
description:
  - Reads the runtime configuration the sync role deployed (the schedule in force) and
    each project's status record (durations of its recent successful runs).
  - The scheduler plans with these, keeping placements that are still valid.
  - Never changes anything; a host without Speculum yet returns empty results.
options:
  config:
    description: The deployed runtime configuration.
    type: path
    default: /etc/speculum/config.json
  status_dir:
    description: Directory of the per-project status records.
    type: path
    default: /var/lib/speculum/status
  history_runs:
    description: Most recent successful runs returned per project.
    type: int
    default: 20
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author:
  - Speculum developers
"""

EXAMPLES = r"""
- name: Read the sync history
  speculum.mirror.sync_info:
  register: history

- name: Plan with it
  ansible.builtin.set_fact:
    plan: "{{ speculum_projects | speculum.mirror.stagger({}, history.durations, history.plan) }}"
"""

RETURN = r"""
durations:
  description: Project id to the durations in seconds of its recent successful runs, oldest first.
  type: dict
  returned: always
plan:
  description: Project id to the start minutes (after midnight) of the schedule in force.
  type: dict
  returned: always
"""

import glob
import json
import os

from ansible.module_utils.basic import AnsibleModule


def _load(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def main():
    module = AnsibleModule(
        argument_spec={
            "config": {"type": "path", "default": "/etc/speculum/config.json"},
            "status_dir": {"type": "path", "default": "/var/lib/speculum/status"},
            "history_runs": {"type": "int", "default": 20},
        },
        supports_check_mode=True,
    )
    plan = {}
    config = _load(module.params["config"])
    if isinstance(config, dict) and isinstance(config.get("projects"), dict):
        for pid, project in config["projects"].items():
            starts = (project.get("schedule") or {}).get("starts")
            if starts:
                plan[pid] = starts
    durations = {}
    for path in sorted(glob.glob(os.path.join(module.params["status_dir"], "*.json"))):
        record = _load(path)
        if not isinstance(record, dict) or not isinstance(record.get("history"), list):
            continue
        runs = [run.get("duration") for run in record["history"]
                if isinstance(run, dict) and run.get("status") == "success"
                and isinstance(run.get("duration"), (int, float))]
        if runs:
            durations[os.path.basename(path)[:-5]] = runs[-module.params["history_runs"]:]
    module.exit_json(changed=False, durations=durations, plan=plan)


if __name__ == "__main__":
    main()
