#!/usr/bin/python
"""Ensure many directories exist with one owner and mode, in one module run."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: directories
short_description: Ensure a list of directories exists with the given owner and mode
version_added: "0.1.0"
description:
  - Creates missing directories (parents as root-owned 0755) and corrects owner,
    group and mode of the listed ones.
  - Never removes anything; one module run for any number of directories.
options:
  paths:
    description: Absolute directory paths.
    type: list
    elements: path
    required: true
  owner:
    description: Owner of the listed directories.
    type: str
    default: root
  group:
    description: Group of the listed directories.
    type: str
    default: root
  mode:
    description: Mode of the listed directories, as an octal string.
    type: str
    default: "0755"
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author:
  - Speculum developers
"""

EXAMPLES = r"""
- name: Create the project trees
  speculum.mirror.directories:
    paths: [/srv/mirror/debian, /srv/mirror/archlinux]
    owner: mirror
    group: mirror
"""

RETURN = r"""
created:
  description: Directories that were (or would be) created.
  type: list
  elements: str
  returned: always
fixed:
  description: Existing directories whose owner, group or mode was (or would be) corrected.
  type: list
  elements: str
  returned: always
"""

import grp
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule


def _make_parents(path):
    """Create missing ancestors as root-owned 0755, whatever the umask."""
    if os.path.isdir(path):
        return
    _make_parents(os.path.dirname(path))
    os.mkdir(path)
    os.chmod(path, 0o755)


def main():
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "path", "required": True},
            "owner": {"type": "str", "default": "root"},
            "group": {"type": "str", "default": "root"},
            "mode": {"type": "str", "default": "0755"},
        },
        supports_check_mode=True,
    )
    mode = int(module.params["mode"], 8)
    try:
        uid = pwd.getpwnam(module.params["owner"]).pw_uid
        gid = grp.getgrnam(module.params["group"]).gr_gid
    except KeyError:
        if not module.check_mode:
            module.fail_json(msg=f"unknown owner {module.params['owner']!r} "
                             f"or group {module.params['group']!r}")
        uid = gid = None  # the user is created by an earlier task of this run
    created, fixed = [], []
    for path in module.params["paths"]:
        if not os.path.isabs(path):
            module.fail_json(msg=f"{path!r} is not an absolute path")
        if not os.path.isdir(path):
            created.append(path)
            if not module.check_mode:
                _make_parents(os.path.dirname(path))
                os.mkdir(path)
                os.chown(path, uid, gid)
                os.chmod(path, mode)
            continue
        st = os.stat(path)
        if uid is None or (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) != (uid, gid, mode):
            fixed.append(path)
            if not module.check_mode:
                os.chown(path, uid, gid)
                os.chmod(path, mode)
    module.exit_json(changed=bool(created or fixed), created=created, fixed=fixed)


if __name__ == "__main__":
    main()
