#!/usr/bin/env bash
# PostgreSQL for leakproof's cluster (issue 11): the Debian package's server, without systemd.
#
#   scripts/cluster-pg.sh start   install if missing (root + apt-get only), start if stopped; prints
#                                 "<url> started" or "<url> running" on stdout
#   scripts/cluster-pg.sh stop    stop the server
#
# The URL: $LEAKPROOF_DB when set; otherwise postgres://postgres:postgres@127.0.0.1:<port>/postgres.
# The postgres user's password is set to "postgres" only on a cluster this script installed or
# created (marked by a file "leakproof-created" in its /etc/postgresql/<version>/<name>/): a
# developer's own server is never altered. If the URL does not connect, the failure says what to
# set. Every failure is one line on stderr starting with "cluster-pg:" and a non-zero exit code; a
# server this run started is stopped again before it fails.
set -euo pipefail

etc=${LEAKPROOF_PG_ETC:-/etc/postgresql}
started_here=""
stop_cluster=""

fail() {
  echo "cluster-pg: $*" >&2
  if [ -n "$started_here" ]; then pg_ctlcluster $stop_cluster stop >/dev/null 2>&1 9>&- || true; fi
  exit 1
}

# A URL without its password, for messages.
redact() { echo "$1" | sed -E 's#^([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@]*):[^@/]*@#\1:***@#'; }

connects() { PGCONNECT_TIMEOUT=5 psql "$1" -qAtXc 'SELECT 1' >/dev/null 2>&1; }

as_postgres() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi
}

installed_here=""
install_server() {
  command -v pg_lsclusters >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || fail "PostgreSQL is not installed and installing it needs root (apt-get install -y postgresql)"
  command -v apt-get >/dev/null 2>&1 || fail "PostgreSQL is not installed and there is no apt-get to install it"
  echo "cluster-pg: installing PostgreSQL (apt-get install -y postgresql)" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get install -y -q postgresql || { apt-get update -q && apt-get install -y -q postgresql; }; } >&2 \
    || fail "apt-get install -y postgresql failed"
  installed_here=1
}

# "<version> <cluster> <port> <status>" of the first cluster (creating one if the package has none).
cluster_line() {
  local line
  line=$(pg_lsclusters -h 2>/dev/null | head -1 || true)
  if [ -z "$line" ]; then
    local version
    version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)
    [ -n "$version" ] || fail "no PostgreSQL server under /usr/lib/postgresql"
    pg_createcluster "$version" main >&2 || fail "pg_createcluster $version main failed"
    mkdir -p "$etc/$version/main" && touch "$etc/$version/main/leakproof-created" || true
    line=$(pg_lsclusters -h | head -1)
  fi
  echo "$line" | awk '{print $1, $2, $3, $4}'
}

start() {
  install_server
  # Two callers at once (a test and a demo) must not both run pg_ctlcluster start.
  exec 9>"${LEAKPROOF_PG_LOCK:-/tmp/leakproof-cluster-pg.lock}"
  flock -w 60 9 || fail "timed out waiting for another cluster-pg.sh"
  read -r version name port status < <(cluster_line)
  # The package's installation created this cluster: it is ours as well.
  if [ -n "$installed_here" ]; then mkdir -p "$etc/$version/$name" && touch "$etc/$version/$name/leakproof-created" || true; fi
  local how=running
  if [ "$status" != online ]; then
    pg_ctlcluster "$version" "$name" start >&2 9>&- || fail "pg_ctlcluster $version $name start failed (see /var/log/postgresql/)"
    how=started
    started_here=1
    stop_cluster="$version $name"
    for _ in $(seq 1 50); do
      as_postgres "psql -p $port -qAtc 'SELECT 1'" >/dev/null 2>&1 && break
      sleep 0.2
    done
  fi
  local url="postgres://postgres:postgres@127.0.0.1:$port/postgres"
  if [ -n "${LEAKPROOF_DB:-}" ]; then
    url=$LEAKPROOF_DB
  elif [ -f "$etc/$version/$name/leakproof-created" ]; then
    as_postgres "psql -p $port -qAtc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null \
      || fail "cannot set the postgres user's password (is the server up? port $port)"
  fi
  local whose="set up by this script"
  [ -f "$etc/$version/$name/leakproof-created" ] || whose="not set up by this script, so its passwords are left alone"
  connects "$url" || fail "cannot connect to $(redact "$url") (PostgreSQL $version/$name on port $port, $whose): set LEAKPROOF_DB=postgres://USER:PASSWORD@127.0.0.1:$port/postgres for a user that may create databases"
  echo "$url $how"
}

stop() {
  command -v pg_lsclusters >/dev/null 2>&1 || exit 0
  read -r version name _port status < <(cluster_line)
  [ "$status" = online ] || exit 0
  pg_ctlcluster "$version" "$name" stop >&2 || fail "pg_ctlcluster $version $name stop failed"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) fail "usage: $0 start|stop" ;;
esac
