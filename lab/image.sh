#!/usr/bin/env bash
# Ensure the podman image localhost/speculum/debian12:latest exists: a minimal
# Debian 12 (bookworm) root filesystem that boots systemd as PID 1. The lab
# (lab/lab.sh) and the molecule scenarios start their containers from it.
#
#   1. already in podman storage            -> nothing to do (well under 1 s)
#   2. cached rootfs tarball exists          -> podman import it (~7 s)
#   3. otherwise debootstrap a fresh rootfs, slim it, cache it, import it
#
# The cache is ${XDG_CACHE_HOME:-$HOME/.cache}/speculum/debian12-rootfs.tar.zst.
# nginx, rsync and certbot are deliberately NOT in the image: the roles must
# install them for real.
#
# Usage: lab/image.sh [--rebuild]
#   --rebuild   drop the image and the cached tarball, debootstrap again
# Environment:
#   SPECULUM_DEBIAN_MIRROR   Debian mirror URI (default: the one apt on this
#                            machine uses, else http://deb.debian.org/debian)
set -euo pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CONTAINERS_CONF="$LAB_DIR/containers.conf"

IMAGE=localhost/speculum/debian12:latest
SUITE=bookworm
PACKAGES=systemd,systemd-sysv,dbus,python3,python3-apt,ca-certificates,iproute2,procps,sudo
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/speculum"
TARBALL="$CACHE_DIR/debian12-rootfs.tar.zst"

say() { printf '==> image: %s\n' "$*" >&2; }
die() { printf 'image.sh: error: %s\n' "$*" >&2; exit 1; }

rebuild=0
case "${1:-}" in
  "") ;;
  --rebuild) rebuild=1 ;;
  -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
  *) die "unknown argument '$1' (try --help)" ;;
esac

command -v podman >/dev/null || die "podman is not installed (run scripts/setup.sh)"

# Fast path: nothing to do.
if [ "$rebuild" -eq 0 ] && podman image exists "$IMAGE"; then
  say "$IMAGE is present"
  exit 0
fi

mkdir -p "$CACHE_DIR"
# Serialise concurrent callers (lab + molecule started at once).
exec 9>"$CACHE_DIR/.image.lock"
flock 9

if [ "$rebuild" -eq 1 ]; then
  say "--rebuild: removing $IMAGE and $TARBALL"
  podman image rm --force "$IMAGE" >/dev/null 2>&1 || true
  rm -f "$TARBALL"
elif podman image exists "$IMAGE"; then
  say "$IMAGE is present (built by a concurrent run)"
  exit 0
fi

import_tarball() {
  say "importing $TARBALL as $IMAGE"
  zstd -dc --quiet "$TARBALL" | podman import --quiet \
    --change 'CMD ["/sbin/init"]' \
    --change 'ENV container=podman' \
    --change 'STOPSIGNAL SIGRTMIN+3' \
    --message "speculum debian12 test image (debootstrap $SUITE minbase)" \
    - "$IMAGE" >/dev/null
}

# --- where does apt on this machine fetch Debian from? ---------------------
# Prints "main <uri>" / "security <uri>" lines from deb822 .sources files and
# the one-line sources.list format. Only Debian suites count (bookworm*),
# so third-party repositories (nodesource, cloud-sdk...) are ignored.
host_apt_uris() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk '
      function flush() {
        if (uris != "" && enabled && types ~ /(^|[ \t])deb([ \t]|$)/) {
          n = split(suites, s, /[ \t]+/)
          for (i = 1; i <= n; i++) {
            if (s[i] ~ /^bookworm-security$/) { print "security", uris; break }
            if (s[i] ~ /^bookworm(-updates)?$/) { print "main", uris; break }
          }
        }
        uris = ""; suites = ""; types = ""; enabled = 1
      }
      BEGIN { enabled = 1 }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      tolower($1) == "uris:"    { uris = $2 }
      tolower($1) == "suites:"  { sub(/^[^:]*:[ \t]*/, ""); suites = $0 }
      tolower($1) == "types:"   { sub(/^[^:]*:[ \t]*/, ""); types = $0 }
      tolower($1) == "enabled:" { enabled = (tolower($2) != "no") }
      END { flush() }
    ' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    awk '
      $1 != "deb" { next }
      { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ } }
      $(i + 1) == "bookworm-security" { print "security", $i; next }
      $(i + 1) ~ /^bookworm(-updates)?$/ { print "main", $i }
    ' "$f"
  done
}

build_rootfs() {
  [ "$(id -u)" -eq 0 ] || die "debootstrap needs root (no cached tarball at $TARBALL)"
  command -v debootstrap >/dev/null || die "debootstrap is not installed (run scripts/setup.sh)"
  command -v zstd >/dev/null || die "zstd is not installed (run scripts/setup.sh)"

  local uris mirror security
  uris=$(host_apt_uris)
  mirror=${SPECULUM_DEBIAN_MIRROR:-$(awk '$1 == "main" { print $2; exit }' <<<"$uris")}
  mirror=${mirror:-http://deb.debian.org/debian}
  mirror=${mirror%/}
  security=$(awk '$1 == "security" { print $2; exit }' <<<"$uris")
  security=${security%/}

  local work root
  work=$(mktemp -d "${TMPDIR:-/var/tmp}/speculum-image.XXXXXX")
  root="$work/rootfs"
  # shellcheck disable=SC2064  # expand $work now
  trap "rm -rf '$work'" EXIT

  say "debootstrap $SUITE (minbase) from $mirror -- takes about a minute"
  local t0=$SECONDS
  if ! debootstrap --variant=minbase --include="$PACKAGES" \
      "$SUITE" "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
    die "debootstrap failed (mirror $mirror)"
  fi
  say "debootstrap done in $((SECONDS - t0)) s"

  # Same Debian sources as this machine, so apt in the container works.
  rm -f "$root/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n' "$mirror" "$SUITE" "$SUITE"
    printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    if [ -n "$security" ]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' "$security" "$SUITE"
      printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
    fi
  } >"$root/etc/apt/sources.list.d/debian.sources"
  say "apt sources: $mirror${security:+ + $security}"

  # Package lists for all suites, so "apt-get install" works in a fresh
  # container without "apt-get update" first (without translations: -30 MB).
  printf 'Acquire::Languages "none";\n' >"$root/etc/apt/apt.conf.d/99speculum-no-translations"
  say "apt-get update inside the rootfs"
  if ! chroot "$root" /usr/bin/apt-get -qq update >"$work/apt.log" 2>&1; then
    cat "$work/apt.log" >&2
    die "apt-get update inside the new rootfs failed"
  fi

  say "slimming the rootfs"
  chroot "$root" /usr/bin/apt-get -qq clean
  rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/usr/share/lintian/* "$root"/usr/share/linda/* \
    "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old \
    "$root"/var/lib/dpkg/*-old "$root"/debootstrap
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  find "$root/var/log" -type f -delete
  find "$root/tmp" "$root/var/tmp" -mindepth 1 -delete
  # The package lists stay, but with an old mtime: Ansible's apt module
  # (cache_valid_time) must still see them as stale and run one update.
  rm -f "$root/var/lib/apt/periodic/update-success-stamp"
  touch -h -d '2000-01-01 00:00:00 UTC' "$root/var/lib/apt/lists"
  # Per-container identity: systemd creates a machine-id at first boot;
  # podman provides resolv.conf, hosts and hostname.
  : >"$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id"
  : >"$root/etc/resolv.conf"
  printf 'localhost\n' >"$root/etc/hostname"
  # No policy-rc.d: services must start when packages are installed.
  rm -f "$root/usr/sbin/policy-rc.d"

  say "packing $(du -sh "$root" | cut -f1) rootfs into $TARBALL"
  tar --numeric-owner --xattrs --xattrs-include='security.capability' \
    -C "$root" -cf - . | zstd -q -T0 -10 -o "$TARBALL.tmp.$$"
  mv -f "$TARBALL.tmp.$$" "$TARBALL"
  rm -rf "$work"
  trap - EXIT
}

if [ -f "$TARBALL" ]; then
  if ! import_tarball; then
    say "import of the cached tarball failed; discarding it and building afresh"
    rm -f "$TARBALL"
    build_rootfs
    import_tarball
  fi
else
  say "no cached rootfs at $TARBALL"
  build_rootfs
  import_tarball
fi

podman image exists "$IMAGE" || die "podman import finished but $IMAGE is missing"
say "ready: $IMAGE ($(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{ printf "%d MB", $1 / 1e6 }'))"
