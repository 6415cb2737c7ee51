"""Directory index pages, the JSON API and the feed as nginx serves them on the
converged mirror host (the nginx role: XML autoindex + XSLT, CORS, types).

Requests are made from inside the mirror container with its python3 (the
image has no curl); pages are parsed here with lxml.
"""

import json
import math
import re

import lxml.html
import pytest

XSLT = "/etc/nginx/speculum/autoindex.xslt"
HUMAN_SIZE = re.compile(r"\d+(\.\d)? (B|KiB|MiB|GiB|TiB)|[\d,]+\.\d TiB")
DATE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")

REQUEST = (
    "import json, sys, urllib.request, urllib.error\n"
    "req = urllib.request.Request('http://127.0.0.1' + sys.argv[1], method=sys.argv[2],\n"
    "                             headers=json.loads(sys.argv[3]))\n"
    "class NoRedirect(urllib.request.HTTPRedirectHandler):\n"
    "    def redirect_request(self, *args, **kwargs):\n"
    "        return None\n"
    "try:\n"
    "    r = urllib.request.build_opener(NoRedirect).open(req)\n"
    "except urllib.error.HTTPError as e:\n"
    "    r = e\n"
    "body = r.read()\n"
    "sys.stdout.write(json.dumps({'status': r.getcode(), 'headers': [list(h) for h in r.headers.items()],\n"
    "                             'body': body.hex()}))\n"
)


class Response:
    def __init__(self, raw: dict):
        self.status = raw["status"]
        self.headers = {name.lower(): value for name, value in raw["headers"]}
        self.body = bytes.fromhex(raw["body"])

    @property
    def text(self) -> str:
        return self.body.decode()

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def request(host, path: str, method: str = "GET", headers: dict | None = None) -> Response:
    """One HTTP request to the host's nginx, from inside the host; no redirects followed."""
    out = host.check_output("python3 -c %s %s %s %s", REQUEST, path, method, json.dumps(headers or {}))
    return Response(json.loads(out))


def page_of(response: Response):
    assert response.status == 200, (response.status, response.text[:500])
    assert response.content_type.startswith("text/html"), response.content_type
    assert response.text.startswith("<!DOCTYPE html>")
    return lxml.html.document_fromstring(response.text)


def listing_rows(page) -> dict[str, dict]:
    """{name as shown: {href, size, title, modified}} of the file table, parent row excluded."""
    rows = {}
    for row in page.xpath("//table[@class='listing']/tbody/tr[not(@class='parent')]"):
        size = row.xpath("./td[@class='size']")[0]
        rows[row.xpath("./th")[0].text_content()] = {
            "href": row.xpath("./th//a/@href")[0],
            "size": size.text_content().strip(),
            "title": size.get("title"),
            "modified": row.xpath("./td[@class='modified']")[0].text_content().strip(),
        }
    return rows


def human(size: int) -> str:
    """The stylesheet's readable size: one decimal, rounded half up."""
    if size < 1024:
        return f"{size} B"
    for exponent, unit in ((1, "KiB"), (2, "MiB"), (3, "GiB"), (4, "TiB")):
        if size < 1023.95 * 1024 ** exponent or unit == "TiB":
            value = math.floor(size * 10 / 1024 ** exponent + 0.5) / 10
            return f"{value:,.1f} {unit}" if unit == "TiB" else f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def test_xslt_module_and_stylesheet_installed_and_config_valid(host):
    assert host.package("libnginx-mod-http-xslt-filter").is_installed
    assert host.file("/etc/nginx/modules-enabled/50-mod-http-xslt-filter.conf").exists
    stylesheet = host.file(XSLT)
    assert stylesheet.is_file and stylesheet.user == "root" and stylesheet.mode == 0o644
    assert "Managed by Speculum" in stylesheet.content_string
    result = host.run("nginx -t")
    assert result.rc == 0, result.stderr
    site = host.file("/etc/nginx/sites-available/speculum.conf").content_string
    assert "include /etc/nginx/speculum/locations.conf;" in site  # shared with the HTTPS server
    locations = host.file("/etc/nginx/speculum/locations.conf").content_string
    assert "autoindex_format xml;" in locations and "autoindex_format html" not in locations


def test_project_root_index_page(host):
    page = page_of(request(host, "/debian/"))
    assert page.get("lang") == "en"
    assert page.xpath("//head/link[@rel='stylesheet']/@href") == ["/static/site.css"]
    assert page.xpath("//header[@class='header']/a[@href='/']")
    nav = page.xpath("//nav[@class='nav']//a/@href")
    assert nav == ["/projects/", "/status/", "/news/", "/about/"]
    crumbs = page.xpath("//nav[@class='breadcrumb']//a/@href")
    assert crumbs == ["/", "/debian/"]
    assert page.xpath("//p[@class='project-link']/a/@href") == ["/projects/debian/"]
    rows = listing_rows(page)
    assert {"dists/", "pool/"} <= set(rows)
    assert rows["dists/"]["href"] == "dists/"
    assert page.xpath("//tr[@class='parent']//a/@href") == ["../"]
    # no README in the Debian tree, so no iframe
    assert not host.file("/srv/mirror/debian/README").exists
    assert not page.xpath("//iframe")


def test_index_page_has_breadcrumb_sizes_and_dates(host):
    page = page_of(request(host, "/debian/dists/bookworm/"))
    crumbs = page.xpath("//nav[@class='breadcrumb']//a")
    assert [(a.text_content(), a.get("href")) for a in crumbs] == [
        ("Home", "/"), ("debian", "/debian/"), ("dists", "/debian/dists/"),
        ("bookworm", "/debian/dists/bookworm/")]
    rows = listing_rows(page)
    assert "main/" in rows
    for name in ("Release", "InRelease", "Release.gpg"):
        size = int(host.check_output("stat -c %%s %s", f"/srv/mirror/debian/dists/bookworm/{name}"))
        assert rows[name]["title"] == f"{size} bytes"
        assert rows[name]["size"] == human(size)
        assert HUMAN_SIZE.fullmatch(rows[name]["size"])
        assert DATE.fullmatch(rows[name]["modified"]), rows[name]
    # directories first, as nginx orders them
    kinds = [name.endswith("/") for name in rows]
    assert kinds == sorted(kinds, reverse=True)


def test_synced_readme_is_shown(host):
    assert host.file("/srv/mirror/software/README").is_file
    page = page_of(request(host, "/software/"))
    frame = page.xpath("//section[@class='readme']//iframe")
    assert len(frame) == 1 and frame[0].get("src") == "README" and frame[0].get("sandbox") == ""
    readme = request(host, "/software/README")
    assert readme.status == 200 and readme.content_type.startswith("text/plain")
    assert readme.body == host.file("/srv/mirror/software/README").content


def test_readme_placed_in_a_static_project_is_shown(host):
    readme = "/srv/mirror/docs/README"
    placed = not host.file(readme).exists
    if placed:
        host.check_output("sh -c %s", f"echo 'Mirror documentation (test)' > {readme}")
    try:
        page = page_of(request(host, "/docs/"))
        assert page.xpath("//section[@class='readme']//iframe/@src") == ["README"]
        assert page.xpath("//p[@class='project-link']/a/@href") == ["/projects/docs/"]
        assert request(host, "/docs/README").content_type.startswith("text/plain")
    finally:
        if placed:
            host.run("rm -f %s", readme)
    if placed:
        assert not page_of(request(host, "/docs/")).xpath("//iframe")


@pytest.mark.parametrize("path", ["/debian/.hidden", "/debian/.~tmp~/", "/debian/.~tmp~/partial.deb",
                                  "/debian/%2E~tmp~/partial.deb", "/debian/pool/.hidden",
                                  "/debian/.~tmp~/README"])
def test_dotfiles_and_rsync_staging_are_never_served(host, path):
    host.check_output("install -d /srv/mirror/debian/.~tmp~")
    host.check_output("sh -c %s", "echo partial > /srv/mirror/debian/.~tmp~/partial.deb"
                      " && echo readme > /srv/mirror/debian/.~tmp~/README"
                      " && echo hidden > /srv/mirror/debian/.hidden"
                      " && echo hidden > /srv/mirror/debian/pool/.hidden")
    try:
        assert request(host, path).status == 404
        for directory in ("/debian/", "/debian/pool/"):
            listing = request(host, directory)
            assert listing.status == 200
            assert b".~tmp~" not in listing.body and b".hidden" not in listing.body
    finally:
        host.run("rm -rf /srv/mirror/debian/.~tmp~ /srv/mirror/debian/.hidden /srv/mirror/debian/pool/.hidden")


def test_odd_names_are_listed_with_encoded_links(host):
    directory = "/srv/mirror/docs/speculum-test-odd"
    names = ["with space #1.txt", "100%?.txt", "café.txt"]
    make = ("import os, sys\n"
            "os.makedirs(sys.argv[1], exist_ok=True)\n"
            "for name in sys.argv[2:]:\n"
            "    open(os.path.join(sys.argv[1], name), 'w').write(name)\n")
    host.check_output("python3 -c %s %s %s %s %s", make, directory, *names)
    try:
        rows = listing_rows(page_of(request(host, "/docs/speculum-test-odd/")))
        assert rows["with space #1.txt"]["href"] == "with%20space%20%231.txt"
        assert rows["100%?.txt"]["href"] == "100%25%3F.txt"
        assert rows["café.txt"]["href"] == "caf%C3%A9.txt"
        for name, row in rows.items():
            got = request(host, "/docs/speculum-test-odd/" + row["href"])
            assert got.status == 200 and got.text == name
    finally:
        host.run("rm -rf %s", directory)


def test_a_name_that_is_not_utf8_falls_back_to_the_plain_listing(host):
    directory = "/srv/mirror/docs/speculum-test-latin1"
    make = ("import os, sys\n"
            "os.makedirs(sys.argv[1], exist_ok=True)\n"
            "open(os.path.join(sys.argv[1].encode(), b'caf\\xe9.txt'), 'w').close()\n")
    host.check_output("python3 -c %s %s", make, directory)
    try:
        response = request(host, "/docs/speculum-test-latin1/")
        assert response.status == 200
        assert b"caf%E9.txt" in response.body
    finally:
        host.run("rm -rf %s", directory)


def test_xml_files_in_trees_are_served_untouched(host):
    path = "/srv/mirror/docs/speculum-test.xml"
    content = '<?xml version="1.0"?>\n<repomd><data type="primary"/></repomd>\n'
    host.check_output("sh -c %s", f"printf '%s' '{content}' > {path}")
    try:
        response = request(host, "/docs/speculum-test.xml")
        assert response.status == 200
        assert response.content_type.startswith("text/xml")
        assert response.text == content
    finally:
        host.run("rm -f %s", path)


def test_json_api_content_type_cors_and_cache(host):
    for method in ("HEAD", "GET"):
        response = request(host, "/api/v1/status.json", method)
        assert response.status == 200
        assert response.content_type == "application/json"
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["cache-control"] == "max-age=60"
    json.loads(request(host, "/api/v1/status.json").body)


def test_json_api_preflight_and_not_found(host):
    preflight = request(host, "/api/v1/status.json", "OPTIONS", {
        "Origin": "https://example.org", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "x-requested-with"})
    assert preflight.status == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert preflight.headers["access-control-allow-methods"] == "GET, HEAD, OPTIONS"
    assert preflight.headers["access-control-allow-headers"] == "x-requested-with"
    missing = request(host, "/api/v1/no-such-file.json")
    assert missing.status == 404
    assert missing.content_type == "application/json"
    assert missing.headers["access-control-allow-origin"] == "*"
    assert json.loads(missing.body) == {"error": "not found"}


def test_mirrorz_json_has_cors(host):
    response = request(host, "/mirrorz.json", "HEAD")
    assert response.status == 200
    assert response.content_type == "application/json"
    assert response.headers["access-control-allow-origin"] == "*"


def test_atom_feed_content_type(host):
    response = request(host, "/news/atom.xml", "HEAD")
    assert response.status == 200
    assert response.content_type.startswith("application/atom+xml")


def test_unknown_paths_get_the_generated_404_page(host):
    response = request(host, "/debian/no-such-file")
    assert response.status == 404
    if host.file("/var/www/speculum/404.html").exists:
        assert response.body == host.file("/var/www/speculum/404.html").content


def test_acme_challenge_is_served_despite_the_dot(host):
    directory = "/var/www/acme/.well-known/acme-challenge"
    host.check_output("install -d %s", directory)
    host.check_output("sh -c %s", f"echo speculum-test-token > {directory}/speculum-test")
    try:
        response = request(host, "/.well-known/acme-challenge/speculum-test")
        assert response.status == 200
        assert response.content_type.startswith("text/plain")
        assert response.text == "speculum-test-token\n"
        assert request(host, "/.well-known/other").status == 404
    finally:
        host.run("rm -f %s/speculum-test", directory)


def test_project_trees_are_not_redirected(host):
    assert request(host, "/debian/dists/bookworm/Release").status == 200
    bare = request(host, "/debian")
    assert bare.status == 301 and bare.headers["location"].endswith("/debian/")
    assert not bare.headers["location"].startswith("https:")
