#!/usr/bin/env bash
# Debian's Chromium, ChromeDriver and CJK / emoji fonts for the browser tests (tests/browser/). Quiet, and never
# fatal: where they cannot be installed (no root, no apt-get, no package list) the browser tests skip with a reason.
set -uo pipefail
PACKAGES=(chromium chromium-driver fonts-noto-cjk fonts-noto-color-emoji)
missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "browser tests: cannot install ${missing[*]} (needs root and apt-get); they will be skipped" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
install() { apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1; }
started=$SECONDS
# the package list may be missing or stale on a fresh machine: refresh it only when the first try fails
if ! install && ! { apt-get update -qq >>"$log" 2>&1 && install; }; then
    echo "browser tests: apt-get could not install ${missing[*]}; they will be skipped. Its last lines:" >&2
    tail -n 3 "$log" >&2
else
    echo "browser tests: installed ${missing[*]} in $((SECONDS - started)) s"
fi
rm -f "$log"
exit 0
