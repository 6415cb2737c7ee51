"""The nginx role's directory index stylesheet and site configuration.

The stylesheet (roles/nginx/templates/autoindex.xslt.j2) is rendered with
Jinja2 as Ansible's template module would, then applied with lxml (libxslt +
libexslt, as nginx's XSLT filter uses them) to XML listings shaped like the
ones nginx writes with ``autoindex_format xml``.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import jinja2
import lxml.etree as etree
import lxml.html
import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "roles" / "nginx" / "templates"
MANAGED = "Managed by Speculum (Ansible); local changes are overwritten"
PROJECTS = [
    {"id": "debian", "name": "Debian"},
    {"id": "docs", "name": "Mirror Documentation & Notes"},
]
MTIME = "2026-11-20T09:30:00Z"


def render(template: str, **values) -> str:
    # Ansible's template module: trim_blocks on, undefined variables are errors.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), trim_blocks=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.get_template(template).render(**values)


@pytest.fixture(scope="module")
def stylesheet() -> etree.XSLT:
    source = render("autoindex.xslt.j2", ansible_managed=MANAGED,
                    nginx_site_name="Speculum <Mirror> & Co", __nginx_projects=PROJECTS)
    assert f"<!-- {MANAGED} -->" in source
    return etree.XSLT(etree.fromstring(source.encode()))


def listing(*entries: tuple[str, str, int | None]) -> bytes:
    """nginx's XML autoindex: (kind, name, size) with kind "directory" or "file"."""
    lines = ['<?xml version="1.0"?>', "<list>"]
    for kind, name, size in entries:
        escaped = name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
        size_attr = f' size="{size}"' if kind == "file" else ""
        lines.append(f'<{kind} mtime="{MTIME}"{size_attr}>{escaped}</{kind}>')
    lines.append("</list>")
    return ("\n".join(lines) + "\n").encode()


def transform(stylesheet: etree.XSLT, xml: bytes, path: str) -> tuple[str, lxml.html.HtmlElement]:
    result = stylesheet(etree.fromstring(xml), path=etree.XSLT.strparam(path))
    text = str(result)
    return text, lxml.html.document_fromstring(text)


def rows(page) -> list[dict[str, str]]:
    out = []
    for row in page.xpath("//table[contains(@class, 'listing')]/tbody/tr"):
        name = row.xpath("./*[1]")[0]
        size = row.xpath("./td[contains(@class, 'size')]")[0]
        out.append({
            "class": row.get("class"),
            "text": name.text_content(),
            "href": name.xpath(".//a/@href")[0],
            "size": size.text_content().strip(),
            "title": size.get("title") or "",
            "modified": row.xpath("./td[contains(@class, 'modified')]")[0].text_content().strip(),
        })
    return out


DEBIAN_MAIN = listing(
    ("directory", "a", None),
    ("directory", "libreoffice", None),
    ("file", "Packages.gz", 1234),
    ("file", "Release", 512),
    ("file", "big.iso", 4_700_000_000),
)


def test_html5_page_with_site_header_and_navigation(stylesheet):
    text, page = transform(stylesheet, DEBIAN_MAIN, "/debian/pool/main/")
    assert text.startswith("<!DOCTYPE html>")
    assert page.get("lang") == "en"
    assert page.xpath("//head/link[@rel='stylesheet']/@href") == ["/static/site.css"]
    assert page.xpath("//head/style")  # readable without site.css too
    assert "prefers-color-scheme: dark" in page.xpath("string(//head/style)")
    assert page.xpath("string(//title)") == "Index of /debian/pool/main/ – Speculum <Mirror> & Co"
    header = page.xpath("//body/header[@class='header']")[0]
    home = header.xpath("./a")[0]
    assert (home.get("href"), home.text_content()) == ("/", "Speculum <Mirror> & Co")
    nav = header.xpath(".//nav[@class='nav']//a")
    assert [(a.text_content(), a.get("href")) for a in nav] == [
        ("Projects", "/projects/"), ("Status", "/status/"), ("News", "/news/"), ("About", "/about/")]
    assert page.xpath("//body/main")
    assert page.xpath("string(//main/h1)") == "Index of /debian/pool/main/"


def test_breadcrumb_links_every_segment(stylesheet):
    _, page = transform(stylesheet, DEBIAN_MAIN, "/debian/pool/main/")
    crumbs = page.xpath("//nav[@class='breadcrumb']//li/a")
    assert [(a.text_content(), a.get("href")) for a in crumbs] == [
        ("Home", "/"), ("debian", "/debian/"), ("pool", "/debian/pool/"), ("main", "/debian/pool/main/")]
    assert [a.get("aria-current") for a in crumbs] == [None, None, None, "page"]


def test_breadcrumb_of_odd_names_is_encoded(stylesheet):
    _, page = transform(stylesheet, listing(), "/docs/a b#1/100%?/café/")
    crumbs = page.xpath("//nav[@class='breadcrumb']//li/a")
    assert [a.get("href") for a in crumbs] == [
        "/", "/docs/", "/docs/a%20b%231/", "/docs/a%20b%231/100%25%3F/",
        "/docs/a%20b%231/100%25%3F/caf%C3%A9/"]
    assert [a.text_content() for a in crumbs][2:] == ["a b#1", "100%?", "café"]


def test_project_page_link(stylesheet):
    _, page = transform(stylesheet, DEBIAN_MAIN, "/debian/pool/main/")
    link = page.xpath("//p[@class='project-link']/a")[0]
    assert link.get("href") == "/projects/debian/"
    assert link.text_content().startswith("Debian")
    _, page = transform(stylesheet, listing(), "/docs/")
    link = page.xpath("//p[@class='project-link']/a")[0]
    assert link.get("href") == "/projects/docs/"
    assert link.text_content().startswith("Mirror Documentation & Notes")


def test_rows_directories_first_with_sizes_dates_and_parent(stylesheet):
    _, page = transform(stylesheet, DEBIAN_MAIN, "/debian/pool/main/")
    table = page.xpath("//table[@class='listing']")[0]
    assert [(th.text_content(), th.get("scope")) for th in table.xpath("./thead//th")] == [
        ("Name", "col"), ("Size", "col"), ("Last modified", "col")]
    assert all(th.get("scope") == "row" for th in table.xpath("./tbody/tr/th"))
    got = rows(page)
    assert got[0]["class"] == "parent" and got[0]["href"] == "../"
    assert got[0]["text"] == "Parent directory"
    assert [(r["class"], r["text"], r["href"]) for r in got[1:]] == [
        ("directory", "a/", "a/"), ("directory", "libreoffice/", "libreoffice/"),
        ("file", "Packages.gz", "Packages.gz"), ("file", "Release", "Release"),
        ("file", "big.iso", "big.iso")]
    files = {r["text"]: r for r in got if r["class"] == "file"}
    assert (files["Packages.gz"]["size"], files["Packages.gz"]["title"]) == ("1.2 KiB", "1234 bytes")
    assert (files["Release"]["size"], files["Release"]["title"]) == ("512 B", "512 bytes")
    assert (files["big.iso"]["size"], files["big.iso"]["title"]) == ("4.4 GiB", "4700000000 bytes")
    assert all(r["modified"] == "2026-11-20 09:30 UTC" for r in got[1:])
    assert page.xpath("//td[@class='modified']/time/@datetime")[0] == MTIME


def test_parent_directory_at_a_project_root_links_home(stylesheet):
    _, page = transform(stylesheet, DEBIAN_MAIN, "/debian/")
    assert rows(page)[0]["href"] == "../"  # /debian/../ is /


@pytest.mark.parametrize(("size", "shown"), [
    (0, "0 B"), (1, "1 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"),
    (1280, "1.3 KiB"), (2816, "2.8 KiB"), (9472, "9.3 KiB"),  # halves round up
    (1_048_575, "1.0 MiB"), (1_048_576, "1.0 MiB"), (10 * 2**20 + 2**19, "10.5 MiB"),
    (2**30, "1.0 GiB"), (3 * 2**40, "3.0 TiB"), (2**40 * 2048, "2,048.0 TiB"),
])
def test_human_readable_sizes(stylesheet, size, shown):
    _, page = transform(stylesheet, listing(("file", "f", size)), "/debian/")
    row = rows(page)[1]
    assert (row["size"], row["title"]) == (shown, f"{size} bytes")


NAMES = ["with space.txt", "hash#tag", "percent%41.txt", "question?.txt", "café.txt", "日本語",
         "amp&lt.txt", 'quote".txt', "plus+colon:semi;.txt", "a'b"]


def test_odd_names_get_encoded_hrefs_that_decode_back(stylesheet):
    xml = listing(("directory", "dir #1", None), *(("file", name, 1) for name in NAMES))
    _, page = transform(stylesheet, xml, "/docs/")
    got = rows(page)[1:]
    assert got[0]["href"] == "dir%20%231/" and got[0]["text"] == "dir #1/"
    for row, name in zip(got[1:], NAMES, strict=True):
        assert row["text"] == name
        assert re.fullmatch(r"[A-Za-z0-9%._~!*'()@-]+", row["href"]), row["href"]
        assert unquote(row["href"]) == name
    hrefs = {r["text"]: r["href"] for r in got}
    assert hrefs["with space.txt"] == "with%20space.txt"
    assert hrefs["hash#tag"] == "hash%23tag"
    assert hrefs["percent%41.txt"] == "percent%2541.txt"
    assert hrefs["question?.txt"] == "question%3F.txt"
    assert hrefs["café.txt"] == "caf%C3%A9.txt"
    assert hrefs["日本語"] == "%E6%97%A5%E6%9C%AC%E8%AA%9E"


def test_dotfiles_are_never_listed(stylesheet):
    xml = listing(("directory", ".~tmp~", None), ("directory", "pool", None),
                  ("file", ".hidden", 3), ("file", ".Packages.gz.x8Y2aB", 9), ("file", "Release", 1))
    text, page = transform(stylesheet, xml, "/debian/")
    assert [r["text"] for r in rows(page)] == ["Parent directory", "pool/", "Release"]
    assert ".~tmp~" not in text and ".hidden" not in text and ".Packages" not in text


@pytest.mark.parametrize("name", ["README", "README.txt", "README.md"])
def test_readme_is_shown_in_a_sandboxed_iframe(stylesheet, name):
    _, page = transform(stylesheet, listing(("directory", "sub", None), ("file", name, 42)), "/docs/")
    frames = page.xpath("//main//section[@class='readme']//iframe")
    assert len(frames) == 1
    frame = frames[0]
    assert frame.get("src") == name
    assert frame.get("title") == "README"
    assert frame.get("sandbox") == ""  # present and empty: no scripts, no same origin
    assert page.xpath("//section[@class='readme']/h2")


def test_plain_readme_is_preferred(stylesheet):
    xml = listing(("file", "README", 1), ("file", "README.md", 1), ("file", "README.txt", 1))
    _, page = transform(stylesheet, xml, "/docs/")
    assert page.xpath("//iframe/@src") == ["README"]


@pytest.mark.parametrize("entries", [
    [("file", "Release", 1)],
    [("directory", "README", None)],          # a directory, not a README file
    [("file", "readme", 1), ("file", "README.rst", 1), ("file", "READMEs", 1)],
    [("file", ".README", 1)],
])
def test_no_readme_no_iframe(stylesheet, entries):
    text, page = transform(stylesheet, listing(*entries), "/docs/")
    assert not page.xpath("//iframe") and "<iframe" not in text
    assert not page.xpath("//section[@class='readme']")


def test_empty_directory_renders(stylesheet):
    text, page = transform(stylesheet, b'<?xml version="1.0"?>\n<list>\n</list>\n', "/docs/empty/")
    assert [r["text"] for r in rows(page)] == ["Parent directory"]
    assert page.xpath("string(//p[@class='empty'])") == "This directory is empty."
    assert "<iframe" not in text
    # a listing with only dotfiles is empty too
    _, page = transform(stylesheet, listing(("file", ".hidden", 1)), "/docs/empty/")
    assert page.xpath("//p[@class='empty']")


def test_non_empty_directory_has_no_empty_note(stylesheet):
    _, page = transform(stylesheet, DEBIAN_MAIN, "/debian/pool/main/")
    assert not page.xpath("//p[@class='empty']")


# --------------------------------------------------------------------------
# The site configuration

SITE_VALUES = dict(
    ansible_managed=MANAGED, nginx_listen_port=80, nginx_server_name="mirror.example.edu",
    nginx_webroot="/var/www/speculum", nginx_mirror_root="/srv/mirror",
    nginx_access_log="/var/log/nginx/speculum-access.log", nginx_acme_webroot="/var/www/acme",
    nginx_autoindex_xslt="/etc/nginx/speculum/autoindex.xslt", __nginx_projects=PROJECTS,
    nginx_config_dir="/etc/nginx/speculum",
)
INCLUDE_LOCATIONS = "    include /etc/nginx/speculum/locations.conf;\n"


def with_locations(server: str) -> str:
    """A server block with its `include` of the shared locations expanded, as nginx reads it."""
    assert server.count(INCLUDE_LOCATIONS) == 1
    locations = render("speculum-locations.conf.j2", **SITE_VALUES)
    assert locations.startswith(f"# {MANAGED}\n")
    indented = "".join("    " + line if line.strip() else line for line in locations.splitlines(True))
    return server.replace(INCLUDE_LOCATIONS, indented)


@pytest.fixture(scope="module")
def site_conf() -> str:
    return with_locations(render("speculum-site.conf.j2", **SITE_VALUES))


def block(conf: str, opening: str) -> str:
    """The text of the block that starts with `opening` (a line such as
    "location /api/ {"), up to its matching closing brace."""
    start = conf.index(opening + " {")
    depth = 0
    for i in range(start, len(conf)):
        if conf[i] == "{":
            depth += 1
        elif conf[i] == "}":
            depth -= 1
            if depth == 0:
                return conf[start:i + 1]
    raise AssertionError(f"unbalanced block {opening}")


def test_site_conf_braces_balance_and_header(site_conf):
    assert site_conf.startswith(f"# {MANAGED}\n")
    assert site_conf.count("{") == site_conf.count("}")
    assert "{{" not in site_conf and "{%" not in site_conf


def test_site_conf_project_trees_use_the_xslt_autoindex(site_conf):
    assert "autoindex_format html" not in site_conf
    assert "autoindex_exact_size" not in block(site_conf, "location /debian/")
    for project in PROJECTS:
        tree = block(site_conf, f"location /{project['id']}/")
        assert "root /srv/mirror;" in tree
        listing_block = block(tree, "location ~ /$")
        for line in ("autoindex on;", "autoindex_format xml;", "xslt_string_param path $uri;",
                     "xslt_stylesheet /etc/nginx/speculum/autoindex.xslt;"):
            assert line in listing_block
        # the dotfile rule comes first: nested regexes win over the server's
        assert tree.index("location ~ /\\.") < tree.index("location ~ /$")
        assert "return 404;" in block(tree, "location ~ /\\.")
        readme = block(tree, "location ~ /README(\\.txt|\\.md)?$")
        assert "default_type text/plain;" in readme
        assert f"location = /{project['id']} {{\n        return 301 /{project['id']}/;" in site_conf


def test_site_conf_dotfiles_acme_and_404(site_conf):
    assert "return 404;" in block(site_conf, "    location ~ /\\.")
    acme = block(site_conf, "location ^~ /.well-known/acme-challenge/")
    assert "root /var/www/acme;" in acme and "default_type text/plain;" in acme
    assert "error_page 404 /404.html;" in site_conf
    assert "root /var/www/speculum;" in site_conf
    assert "return 301 https" not in site_conf


def test_site_conf_json_api_and_mirrorz_with_cors(site_conf):
    for opening in ("location /api/", "location = /mirrorz.json"):
        section = block(site_conf, opening)
        assert "default_type application/json;" in section
        assert 'add_header Access-Control-Allow-Origin "*" always;' in section
        assert 'add_header Access-Control-Allow-Methods "GET, HEAD, OPTIONS" always;' in section
        assert "expires 1m;" in section
        preflight = block(section, "if ($request_method = OPTIONS)")
        assert "return 204;" in preflight
    not_found = block(site_conf, "location @api_not_found")
    assert 'add_header Access-Control-Allow-Origin "*" always;' in not_found
    assert "default_type application/json;" in not_found


def test_site_conf_feed_and_static(site_conf):
    assert "default_type application/atom+xml;" in block(site_conf, "location = /news/atom.xml")
    assert "expires" in block(site_conf, "location /static/")


# --------------------------------------------------------------------------
# HTTPS (tasks_from: tls) and the page redirects

TLS_VALUES = dict(SITE_VALUES, nginx_tls_port=443, nginx_tls_certificate="/etc/letsencrypt/live/m/fullchain.pem",
                  nginx_tls_certificate_key="/etc/letsencrypt/live/m/privkey.pem",
                  nginx_tls_trusted_certificate="/etc/letsencrypt/live/m/chain.pem",
                  nginx_tls_ocsp_stapling=True, nginx_tls_hsts_max_age=0)


def tls_conf(**changes) -> str:
    return with_locations(render("speculum-tls.conf.j2", **{**TLS_VALUES, **changes}))


def test_tls_server_serves_the_same_locations_with_modern_tls():
    conf = tls_conf()
    assert conf.count("{") == conf.count("}") and "{{" not in conf
    assert "listen 443 ssl http2 default_server;" in conf and "listen [::]:443 ssl http2" in conf
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in conf
    ciphers = re.search(r"ssl_ciphers ([^;]+);", conf).group(1).split(":")
    assert ciphers and all(c.startswith("ECDHE-") and ("GCM" in c or "CHACHA20" in c) for c in ciphers)
    assert "ssl_session_tickets off;" in conf
    assert "ssl_stapling on;" in conf and "ssl_trusted_certificate /etc/letsencrypt/live/m/chain.pem;" in conf
    assert "Strict-Transport-Security" not in conf
    # the same locations as plain HTTP: project trees, API, ACME
    assert block(conf, "location /debian/") and block(conf, "location /api/")


def test_tls_hsts_and_stapling_are_settings():
    assert 'add_header Strict-Transport-Security "max-age=600" always;' in tls_conf(nginx_tls_hsts_max_age=600)
    assert "ssl_stapling" not in tls_conf(nginx_tls_trusted_certificate="")  # a self-signed certificate
    assert "ssl_stapling" not in tls_conf(nginx_tls_ocsp_stapling=False)


@pytest.mark.parametrize(("public", "port", "target"), [
    ("https://127.0.0.1:8443/", 443, "https://127.0.0.1:8443$request_uri"),
    ("", 443, "https://$host$request_uri"),
    ("", 8443, "https://$host:8443$request_uri"),
])
def test_page_redirects_cover_the_pages_only(public, port, target):
    conf = render("http-redirect.conf.j2", ansible_managed=MANAGED, nginx_tls_public_url=public,
                  nginx_tls_port=port, __nginx_page_dirs=["projects", "status", "stats"])
    assert f"return 301 {target};" in block(conf, "location = /")
    for page in ("projects", "status", "stats"):
        assert f"return 301 {target};" in block(conf, f"location ^~ /{page}/")
    assert "/api/" not in conf and "/debian/" not in conf
