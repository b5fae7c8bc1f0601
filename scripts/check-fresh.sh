#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the README's two commands on a brand-new Debian 12 root, as a new user
# would: mmdebstrap makes a minimal bookworm system (apt, git, sudo and
# certificates, nothing else) in a temporary folder, the current commit is
# cloned into it, and a plain user with sudo runs scripts/demo.sh, then
# scripts/test.sh. A package that only a used machine has makes this fail.
# Mounts and files are removed on every exit, failed or not.
#
#   scripts/check-fresh.sh [--keep]     --keep: leave the root for a look
#
# Needs root (or sudo) for mmdebstrap, mount and chroot; installs mmdebstrap
# when it is missing. Uncommitted changes are not part of the check.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
keep=0
[ "${1:-}" = "--keep" ] && keep=1

sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
if ! command -v mmdebstrap >/dev/null; then
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends mmdebstrap
fi

commit=$(git rev-parse HEAD)
work=$(mktemp -d "${TMPDIR:-/var/tmp}/tspike-fresh.XXXXXX")
root="$work/root"

cleanup() {
  local status=$?
  # Processes a test left running inside the root keep its mounts busy.
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && "${sudo_cmd[@]}" kill -9 "${p#/proc/}" 2>/dev/null
  done
  # Deepest mounts first; lazily, so that a busy one cannot stop the rest.
  findmnt -rn -o TARGET | grep -F "$root/" | sort -r | while read -r m; do
    "${sudo_cmd[@]}" umount -l "$m" 2>/dev/null || true
  done
  if findmnt -rn -o TARGET | grep -qF "$root/"; then
    echo "check-fresh: mounts left under $root; not deleting it" >&2
  elif [ $keep -eq 1 ]; then
    echo "check-fresh: root kept in $root"
  else
    "${sudo_cmd[@]}" rm -rf --one-file-system "$work"
  fi
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== mmdebstrap: Debian 12 (bookworm) with apt, git, sudo, ca-certificates into $root"
"${sudo_cmd[@]}" mmdebstrap --quiet --variant=apt --include=git,sudo,ca-certificates bookworm "$root"

# A plain user with sudo, as on a new machine; the clone is of the commit only.
"${sudo_cmd[@]}" chroot "$root" useradd --create-home --shell /bin/bash user
echo "user ALL=(ALL) NOPASSWD: ALL" | "${sudo_cmd[@]}" tee "$root/etc/sudoers.d/user" >/dev/null
"${sudo_cmd[@]}" git clone --quiet --no-hardlinks "$repo" "$root/home/user/tspike"
"${sudo_cmd[@]}" git -C "$root/home/user/tspike" checkout --quiet "$commit"
"${sudo_cmd[@]}" chroot "$root" chown -R user:user /home/user/tspike

"${sudo_cmd[@]}" mount -t proc proc "$root/proc"
"${sudo_cmd[@]}" mount --rbind /sys "$root/sys"
"${sudo_cmd[@]}" mount --make-rslave "$root/sys"
"${sudo_cmd[@]}" mount --rbind /dev "$root/dev"
"${sudo_cmd[@]}" mount --make-rslave "$root/dev"
"${sudo_cmd[@]}" mount -t tmpfs tmpfs "$root/tmp"
"${sudo_cmd[@]}" cp /etc/resolv.conf "$root/etc/resolv.conf"

run_in_root() {
  "${sudo_cmd[@]}" chroot "$root" /usr/bin/sudo -u user -H --login bash -c "cd ~/tspike && $1"
}

start=$SECONDS
echo "== fresh root: scripts/demo.sh ($(git log -1 --format='%h %s' "$commit"))"
run_in_root scripts/demo.sh
echo "== fresh root: demo passed in $((SECONDS - start)) s"

start=$SECONDS
echo "== fresh root: scripts/test.sh"
run_in_root scripts/test.sh | tee "$work/test.log"
echo "== fresh root: tests passed in $((SECONDS - start)) s"
# The same number of tests as on a used machine: none may drop out.
count=$(sed -n 's/.* tests failed out of \([0-9]*\)$/\1/p' "$work/test.log")
echo "check-fresh: $count tests on a fresh root"
if [ -f build/CTestTestfile.cmake ] && [ "$(cat build/source-commit 2>/dev/null)" = "$commit" ]; then
  here=$(ctest --test-dir build -N | sed -n 's/^Total Tests: //p')
  if [ "$count" != "$here" ]; then
    echo "check-fresh: FAILED: $here tests in build/ here, $count on the fresh root" >&2
    exit 1
  fi
  echo "check-fresh: the same count as build/ here"
else
  echo "check-fresh: build/ here is not built from $commit (scripts/build.sh): counts not compared"
fi
