#!/usr/bin/python3
"""Differential judge for tests/recurrence_dateutil.rs: python-dateutil's rrule expansion.

Reads JSON lines on stdin, one job each:
  {"id": 7, "rule": "FREQ=...", "dtstart": "YYYYMMDDTHHMMSS", "k": 50}
  {"id": 8, "rule": "FREQ=...", "dtstart": "...", "k": 50, "tz": "America/Chicago"}
and prints one JSON line per job:
  {"id": 7, "occ": ["YYYYMMDDTHHMMSS", ...]}      naive local instants (no "tz")
  {"id": 8, "occ": ["YYYYMMDDTHHMMSSZ", ...]}     UTC instants (with "tz")
  {"id": 9, "error": "..."}                      dateutil refused the rule
  {"id": 10, "timeout": true}                    dateutil needed more than 0.25 s
"""
import itertools
import json
import signal
import sys
from datetime import datetime, timezone

from dateutil import tz as dtz
from dateutil.rrule import rrulestr


class Timeout(Exception):
    pass


def on_alarm(signum, frame):
    raise Timeout()


signal.signal(signal.SIGALRM, on_alarm)


def run(job):
    start = datetime.strptime(job["dtstart"], "%Y%m%dT%H%M%S")
    zone = None
    if job.get("tz"):
        zone = dtz.gettz(job["tz"])
        if zone is None:
            return {"id": job["id"], "error": "unknown zone " + job["tz"]}
        start = start.replace(tzinfo=zone)
    try:
        rule = rrulestr(job["rule"], dtstart=start)
    except Exception as e:  # dateutil rejects some rules at construction
        return {"id": job["id"], "error": "%s: %s" % (type(e).__name__, e)}
    occ = []
    signal.setitimer(signal.ITIMER_REAL, 0.25)
    try:
        for d in itertools.islice(iter(rule), job["k"]):
            if zone is not None:
                occ.append(d.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ"))
            else:
                occ.append(d.strftime("%Y%m%dT%H%M%S"))
    except Timeout:
        return {"id": job["id"], "timeout": True}
    except Exception as e:
        return {"id": job["id"], "error": "%s: %s" % (type(e).__name__, e)}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return {"id": job["id"], "occ": occ}


def main():
    for line in sys.stdin:
        line = line.strip()
        if line:
            print(json.dumps(run(json.loads(line))), flush=False)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
