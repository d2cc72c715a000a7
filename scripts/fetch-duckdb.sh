#!/usr/bin/env bash
# fetch-duckdb.sh — installs DuckDB (library, C header, ducklake and postgres
# extensions) into ${TRUCKER_DUCKDB_DIR:-<repo>/deps/duckdb}, from the npm and
# PyPI registries only.  Idempotent: does nothing when the version matches.
#
# Layout written:
#   lib/libduckdb.so
#   include/duckdb.h
#   extensions/ducklake.duckdb_extension
#   extensions/postgres_scanner.duckdb_extension
#   VERSION                       (written last: its presence means complete)
set -euo pipefail

DUCKDB_VERSION=1.5.5
NPM_PKG=@duckdb/node-bindings-linux-x64
NPM_VERSION=${DUCKDB_VERSION}-r.5

# sha256 of each downloaded artifact; registry files are immutable.
SHA_NPM=86d2bda909785550e8a14a57a8a4584827aff0e268d8f1a58c3fd48559f7020e
SHA_SDIST=72f33ee57ca7595b23957671a2cc7f7fe2be0ecc2d68f63abedcfcaa3a5c1238
SHA_DUCKLAKE=b631ae4dd4bd649b3db35a789dbcc859476fe231ef449b3f03f4fe4e2ef4a946
SHA_POSTGRES=d423f23dcbfa6c0708840eb7a8a8b54244eada4adeace8356cb095638880ab33

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest=${TRUCKER_DUCKDB_DIR:-$repo/deps/duckdb}

say() { printf 'fetch-duckdb: %s\n' "$*"; }
die() { printf 'fetch-duckdb: error: %s\n' "$*" >&2; exit 1; }

files=(lib/libduckdb.so include/duckdb.h
	extensions/ducklake.duckdb_extension
	extensions/postgres_scanner.duckdb_extension)

complete=1
[[ -f $dest/VERSION && $(cat "$dest/VERSION") == "$DUCKDB_VERSION" ]] || complete=0
for f in "${files[@]}"; do
	[[ -s $dest/$f ]] || complete=0
done
if ((complete)); then
	say "duckdb $DUCKDB_VERSION already installed in $dest"
	exit 0
fi

command -v npm >/dev/null || die "npm not found"
command -v pip >/dev/null || command -v pip3 >/dev/null || die "pip not found"
pip=$(command -v pip || command -v pip3)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetch-duckdb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

check_sha() {
	local file=$1 want=$2 got
	got=$(sha256sum "$file" | cut -d' ' -f1)
	[[ $got == "$want" ]] || die "sha256 mismatch for $(basename "$file"): got $got, want $want"
}

# Extract one member of a zip (a wheel) to stdout.
unzip_member() {
	if command -v unzip >/dev/null; then
		unzip -p "$1" "$2"
	else
		python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' "$1" "$2"
	fi
}

say "downloading $NPM_PKG@$NPM_VERSION (libduckdb.so)"
(cd "$tmp" && npm pack --silent --pack-destination "$tmp" "$NPM_PKG@$NPM_VERSION" >/dev/null)
npm_tgz=$tmp/duckdb-node-bindings-linux-x64-$NPM_VERSION.tgz
[[ -f $npm_tgz ]] || die "npm pack did not produce $npm_tgz"
check_sha "$npm_tgz" "$SHA_NPM"

say "downloading duckdb==$DUCKDB_VERSION sdist (duckdb.h)"
"$pip" download --quiet --no-deps --no-binary duckdb -d "$tmp" "duckdb==$DUCKDB_VERSION" \
	|| die "pip download of the duckdb sdist failed"
sdist=$tmp/duckdb-$DUCKDB_VERSION.tar.gz
[[ -f $sdist ]] || die "pip did not produce $sdist"
check_sha "$sdist" "$SHA_SDIST"

say "downloading extension wheels ducklake, postgres $DUCKDB_VERSION"
"$pip" download --quiet --no-deps --only-binary :all: -d "$tmp" \
	"duckdb-extension-ducklake==$DUCKDB_VERSION" \
	"duckdb-extension-postgres==$DUCKDB_VERSION" \
	|| die "pip download of the extension wheels failed"
whl_ducklake=$tmp/duckdb_extension_ducklake-$DUCKDB_VERSION-py3-none-manylinux2014_x86_64.whl
whl_postgres=$tmp/duckdb_extension_postgres-$DUCKDB_VERSION-py3-none-manylinux2014_x86_64.whl
[[ -f $whl_ducklake && -f $whl_postgres ]] || die "expected wheels not found in download"
check_sha "$whl_ducklake" "$SHA_DUCKLAKE"
check_sha "$whl_postgres" "$SHA_POSTGRES"

say "extracting"
stage=$tmp/stage
mkdir -p "$stage/lib" "$stage/include" "$stage/extensions"
tar -xzf "$npm_tgz" -C "$tmp" package/libduckdb.so
mv "$tmp/package/libduckdb.so" "$stage/lib/libduckdb.so"
tar -xzf "$sdist" -C "$tmp" "duckdb-$DUCKDB_VERSION/external/duckdb/src/include/duckdb.h"
mv "$tmp/duckdb-$DUCKDB_VERSION/external/duckdb/src/include/duckdb.h" "$stage/include/duckdb.h"
unzip_member "$whl_ducklake" "duckdb_extension_ducklake/extensions/v$DUCKDB_VERSION/ducklake.duckdb_extension" \
	>"$stage/extensions/ducklake.duckdb_extension"
# The entry point is derived from the file name: the postgres extension's is
# postgres_scanner_duckdb_cpp_init, so the file must be postgres_scanner.*.
unzip_member "$whl_postgres" "duckdb_extension_postgres/extensions/v$DUCKDB_VERSION/postgres.duckdb_extension" \
	>"$stage/extensions/postgres_scanner.duckdb_extension"

# Sanity: the extensions' metadata footer names the DuckDB version they need.
for ext in "$stage"/extensions/*.duckdb_extension; do
	tail -c 1024 "$ext" | grep -aq "v$DUCKDB_VERSION" \
		|| die "$(basename "$ext") is not built for v$DUCKDB_VERSION"
done
grep -aq "v$DUCKDB_VERSION" "$stage/lib/libduckdb.so" \
	|| die "libduckdb.so does not identify as v$DUCKDB_VERSION"

say "installing into $dest"
mkdir -p "$dest/lib" "$dest/include" "$dest/extensions"
rm -f "$dest/VERSION"
install -m 0755 "$stage/lib/libduckdb.so" "$dest/lib/libduckdb.so"
install -m 0644 "$stage/include/duckdb.h" "$dest/include/duckdb.h"
install -m 0644 "$stage/extensions/ducklake.duckdb_extension" "$dest/extensions/"
install -m 0644 "$stage/extensions/postgres_scanner.duckdb_extension" "$dest/extensions/"
printf '%s\n' "$DUCKDB_VERSION" >"$dest/VERSION"
say "done: duckdb $DUCKDB_VERSION in $dest"
