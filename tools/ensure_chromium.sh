#!/usr/bin/env bash
# Make a headless Chromium and its driver available for the web chat's browser test
# (tests/unit/examples/test_web_chat_browser.py). Installs Debian's chromium and chromium-driver
# when we may; otherwise that test skips with a reason.
set -u
if command -v chromedriver >/dev/null 2>&1 && { command -v chromium >/dev/null 2>&1 \
    || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1; }; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium and chromium-driver for the browser test (apt-get)..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null) \
    || echo "warning: could not install chromium; the browser test will be skipped"
else
  echo "note: no chromium/chromedriver and no root to install them; the browser test will be skipped"
fi
exit 0
