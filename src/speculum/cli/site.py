"""mirrorctl site: build the public web site (on the mirror host, or anywhere
with --config/--site/--out)."""

from __future__ import annotations

from . import common


def register(add) -> None:
    p = add("site", "generate the web site, status pages and JSON API from the deployed config",
            "mirrorctl site build\n"
            "mirrorctl site build --config config.json --site site.json --out /tmp/www")
    p.add_argument("action", choices=["build"])
    p.add_argument("--site", metavar="FILE", help="public site settings (default: /etc/speculum/site.json)")
    p.add_argument("--out", metavar="DIR", help="write here instead of the site's web root")
    p.add_argument("--json", action="store_true", help="print what was done as JSON")
    p.set_defaults(func=cmd_site)


def cmd_site(args) -> int:
    from ..site import generate  # Jinja2 and Markdown only when building the site

    summary = generate.run(config_path=args.config, site_path=args.site, out=args.out)
    if args.json:
        common.print_json(summary)
        return common.OK
    print(f"{summary['webroot']}: {summary['files']} files, {len(summary['written'])} written, "
          f"{len(summary['removed'])} removed, in {summary['seconds']:.2f} s")
    return common.OK
