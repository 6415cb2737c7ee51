#!/usr/bin/env bash
# Prepare this machine to run Speculum's controller side: system packages,
# then .venv with the pinned toolchain and src/ installed in editable mode.
# Idempotent and quick when nothing changed (a stamp records the inputs).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
# chromium + chromium-driver: the browser test of the generated site;
# goaccess: the reference the log statistics are checked and benchmarked against
# restic: the backup driver's tests run the real one
SYSTEM_PACKAGES=(podman runc debootstrap zstd rsync uidmap slirp4netns chromium chromium-driver goaccess restic)

say() { printf '==> %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

install_system_packages() {
  local missing=()
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' \
      || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing system packages: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The newest CPython >= 3.12 on PATH or under pyenv (ansible-core 2.21 needs 3.12).
find_python() {
  local best="" best_ver=0 cand ver
  local candidates=()
  for name in python3.14 python3.13 python3.12 python3; do
    cand=$(command -v "$name" 2>/dev/null) && candidates+=("$cand")
  done
  for cand in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.*/bin/python3 /usr/bin/python3.1[2-9] /usr/local/bin/python3.1[2-9]; do
    [ -x "$cand" ] && candidates+=("$cand")
  done
  for cand in "${candidates[@]}"; do
    ver=$("$cand" -c 'import sys; print(sys.version_info[0] * 100 + sys.version_info[1])' 2>/dev/null) || continue
    if [ "$ver" -ge 312 ] && [ "$ver" -gt "$best_ver" ]; then best=$cand; best_ver=$ver; fi
  done
  [ -n "$best" ] || die "no Python >= 3.12 found (looked on PATH and in ~/.pyenv/versions); ansible-core 2.21 needs one. Install python3.12 or newer and re-run."
  echo "$best"
}

install_system_packages

stamp="$VENV/.speculum-setup"
inputs=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ]; then
  say "toolchain up to date ($VENV)"
else
  python=$(find_python)
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
    rm -rf "$VENV"
    say "creating $VENV with $python ($("$python" --version))"
    "$python" -m venv "$VENV"
  fi
  say "installing pinned controller requirements"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e .
  echo "$inputs" > "$stamp"
fi

# Make this repository importable as the collection speculum.mirror.
mkdir -p .collections/ansible_collections/speculum
ln -sfn ../../.. .collections/ansible_collections/speculum/mirror
