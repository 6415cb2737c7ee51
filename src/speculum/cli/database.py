"""Project database commands: validate, schema, list, show, new, edit,
enable, disable, rename, delete, comment."""

from __future__ import annotations

import difflib
import os
import shlex
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from .. import schema
from ..ids import resolve

try:
    from .. import dbedit
except ImportError:  # the host has no ruamel.yaml; it never edits (Source.database refuses)
    dbedit = None
from . import common

COLUMNS = ("id", "name", "category", "official", "enabled", "method", "upstream", "per_day",
           "homepage", "size")
DEFAULT_COLUMNS = "id,name,category,method,upstream,per_day"


def register(add) -> None:
    p = add("validate", "check the project database", "mirrorctl validate\nmirrorctl validate --db other.yml")
    p.set_defaults(func=cmd_validate)

    p = add("schema", "print the database field reference (Markdown)", "mirrorctl schema > fields.md")
    p.set_defaults(func=cmd_schema)

    p = add("list", "list projects (enabled ones unless -a or --disabled)",
            "mirrorctl list\nmirrorctl list -a --category Distributions\n"
            "mirrorctl list --upstream rsync.example.org --columns id,upstream --json")
    which = p.add_mutually_exclusive_group()
    which.add_argument("-a", "--all", action="store_true", help="enabled and disabled projects")
    which.add_argument("--disabled", action="store_true", help="only disabled projects")
    p.add_argument("--category", help="only this category (case-insensitive)")
    official = p.add_mutually_exclusive_group()
    official.add_argument("--official", action="store_true", help="only official mirrors")
    official.add_argument("--unofficial", action="store_true", help="only unofficial mirrors")
    p.add_argument("--upstream", metavar="HOST", help="only projects synced from this upstream host")
    p.add_argument("--columns", default=DEFAULT_COLUMNS,
                   help=f"comma-separated, from: {','.join(COLUMNS)} (default: {DEFAULT_COLUMNS})")
    p.add_argument("--no-header", action="store_true", help="no header line (for scripts)")
    p.add_argument("--json", action="store_true", help="the records as JSON")
    p.set_defaults(func=cmd_list)

    p = add("show", "every field of a project, with its comment log", "mirrorctl show arch")
    p.add_argument("project", metavar="ID")
    p.set_defaults(func=cmd_show)

    p = add("new", "add a project (created disabled, with an 'Added' comment)",
            "mirrorctl new alpine --upstream rsync://rsync.alpinelinux.org/alpine/ "
            "--name 'Alpine Linux' --category Distributions --syncs-per-day 4 "
            "--stage='--exclude=/edge/'\n"
            "mirrorctl new tool --method script --command '/usr/local/bin/fetch-tool --quiet'")
    p.add_argument("project", metavar="ID")
    p.add_argument("--upstream", help="rsync://host/module/path/")
    p.add_argument("--method", choices=schema.METHODS, default="rsync")
    p.add_argument("--name", help="display name (default: the id)")
    p.add_argument("--category", default=None)
    p.add_argument("--homepage")
    p.add_argument("--description")
    p.add_argument("--official", action="store_true")
    p.add_argument("--syncs-per-day", type=int)
    p.add_argument("--interval", help="instead of --syncs-per-day, e.g. 6h")
    p.add_argument("--timeout", help="wall-clock limit of a run, e.g. 4h")
    p.add_argument("--stage", action="append", default=None, metavar="ARGS",
                   help="extra rsync arguments of one stage, split like a shell would; "
                   "write --stage='--exclude=/iso/' (repeat for more stages)")
    p.add_argument("--command", help="script method: the program and its arguments")
    p.set_defaults(func=cmd_new)

    p = add("edit", "edit a project in $VISUAL/$EDITOR; shows the diff and asks before saving",
            "mirrorctl edit debian\nEDITOR=nano mirrorctl edit arch")
    p.add_argument("project", metavar="ID")
    p.add_argument("-y", "--yes", action="store_true", help="save without asking")
    p.set_defaults(func=cmd_edit)

    for name, value in (("enable", True), ("disable", False)):
        p = add(name, f"{name} projects", f"mirrorctl {name} alpine\nmirrorctl {name} alp deb")
        p.add_argument("projects", metavar="ID", nargs="+")
        p.set_defaults(func=cmd_enable, value=value)

    p = add("rename", "rename a project (its URL path and units follow on the next deploy)",
            "mirrorctl rename archlinux32 arch32")
    p.add_argument("old", metavar="OLD")
    p.add_argument("new", metavar="NEW")
    p.set_defaults(func=cmd_rename)

    p = add("delete", "delete a project (the exact id is required)", "mirrorctl delete centos")
    p.add_argument("project", metavar="ID")
    p.add_argument("-y", "--yes", action="store_true", help="don't ask")
    p.set_defaults(func=cmd_delete)

    p = add("comment", "add a timestamped entry to a project's comment log",
            "mirrorctl comment deb 'upstream asked us to sync every 6h'")
    p.add_argument("project", metavar="ID")
    p.add_argument("text", metavar="TEXT")
    p.set_defaults(func=cmd_comment)


# --- reading ------------------------------------------------------------------------

def cmd_validate(args) -> int:
    src = common.source(args)
    if src.on_host:
        projects = src.projects()
        print(f"{src.path}: {len(projects)} projects (deployed copy, validated at deploy)")
        return common.OK
    raw = common.load_yaml(src.path)["speculum_projects"]
    errors = schema.validate(dbedit.plain(raw))
    if errors:
        print(f"{src.path}: {schema.format_errors(errors)}", file=sys.stderr)
        return common.ERROR
    enabled = sum(1 for p in raw.values() if isinstance(p, dict) and p.get("enabled"))
    print(f"{src.path}: {len(raw)} projects ({enabled} enabled), no errors")
    return common.OK


def cmd_schema(args) -> int:
    sys.stdout.write(schema.markdown_reference())
    return common.OK


def cmd_list(args) -> int:
    src = common.source(args)
    projects = src.projects()
    columns = [c.strip() for c in args.columns.split(",") if c.strip()]
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise common.CliError(f"unknown column(s) {', '.join(unknown)}; choose from {', '.join(COLUMNS)}",
                              common.USAGE)
    chosen = [p for pid, p in sorted(projects.items()) if _wanted(p, args)]
    if args.json:
        common.print_json([{c: _cell(p, c) for c in columns} for p in chosen]
                          if args.columns != DEFAULT_COLUMNS else chosen)
        return common.OK
    rows = [] if args.no_header else [tuple(columns)]
    rows += [tuple(_text(_cell(p, c)) for c in columns) for p in chosen]
    if rows:
        print(common.table(rows))
    return common.OK


def _wanted(project: dict, args) -> bool:
    if args.disabled and project["enabled"]:
        return False
    if not (args.all or args.disabled) and not project["enabled"]:
        return False
    if args.category and project["category"].lower() != args.category.lower():
        return False
    if args.official and not project["official"] or args.unofficial and project["official"]:
        return False
    if args.upstream and project["sync"].get("upstream_host") != args.upstream.lower():
        return False
    return True


def _cell(project: dict, column: str):
    sync = project["sync"]
    return {
        "id": project["id"], "name": project["name"], "category": project["category"],
        "official": project["official"], "enabled": project["enabled"], "method": sync["method"],
        "upstream": sync.get("upstream") or "", "per_day": sync.get("syncs_per_day") or "",
        "homepage": project.get("homepage") or "",
        "size": (project.get("scan") or {}).get("size", ""),
    }[column]


def _text(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def cmd_show(args) -> int:
    src = common.source(args)
    if src.on_host:
        projects = src.projects()
        pid = resolve(projects, args.project)
        common.print_json(projects[pid])
        return common.OK
    db = src.database()
    pid = db.resolve(args.project)
    record = db.projects[pid]
    text = dbedit.dump_record(pid, record)
    print(text.rstrip())
    comments = record.get("comments") or []
    print(f"\ncomment log ({len(comments)}):" if comments else "\ncomment log: empty")
    for entry in comments:
        print(f"  {entry}")
    return common.OK


# --- editing ------------------------------------------------------------------------

def cmd_new(args) -> int:
    db = common.source(args).database()
    if not schema.PROJECT_ID.fullmatch(args.project):
        raise common.CliError(f"'{args.project}' is not a valid id: 1-64 characters of a-z, 0-9, "
                              "'-' and '_'", common.USAGE)
    sync: dict = {"method": args.method}
    if args.upstream:
        sync["upstream"] = args.upstream
    if args.stage:
        sync["stages"] = [shlex.split(stage) for stage in args.stage]
    if args.command:
        sync["command"] = shlex.split(args.command)
    if args.syncs_per_day is not None:
        sync["syncs_per_day"] = args.syncs_per_day
    if args.interval:
        sync["interval"] = args.interval
    if args.timeout:
        sync["timeout"] = args.timeout
    record: dict = {"name": args.name or args.project}
    if args.category:
        record["category"] = args.category
    for field in ("description", "homepage"):
        if getattr(args, field):
            record[field] = getattr(args, field)
    if args.official:
        record["official"] = True
    record["enabled"] = False
    record["sync"] = sync
    record["comments"] = [f"Added {date.today().isoformat()}"]
    db.add(args.project, record)
    _save(db)
    print(f"added '{args.project}' (disabled): check it with `mirrorctl scan {args.project}`, "
          f"then `mirrorctl enable {args.project}` and deploy")
    return common.OK


def cmd_enable(args) -> int:
    db = common.source(args).database()
    for wanted in args.projects:
        pid = db.resolve(wanted)
        db.set(pid, "enabled", args.value)
    changed = _save(db)
    state = "enabled" if args.value else "disabled"
    print(f"{state}: {', '.join(db.resolve(p) for p in args.projects)}" + ("" if changed else " (no change)"))
    return common.OK


def cmd_rename(args) -> int:
    db = common.source(args).database()
    old = db.resolve(args.old)
    if not schema.PROJECT_ID.fullmatch(args.new):
        raise common.CliError(f"'{args.new}' is not a valid id", common.USAGE)
    db.rename(old, args.new)
    db.add_comment(args.new, f"Renamed from {old}")
    _save(db)
    print(f"renamed '{old}' to '{args.new}'; its URL becomes /{args.new}/ on the next deploy")
    return common.OK


def cmd_delete(args) -> int:
    db = common.source(args).database()
    if args.project not in db.projects:
        try:
            guess = db.resolve(args.project)
        except LookupError:
            guess = None
        hint = f" (did you mean '{guess}'?)" if guess else ""
        raise common.CliError(f"delete needs the exact project id; '{args.project}' is not one{hint}",
                              common.USAGE)
    if not args.yes and sys.stdin.isatty():
        if input(f"delete project '{args.project}' from {db.path}? [y/N] ").strip().lower() != "y":
            print("nothing deleted")
            return common.OK
    db.delete(args.project)
    _save(db)
    print(f"deleted '{args.project}'; its units and location go on the next deploy (its files stay)")
    return common.OK


def cmd_comment(args) -> int:
    db = common.source(args).database()
    pid = db.resolve(args.project)
    entry = db.add_comment(pid, args.text)
    _save(db)
    print(f"{pid}: {entry}")
    return common.OK


def cmd_edit(args) -> int:
    db = common.source(args).database()
    pid = db.resolve(args.project)
    original = dbedit.dump_record(pid, db.projects[pid])
    editor = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
    shown, error = original, ""
    while True:
        given = _with_error(shown, error)
        text = _run_editor(editor, given, pid)
        if text.strip() == "" or _strip_error(text) == original:
            print("no change")
            return common.OK
        if error and text == given:  # reopened with the error, closed without a fix
            rescue = _rescue(text, pid)
            raise common.CliError(f"not saved: {error}\nyour edit is kept in {rescue}")
        try:
            candidate = _apply_edit(db.path, pid, text)
        except ValueError as exc:  # InvalidEdit is a ValueError
            shown, error = _strip_error(text), str(exc)
            print(f"not saved: {error}", file=sys.stderr)
            continue
        break
    diff = "".join(difflib.unified_diff(db.text.splitlines(True), candidate.dump().splitlines(True),
                                        str(db.path), f"{db.path} (edited)"))
    print(diff, end="")
    if not args.yes:
        if not sys.stdin.isatty():
            rescue = _rescue(_strip_error(text), pid)
            raise common.CliError(f"not saved: confirm on a terminal or pass --yes; your edit is kept in {rescue}")
        if input("save this change? [y/N] ").strip().lower() != "y":
            print("not saved")
            return common.OK
    candidate.save()
    print(f"saved '{pid}'")
    return common.OK


def _apply_edit(path: Path, pid: str, text: str) -> dbedit.Database:
    """The database with the edited record, validated (ValueError says what is wrong)."""
    new_id, record = dbedit.load_record(text)
    if new_id != pid:
        raise ValueError(f"the id changed from '{pid}' to '{new_id}'; use mirrorctl rename")
    candidate = dbedit.Database(path)
    candidate.replace(pid, record)
    errors = candidate.errors()
    if errors:
        raise dbedit.InvalidEdit(errors)
    return candidate


def _rescue(text: str, pid: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=f"mirrorctl-edit-{pid}-", suffix=".yml")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return Path(name)


def _run_editor(editor: list[str], text: str, pid: str) -> str:
    with tempfile.NamedTemporaryFile("w+", suffix=f"-{pid}.yml", prefix="mirrorctl-", delete=False) as f:
        f.write(text)
        path = Path(f.name)
    try:
        subprocess.run(editor + [str(path)], check=True)
        return path.read_text(encoding="utf-8")
    finally:
        path.unlink(missing_ok=True)


def _with_error(text: str, error: str) -> str:
    if not error:
        return text
    lines = [f"# ERROR {line}" for line in error.splitlines()]
    return "\n".join(lines + ["# ERROR (fix the record below and save again; empty the file to give up)"]) \
        + "\n" + text


def _strip_error(text: str) -> str:
    return "".join(line for line in text.splitlines(True) if not line.startswith("# ERROR"))


def _save(db: dbedit.Database) -> bool:
    try:
        return db.save()
    except dbedit.InvalidEdit as exc:
        raise common.CliError(f"not saved: {exc}") from None
