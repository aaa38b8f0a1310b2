#!/usr/bin/env bash
# Make PostgreSQL's server binaries available for the store tests (they start a throw-away
# cluster on a Unix socket themselves). Installs Debian's package when we may; otherwise the
# PostgreSQL tests skip with a reason.
set -u
if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing PostgreSQL server for the store tests (apt-get)..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
    || echo "warning: could not install postgresql; PostgreSQL tests will be skipped"
else
  echo "note: no PostgreSQL server binaries and no root to install them; PostgreSQL tests will be skipped"
fi
exit 0
