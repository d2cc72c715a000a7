#!/usr/bin/env bash
# pg.sh — a throwaway PostgreSQL 15 cluster for tests: wal_level=logical,
# wal2json available, trust authentication on a private socket and 127.0.0.1.
#
#   pg.sh start DIR [PORT]   initialise (if needed) and start; writes DIR/env
#   pg.sh stop DIR           stop the cluster (the folder stays)
#   pg.sh destroy DIR        stop and remove the folder
#
# DIR/env holds PGHOST, PGPORT and PGUSER exports for the tests to source.
# initdb refuses to run as root, so as root the cluster belongs to the
# postgres user.
set -euo pipefail

cmd=${1:?usage: pg.sh start|stop|destroy DIR [PORT]}
dir=${2:?usage: pg.sh start|stop|destroy DIR [PORT]}
port=${3:-${TRUCKER_TEST_PGPORT:-54329}}
bindir=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || dirname "$(command -v pg_ctl)")}

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

case "$cmd" in
start)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
			--locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; exit 1; }
		cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
wal_level = logical
max_wal_senders = 20
max_replication_slots = 20
wal_sender_timeout = 60s
fsync = off
synchronous_commit = on
full_page_writes = off
shared_buffers = 128MB
max_connections = 100
log_min_messages = warning
log_line_prefix = '%m [%p] %q%a '
CONF
		cat >"$dir/data/pg_hba.conf" <<HBA
local   all          all                 trust
local   replication  all                 trust
host    all          all   127.0.0.1/32  trust
host    replication  all   127.0.0.1/32  trust
HBA
	fi
	if ! as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
			{ tail -n 30 "$dir/server.log" >&2; exit 1; }
	fi
	printf 'export PGHOST=%q\nexport PGPORT=%q\nexport PGUSER=postgres\n' "$dir" "$port" >"$dir/env"
	chmod 644 "$dir/env"
	;;
stop)
	if [ -f "$dir/data/PG_VERSION" ]; then
		as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	;;
destroy)
	"$0" stop "$dir"
	rm -rf "$dir"
	;;
*)
	echo "pg.sh: unknown command $cmd" >&2
	exit 2
	;;
esac
