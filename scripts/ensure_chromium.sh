#!/bin/sh
# The browser tests drive Debian's Chromium (Playwright's own browser download does not
# work offline). Installs the chromium package when it is missing; CHROMIUM_PATH names
# another browser to use instead.
set -e
browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$browser" ] && exit 0
if [ -n "$CHROMIUM_PATH" ]; then
    echo "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "no Chromium at /usr/bin/chromium and no apt-get to install it:" \
        "install Chromium and set CHROMIUM_PATH" >&2
    exit 1
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
echo "installing Debian's chromium for the browser tests"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 || {
    $sudo apt-get update -q >/dev/null
    $sudo apt-get install -y -q --no-install-recommends chromium >/dev/null
}
