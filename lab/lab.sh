#!/usr/bin/env bash
# The local Speculum lab: four podman containers booting systemd on the
# network speculum-lab.
#
#   speculum-lab-upstream  fixture rsync upstream (alias lab-upstream,
#                          hostname upstream.lab), set up by lab/upstream.yml
#   speculum-lab-upstream  is also the mirror's outside watchdog
#                          (playbooks/watchdog.yml)
#   speculum-lab-acme      local ACME server (Debian's pebble, alias
#                          lab-acme), set up by lab/acme.yml
#   speculum-lab-sink      stands in for discord.com: records the alerts
#                          (lab/discord_sink.yml); read them with
#                          curl -k https://127.0.0.1:8444/messages
#   speculum-lab           the mirror host, set up by site.yml and synced
#                          once by playbooks/sync.yml; published on
#                          http://127.0.0.1:8080/ and https://127.0.0.1:8443/
#
# Usage: lab/lab.sh up|down|status
set -euo pipefail
cd "$(dirname "$0")/.."

export CONTAINERS_CONF="$PWD/lab/containers.conf"
export PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_CONFIG="${ANSIBLE_CONFIG:-$PWD/ansible.cfg}"

IMAGE=localhost/speculum/debian12:latest
NETWORK=speculum-lab
UPSTREAM=speculum-lab-upstream
ACME=speculum-lab-acme
SINK=speculum-lab-sink
MIRROR=speculum-lab
BOOT_TIMEOUT=${LAB_BOOT_TIMEOUT:-60}
URL=http://127.0.0.1:8080/
HTTPS_URL=https://127.0.0.1:8443/  # certificate from the lab's pebble: not trusted by browsers

say() { printf '==> lab: %s\n' "$*" >&2; }
die() { printf 'lab.sh: error: %s\n' "$*" >&2; exit 1; }

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

container_state() { # prints running/exited/created/... or nothing if absent
  podman container inspect --format '{{.State.Status}}' "$1" 2>/dev/null || true
}

ensure_network() {
  if podman network exists "$NETWORK"; then
    say "network $NETWORK exists"
  else
    say "creating network $NETWORK"
    podman network create "$NETWORK" >/dev/null
  fi
}

# ensure_container NAME podman-run-options...
ensure_container() {
  local name=$1
  shift
  case "$(container_state "$name")" in
    running)
      if podman exec "$name" true 2>/dev/null; then
        say "container $name is running (reused)"
      else  # podman says running, runc has lost it: start afresh
        say "container $name does not answer; recreating it"
        podman rm --force --time 5 "$name" >/dev/null
        ensure_container "$name" "$@"
      fi
      ;;
    "")
      say "creating container $name"
      local err
      if ! err=$(podman run --detach --name "$name" --network "$NETWORK" \
        --privileged --systemd=always "$@" "$IMAGE" /sbin/init 2>&1 >/dev/null); then
        printf '%s\n' "$err" >&2
        die "could not start container $name"
      fi
      # aardvark-dns (started with the first container of a network) cannot
      # reach syslog on hosts without /dev/log and says so; harmless.
      grep -v '^failed to connect to syslog' <<<"$err" >&2 || true
      ;;
    *)
      say "starting existing container $name"
      podman start "$name" >/dev/null
      ;;
  esac
}

wait_for_boot() {
  local name=$1 state="" deadline=$((SECONDS + BOOT_TIMEOUT))
  while :; do
    state=$(podman exec "$name" systemctl is-system-running 2>/dev/null || true)
    case "$state" in
      running) say "$name: systemd is running"; return 0 ;;
      degraded)
        say "$name: systemd is degraded (continuing); failed units:"
        podman exec "$name" systemctl --failed --no-legend --plain >&2 || true
        return 0
        ;;
    esac
    if [ "$(container_state "$name")" != running ]; then
      podman logs --tail 30 "$name" >&2 || true
      die "container $name stopped while booting (state: $(container_state "$name"))"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      podman exec "$name" systemctl list-jobs --no-pager >&2 || true
      die "$name did not finish booting within ${BOOT_TIMEOUT}s (systemctl is-system-running: '${state:-no answer}'); see: podman logs $name"
    fi
    sleep 0.5
  done
}

run_playbook() {
  local playbook=$1
  [ -f "$playbook" ] || die "$playbook not found"
  say "ansible-playbook $playbook"
  ansible-playbook "$playbook"
}

mirror_status() {
  podman exec "$MIRROR" mirrorctl status
}

cmd_up() {
  [ -x .venv/bin/ansible-playbook ] || die ".venv is missing; run scripts/setup.sh (make setup) first"
  lab/image.sh
  ensure_network
  ensure_container "$UPSTREAM" --hostname upstream.lab --network-alias lab-upstream
  ensure_container "$ACME" --hostname acme.lab --network-alias lab-acme
  ensure_container "$SINK" --hostname sink.lab --network-alias discord.com --publish 127.0.0.1:8444:443
  ensure_container "$MIRROR" --hostname speculum-lab \
    --publish 127.0.0.1:8080:80 --publish 127.0.0.1:8443:443
  wait_for_boot "$UPSTREAM"
  wait_for_boot "$ACME"
  wait_for_boot "$SINK"
  wait_for_boot "$MIRROR"
  run_playbook lab/upstream.yml
  run_playbook lab/acme.yml
  run_playbook lab/discord_sink.yml
  run_playbook site.yml
  run_playbook playbooks/sync.yml
  run_playbook playbooks/watchdog.yml
  say "backing up the lab host (what speculum-backup.timer does nightly)"
  podman exec "$MIRROR" systemctl start speculum-backup.service \
    || say "warning: the backup failed; see: podman exec $MIRROR mirrorctl backup status"
  printf '\nSpeculum lab mirror: %s (and %s)\n\n' "$URL" "$HTTPS_URL"
  mirror_status || say "warning: mirrorctl status exited with status $?"
}

cmd_down() {
  local name
  for name in "$MIRROR" "$SINK" "$ACME" "$UPSTREAM"; do
    if [ -n "$(container_state "$name")" ]; then
      say "removing container $name"
      podman rm --force --time 10 "$name" >/dev/null
    fi
  done
  if podman network exists "$NETWORK"; then
    say "removing network $NETWORK"
    podman network rm "$NETWORK" >/dev/null
  fi
  say "lab is down"
}

cmd_status() {
  podman ps --all --filter "name=^($MIRROR|$SINK|$ACME|$UPSTREAM)\$" \
    --format 'table {{.Names}}\t{{.Status}}\t{{.Ports}}'
  if [ "$(container_state "$MIRROR")" = running ]; then
    printf '\nSpeculum lab mirror: %s\n\n' "$URL"
    mirror_status || say "warning: mirrorctl status exited with status $? (has site.yml run?)"
  else
    say "the lab is not up (lab/lab.sh up)"
  fi
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
