#!/usr/bin/env bash
# demo.sh — set up, build, and run trucker on the example pipelines.
#
# This version of trucker checks pipeline folders and renders the SQL they
# run; streaming comes next.  So the demo checks every example pipeline and
# shows, for a few changes, exactly what each pipeline would execute.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash scripts/setup.sh
trucker=build/trucker

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "trucker check pipelines"
$trucker check pipelines

step "an insert through the default mirror (orders_mirror)"
$trucker render pipelines/orders_mirror --op insert --pk id \
	--new '{"id": 1001, "customer_id": 7, "amount": 12345678901.25, "status": "new", "note": "it'"'"'s fragile", "created_at": "2026-11-22 10:00:00+00"}'

step "a wal2json transaction through the incremental aggregate (customer_totals)"
$trucker render pipelines/customer_totals --change tests/fixtures/wal2json/demo-orders.jsonl

step "the same transaction through the audit trail (orders_audit)"
$trucker render pipelines/orders_audit --change tests/fixtures/wal2json/demo-orders.jsonl

step "a broken pipeline folder: every error, with its position"
broken=$(mktemp -d)
trap 'rm -rf "$broken"' EXIT
cp -r pipelines/. "$broken/"
echo "on_error: stp" >>"$broken/orders_mirror/config.yml"
sed -i 's/{{ new.customer_id }}, 1/{{ new.custmer_id }, 1/' "$broken/customer_totals/insert.sql"
sed -i 's/connection: lake/connection: laek/' "$broken/orders_lake/config.yml"
$trucker check "$broken" || echo "(exit status $? — as expected)"
