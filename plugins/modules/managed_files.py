#!/usr/bin/python
"""Keep a set of generated files in one directory, in one module run."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: managed_files
short_description: Keep a set of generated files in a directory, removing stale ones
version_added: "0.1.0"
description:
  - Writes every file of O(files) into O(path) (atomically, only when its content,
    owner, group or mode differ) and removes files that match one of O(patterns) but
    are not in O(files).
  - One module run for any number of files, so a deploy of 200 projects costs about as
    much as one of 10.
options:
  path:
    description: Directory holding the files; created (mode O(directory_mode)) if missing.
    type: path
    required: true
  files:
    description: Mapping of file name (no slashes) to content.
    type: dict
    required: true
  patterns:
    description:
      - Shell-style patterns of the file names this task owns in O(path).
      - Owned files not listed in O(files) are removed.
    type: list
    elements: str
    default: []
  owner:
    description: Owner of the files.
    type: str
    default: root
  group:
    description: Group of the files.
    type: str
    default: root
  mode:
    description: Mode of the files, as an octal string.
    type: str
    default: "0644"
  directory_mode:
    description: Mode of O(path) when this module creates it.
    type: str
    default: "0755"
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author:
  - Speculum developers
"""

EXAMPLES = r"""
- name: Install the sync units
  speculum.mirror.managed_files:
    path: /etc/systemd/system
    files: "{{ runtime | speculum.mirror.sync_units(...) }}"
    patterns: ["speculum-sync-*.service", "speculum-sync-*.timer"]
"""

RETURN = r"""
written:
  description: Names of the files created or rewritten (or that would be, in check mode).
  type: list
  elements: str
  returned: always
removed:
  description: Names of the stale files removed (or that would be).
  type: list
  elements: str
  returned: always
"""

import fnmatch
import grp
import os
import pwd
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _ids(owner, group):
    try:
        uid = pwd.getpwnam(owner).pw_uid
    except KeyError:
        uid = None
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        gid = None
    return uid, gid


def _attrs_differ(path, uid, gid, mode):
    st = os.lstat(path)
    return (uid is not None and st.st_uid != uid) or (gid is not None and st.st_gid != gid) \
        or stat.S_IMODE(st.st_mode) != mode


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "files": {"type": "dict", "required": True},
            "patterns": {"type": "list", "elements": "str", "default": []},
            "owner": {"type": "str", "default": "root"},
            "group": {"type": "str", "default": "root"},
            "mode": {"type": "str", "default": "0644"},
            "directory_mode": {"type": "str", "default": "0755"},
        },
        supports_check_mode=True,
    )
    params = module.params
    directory = params["path"]
    mode = int(params["mode"], 8)
    uid, gid = _ids(params["owner"], params["group"])
    if (uid is None or gid is None) and not module.check_mode:
        module.fail_json(msg=f"unknown owner {params['owner']!r} or group {params['group']!r}")
    for name in params["files"]:
        if "/" in name or name in ("", ".", ".."):
            module.fail_json(msg=f"file name {name!r} must be a plain name inside {directory}")

    exists = os.path.isdir(directory)
    written, removed, diffs = [], [], []
    for name, content in sorted(params["files"].items()):
        path = os.path.join(directory, name)
        data = ("" if content is None else str(content)).encode()
        before = _read(path) if exists else None
        if before == data and not _attrs_differ(path, uid, gid, mode):
            continue
        written.append(name)
        diffs.append({"before_header": path, "after_header": path,
                      "before": (before or b"").decode(errors="replace"),
                      "after": data.decode(errors="replace")})
        if module.check_mode:
            continue
        if not exists:
            os.makedirs(directory)
            os.chmod(directory, int(params["directory_mode"], 8))  # exact, whatever the umask
            exists = True
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        module.atomic_move(tmp, path, unsafe_writes=False)
        # atomic_move gives new files the umask's mode and keeps an existing
        # file's: set ours afterwards (a password file must end up 0600).
        os.chown(path, uid, gid)
        os.chmod(path, mode)

    wanted = set(params["files"])
    for name in sorted(os.listdir(directory)) if exists else []:
        if name in wanted or not any(fnmatch.fnmatchcase(name, p) for p in params["patterns"]):
            continue
        path = os.path.join(directory, name)
        if not os.path.isfile(path) or os.path.islink(path):
            continue
        removed.append(name)
        diffs.append({"before_header": path, "after_header": path,
                      "before": (_read(path) or b"").decode(errors="replace"), "after": ""})
        if not module.check_mode:
            os.unlink(path)

    result = {"changed": bool(written or removed), "written": written, "removed": removed}
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
