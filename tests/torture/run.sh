#!/usr/bin/env bash
# `make torture` (issue 8): faults, concurrency and hostile input at full size.
#   TORTURE_KILL_TRIALS  kill -9 trials per path (default 50: embedded, CalDAV + SMTP, and two
#                        workers on one store, so 100 single-worker trials across both paths)
#   TORTURE_CASES        property-test cases for the line editor (default 1000000)
#   TORTURE_HOSTILE      generated malformed calendars (default 100000; a twentieth of them also
#                        through the embedded worker)
# `make torture-short` runs it with 5 trials per path, 100,000 property cases and 10,000
# generated calendars.
# Each suite prints its own figures (trials, faults, re-sends); this script prints a summary and
# fails if any suite fails. Suites that have not landed yet are reported as missing, not passed.
set -uo pipefail
cd "$(dirname "$0")/../.."
export CARGO_HOME="${CARGO_HOME:-$PWD/cargo-home}"
KILL_TRIALS="${TORTURE_KILL_TRIALS:-50}"
CASES="${TORTURE_CASES:-1000000}"
HOSTILE="${TORTURE_HOSTILE:-100000}"
log=$(mktemp -d)
declare -a summary
status=0

suite() { # name, command...
    local name=$1
    shift
    echo "== torture: $name" >&2
    local t0=$SECONDS
    if "$@" >"$log/$name.out" 2>&1; then
        summary+=("PASS  $name ($((SECONDS - t0)) s)")
    else
        summary+=("FAIL  $name ($((SECONDS - t0)) s): see output above")
        status=1
    fi
    # (cargo --quiet prints progress dots before a test's first line of output.)
    grep -oE '^[. ]*(TORTURE|trial|kill|re-send|resend|cases|exact|fault|concurrency|security|hostile [a-z ]+cases|passed!|failed!).*' -i "$log/$name.out" \
        | sed -E 's/^[. ]+//' | tail -20 >&2 || true
    tail -5 "$log/$name.out" >&2
}

# Faults: kill -9 of the worker at random points, restart, compare with an uninterrupted run.
for t in worker_kill worker_kill_caldav; do
    if [ -f "tests/$t.rs" ]; then
        suite "$t" env MMS_KILL_TRIALS="$KILL_TRIALS" cargo test --release --quiet --test "$t" -- --nocapture
    else
        summary+=("MISSING $t (tests/$t.rs not on this branch)")
        status=1
    fi
done

# Faults other than kill: SMTP refusing then accepting, CalDAV restarted mid-run, read-only and
# full store. Concurrency: a user's edit between the worker's GET and PUT (412), admin changes
# mid-run. Security: SQL, credentials, HTML escaping.
for t in worker_faults worker_caldav_smtp caldav_radicale smtp_sink worker_concurrency security; do
    if [ -f "tests/$t.rs" ]; then
        suite "$t" cargo test --release --quiet --test "$t" -- --nocapture
    else
        summary+=("MISSING $t (tests/$t.rs not on this branch)")
        status=1
    fi
done

# Hostile input: property tests on the line editor with TORTURE_CASES cases, malformed calendars.
# (tests/calendar_lines_prop.rs reads the case count from MMS_PROPTEST_CASES.)
if grep -q MMS_PROPTEST_CASES tests/calendar_lines_prop.rs 2>/dev/null; then
    suite "line-editor-properties" env PROPTEST_CASES="$CASES" MMS_PROPTEST_CASES="$CASES" \
        cargo test --release --quiet --test calendar_lines_prop -- --nocapture
else
    summary+=("MISSING line-editor-properties (no MMS_PROPTEST_CASES property test on this branch)")
    status=1
fi

# Hostile calendars: named cases (10 MB line, 100,000-deep nesting, 100,000 attendees, absurd
# RRULEs, ...) through the rewrite and `mms serve` (time and peak RSS), then TORTURE_HOSTILE
# generated ones.
if [ -f tests/hostile_input.rs ]; then
    suite "hostile_input" env MMS_HOSTILE_CASES="$HOSTILE" \
        cargo test --release --quiet --test hostile_input -- --nocapture
else
    summary+=("MISSING hostile_input (tests/hostile_input.rs not on this branch)")
    status=1
fi

# Every cmdlet with wrong-typed values and unknown identities (an ErrorRecord, nothing changed).
if command -v dotnet >/dev/null && [ -d tests/dotnet ]; then
    suite "cmdlet-hostile-input" dotnet test tests/dotnet --nologo --filter "FullyQualifiedName~HostileInputTests"
else
    summary+=("MISSING cmdlet-hostile-input (dotnet or tests/dotnet not here)")
    status=1
fi

# Every C export with NULL / bad UTF-8 / freed handles and from many threads, under valgrind.
if command -v valgrind >/dev/null; then
    suite "c-host-valgrind" make --no-print-directory test-c-valgrind
else
    summary+=("MISSING c-host-valgrind (valgrind not installed)")
    status=1
fi

echo
echo "Torture summary (kill trials per path: $KILL_TRIALS, property cases: $CASES, generated calendars: $HOSTILE):"
printf '  %s\n' "${summary[@]}"
rm -rf "$log"
exit $status
