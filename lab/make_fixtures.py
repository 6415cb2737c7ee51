#!/usr/bin/env python3
"""Generate the fixture trees served by the lab's rsync upstream.

Three small trees (a few MB in all) shaped like the real projects Speculum
mirrors:

  <root>/debian/     dists/bookworm/{Release,InRelease,Release.gpg}, per-arch
                     Packages{,.gz,.xz} listing pool/main/.../*.deb, and
                     ftpsync-style traces in project/trace/
  <root>/archlinux/  core/ and extra/ repos (*.pkg.tar.zst + .sig, the
                     <repo>.db/.files symlinks to their .tar.gz), iso/latest/,
                     lastsync and lastupdate
  <root>/software/   a plain release tree: README, releases/<ver>/ tarballs
                     with SHA256SUMS, a symlink, a file name with a space, a
                     deeply nested directory and a dotfile

Every file's content is deterministic (seeded pseudo-random bytes, fixed
archive timestamps), except the freshness markers, which carry the time of
generation: debian/project/trace/*, debian/dists/bookworm/{Release,InRelease,
Release.gpg} (Date:), archlinux/lastsync, archlinux/lastupdate.

A tree that already exists is left alone (use --force to rebuild it). Each
tree is built in a temporary directory and renamed into place; the file
<root>/.fixtures-complete is written last.

Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import email.utils
import gzip
import hashlib
import io
import lzma
import os
import random
import shutil
import sys
import tarfile
import time
from pathlib import Path

GENERATOR = "speculum lab/make_fixtures.py 1"
# Timestamp inside generated archives (.deb members, tarballs, Arch dbs), so
# that their bytes do not depend on when they were generated.
ARCHIVE_EPOCH = 1700000000  # 2023-11-14 22:13:20 UTC
COMPLETE_MARKER = ".fixtures-complete"
UPSTREAM_HOST = "upstream.lab"

# (binary package, source package, version, section)
DEBIAN_PACKAGES = [
    ("acl", "acl", "2.3.1-3", "utils"),
    ("adduser", "adduser", "3.134", "admin"),
    ("apt", "apt", "2.6.1", "admin"),
    ("base-files", "base-files", "12.4+deb12u8", "admin"),
    ("bash", "bash", "5.2.15-2+b7", "shells"),
    ("bzip2", "bzip2", "1.0.8-5+b1", "utils"),
    ("ca-certificates", "ca-certificates", "20230311", "misc"),
    ("coreutils", "coreutils", "9.1-1", "utils"),
    ("curl", "curl", "7.88.1-10+deb12u8", "web"),
    ("dash", "dash", "0.5.12-2", "shells"),
    ("debianutils", "debianutils", "5.7-0.5~deb12u1", "utils"),
    ("diffutils", "diffutils", "3.8-4", "utils"),
    ("dpkg", "dpkg", "1.21.22", "admin"),
    ("findutils", "findutils", "4.9.0-4", "utils"),
    ("grep", "grep", "3.8-5", "utils"),
    ("gzip", "gzip", "1.12-1", "utils"),
    ("hostname", "hostname", "3.23+nmu1", "admin"),
    ("less", "less", "590-2.1~deb12u2", "text"),
    ("libc6", "glibc", "2.36-9+deb12u9", "libs"),
    ("libssl3", "openssl", "3.0.15-1~deb12u1", "libs"),
    ("libzstd1", "libzstd", "1.5.4+dfsg2-5", "libs"),
    ("nano", "nano", "7.2-1+deb12u1", "editors"),
    ("nginx", "nginx", "1.22.1-9", "httpd"),
    ("openssl", "openssl", "3.0.15-1~deb12u1", "utils"),
    ("perl", "perl", "5.36.0-7+deb12u1", "perl"),
    ("python3", "python3-defaults", "3.11.2-1+b1", "python"),
    ("rsync", "rsync", "3.2.7-1", "net"),
    ("sed", "sed", "4.9-1", "utils"),
    ("tar", "tar", "1.34+dfsg-1.2+deb12u1", "utils"),
    ("tzdata", "tzdata", "2024a-0+deb12u1", "localization"),
    ("xz-utils", "xz-utils", "5.4.1-0.2", "utils"),
    ("zstd", "libzstd", "1.5.4+dfsg2-5", "utils"),
]

# (name, pkgver-pkgrel, arch)
ARCH_CORE = [
    ("acl", "2.3.2-1", "x86_64"),
    ("attr", "2.5.2-1", "x86_64"),
    ("bash", "5.2.037-1", "x86_64"),
    ("bzip2", "1.0.8-6", "x86_64"),
    ("ca-certificates", "20240618-1", "any"),
    ("coreutils", "9.5-2", "x86_64"),
    ("curl", "8.11.0-1", "x86_64"),
    ("filesystem", "2024.11.21-1", "any"),
    ("findutils", "4.10.0-2", "x86_64"),
    ("gawk", "5.3.1-1", "x86_64"),
    ("glibc", "2.40+r16+gaa533d58ff-2", "x86_64"),
    ("grep", "3.11-1", "x86_64"),
    ("gzip", "1.13-4", "x86_64"),
    ("linux", "6.11.9.arch1-1", "x86_64"),
    ("openssl", "3.4.0-1", "x86_64"),
    ("pacman", "7.0.0.r3.g7736133-1", "x86_64"),
    ("pacman-mirrorlist", "20241101-1", "any"),
    ("sed", "4.9-3", "x86_64"),
    ("systemd", "256.8-1", "x86_64"),
    ("tar", "1.35-2", "x86_64"),
    ("zstd", "1.5.6-1", "x86_64"),
]
ARCH_EXTRA = [
    ("certbot", "2.11.0-3", "any"),
    ("nginx", "1.26.2-1", "x86_64"),
    ("python", "3.12.7-1", "x86_64"),
    ("rsync", "3.3.0-2", "x86_64"),
    ("vim", "9.1.0866-1", "x86_64"),
]
ARCH_ISO_VERSION = "2024.11.01"

SOFTWARE_NAME = "speculum-demo"
SOFTWARE_RELEASES = {"1.0": ("tar.gz",), "2.0": ("tar.gz", "tar.xz")}


# --------------------------------------------------------------------------
# helpers


def rng_for(*key: object) -> random.Random:
    """A PRNG seeded from a stable string: same key, same bytes, any run."""
    return random.Random("speculum-fixture:" + "/".join(str(k) for k in key))


def blob(size: int, *key: object) -> bytes:
    return rng_for(*key).randbytes(size)


def write(path: Path, data: bytes | str, mode: int = 0o644) -> None:
    """Write a file atomically (tmp + rename) with world-readable mode."""
    if isinstance(data, str):
        data = data.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def gzip_bytes(data: bytes) -> bytes:
    buf = io.BytesIO()
    # mtime=0 and no file name: the .gz is byte-for-byte reproducible
    with gzip.GzipFile(
        filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9
    ) as gz:
        gz.write(data)
    return buf.getvalue()


def xz_bytes(data: bytes) -> bytes:
    return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64)


def tar_bytes(members: list[tuple[str, bytes, int]]) -> bytes:
    """An uncompressed tar of (name, content, mode); directories implied."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        seen_dirs: set[str] = set()
        for name, content, mode in members:
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in seen_dirs:
                    seen_dirs.add(d)
                    info = tarfile.TarInfo(d + "/")
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    info.mtime = ARCHIVE_EPOCH
                    info.uname = info.gname = "root"
                    tar.addfile(info)
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = mode
            info.mtime = ARCHIVE_EPOCH
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def ar_bytes(members: list[tuple[str, bytes]]) -> bytes:
    """A System V ar archive, as dpkg writes .deb files."""
    out = bytearray(b"!<arch>\n")
    for name, content in members:
        header = (
            f"{name:<16}{ARCHIVE_EPOCH:<12}{0:<6}{0:<6}{'100644':<8}{len(content):<10}`\n"
        ).encode()
        assert len(header) == 60
        out += header + content
        if len(content) % 2:
            out += b"\n"
    return bytes(out)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324 - archive metadata, not security


def fake_signature(*key: object) -> str:
    """An ASCII-armoured block of seeded bytes that looks like a signature."""
    raw = base64.b64encode(blob(566, "sig", *key)).decode()
    lines = [raw[i : i + 64] for i in range(0, len(raw), 64)]
    return (
        "-----BEGIN PGP SIGNATURE-----\n\n"
        + "\n".join(lines)
        + "\n=FAKE\n-----END PGP SIGNATURE-----\n"
    )


def gnu_date(t: dt.datetime) -> str:
    """`LC_ALL=POSIX date -u` output, as in ftpsync's trace first line."""
    return f"{t:%a %b} {t.day:2d} {t:%H:%M:%S} UTC {t.year}"


def rfc2822(t: dt.datetime) -> str:
    """`date -u -R` output: Sat, 21 Nov 2026 05:00:00 +0000."""
    return email.utils.format_datetime(t)


def release_date(t: dt.datetime) -> str:
    """Date format of Debian Release files."""
    return f"{t:%a, %d %b %Y %H:%M:%S} UTC"


# --------------------------------------------------------------------------
# debian


def pool_letter(source: str) -> str:
    return source[:4] if source.startswith("lib") else source[0]


def build_debian(tree: Path, now: dt.datetime) -> None:
    stanzas = []
    for pkg, source, version, section in DEBIAN_PACKAGES:
        r = rng_for("deb", pkg)
        payload_size = r.randrange(4_000, 60_000)
        installed_kb = payload_size // 1024 + r.randrange(8, 400)
        control = (
            f"Package: {pkg}\n"
            + (f"Source: {source}\n" if source != pkg else "")
            + f"Version: {version}\n"
            "Architecture: amd64\n"
            "Maintainer: Speculum Lab <lab@upstream.lab>\n"
            f"Installed-Size: {installed_kb}\n"
            f"Section: {section}\n"
            "Priority: optional\n"
            f"Description: {pkg} (Speculum lab fixture)\n"
            " Synthetic package generated by lab/make_fixtures.py; its payload\n"
            " is seeded pseudo-random bytes.\n"
        )
        control_tar = xz_bytes(tar_bytes([("./control", control.encode(), 0o644)]))
        data_tar = xz_bytes(
            tar_bytes(
                [
                    (
                        f"./usr/share/{pkg}/payload.bin",
                        blob(payload_size, "deb", pkg, version),
                        0o644,
                    )
                ]
            )
        )
        deb = ar_bytes(
            [
                ("debian-binary", b"2.0\n"),
                ("control.tar.xz", control_tar),
                ("data.tar.xz", data_tar),
            ]
        )
        filename = f"pool/main/{pool_letter(source)}/{source}/{pkg}_{version}_amd64.deb"
        write(tree / filename, deb)
        stanzas.append(
            control.replace(
                "Priority: optional\n",
                "Priority: optional\n"
                f"Filename: {filename}\n"
                f"Size: {len(deb)}\n"
                f"MD5sum: {md5(deb)}\n"
                f"SHA256: {sha256(deb)}\n",
            )
        )

    packages = "\n".join(stanzas).encode()
    bdir = tree / "dists/bookworm/main/binary-amd64"
    write(bdir / "Packages", packages)
    write(bdir / "Packages.gz", gzip_bytes(packages))
    write(bdir / "Packages.xz", xz_bytes(packages))
    write(
        bdir / "Release",
        "Archive: stable\nOrigin: Debian\nLabel: Debian\nVersion: 12.8\n"
        "Acquire-By-Hash: no\nComponent: main\nArchitecture: amd64\n",
    )
    write_debian_markers(tree, now)


def write_debian_markers(tree: Path, now: dt.datetime) -> None:
    """Release/InRelease (Date:) and the ftpsync traces: time of generation."""
    dists = tree / "dists/bookworm"
    indexed = [
        "main/binary-amd64/Packages",
        "main/binary-amd64/Packages.gz",
        "main/binary-amd64/Packages.xz",
        "main/binary-amd64/Release",
    ]
    files = [(name, (dists / name).read_bytes()) for name in indexed]
    release = (
        "Origin: Debian\n"
        "Label: Debian\n"
        "Suite: stable\n"
        "Version: 12.8\n"
        "Codename: bookworm\n"
        f"Date: {release_date(now)}\n"
        "Acquire-By-Hash: no\n"
        "No-Support-for-Architecture-all: Packages\n"
        "Architectures: amd64\n"
        "Components: main\n"
        "Description: Debian 12.8 Released (Speculum lab fixture)\n"
        "MD5Sum:\n"
        + "".join(f" {md5(d)} {len(d):>16} {n}\n" for n, d in files)
        + "SHA256:\n"
        + "".join(f" {sha256(d)} {len(d):>16} {n}\n" for n, d in files)
    )
    write(dists / "Release", release)
    write(dists / "Release.gpg", fake_signature("Release.gpg"))
    write(
        dists / "InRelease",
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n"
        + release
        + fake_signature("InRelease"),
    )

    trace = tree / "project/trace"
    serial = f"{now:%Y%m%d}{now.hour:02d}"
    started = now - dt.timedelta(minutes=7, seconds=13)
    write(
        trace / "master",
        f"{gnu_date(now)}\n"
        f"Date: {rfc2822(now)}\n"
        f"Date-Started: {rfc2822(started)}\n"
        f"Archive serial: {serial}\n"
        "Creator: dak (Speculum lab fixture)\n"
        "Running on host: ftp-master.lab\n",
    )
    write(
        trace / UPSTREAM_HOST,
        f"{gnu_date(now)}\n"
        f"Date: {rfc2822(now)}\n"
        f"Date-Started: {rfc2822(started)}\n"
        f"Archive serial: {serial}\n"
        "Used ftpsync version: 20180513\n"
        "Creator: ftpsync 20180513\n"
        f"Running on host: {UPSTREAM_HOST}\n"
        "Maintainer: Speculum Lab <lab@upstream.lab>\n"
        "Suites: bookworm\n"
        "Architectures: amd64\n"
        "Architectures-Configuration: INCLUDE amd64\n"
        "Upstream-mirror: ftp-master.lab\n"
        "SSL: false\n"
        "Total bytes received in rsync: 0\n"
        "Total time spent in stage1 rsync: 0\n"
        "Total time spent in stage2 rsync: 0\n",
    )
    write(trace / "_hierarchy", f"{UPSTREAM_HOST} ftp-master.lab ftpsync 20180513 1\n")
    write(trace / "_traces", f"project/trace/master\nproject/trace/{UPSTREAM_HOST}\n")


# --------------------------------------------------------------------------
# archlinux


def build_arch_repo(
    tree: Path, repo: str, packages: list[tuple[str, str, str]]
) -> None:
    rdir = tree / repo / "os/x86_64"
    db_members = []
    files_members = []
    for name, version, arch in packages:
        r = rng_for("arch", repo, name)
        size = r.randrange(4_000, 48_000)
        # zstd frame magic, then seeded bytes: looks like a package to `file`
        pkg = b"\x28\xb5\x2f\xfd" + blob(size, "arch", repo, name, version)
        sig = blob(119, "arch-sig", repo, name, version)
        filename = f"{name}-{version}-{arch}.pkg.tar.zst"
        write(rdir / filename, pkg)
        write(rdir / f"{filename}.sig", sig)
        desc = (
            f"%FILENAME%\n{filename}\n\n%NAME%\n{name}\n\n%BASE%\n{name}\n\n"
            f"%VERSION%\n{version}\n\n%DESC%\n{name} (Speculum lab fixture)\n\n"
            f"%CSIZE%\n{len(pkg)}\n\n%ISIZE%\n{size * 3}\n\n"
            f"%SHA256SUM%\n{sha256(pkg)}\n\n"
            f"%PGPSIG%\n{base64.b64encode(sig).decode()}\n\n"
            f"%URL%\nhttps://{UPSTREAM_HOST}/{name}\n\n%LICENSE%\ncustom\n\n"
            f"%ARCH%\n{arch}\n\n%BUILDDATE%\n{ARCHIVE_EPOCH}\n\n"
            "%PACKAGER%\nSpeculum Lab <lab@upstream.lab>\n\n"
        ).encode()
        files = f"%FILES%\nusr/\nusr/share/\nusr/share/{name}/\nusr/share/{name}/data\n\n".encode()
        entry = f"{name}-{version}"
        db_members.append((f"{entry}/desc", desc, 0o644))
        files_members += [
            (f"{entry}/desc", desc, 0o644),
            (f"{entry}/files", files, 0o644),
        ]
    write(rdir / f"{repo}.db.tar.gz", gzip_bytes(tar_bytes(db_members)))
    write(rdir / f"{repo}.files.tar.gz", gzip_bytes(tar_bytes(files_members)))
    for link, target in (
        (f"{repo}.db", f"{repo}.db.tar.gz"),
        (f"{repo}.files", f"{repo}.files.tar.gz"),
    ):
        (rdir / link).symlink_to(target)


def build_archlinux(tree: Path, now: dt.datetime) -> None:
    build_arch_repo(tree, "core", ARCH_CORE)
    build_arch_repo(tree, "extra", ARCH_EXTRA)
    iso_dir = tree / "iso/latest"
    iso_name = f"archlinux-{ARCH_ISO_VERSION}-x86_64.iso"
    # "CD001" at offset 0x8001 as in an ISO 9660 volume descriptor
    iso = bytearray(blob(384 * 1024, "iso", ARCH_ISO_VERSION))
    iso[0x8000:0x8006] = b"\x01CD001"
    iso = bytes(iso)
    write(iso_dir / iso_name, iso)
    write(iso_dir / f"{iso_name}.sig", blob(119, "iso-sig", ARCH_ISO_VERSION))
    write(iso_dir / "sha256sums.txt", f"{sha256(iso)}  {iso_name}\n")
    write(iso_dir / "b2sums.txt", f"{hashlib.blake2b(iso).hexdigest()}  {iso_name}\n")
    write_arch_markers(tree, now)


def write_arch_markers(tree: Path, now: dt.datetime) -> None:
    stamp = int(now.timestamp())
    write(tree / "lastupdate", f"{stamp}\n")
    write(tree / "lastsync", f"{stamp}\n")


# --------------------------------------------------------------------------
# software


def software_tarball(version: str, fmt: str) -> bytes:
    top = f"{SOFTWARE_NAME}-{version}"
    members = [
        (
            f"{top}/README",
            f"{SOFTWARE_NAME} {version}\n\nFixture source tree.\n".encode(),
            0o644,
        ),
        (
            f"{top}/src/main.c",
            f'#include <stdio.h>\nint main(void) {{ puts("{SOFTWARE_NAME} {version}"); return 0; }}\n'.encode(),
            0o644,
        ),
        (f"{top}/configure", b"#!/bin/sh\necho 'nothing to configure'\n", 0o755),
        (
            f"{top}/data/blob.bin",
            blob(rng_for("sw", version).randrange(60_000, 160_000), "sw", version),
            0o644,
        ),
    ]
    raw = tar_bytes(members)
    return gzip_bytes(raw) if fmt == "tar.gz" else xz_bytes(raw)


def build_software(tree: Path, now: dt.datetime) -> None:
    del now  # fully deterministic tree
    write(
        tree / "README",
        f"{SOFTWARE_NAME}: release files of a plain software project.\n\n"
        "releases/<version>/  tarballs and SHA256SUMS (sha256sum -c)\n"
        "releases/latest      symlink to the newest release\n"
        "docs/                release notes\n"
        "contrib/             helper scripts\n",
    )
    write(
        tree / ".hidden-upstream-note",
        "Dotfiles are part of the tree too; a mirror must copy this one.\n",
    )
    for version, formats in SOFTWARE_RELEASES.items():
        rdir = tree / "releases" / version
        sums = []
        for fmt in formats:
            name = f"{SOFTWARE_NAME}-{version}.{fmt}"
            data = software_tarball(version, fmt)
            write(rdir / name, data)
            sums.append(f"{sha256(data)}  {name}\n")
        write(rdir / "SHA256SUMS", "".join(sums))
        write(rdir / "SHA256SUMS.asc", fake_signature("software", version))
    (tree / "releases/latest").symlink_to(
        max(SOFTWARE_RELEASES, key=lambda v: tuple(map(int, v.split("."))))
    )
    write(
        tree / "docs/Release Notes 2.0.txt",
        "Release notes for 2.0 (this file name contains spaces).\n"
        + "".join(
            f"- change {i}: {rng_for('notes', i).randrange(10**6)}\n" for i in range(20)
        ),
    )
    write(
        tree / "docs/index.html",
        "<!doctype html><title>docs</title><p>Fixture docs.</p>\n",
    )
    write(
        tree / "contrib/tools/linux/install-helper.sh",
        "#!/bin/sh\n# three directory levels below the tree's top\necho helper\n",
        0o755,
    )


# --------------------------------------------------------------------------

TREES = {
    "debian": (build_debian, write_debian_markers),
    "archlinux": (build_archlinux, write_arch_markers),
    "software": (build_software, None),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--root",
        default="/srv/upstream",
        help="where the trees go (default: %(default)s)",
    )
    parser.add_argument(
        "--timestamp",
        type=int,
        default=None,
        metavar="EPOCH",
        help="time written into the markers (default: now)",
    )
    parser.add_argument(
        "--force", action="store_true", help="rebuild trees that already exist"
    )
    parser.add_argument(
        "--refresh-markers",
        action="store_true",
        help="only rewrite the freshness markers of existing trees "
        "(simulates a new upstream update); other files are untouched",
    )
    parser.add_argument(
        "--tree",
        action="append",
        choices=sorted(TREES),
        help="limit to this tree (repeatable)",
    )
    args = parser.parse_args(argv)

    os.umask(0o022)
    root = Path(args.root).resolve()
    now = dt.datetime.fromtimestamp(
        args.timestamp if args.timestamp is not None else int(time.time()),
        tz=dt.UTC,
    )
    wanted = args.tree or list(TREES)
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)

    built = False
    for name in wanted:
        build, refresh = TREES[name]
        tree = root / name
        if args.refresh_markers:
            if not tree.is_dir():
                print(f"{name}: missing, cannot refresh markers", file=sys.stderr)
                return 1
            if refresh is not None:
                refresh(tree, now)
                print(f"{name}: markers refreshed ({now:%Y-%m-%dT%H:%M:%SZ})")
            continue
        if tree.exists() and not args.force:
            print(f"{name}: exists, kept ({tree})")
            continue
        tmp = root / f".{name}.tmp{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(mode=0o755)
        build(tmp, now)
        for d in [
            tmp,
            *(p for p in tmp.rglob("*") if p.is_dir() and not p.is_symlink()),
        ]:
            os.chmod(d, 0o755)
        if tree.exists():
            shutil.rmtree(tree)
        os.rename(tmp, tree)
        built = True
        nfiles = sum(1 for p in tree.rglob("*") if p.is_file() and not p.is_symlink())
        nbytes = sum(
            p.stat().st_size
            for p in tree.rglob("*")
            if p.is_file() and not p.is_symlink()
        )
        print(f"{name}: built, {nfiles} files, {nbytes / 1e6:.1f} MB ({tree})")

    marker = root / COMPLETE_MARKER
    if (built or not marker.exists()) and all((root / name).is_dir() for name in TREES):
        write(
            marker,
            f"generator: {GENERATOR}\ngenerated: {rfc2822(now)}\ntrees: {' '.join(TREES)}\n",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
