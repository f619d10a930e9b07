#!/usr/bin/env bash
# `make bench`: runs every bench program (release build), collects their ROW lines and prints one
# table: figure, value, baseline measured in the same run, ratio, target, met.
# BENCH_SCALE=0.1 shrinks the sizes for a quick run. Nothing here is asserted by any test.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_HOME="${CARGO_HOME:-$PWD/cargo-home}"
BENCHES="${BENCHES:-status rewrite migrate caldav powershell}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rows="$work/rows"
: >"$rows"
# The status bench leaves its store (100,000 jobs at BENCH_SCALE=1) here for the PowerShell bench.
export BENCH_STATUS_STORE="$work/status.db"
for b in $BENCHES; do
    echo "== bench $b" >&2
    if [ -f "benches/$b.rs" ]; then
        # tee -a: with stderr redirected to a file, a plain tee would truncate it per bench.
        cargo bench --quiet --bench "$b" 2>&2 | tee -a /dev/stderr | grep '^ROW|' >>"$rows" || {
            echo "bench $b failed" >&2
            exit 1
        }
    elif [ "$b" = powershell ]; then
        # Get-CsMeetingMigrationStatus through the module in a hosted engine (benches/powershell),
        # over the status bench's store, built here when that bench did not run.
        [ -f "$BENCH_STATUS_STORE" ] || cargo bench --quiet --bench status -- --store-only >&2
        make --no-print-directory module >&2
        dotnet run -c Release --project benches/powershell -- "$BENCH_STATUS_STORE" \
            out/module/MeetingMigrationService/MeetingMigrationService.psd1 2>&2 |
            tee -a /dev/stderr | grep '^ROW|' >>"$rows" || {
            echo "bench $b failed" >&2
            exit 1
        }
    fi
done
echo
echo "Machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(free -g | awk '/^Mem:/{print $2}') GiB RAM; BENCH_SCALE=${BENCH_SCALE:-1}"
echo
{
    echo "Figure|Value|Baseline (same run)|Ratio|Target|Met"
    sed 's/^ROW|//' "$rows"
} | awk -F'|' '
    { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR; nf = NF }
    END {
        for (r = 1; r <= n; r++) {
            line = "|"
            for (i = 1; i <= nf; i++) line = line sprintf(" %-*s |", w[i], cell[r, i])
            print line
            if (r == 1) { line = "|"; for (i = 1; i <= nf; i++) { s = ""; for (k = 0; k < w[i] + 2; k++) s = s "-"; line = line s "|" } print line }
        }
    }'
if grep -q '|NO$' "$rows"; then echo; echo "Some targets are not met (see Met)."; fi
