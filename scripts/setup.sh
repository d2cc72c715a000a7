#!/usr/bin/env bash
# setup.sh — everything a fresh Debian 12 machine needs to build and test trucker:
# Debian packages, DuckDB 1.5.5 (library, header, extensions, checked by a
# smoke test that links it beside the system libpq) and the build.
#
#   scripts/setup.sh              install, fetch, smoke-test DuckDB, build into build/
#   SKIP_APT=1 scripts/setup.sh   skip the package step (no root needed)
#   SKIP_SMOKE=1 scripts/setup.sh skip the DuckDB smoke test
#
# Idempotent: each step checks before it acts.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

say() { printf 'setup: %s\n' "$*"; }

packages=(
	build-essential cmake ninja-build pkg-config git
	libpq-dev libyaml-dev libjansson-dev libuv1-dev libcmocka-dev
	postgresql-15 postgresql-15-wal2json postgresql-client-15
	clang libclang-rt-14-dev
	unzip ca-certificates
)
# DuckDB ships through npm and PyPI: install their clients only when absent
command -v npm >/dev/null || packages+=(npm)
command -v pip3 >/dev/null || command -v pip >/dev/null || packages+=(python3-pip)

if [ "${SKIP_APT:-0}" != 1 ]; then
	missing=()
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		sudo=""
		[ "$(id -u)" -eq 0 ] || sudo=sudo
		say "installing ${missing[*]}"
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
		# the Debian package starts a cluster of its own; trucker's tests run their own
		if [ -n "$(ls /etc/postgresql 2>/dev/null)" ] && command -v pg_ctlcluster >/dev/null; then
			$sudo pg_ctlcluster 15 main stop 2>/dev/null || true
		fi
	else
		say "Debian packages present"
	fi
fi

bash scripts/fetch-duckdb.sh
if [ "${SKIP_SMOKE:-0}" != 1 ]; then
	say "DuckDB smoke test: system libpq and libduckdb in one process"
	bash tests/duckdb/smoke.sh >/dev/null 2>"${TMPDIR:-/tmp}/trucker-duckdb-smoke.log" ||
		{ cat "${TMPDIR:-/tmp}/trucker-duckdb-smoke.log" >&2; exit 1; }
fi

say "building into build/"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
say "done: build/trucker"
