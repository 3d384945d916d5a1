#!/usr/bin/env bash
# The Debian packages `npm test` needs beyond npm's: python3-jwt, which the check of the Python
# example in docs/ENFORCEMENT.md runs under /usr/bin/python3, and chromium (/usr/bin/chromium), the
# headless browser the console tests (test/console) drive with playwright-core. Installs what is
# missing (apt, as root or through sudo) and says what to do where it cannot; `npm test` runs it first.
set -euo pipefail
packages=(python3-jwt chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "npm test needs the Debian packages ${missing[*]} (or their equivalents for /usr/bin/python3); install them, then run npm test again" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing ${missing[*]} (apt)" >&2
export DEBIAN_FRONTEND=noninteractive
install() { $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
# A fresh machine's package lists may be stale or absent: refresh them only when the first try fails.
install 2>/dev/null || { $sudo apt-get update >/dev/null && install; }
