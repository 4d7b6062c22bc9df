#!/bin/sh
# pg-server.sh - a PostgreSQL server on loopback for orchfs's PostgreSQL
# backend: its tests, and trying it by hand. Debian's packages, no systemd
# (pg_ctlcluster runs the server itself), so it works on a CI container.
#
#   pg-server.sh [up]        install PostgreSQL if missing, create the cluster
#                            for the port if there is none, start it (loopback
#                            only), create role orchfs (password orchfs, LOGIN,
#                            no superuser) and database orchfs owned by it
#                            (UTF8, C collation), and print its URL
#   pg-server.sh start       start the cluster (and wait until it answers)
#   pg-server.sh stop        stop it (fast: clients are disconnected)
#   pg-server.sh restart     stop, then start
#   pg-server.sh status      exit 0 when it answers on the port, 3 when not
#   pg-server.sh newdb NAME  drop database NAME if it exists (disconnecting its
#                            clients), create it afresh owned by orchfs with the
#                            C collation, print its URL (starts the server first
#                            when needed)
#   pg-server.sh dropdb NAME drop database NAME if it exists (starting the
#                            server first when needed)
#   pg-server.sh url [NAME]  print the URL of database NAME (default orchfs)
#
# Environment: PGPORT (default 5432) is the port, on 127.0.0.1. The cluster
# is the one already on that port; when there is none, one is created:
# "main" for 5432 when there is no main cluster, "orchfs<PORT>" otherwise
# (PGCLUSTER names it). PGVERSION picks the PostgreSQL major version when
# several are installed (default: the newest). Every database this script
# creates defaults to TimeZone UTC.
#
# Run as root (it calls apt-get and acts as user postgres) or as postgres.
# The URLs are printed on stdout alone, so `URL=$(pg-server.sh newdb t1)`.
set -eu

PORT=${PGPORT:-5432}
ROLE=orchfs
PASSWORD=orchfs
DB=orchfs
SOCKDIR=/var/run/postgresql
# libpq in this process talks to our server only through the commands below
unset PGHOST PGHOSTADDR PGDATABASE PGUSER PGPASSWORD PGSERVICE PGOPTIONS 2>/dev/null || true

say() { echo "pg-server: $*" >&2; }
die() { say "$*"; exit 1; }

case "$PORT" in
'' | *[!0-9]*) die "PGPORT must be a number, got '$PORT'" ;;
esac

# as_pg CMD...: run CMD as the postgres user.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	elif [ "$(id -un)" = postgres ]; then
		"$@"
	else
		die "run as root or as postgres"
	fi
}

# sql STATEMENT: run one statement as the superuser, print the result unaligned.
sql() {
	as_pg psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$SOCKDIR" -p "$PORT" -d postgres \
		-c "SET client_min_messages = warning" -c "$1"
}

check_name() {
	case "$1" in
	'' | [!a-z_]* | *[!a-z0-9_]*) die "database name must match [a-z_][a-z0-9_]*, got '$1'" ;;
	esac
	[ ${#1} -le 63 ] || die "database name too long: $1"
	case "$1" in
	postgres | template0 | template1) die "will not touch database $1" ;;
	esac
}

url() { echo "postgres://$ROLE:$PASSWORD@127.0.0.1:$PORT/$1"; }

installed() {
	command -v pg_ctlcluster >/dev/null 2>&1 && command -v psql >/dev/null 2>&1 &&
		ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 &&
		dpkg -s libpq-dev >/dev/null 2>&1
}

install() {
	installed && return 0
	[ "$(id -u)" -eq 0 ] || die "PostgreSQL is not installed and only root can install it"
	say "installing postgresql postgresql-client libpq-dev"
	export DEBIAN_FRONTEND=noninteractive
	apt_opts="-y -q -o DPkg::Lock::Timeout=600"
	# shellcheck disable=SC2086
	if ! apt-get install $apt_opts postgresql postgresql-client libpq-dev >&2; then
		apt-get update -q -o DPkg::Lock::Timeout=600 >&2
		# shellcheck disable=SC2086
		apt-get install $apt_opts postgresql postgresql-client libpq-dev >&2
	fi
	installed || die "PostgreSQL did not install"
}

version() {
	if [ -n "${PGVERSION:-}" ]; then
		echo "$PGVERSION"
	else
		ls /usr/lib/postgresql | sort -n | tail -n 1
	fi
}

# The cluster serving $PORT (empty when there is none).
cluster_on_port() {
	pg_lsclusters -h 2>/dev/null | awk -v v="$VER" -v p="$PORT" '$1 == v && $3 == p { print $2; exit }'
}

find_cluster() {
	VER=$(version)
	[ -n "$VER" ] || die "no PostgreSQL server version installed under /usr/lib/postgresql"
	CLUSTER=$(cluster_on_port)
	if [ -n "${PGCLUSTER:-}" ] && [ -n "$CLUSTER" ] && [ "$CLUSTER" != "$PGCLUSTER" ]; then
		die "port $PORT is taken by cluster $VER/$CLUSTER, not $PGCLUSTER"
	fi
}

sockdir() {
	if [ "$(id -u)" -eq 0 ]; then
		mkdir -p "$SOCKDIR"
		chown postgres:postgres "$SOCKDIR"
		chmod 2775 "$SOCKDIR"
	fi
}

create_cluster() {
	if [ -n "${PGCLUSTER:-}" ]; then
		CLUSTER=$PGCLUSTER
	elif [ "$PORT" = 5432 ] && ! pg_lsclusters -h | awk -v v="$VER" '$1 == v && $2 == "main" { f = 1 } END { exit !f }'; then
		CLUSTER=main
	else
		CLUSTER=orchfs$PORT
	fi
	if pg_lsclusters -h | awk -v v="$VER" -v c="$CLUSTER" '$1 == v && $2 == c { f = 1 } END { exit !f }'; then
		die "cluster $VER/$CLUSTER exists on another port; set PGPORT to its port or PGCLUSTER to another name"
	fi
	say "creating cluster $VER/$CLUSTER on port $PORT"
	[ "$(id -u)" -eq 0 ] || die "only root can create a cluster"
	pg_createcluster --port "$PORT" --encoding UTF8 --locale C "$VER" "$CLUSTER" -- \
		--auth-local=peer --auth-host=scram-sha-256 >&2
}

# Loopback only, whatever the cluster had: conf.d/ is read last, so this
# file overrides postgresql.conf. Returns 0 when it changed the file.
configure() {
	dir=/etc/postgresql/$VER/$CLUSTER/conf.d
	f=$dir/orchfs.conf
	want="# written by orchfs's scripts/pg-server.sh
listen_addresses = '127.0.0.1'
port = $PORT"
	if [ -f "$f" ] && [ "$(cat "$f")" = "$want" ]; then
		return 1
	fi
	grep -q "^include_dir = 'conf.d'" "/etc/postgresql/$VER/$CLUSTER/postgresql.conf" ||
		die "/etc/postgresql/$VER/$CLUSTER/postgresql.conf does not include conf.d/"
	mkdir -p "$dir"
	printf '%s\n' "$want" >"$f"
	[ "$(id -u)" -ne 0 ] || chown postgres:postgres "$dir" "$f"
	return 0
}

running() {
	pg_ctlcluster "$VER" "$CLUSTER" status >/dev/null 2>&1
}

wait_ready() {
	i=0
	while ! pg_isready -q -h 127.0.0.1 -p "$PORT" -t 1; do
		i=$((i + 1))
		[ "$i" -lt 60 ] || die "server on port $PORT does not answer after 60 s (log: /var/log/postgresql/postgresql-$VER-$CLUSTER.log)"
		sleep 1
	done
}

start() {
	sockdir
	if ! running; then
		say "starting cluster $VER/$CLUSTER on 127.0.0.1:$PORT"
		pg_ctlcluster "$VER" "$CLUSTER" start >&2 9>&- # the server must not hold the lock
	fi
	wait_ready
}

stop() {
	if running; then
		say "stopping cluster $VER/$CLUSTER"
		pg_ctlcluster "$VER" "$CLUSTER" stop -m fast >&2
	fi
}

create_db() { # NAME
	as_pg psql -X -q -v ON_ERROR_STOP=1 -h "$SOCKDIR" -p "$PORT" -d postgres >&2 <<EOF
CREATE DATABASE "$1" OWNER $ROLE ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
ALTER DATABASE "$1" SET timezone TO 'UTC';
EOF
}

ensure_role() {
	# Tests start several of these at once: two ALTER ROLEs at the same time
	# fail with "tuple concurrently updated", so try again.
	n=0
	until ensure_role_once 2>/dev/null; do
		n=$((n + 1))
		[ "$n" -lt 5 ] || { ensure_role_once; return; }
		sleep 0.3
	done
}

ensure_role_once() {
	sql "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
    CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD' NOSUPERUSER NOCREATEDB NOCREATEROLE;
  ELSE
    ALTER ROLE $ROLE LOGIN PASSWORD '$PASSWORD' NOSUPERUSER;
  END IF;
END \$\$;" >/dev/null
}

ensure_db() {
	coll=$(sql "SELECT datcollate || ' ' || datctype || ' ' || pg_encoding_to_char(encoding) FROM pg_database WHERE datname = '$DB'")
	if [ -z "$coll" ]; then
		create_db "$DB"
	elif [ "$coll" != "C C UTF8" ]; then
		die "database $DB exists with collation/ctype/encoding $coll, not C C UTF8: drop it (or use newdb)"
	fi
}

# up, and every subcommand that needs a server: everything but the install
# is skipped when already done.
up() {
	install
	find_cluster
	if [ -z "$CLUSTER" ]; then
		create_cluster
	fi
	if configure && running; then
		say "listen_addresses changed: restarting"
		stop
	fi
	start
	ensure_role
}

cmd=${1:-up}
# Tests run in parallel, each asking for its database: one at a time here,
# so two starts or two CREATE ROLEs do not race.
case "$cmd" in
status | url) ;;
*)
	lock=${TMPDIR:-/tmp}/orchfs-pg-server.$PORT.lock
	if command -v flock >/dev/null 2>&1 && { exec 9>>"$lock"; } 2>/dev/null; then
		flock -w 300 9 || die "waited 300 s for $lock"
	fi
	;;
esac
case "$cmd" in
up)
	up
	ensure_db
	url "$DB"
	;;
start)
	up
	;;
stop)
	find_cluster
	[ -n "$CLUSTER" ] || die "no cluster on port $PORT"
	stop
	;;
restart)
	find_cluster
	[ -n "$CLUSTER" ] || die "no cluster on port $PORT"
	stop
	up
	;;
status)
	command -v pg_isready >/dev/null 2>&1 || exit 3
	pg_isready -q -h 127.0.0.1 -p "$PORT" -t 2 || exit 3
	;;
newdb)
	[ $# -eq 2 ] || die "usage: pg-server.sh newdb NAME"
	check_name "$2"
	up
	sql "DROP DATABASE IF EXISTS \"$2\" WITH (FORCE)" >/dev/null
	create_db "$2"
	url "$2"
	;;
dropdb)
	[ $# -eq 2 ] || die "usage: pg-server.sh dropdb NAME"
	check_name "$2"
	up
	sql "DROP DATABASE IF EXISTS \"$2\" WITH (FORCE)" >/dev/null
	;;
url)
	url "${2:-$DB}"
	;;
*)
	die "usage: pg-server.sh [up|start|stop|restart|status|newdb NAME|dropdb NAME|url [NAME]]"
	;;
esac
