"""export and import: the database in other systems' formats, and other
systems' configuration into the database."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .. import exports
from . import common


def register(add) -> None:
    p = add("export", "the projects in another format (enabled ones unless --all)",
            "mirrorctl export --format mirrorz > mirrorz.json\n"
            "mirrorctl export --format mirmon -o mirmon.list\n"
            "mirrorctl export --format tunasync   # on the host: with live status")
    p.add_argument("--format", required=True, choices=exports.FORMATS)
    p.add_argument("--all", action="store_true", help="include disabled projects")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.add_argument("--site-url", help="our site (default: speculum_site_http_url)")
    p.set_defaults(func=cmd_export)

    p = add("import", "add projects from another system's configuration to the database",
            "mirrorctl import --format cosi mirrors.json\n"
            "mirrorctl import --format cosi mirrors.json --db new-projects.yml --dry-run\n"
            "mirrorctl import --format scripts /opt/mirror/scripts --units /etc/systemd/system")
    p.add_argument("--format", required=True, choices=("cosi", "scripts"))
    p.add_argument("source", metavar="FILE|DIR")
    p.add_argument("--units", metavar="DIR", help="scripts: where the .timer files are")
    p.add_argument("--replace", action="store_true", help="replace projects that already exist")
    p.add_argument("--dry-run", action="store_true", help="print the imported records, write nothing")
    p.set_defaults(func=cmd_import)


def cmd_export(args) -> int:
    src = common.source(args)
    projects = src.projects()
    site = _site(args, src)
    statuses = None
    if src.on_host:
        from .host import records

        statuses = {r["name"]: r for r in records(src.site, projects, sorted(projects))}
    text = exports.export(projects, args.format, site=site, statuses=statuses,
                          include_disabled=args.all)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return common.OK


def _site(args, src: common.Source) -> dict:
    values = {} if src.on_host else common.site_vars(src.path)
    site = exports.site_from_vars(values)
    site["http_url"] = common.site_url(args, src)
    site.setdefault("hostname", site["http_url"].split("/")[2].split(":")[0])
    site.setdefault("name", "Speculum mirror")
    return site


def cmd_import(args) -> int:
    from .. import imports

    if args.format == "cosi":
        with open(args.source, encoding="utf-8") as handle:
            result = imports.import_cosi(json.load(handle))
    else:
        result = imports.import_scripts(args.source, args.units)
    if args.dry_run:
        from .. import dbedit

        for pid, record in result.projects.items():
            print(dbedit.dump_record(pid, record), end="")
    else:
        db = _database_for_import(args)
        added, skipped = [], []
        for pid, record in result.projects.items():
            if pid in db.projects and not args.replace:
                skipped.append(pid)
                continue
            if pid in db.projects:
                db.delete(pid)
            db.add(pid, record)
            added.append(pid)
        db.save({name: "" for name in result.secrets} | _known_secrets(db.path))
        print(f"imported {len(added)} project(s) into {db.path}"
              + (f"; kept {len(skipped)} existing (use --replace): {', '.join(skipped)}" if skipped else ""))
    if result.secrets:
        print("\nadd these to speculum_secrets (ansible-vault edit group_vars/all/secrets.yml):")
        for name in result.secrets:
            print(f"  {name}: <the rsync password>")
    if result.notes:
        print(f"\nnot mapped ({len(result.notes)}):")
        for note in result.notes:
            print(f"  - {note}")
    return common.OK


def _database_for_import(args):
    from .. import dbedit

    path = Path(args.db) if args.db else common.find_db()
    if path is None:
        raise common.CliError(f"no {common.DB_RELATIVE} here or above; pass --db FILE "
                              "(a new file is created)")
    if not path.exists():
        path.write_text("---\nspeculum_projects: {}\n", encoding="utf-8")
    return dbedit.Database(path)


def _known_secrets(db_path: Path) -> dict:
    return common.site_vars(db_path).get("speculum_secrets") or {}
