"""Importers: COSI's mirrors.json and legacy per-project shell scripts.

The COSI tests read the real file in place (../shared/data, never copied into
the repository) and skip when it is absent. The imported stages are run
through a real rsync daemon on 127.0.0.1, built with rsync.stage_argv exactly
as the runner builds them, to show the patterns reach rsync as intended.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import servers

from speculum import imports, rsync, schema

COSI_FILE = Path("/work/shared/data/cosi-go-mirror-mirrors.json")
LEGACY = Path(__file__).resolve().parents[1] / "data" / "legacy-scripts"
TODAY = dt.date(2026, 11, 21)
RSYNC = "/usr/bin/rsync"
KEY_ORDER = ["name", "category", "description", "homepage", "official", "enabled", "sync",
             "verify", "public_rsync", "alternative", "comments"]

needs_rsync = pytest.mark.skipif(not Path(RSYNC).exists(), reason="needs rsync (make setup)")


@pytest.fixture(scope="module")
def cosi_data() -> dict:
    if not COSI_FILE.exists():
        pytest.skip(f"{COSI_FILE} is absent")
    return json.loads(COSI_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def cosi(cosi_data) -> imports.ImportResult:
    return imports.import_cosi(cosi_data, today=TODAY)


@pytest.fixture(scope="module")
def legacy() -> imports.ImportResult:
    return imports.import_scripts(LEGACY / "scripts", LEGACY / "units", today=TODAY)


def notes_of(result: imports.ImportResult, pid: str) -> str:
    return "\n".join(n for n in result.notes if n.startswith(f"{pid}: "))


def mentions(text: str, item: str) -> bool:
    """``item`` occurs in ``text`` as a whole option (--delete does not match --delete-delay)."""
    return re.search(r"(?<![\w.~*/-])" + re.escape(item) + r"(?![\w.~*/=-])", text) is not None


def stage_args(record: dict) -> list[str]:
    return [arg for stage in record["sync"].get("stages", [[]]) for arg in stage]


def cosi_option_items(text: str) -> list[str]:
    """The options of a COSI pass as written, ``--exclude X`` joined to ``--exclude=X``."""
    tokens = shlex.split(text)
    items = []
    while tokens:
        token = tokens.pop(0)
        if token in ("--exclude", "--include", "--filter", "--timeout") and tokens:
            token = f"{token}={tokens.pop(0)}"
        items.append(token)
    return items


# --- COSI: the whole real file --------------------------------------------------------------

def test_every_cosi_mirror_becomes_a_valid_project(cosi, cosi_data):
    assert len(cosi_data["mirrors"]) == 49
    assert len(cosi.projects) == 49
    assert schema.validate(cosi.projects, {name: "x" for name in cosi.secrets}) == []
    # normalize() accepts it too (what mirrorctl and the roles run)
    assert len(schema.normalize(cosi.projects)) == 49


def test_cosi_records_are_yaml_ready_with_keys_in_order(cosi):
    for pid, record in cosi.projects.items():
        assert schema.PROJECT_ID.fullmatch(pid)
        keys = list(record)
        assert keys == [k for k in KEY_ORDER if k in record], pid
        assert record["enabled"] is True
        assert record["comments"] == ["Imported from COSI mirrors.json on 2026-11-21"]
        assert record["description"]
        # plain data only: survives a JSON round trip unchanged
        assert json.loads(json.dumps(record)) == record


def test_cosi_notes_name_every_dropped_option(cosi, cosi_data):
    checked = 0
    for key, mirror in cosi_data["mirrors"].items():
        if "rsync" not in mirror:
            continue
        pid = key.lower()
        record, notes = cosi.projects[pid], notes_of(cosi, pid)
        kept = stage_args(record)
        for field in ("options", "second", "third"):
            for item in cosi_option_items(mirror["rsync"].get(field, "")):
                assert item in kept or mentions(notes, item), (pid, field, item)
                checked += 1
    assert checked > 300


def test_cosi_dropped_options_are_explained(cosi):
    alma = notes_of(cosi, "almalinux")
    assert "dropped rsync options -avzrHy" in alma
    assert "--ignore-errors (forbidden in stages" in alma
    assert "--exclude=.~tmp~ (site defaults exclude and protect .~tmp~/)" in alma
    assert "--timeout=300 (site defaults" in notes_of(cosi, "videolan")
    assert any(n.startswith("mirrors.json: an imported stage holds only") for n in cosi.notes)
    assert any(n.startswith("mirrors.json: top-level 'torrents'") for n in cosi.notes)


def test_no_quote_characters_or_runner_options_reach_a_stage(cosi):
    for pid, record in cosi.projects.items():
        for arg in stage_args(record):
            assert not set(arg) & {"'", '"'}, (pid, arg)
            assert not arg.startswith(("--delete", "--max-delete", "--password-file",
                                       "--ignore-errors", "-a", "-v", "--no-perms")), (pid, arg)


# --- COSI: spot checks ---------------------------------------------------------------------------

def test_archlinux(cosi):
    arch = cosi.projects["archlinux"]
    assert arch["name"] == "Arch Linux"
    assert arch["category"] == "Distributions"
    assert arch["official"] is True and arch["public_rsync"] is True
    assert arch["alternative"] == "http://mirrors.rit.edu/archlinux/"
    assert arch["sync"] == {"method": "rsync", "upstream": "rsync://mirrors.rit.edu/archlinux/",
                            "syncs_per_day": 12}
    # COSI's archlinux options carry no filter: nothing project-specific is left
    assert stage_args(arch) == []


def test_two_pass_ubuntu_keeps_its_excludes_in_the_first_stage(cosi):
    sync = cosi.projects["ubuntu"]["sync"]
    assert sync["upstream"] == "rsync://mirrors.rit.edu/ubuntu/"
    assert sync["stages"] == [["--exclude=Packages*", "--exclude=Sources*",
                               "--exclude=Release*", "--exclude=InRelease"], []]
    assert cosi.projects["linuxmint-packages"]["sync"]["stages"] == sync["stages"]


def test_filters_lose_their_shell_quoting(cosi):
    assert cosi.projects["voidlinux"]["sync"]["stages"] == [
        ["--exclude=.*", "--exclude=*.lock", "--exclude=*.XXXX*"]]
    assert cosi.projects["gentoo"]["sync"]["stages"] == [["--exclude=/releases/historical"]]
    assert cosi.projects["photonvision"]["sync"]["stages"] == [["--exclude=snapshots"]]


def test_eclipse_third_pass_after_the_deleting_pass_is_folded(cosi):
    assert cosi.projects["eclipse"]["sync"]["stages"] == [["--include=TIME", "--exclude=*"], []]
    notes = notes_of(cosi, "eclipse")
    assert "third rsync pass ('third') ['--include=ztime', '--include=ztime/*', '--exclude=*'] not imported" in notes
    assert "first rsync pass ('options') was not recursive" in notes


def test_password_files_become_vault_secrets(cosi):
    assert sorted(cosi.secrets) == ["blender_rsync_password", "voidlinux_rsync_password"]
    void = cosi.projects["voidlinux"]["sync"]
    assert (void["user"], void["password_secret"]) == ("vmirror", "voidlinux_rsync_password")
    assert "'voidlinux.secret') to the vault as speculum_secrets.voidlinux_rsync_password" \
        in notes_of(cosi, "voidlinux")
    blender = cosi.projects["blender"]["sync"]
    assert (blender["user"], blender["password_secret"]) == ("clarksonedu", "blender_rsync_password")


def test_projects_that_never_deleted_are_flagged(cosi):
    for pid in ("blender", "photonvision"):
        assert "COSI never deleted files here" in notes_of(cosi, pid)
    assert "never deleted" not in notes_of(cosi, "ubuntu")


def test_ipv4_is_kept_in_long_form(cosi):
    for pid in ("centos", "opensuse", "wikimedia"):
        assert cosi.projects[pid]["sync"]["stages"] == [["--ipv4"]]
        assert "kept -4 as --ipv4" in notes_of(cosi, pid)


def test_script_projects(cosi):
    assert cosi.projects["kicad"]["sync"] == {
        "method": "script", "syncs_per_day": 4,
        "command": ["/bin/python3", "scripts/kicad/kicad_sync.py"]}
    assert cosi.projects["debian"]["sync"]["command"] == ["./scripts/archvsync/bin/ftpsync", "sync:all"]
    assert "relative to COSI's repository" in notes_of(cosi, "debian")
    raspbian = cosi.projects["raspbian"]["sync"]
    assert raspbian["command"][:2] == ["/bin/sh", "-c"]
    assert "http://${MIRROR}/raspbian" in raspbian["command"][2]
    assert "${mirror}" not in raspbian["command"][2]
    assert raspbian["env"] == {"MIRROR": "mirror.umd.edu"}
    assert raspbian["syncs_per_day"] == 3
    notes = notes_of(cosi, "raspbian")
    assert "shell command line" in notes and "renamed 'MIRROR'" in notes
    assert "/storage/ paths" in notes


def test_static_projects(cosi):
    temple = cosi.projects["templeos"]
    assert temple["sync"] == {"method": "static"}
    assert temple["description"] == "This project is no longer receiving updates."
    assert temple["category"] == "Software"
    torrents = cosi.projects["torrents"]
    assert torrents["public_rsync"] is False and torrents["category"] == "Miscellaneous"


def test_ids_are_lowercased_with_a_note(cosi):
    assert "RebornOS" not in cosi.projects and "rebornos" in cosi.projects
    assert cosi.projects["rebornos-arm"]["sync"] == {"method": "static"}
    assert "renamed from COSI id 'RebornOS-ARM'" in notes_of(cosi, "rebornos-arm")
    assert "'/storage/RebornOS-Arm'" in notes_of(cosi, "rebornos-arm")
    assert "renamed from COSI id 'RebornOS'" in notes_of(cosi, "rebornos")


def test_sync_file_becomes_verify(cosi):
    assert cosi.projects["alpine"]["verify"] == {"file": "last-updated", "format": "unix"}
    assert "verify" not in cosi.projects["archlinux"]


def test_fields_without_a_speculum_home_are_noted(cosi):
    assert "debian-archive: homepage '' is not an http(s) URL" in notes_of(cosi, "debian-archive")
    assert "homepage" not in cosi.projects["debian-archive"]
    assert "color '#7851a9'" in notes_of(cosi, "almalinux")
    assert "torrents '/storage/almalinux/*/isos/*/'" in notes_of(cosi, "almalinux")
    assert "'/storage/artix-linux/repos'" in notes_of(cosi, "artix-linux")


# --- COSI: synthetic records for the rules the real file does not exercise ----------------------

def rsync_mirror(options="-avz", **rsync_fields) -> dict:
    return {"name": "Example", "page": "Software", "official": False,
            "homepage": "https://example.org/", "color": "#000000", "publicRsync": True,
            "rsync": {"host": "up.example.org", "src": "ex", "dest": "/storage/ex",
                      "options": options, "syncs_per_day": 4, **rsync_fields}}


@pytest.mark.parametrize("given, chosen", [(7, 6), (25, 24), (500, 288), (1.5, 1), (5, 5), (11, 10)])
def test_syncs_per_day_snaps_to_the_nearest_valid_value(given, chosen):
    result = imports.import_cosi({"mirrors": {"ex": rsync_mirror(syncs_per_day=given)}})
    assert result.projects["ex"]["sync"]["syncs_per_day"] == chosen
    assert (f"using {chosen}" in notes_of(result, "ex")) == (given != chosen)
    assert schema.validate(result.projects) == []


def test_synthetic_rsync_options():
    options = ("-avzc4 --port=8873 -f'- *.iso' --exclude \"a b\" --bwlimit 5000 --frobnicate "
               "--exclude-from=/etc/mirror/ex.excludes --password-file=/etc/ex.secret --inplace")
    result = imports.import_cosi({"mirrors": {"Ex_Ample": rsync_mirror(options)}})
    record = result.projects["ex_ample"]
    assert record["sync"]["upstream"] == "rsync://up.example.org:8873/ex/"
    assert record["sync"]["stages"] == [["--checksum", "--ipv4", "--filter=- *.iso",
                                         "--exclude=a b", "--bwlimit=5000", "--frobnicate"]]
    notes = notes_of(result, "ex_ample")
    assert "kept --frobnicate, an option the importer does not know; review it" in notes
    assert "--exclude-from=/etc/mirror/ex.excludes (names a file or program of the old host" in notes
    assert "--inplace (forbidden in stages" in notes
    assert "password file '/etc/ex.secret' but no rsync user" in notes
    assert "password_secret" not in record["sync"] and result.secrets == []
    assert schema.validate(result.projects) == []


def test_colliding_ids_and_bad_urls():
    mirrors = {"Foo": rsync_mirror(), "foo": rsync_mirror()}
    mirrors["Foo"]["alternative"] = "ftp://example.org/"
    result = imports.import_cosi({"mirrors": mirrors})
    assert list(result.projects) == ["foo", "foo-2"]
    assert "renamed from COSI id 'foo'" in notes_of(result, "foo-2")
    assert "renamed from COSI id 'Foo'" in notes_of(result, "foo")
    assert "alternative 'ftp://example.org/' is not an http(s) URL" in notes_of(result, "foo")
    assert schema.validate(result.projects) == []


def test_a_record_without_a_method_is_noted_not_imported():
    broken = {"name": "Nothing", "page": "Software", "official": False, "homepage": "",
              "color": "#000000", "publicRsync": True}
    result = imports.import_cosi({"mirrors": {"nothing": broken, "ex": rsync_mirror()}})
    assert list(result.projects) == ["ex"]
    assert "nothing: needs exactly one of rsync, script, static" in "\n".join(result.notes)


# --- legacy scripts ----------------------------------------------------------------------------------

def test_legacy_scripts_import(legacy):
    assert sorted(legacy.projects) == ["archlinux", "gentoo", "slackware", "ubuntu"]
    assert schema.validate(legacy.projects, {name: "x" for name in legacy.secrets}) == []
    assert legacy.projects["ubuntu"]["sync"] == {
        "method": "rsync", "upstream": "rsync://mirrors.example.edu/ubuntu/",
        "stages": [["--exclude=Packages*", "--exclude=Sources*", "--exclude=Release*",
                    "--exclude=InRelease"], []],
        "syncs_per_day": 4}
    assert legacy.projects["archlinux"]["sync"] == {
        "method": "rsync", "upstream": "rsync://rsync.archlinux.example.org/archlinux/",
        "stages": [["--exclude=/iso/", "--exclude=*.part"]], "syncs_per_day": 12}
    assert legacy.projects["gentoo"]["sync"] == {
        "method": "rsync", "upstream": "rsync://masterdistfiles.example.org/gentoo/distfiles/",
        "stages": [["--ipv4", "--exclude=/releases/historical"]], "syncs_per_day": 1,
        "user": "mirroruser", "password_secret": "gentoo_rsync_password"}
    assert legacy.secrets == ["gentoo_rsync_password"]
    assert legacy.projects["slackware"]["sync"] == {
        "method": "rsync", "upstream": "rsync://mirror.example.net/slackware/", "syncs_per_day": 4}
    for record in legacy.projects.values():
        assert record["enabled"] is True
        assert record["comments"][0].startswith("Imported from legacy script ")


def test_legacy_scripts_notes(legacy):
    fedora = notes_of(legacy, "fedora")
    assert "fedora.sh line 4 not imported, cannot parse it (shell control flow (for))" in fedora
    assert "fedora.sh has no rsync command the importer can read; not imported" in fedora
    assert "fedora" not in legacy.projects
    assert "no timer slackware.timer" in notes_of(legacy, "slackware")
    assert "slackware.sh line 8 not imported, cannot parse it (command substitution)" \
        in notes_of(legacy, "slackware")
    assert "timer centos.timer has no script centos.sh" in notes_of(legacy, "centos")
    assert "centos" not in legacy.projects
    assert "unknown variable ${EXTRA_OPTS}" in notes_of(legacy, "gentoo")
    assert "--password-file=/etc/mirror/gentoo.secret (the password goes to the vault" \
        in notes_of(legacy, "gentoo")
    ubuntu = notes_of(legacy, "ubuntu")
    assert "${options} holds quote characters" in ubuntu
    assert "output redirection >> /var/log/mirror/ubuntu.log 2>&1 dropped" in ubuntu
    assert "line 15 wrote a local timestamp" in ubuntu
    assert "--delete, --delete-after (forbidden in stages" in ubuntu
    assert "--timeout=600 (site defaults" in ubuntu  # from globalvars' RSYNC_OPTS


def test_legacy_scripts_without_units_dir(tmp_path):
    result = imports.import_scripts(LEGACY / "scripts")
    assert {p["sync"]["syncs_per_day"] for p in result.projects.values()} == {4}
    assert any(n.startswith("legacy scripts: no units directory given") for n in result.notes)


def write_script(directory: Path, name: str, body: str) -> None:
    (directory / "scripts").mkdir(exist_ok=True)
    (directory / "units").mkdir(exist_ok=True)
    (directory / "scripts" / f"{name}.sh").write_text("#!/bin/sh\n" + body)


@pytest.mark.parametrize("timer, per_day, note", [
    ("OnCalendar=*:0/7\n", 240, "216 is not a valid syncs_per_day"),
    ("OnCalendar=*-*-* 0/7:00\n", 4, "not evenly spaced"),
    ("OnUnitActiveSec=7h\n", 3, "3.42857 is not a valid syncs_per_day"),
    ("OnUnitActiveSec=30min\n", 48, None),
    ("OnCalendar=weekly\n", 1, "does not run every day"),
    ("OnCalendar=*-*-* 03:00\nOnCalendar=\nOnCalendar=*-*-* 00/8:00\n", 3, None),
    ("OnCalendar=*-*-* 03:00 Mars/Olympus_Mons foo\n", 4, "cannot read"),
])
def test_timer_schedules(tmp_path, timer, per_day, note):
    write_script(tmp_path, "ex", "rsync -a --delete up.example.org::ex /srv/ex\n")
    (tmp_path / "units" / "ex.timer").write_text(f"[Unit]\nDescription=x\n\n[Timer]\n{timer}")
    result = imports.import_scripts(tmp_path / "scripts", tmp_path / "units")
    assert result.projects["ex"]["sync"]["syncs_per_day"] == per_day
    if note:
        assert note in notes_of(result, "ex")
    else:
        assert "timer" not in notes_of(result, "ex")
    assert schema.validate(result.projects) == []


def test_timer_matched_through_its_unit_and_variables_with_defaults(tmp_path):
    write_script(tmp_path, "ex", 'HOST=up.example.org\nexport RSYNC_PASSWORD="s3cret"\n'
                 '/usr/bin/rsync -rt --delete --exclude="${PATTERN:-*.tmp}" '
                 'mirror@${HOST}::ex/ /srv/ex/ ; logger done\n')
    (tmp_path / "units" / "mirror-ex.timer").write_text("[Timer]\nUnit=ex.service\nOnCalendar=hourly\n")
    result = imports.import_scripts(tmp_path / "scripts", tmp_path / "units")
    sync = result.projects["ex"]["sync"]
    assert sync["stages"] == [["--exclude=*.tmp"]]
    assert sync["syncs_per_day"] == 24
    assert (sync["user"], sync["password_secret"]) == ("mirror", "ex_rsync_password")
    notes = notes_of(result, "ex")
    assert "commands after rsync not imported: logger done" in notes
    assert "s3cret" not in "\n".join(result.notes)  # a password never leaks into a note
    assert schema.validate(result.projects, {"ex_rsync_password": "x"}) == []


@pytest.mark.parametrize("expression, count", [
    ("*-*-* 00/6:00:00", 4), ("*-*-* 03:30:00", 1), ("hourly", 24), ("daily", 1),
    ("*:0/15", 96), ("00/2:00", 12), ("*-*-* 0,12:00", 2), ("*-*-* 08..20:00:00", 13),
    ("minutely", 1440), ("Mon..Fri *-*-* 04:00", 1), ("*-*-* *:00:00 UTC", 24),
])
def test_calendar_counts(expression, count):
    assert len(imports.calendar_times(expression)[0]) == count


def test_calendar_remarks_and_errors():
    assert imports.calendar_runs_per_day(["*-*-* 03:30:00", "*-*-* 15:30:00"]) == (2, [])
    count, remarks = imports.calendar_runs_per_day(["*-*-* 00:00", "*-*-* 01:00"])
    assert count == 2 and "not evenly spaced" in remarks[0]
    assert "does not run every day" in imports.calendar_runs_per_day(["weekly"])[1][0]
    for bad in ("*-*-* 25:00", "*-*-* 1:2:3:4", "soon", "*-*-* 0/0:00"):
        with pytest.raises(ValueError):
            imports.calendar_times(bad)
    assert imports.timespan_seconds("1h 30min") == 5400
    assert imports.timespan_seconds("90") == 90
    assert imports.nearest_syncs_per_day(7) == 6


# --- the imported stages against a real rsync daemon ------------------------------------------------

TREE = {
    # Debian/Ubuntu-shaped archive
    "dists/noble/Release": b"Origin: Ubuntu\n",
    "dists/noble/Release.gpg": b"sig\n",
    "dists/noble/InRelease": b"signed Release\n",
    "dists/noble/main/binary-amd64/Packages.gz": b"\x1f\x8b packages",
    "dists/noble/main/source/Sources.xz": b"sources",
    "dists/noble/main/i18n/Translation-en": b"translations\n",
    "pool/main/h/hello/hello_2.10-3_amd64.deb": os.urandom(2048),
    # Void-shaped repository
    "current/x86_64-repodata": b"repodata",
    "current/.hidden-index": b"dotfile",
    "current/x86_64-repodata.lock": b"lock",
    "current/otter-1.0_1.x86_64.xbps.XXXXab12": b"partial upload",
    "current/otter-1.0_1.x86_64.xbps": os.urandom(1024),
    # Gentoo-shaped releases
    "releases/historical/install-x86-2004.iso": b"old iso",
    "releases/amd64/install-amd64-minimal.iso": b"new iso",
    "distfiles/historical/keep.tar.gz": b"anchored pattern must not hit this",
    # Maven-shaped archive (photonvision)
    "org/photonvision/snapshots/lib-SNAPSHOT.jar": b"snapshot",
    "org/photonvision/releases/lib-2025.1.jar": b"release",
    # Eclipse markers
    "TIME": b"1763700000\n",
    "ztime/stamp": b"done\n",
    "readme.txt": b"hello\n",
    # a half-written upstream transfer: the site defaults keep it out everywhere
    ".~tmp~/half-written.iso": b"partial",
}

EVERYWHERE_ABSENT = [".~tmp~/half-written.iso"]
CASES = {
    ("cosi", "ubuntu", 0): (
        ["--exclude=Packages*", "--exclude=InRelease"],
        ["dists/noble/Release", "dists/noble/Release.gpg", "dists/noble/InRelease",
         "dists/noble/main/binary-amd64/Packages.gz", "dists/noble/main/source/Sources.xz"],
        ["dists/noble/main/i18n/Translation-en", "pool/main/h/hello/hello_2.10-3_amd64.deb",
         "current/.hidden-index", "readme.txt"]),
    ("cosi", "voidlinux", 0): (
        ["--exclude=.*", "--exclude=*.lock", "--exclude=*.XXXX*"],
        ["current/.hidden-index", "current/x86_64-repodata.lock",
         "current/otter-1.0_1.x86_64.xbps.XXXXab12"],
        ["current/x86_64-repodata", "current/otter-1.0_1.x86_64.xbps", "dists/noble/Release"]),
    ("cosi", "gentoo", 0): (
        ["--exclude=/releases/historical"],
        ["releases/historical/install-x86-2004.iso"],
        ["releases/amd64/install-amd64-minimal.iso", "distfiles/historical/keep.tar.gz"]),
    ("cosi", "photonvision", 0): (
        ["--exclude=snapshots"],
        ["org/photonvision/snapshots/lib-SNAPSHOT.jar"],
        ["org/photonvision/releases/lib-2025.1.jar", "readme.txt"]),
    ("cosi", "eclipse", 0): (
        ["--include=TIME", "--exclude=*"],
        ["ztime/stamp", "readme.txt", "pool/main/h/hello/hello_2.10-3_amd64.deb"],
        ["TIME"]),
    ("scripts", "ubuntu", 0): (
        ["--exclude=Packages*"],
        ["dists/noble/Release", "dists/noble/main/binary-amd64/Packages.gz"],
        ["dists/noble/main/i18n/Translation-en", "pool/main/h/hello/hello_2.10-3_amd64.deb"]),
    ("scripts", "gentoo", 0): (
        ["--ipv4", "--exclude=/releases/historical"],
        ["releases/historical/install-x86-2004.iso"],
        ["releases/amd64/install-amd64-minimal.iso", "distfiles/historical/keep.tar.gz"]),
}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    if not Path(RSYNC).exists():
        pytest.skip("needs rsync (make setup)")
    root = tmp_path_factory.mktemp("import-upstream")
    with servers.rsync_daemon(root, servers.write_tree(root / "tree", TREE), "unused") as served:
        yield served["url"] + "/tree/"


def run_stage(stage: list[str], upstream: str, target: Path, *, last: bool = True) -> None:
    argv = rsync.stage_argv(rsync=RSYNC, options=list(rsync.DEFAULT_OPTIONS), stage=stage,
                            last=last, max_delete=100, upstream=upstream, target=str(target))
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, (argv, proc.stderr)


def present(target: Path) -> set[str]:
    return {str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()}


@needs_rsync
@pytest.mark.parametrize("case", list(CASES), ids=["-".join(map(str, c)) for c in CASES])
def test_imported_stage_reaches_rsync_as_intended(case, daemon, tmp_path, request):
    source, pid, number = case
    result = request.getfixturevalue("cosi" if source == "cosi" else "legacy")
    stage = result.projects[pid]["sync"]["stages"][number]
    patterns, absent, kept = CASES[case]
    assert all(p in stage for p in patterns), stage
    target = tmp_path / pid
    run_stage(stage, daemon, target)
    files = present(target)
    assert files, "nothing was transferred"
    assert not files & set(absent + EVERYWHERE_ABSENT), sorted(files & set(absent + EVERYWHERE_ABSENT))
    assert set(kept) <= files, sorted(set(kept) - files)


@needs_rsync
def test_imported_two_stage_sync_publishes_indices_last(cosi, daemon, tmp_path):
    stages = cosi.projects["ubuntu"]["sync"]["stages"]
    target = tmp_path / "ubuntu"
    (target / "pool").mkdir(parents=True)
    (target / "pool" / "stale.deb").write_bytes(b"gone upstream")
    run_stage(stages[0], daemon, target, last=False)
    after_first = present(target)
    assert "pool/stale.deb" in after_first  # stage 1 never deletes
    assert "dists/noble/InRelease" not in after_first
    assert "pool/main/h/hello/hello_2.10-3_amd64.deb" in after_first
    run_stage(stages[1], daemon, target, last=True)
    after_last = present(target)
    assert "pool/stale.deb" not in after_last  # the last stage deletes
    assert {"dists/noble/InRelease", "dists/noble/main/binary-amd64/Packages.gz"} <= after_last
    assert after_last == set(TREE) - set(EVERYWHERE_ABSENT)
