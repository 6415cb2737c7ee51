""""How to use this mirror": the lines a user pastes, per package manager.

``instructions(project, site)`` returns a list of steps, each
``{"title", "file", "text", "note"}``: ``file`` is where ``text`` goes on the
user's machine (None for a command), ``note`` an optional hint. The project's
``usage`` field (schema.USAGE_FIELDS) picks the package manager; the URLs are
this host's, https when the site has it (package managers verify signatures,
so plain http works as well and is said so).
"""

from __future__ import annotations

from typing import Any

# Repository path inside the tree when the project does not give one.
DEFAULT_PATHS = {"pacman": "$repo/os/$arch", "apk": "latest-stable/main"}


def project_url(project: dict, site: dict) -> str:
    return (site.get("https_url") or site["http_url"]) + project["id"] + "/"


def rsync_url(project: dict, site: dict) -> str | None:
    if project.get("public_rsync") and site.get("rsync_url"):
        return site["rsync_url"] + project["id"] + "/"
    return None


def instructions(project: dict, site: dict) -> list[dict[str, Any]]:
    usage = project.get("usage") or {"type": "files"}
    url = project_url(project, site)
    repo_url = url + usage.get("path", DEFAULT_PATHS.get(usage["type"], "")).lstrip("/")
    steps = _STEPS[usage["type"]](project, site, usage, url, repo_url)
    rsync = rsync_url(project, site)
    if rsync:
        steps.append(_step("Mirror the whole tree with rsync", None,
                           f"rsync -rlptH --safe-links --delete-delay --delay-updates {rsync} ./{project['id']}/",
                           "Downstream mirrors: please sync at most a few times a day and not on the hour."))
    return steps


def _step(title: str, file: str | None, text: str, note: str | None = None) -> dict[str, Any]:
    return {"title": title, "file": file, "text": text, "note": note}


def _plain_http_note(site: dict) -> str | None:
    if site.get("https_url"):
        return f"Plain HTTP works too: replace {site['https_url']} with {site['http_url']}."
    return None


def _apt(project, site, usage, url, repo_url):
    suites, components = usage["suites"], usage.get("components") or ["main"]
    name = project["id"]
    deb822 = (f"Types: deb\nURIs: {repo_url}\nSuites: {' '.join(suites)}\n"
              f"Components: {' '.join(components)}\n")
    one_line = "\n".join(f"deb {repo_url} {suite} {' '.join(components)}" for suite in suites)
    return [
        _step("APT sources (deb822, Debian 12 and later)", f"/etc/apt/sources.list.d/{name}.sources",
              deb822, _plain_http_note(site)),
        _step("Or as one-line entries", "/etc/apt/sources.list", one_line,
              "Then run: sudo apt update"),
    ]


def _pacman(project, site, usage, url, repo_url):
    return [_step("pacman mirror list", "/etc/pacman.d/mirrorlist", f"Server = {repo_url}",
                  "Put the line above the other Server lines, then run: sudo pacman -Syyu")]


def _dnf(project, site, usage, url, repo_url):
    repo = usage.get("repo") or project["id"]
    text = (f"[{repo}]\nname={project['name']} ({site['name']})\nbaseurl={repo_url}\n"
            "enabled=1\ngpgcheck=1\n")
    return [_step("dnf / yum repository", f"/etc/yum.repos.d/{repo}.repo", text,
                  "Import the project's signing key, then run: sudo dnf makecache")]


def _zypper(project, site, usage, url, repo_url):
    repo = usage.get("repo") or project["id"]
    return [_step("zypper repository", None, f"sudo zypper addrepo --refresh {repo_url} {repo}",
                  _plain_http_note(site))]


def _apk(project, site, usage, url, repo_url):
    return [_step("apk repositories", "/etc/apk/repositories", repo_url,
                  "Replace the existing line of this repository, then run: apk update")]


def _files(project, site, usage, url, repo_url):
    return [_step("Download", None, f"curl -LO {repo_url}FILE\nwget {repo_url}FILE",
                  f"Browse the files at {repo_url}")]


_STEPS = {"apt": _apt, "pacman": _pacman, "dnf": _dnf, "zypper": _zypper, "apk": _apk, "files": _files}
