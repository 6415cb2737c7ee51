"""The public web site, generated on the mirror host from the project database,
the live status records, the news posts and the mirror volume's usage.

Inputs (all read by ``generate.collect``)
    ``config``    the runtime config (/etc/speculum/config.json): ``site`` (runtime
                  settings: mirror_root, state_dir, ...) and ``projects`` (the
                  normalised database, each with ``id`` and ``schedule``)
    ``site``      the public site settings (/etc/speculum/site.json), validated by
                  ``settings.load``/``settings.validate`` (see ``settings.FIELDS``)
    ``statuses``  {project id: status record} (speculum.status), for every project
                  of the config; ``next_schedule`` filled in from the timetable
    ``posts``     news posts, newest first (``news.Post``)
    ``disk``      the mirror volume: {"path", "total_bytes", "used_bytes",
                  "free_bytes", "total_inodes", "free_inodes", "measured_ts"}
    ``now``       an aware UTC datetime: the generator's clock (tests pin it)

Outputs: {relative path: bytes}, merged from
    ``render.render_pages``  HTML pages + static/ (Jinja2 templates in templates/)
    ``feed.render_feed``     news/atom.xml
    ``api.render_api``       api/v1/*.json, mirrorz.json, the OpenAPI document and
                             the JSON Schemas (files in api/)
and written by ``publish.publish`` (atomic per file, unchanged files untouched,
files of removed projects deleted).

Web root layout (nginx serves project trees at /<project id>/, so these names
are reserved project ids: ``RESERVED_PATHS``)::

    index.html                     home
    projects/index.html            project list by category
    projects/<id>/index.html       one project, with usage instructions
    status/index.html              every project's sync state + disk usage
    stats/index.html               usage statistics and bandwidth (charts)
    news/index.html, news/<slug>/index.html, news/atom.xml
    mailing-list/index.html, about/index.html, 404.html
    static/site.css, static/site.js
    api/v1/{projects,status,disk,news}.json, api/v1/stats/*.json, api/v1/openapi.json,
    api/v1/schemas/*.schema.json, mirrorz.json

Standard library plus Jinja2 and Python-Markdown (Debian's python3-jinja2 and
python3-markdown on the host).
"""

from __future__ import annotations

# First path segments the site itself uses: no project may have one as its id.
RESERVED_PATHS = frozenset({
    "index.html", "projects", "status", "news", "mailing-list", "about", "static", "api",
    "stats", "mirrorz.json", "404.html", "robots.txt", "favicon.ico", "well-known",
})

# Directories of the HTML pages (besides the home page): what "redirect the
# site's pages to HTTPS" covers, while project trees and the API stay plain.
PAGE_DIRS = ("projects", "status", "stats", "news", "mailing-list", "about")
