#!/usr/bin/env bash
# smoke.sh — builds tests/duckdb/smoke.c against deps/duckdb and the
# system libpq, starts a throwaway PostgreSQL 15 cluster (unix socket in a temp
# dir + a free port on 127.0.0.1, trust auth), and runs the smoke program with
# a DuckLake catalog database in it.  Exits with the program's status.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
duckdb_dir=${TRUCKER_DUCKDB_DIR:-$repo/deps/duckdb}
pg_bin=${TRUCKER_PG_BIN:-/usr/lib/postgresql/15/bin}

say() { printf 'duckdb-smoke: %s\n' "$*"; }
die() { printf 'duckdb-smoke: error: %s\n' "$*" >&2; exit 1; }

for f in lib/libduckdb.so include/duckdb.h \
	extensions/ducklake.duckdb_extension \
	extensions/postgres_scanner.duckdb_extension; do
	[[ -f $duckdb_dir/$f ]] || die "$duckdb_dir/$f missing: run scripts/fetch-duckdb.sh"
done
duckdb_dir=$(cd "$duckdb_dir" && pwd)
[[ -x $pg_bin/initdb ]] || die "no PostgreSQL binaries in $pg_bin (apt-get install postgresql-15)"

# initdb refuses to run as root: run the cluster as the postgres OS user.
run_pg=()
if [[ $(id -u) -eq 0 ]]; then
	id postgres >/dev/null 2>&1 || die "running as root but there is no postgres user"
	run_pg=(runuser -u postgres --)
fi

tmp=$(mktemp -d /tmp/trucker-duckdb-smoke.XXXXXX)
chmod 0711 "$tmp"
pgdir=$tmp/pg
mkdir -p "$pgdir" "$tmp/work"
[[ ${#run_pg[@]} -eq 0 ]] || chown postgres: "$pgdir"
started=0

cleanup() {
	if ((started)); then
		"${run_pg[@]}" "$pg_bin/pg_ctl" -D "$pgdir/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

say "building tests/duckdb/smoke.c"
if pq_cflags=$(pkg-config --cflags libpq 2>/dev/null) && pq_libs=$(pkg-config --libs libpq 2>/dev/null); then
	:
else
	pq_cflags=-I/usr/include/postgresql
	pq_libs=-lpq
fi
# duckdb.h goes in with -isystem: it declares `const char *duckdb_library_version();`
# and friends, which -Wstrict-prototypes would reject.
# shellcheck disable=SC2086
cc -std=c11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-isystem "$duckdb_dir/include" $pq_cflags \
	-o "$tmp/duckdb_smoke" "$repo/tests/duckdb/smoke.c" \
	-L"$duckdb_dir/lib" -Wl,-rpath,"$duckdb_dir/lib" -lduckdb $pq_libs

say "initdb (PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}'))"
"${run_pg[@]}" "$pg_bin/initdb" -D "$pgdir/data" -U postgres -A trust -E UTF8 \
	--locale=C --no-sync >"$tmp/initdb.log" 2>&1 \
	|| { cat "$tmp/initdb.log" >&2; die "initdb failed"; }

# TLS on the test cluster (self-signed), so that both OpenSSL copies -- the
# system one under libpq.so.5 and the one linked into the postgres extension --
# are really used in the same process.  TRUCKER_SMOKE_SSL=0 turns it off.
sslmode=disable
ssl_opts=
if [[ ${TRUCKER_SMOKE_SSL:-1} != 0 ]] && command -v openssl >/dev/null; then
	"${run_pg[@]}" openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
		-keyout "$pgdir/data/server.key" -out "$pgdir/data/server.crt" >/dev/null 2>&1 \
		|| die "openssl could not make a test certificate"
	"${run_pg[@]}" chmod 0600 "$pgdir/data/server.key"
	sslmode=require
	ssl_opts="-c ssl=on"
fi

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for attempt in 1 2 3 4 5; do
	port=$((20000 + RANDOM % 40000))
	port_in_use "$port" && continue
	if "${run_pg[@]}" "$pg_bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $pgdir -c fsync=off $ssl_opts" \
		start >/dev/null; then
		started=1
		break
	fi
	say "start on port $port failed (attempt $attempt)"
done
((started)) || { tail -20 "$pgdir/log" >&2 || true; die "could not start PostgreSQL"; }
say "cluster up on 127.0.0.1:$port and socket $pgdir (sslmode=$sslmode)"

"$pg_bin/createdb" -h 127.0.0.1 -p "$port" -U postgres trucker_lake_catalog

status=0
"$tmp/duckdb_smoke" "$duckdb_dir/extensions" "$tmp/work" \
	"host=127.0.0.1 port=$port dbname=trucker_lake_catalog user=postgres sslmode=$sslmode" || status=$?
if ((status != 0)); then
	say "smoke program failed with status $status; server log tail:"
	tail -20 "$pgdir/log" >&2 || true
fi
exit "$status"
