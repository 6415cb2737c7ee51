"""mirrorctl: the admin's command line, on the controller and on the mirror host.

Each module registers its commands: database (list, show, new, edit, …),
host (status, sync, log), plan (schedule), probes (scan, test, probefile,
markers), exchange (export, import), news (list, send), site (build),
stats (ingest, report), monitor (check, watch, notify-test), backup (run, status,
snapshots, restore).
"""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from . import common

EPILOG = """\
The project database is group_vars/all/projects.yml of the repository you are
in (or --db FILE). On a mirror host, mirrorctl reads the deployed copy
(/etc/speculum/config.json) and the status records, and refuses to edit.
Project ids may be abbreviated to any unique part (`mirrorctl show deb`).

exit codes:
  0  success
  1  error (invalid database, unreachable upstream, failed command)
  2  usage error, unknown or ambiguous project id
  3  the command worked, but a project it reports on is failing
  4  refused: an edit on the mirror host, or a news post already sent

See docs/mirrorctl.md for every command with an example session.
"""


def build_parser() -> argparse.ArgumentParser:
    from . import backup, database, exchange, host, monitor, news, plan, probes, site, stats

    parser = argparse.ArgumentParser(
        prog="mirrorctl", description="Speculum mirror administration.", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"mirrorctl {__version__}")
    sub = parser.add_subparsers(metavar="COMMAND", title="commands")
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--db", metavar="FILE",
                        help=f"the project database (default: {common.DB_RELATIVE} of this repository)")
    shared.add_argument("--config", metavar="FILE", help="on the host: the deployed runtime config")

    def add(name: str, help: str, examples: str = "", **kwargs) -> argparse.ArgumentParser:
        epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples.strip().splitlines()) \
            if examples else None
        return sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".",
                              epilog=epilog, parents=[shared],
                              formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)

    for module in (database, host, monitor, backup, plan, probes, exchange, news, site, stats):
        module.register(add)
    p = add("completion", "print a shell completion script", "source <(mirrorctl completion bash)")
    p.add_argument("shell", choices=["bash"])
    p.set_defaults(func=lambda args: print(completion(parser)) or 0)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return common.USAGE
    try:
        return args.func(args)
    except common.CliError as exc:
        print(f"mirrorctl: {exc}", file=sys.stderr)
        return exc.code
    except LookupError as exc:  # unknown or ambiguous project id
        print(f"mirrorctl: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return common.USAGE
    except (FileNotFoundError, ValueError) as exc:
        print(f"mirrorctl: {exc}", file=sys.stderr)
        return common.ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `mirrorctl … | head`
        sys.stderr.close()
        return common.OK


def completion(parser: argparse.ArgumentParser) -> str:
    """A bash completion script: commands, their options, and project ids."""
    commands = {}
    for action in parser._subparsers._group_actions:  # argparse keeps no public accessor
        for name, sub in action.choices.items():
            commands[name] = sorted(o for a in sub._actions for o in a.option_strings)
    cases = "\n".join(f"    {name}) opts=\"{' '.join(opts)}\" ;;" for name, opts in sorted(commands.items()))
    return f"""# bash completion for mirrorctl: source <(mirrorctl completion bash)
_mirrorctl() {{
  local cur=${{COMP_WORDS[COMP_CWORD]}} cmd=${{COMP_WORDS[1]}} opts
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "{' '.join(sorted(commands))}" -- "$cur")); return
  fi
  case "$cmd" in
{cases}
  esac
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); return; fi
  COMPREPLY=($(compgen -W "$(mirrorctl list -a --columns id --no-header 2>/dev/null)" -- "$cur"))
}}
complete -F _mirrorctl mirrorctl"""


if __name__ == "__main__":
    sys.exit(main())
