"""The HTML pages and their static files, from the view model (model.py)
through the Jinja2 templates in templates/.

Output depends only on the inputs (no clock, no random), so an unchanged site
publishes no changed file. Jinja2 3.1.2 (Debian 12) is enough.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from . import charts, model
from . import stats as stats_mod

HERE = Path(__file__).parent
STATIC_FILES = ("site.css", "site.js")

# (URL, label, key) of the main navigation
NAV = (("/", "Home", "home"), ("/projects/", "Projects", "projects"), ("/status/", "Status", "status"),
       ("/stats/", "Statistics", "stats"), ("/news/", "News", "news"),
       ("/mailing-list/", "Mailing list", "mailing-list"), ("/about/", "About", "about"))


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["human_bytes"] = charts.human_bytes
    return env


def render_pages(config: dict, site: dict, statuses: dict, posts: list, disk: dict,
                 now: datetime, stats: dict | None = None, health: dict | None = None) -> dict[str, bytes]:
    """{path relative to the web root: bytes} of every page and static file."""
    view = model.build(config, site, statuses, posts, disk, now)
    env = environment()

    def page(template: str, current: str = "", crumbs: tuple = (), **extra: Any) -> bytes:
        context = {**view, "nav": NAV, "current": current, "crumbs": crumbs, **extra}
        return env.get_template(template).render(context).encode("utf-8")

    files = {
        "index.html": page("index.html.j2", "home"),
        "projects/index.html": page("projects.html.j2", "projects", (("/projects/", "Projects"),)),
        "status/index.html": page("status.html.j2", "status", (("/status/", "Status"),),
                                  hv=model.health_view(health or {}, view["projects"])),
        "stats/index.html": page("stats.html.j2", "stats", (("/stats/", "Statistics"),),
                                 st=stats_mod.view(stats, {p["id"]: p["name"] for p in view["projects"]})),
        "news/index.html": page("news.html.j2", "news", (("/news/", "News"),)),
        "mailing-list/index.html": page("mailing-list.html.j2", "mailing-list",
                                        (("/mailing-list/", "Mailing list"),)),
        "about/index.html": page("about.html.j2", "about", (("/about/", "About"),)),
        "404.html": page("404.html.j2"),
    }
    for p in view["projects"]:
        files[f"projects/{p['id']}/index.html"] = page(
            "project.html.j2", "projects", (("/projects/", "Projects"), (p["page_url"], p["name"])), p=p)
    for post in view["posts"]:
        files[f"news/{post['slug']}/index.html"] = page(
            "post.html.j2", "news", (("/news/", "News"), (post["path"], post["title"])), post=post)
    for name in STATIC_FILES:
        files[f"static/{name}"] = (HERE / "static" / name).read_bytes()
    files["static/site.css"] += b"\n/* charts (speculum.site.charts) */\n" + charts.CSS.encode()
    return files
