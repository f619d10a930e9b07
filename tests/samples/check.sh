#!/usr/bin/env bash
# Runs `mms rewrite` over the shared real invitations (checking expect.json) and over every file
# of the shared ical corpus (each must be rewritten, skipped with a reason, or rejected with a
# readable error: never a crash, a signal or a hang), and round-trips each corpus file byte for
# byte through the line editor. Usage: tests/samples/check.sh SHARED_DIR
set -u
SHARED="${1:?usage: $0 SHARED_DIR}"
cd "$(dirname "$0")/../.."
MMS="${MMS:-target/release/mms}"
PY=/usr/bin/python3
INVITES="$SHARED/samples/invites"
CORPUS="$SHARED/samples/ical-corpus"
for d in "$INVITES" "$CORPUS"; do
  [ -d "$d" ] || { echo "missing $d" >&2; echo "0 passed, 1 failed"; exit 1; }
done
[ -x "$MMS" ] || { echo "missing $MMS (run make build)" >&2; echo "0 passed, 1 failed"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
coords="$work/coords.json"
cat > "$coords" <<'JSON'
{"meetingKind": "Teams",
 "joinUrl": "https://teams.microsoft.com/l/meetup-join/19%3ameeting_Q0hFQ0tTSE1JR1JBVElPTg%40thread.v2/0?context=%7b%22Tid%22%3a%2211111111-2222-3333-4444-555555555555%22%2c%22Oid%22%3a%2266666666-7777-8888-9999-000000000000%22%7d",
 "conferenceId": "123456789",
 "tollNumbers": [{"number": "+1 323-555-0166", "city": "United States, Los Angeles"}],
 "tollFreeNumbers": [{"number": "+1 800-555-0100", "city": "United States"}],
 "findLocalNumberUrl": "https://dialin.teams.microsoft.com/11111111-2222-3333-4444-555555555555?id=123456789",
 "meetingOptionsUrl": "https://teams.microsoft.com/meetingOptions/?organizerId=66666666-7777-8888-9999-000000000000&tenantId=11111111-2222-3333-4444-555555555555"}
JSON

passed=0
failed=0
ok() { passed=$((passed + 1)); }
ko() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# The ORGANIZER address of a calendar (unfolded first), or a placeholder.
organizer_of() {
  local o
  o=$(perl -0777 -pe 's/\r?\n[ \t]//g' "$1" 2>/dev/null | tr -d '\r' | grep -a -m1 -i '^ORGANIZER[;:]' \
      | perl -ne 'if (/mailto:([^";:]+)\s*$/i) { print $1 } elsif (/:([^:]*)$/) { print $1 }')
  echo "${o:-nobody@example.invalid}"
}

run_rewrite() { # file target -> sets rc, err
  local f="$1" target="$2"
  timeout 20 "$MMS" rewrite "$f" --organizer "$(organizer_of "$f")" --coordinates "$coords" \
      --target "$target" --now 2000-01-01T00:00:00Z >"$work/out" 2>"$work/err"
  rc=$?
  err=$(head -c 300 "$work/err")
}

# 1. Real invitations against expect.json.
while IFS=$'\t' read -r name expect target; do
  f="$INVITES/$name"
  run_rewrite "$f" "${target:-Current}"
  case "$expect:$rc" in
    skip:3) ok ;;
    rewrite:0)
      if grep -aq "meetup-join/19%3ameeting_Q0hFQ0tTSE1JR1JBVElPTg" "$work/out"; then ok; else ko "$name: output lacks the new join link"; fi ;;
    either:0|either:3) ok ;;
    *) ko "$name: expected $expect, exit $rc: $err" ;;
  esac
done < <("$PY" -c '
import json, sys
for name, v in json.load(open(sys.argv[1])).items():
    if isinstance(v, str): v = {"expect": v}
    print(name, v["expect"], v.get("target", "Current"), sep="\t")
' "$INVITES/expect.json")

# 2. The corpus: rewrite, skip or readable error; and a byte-exact line-editor round trip.
count=0
for f in "$CORPUS"/*; do
  [ -f "$f" ] || continue
  count=$((count + 1))
  name=$(basename "$f")
  run_rewrite "$f" Current
  case "$rc" in
    0|3) ok ;;
    2) if [ -n "$err" ]; then ok; else ko "$name: exit 2 without a message"; fi ;;
    124) ko "$name: timed out" ;;
    *) ko "$name: exit $rc (crash or signal): $err" ;;
  esac
  if timeout 20 "$MMS" lines-roundtrip "$f" 2>"$work/err"; then ok; else ko "$name: line-editor round trip: $(head -c 200 "$work/err")"; fi
done
[ "$count" -gt 0 ] || ko "no corpus files in $CORPUS"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
