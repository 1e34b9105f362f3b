#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (tests/browser.py); `make test` runs it first.
# Idempotent and silent when /usr/bin/chromium is there. It never fails `make test`: where
# Chromium cannot be installed (not root, no apt-get, apt-get failed) it says why on stderr, and
# the tests that need a browser skip, naming what is missing. Playwright never downloads a
# browser of its own (this machine reaches package registries only).
set -uo pipefail

CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] && exit 0

HOWTO="as root: apt-get update && apt-get install -y --no-install-recommends chromium"
say() { printf 'tests/install_chromium.sh: %s\n' "$*" >&2; }
give_up() {
    say "$*; the browser tests will be skipped (install Chromium $HOWTO)"
    exit 0
}

command -v apt-get >/dev/null || give_up "$CHROMIUM is missing and there is no apt-get"
[ "$(id -u)" -eq 0 ] || give_up "$CHROMIUM is missing and this is not root"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)
say "$CHROMIUM is missing: installing Debian's chromium (about 100 MB with its libraries)"
"${APT[@]}" update -qq >"$log" 2>&1 \
    || give_up "apt-get update failed: $(tail -n 3 "$log" | tr '\n' ' ')"
"${APT[@]}" install -y -qq --no-install-recommends chromium >"$log" 2>&1 \
    || give_up "apt-get install chromium failed: $(tail -n 3 "$log" | tr '\n' ' ')"
[ -x "$CHROMIUM" ] || give_up "apt-get installed chromium but $CHROMIUM is still missing"
say "installed chromium $(dpkg-query -W -f='${Version}' chromium 2>/dev/null)"
