"""Judge: the rewritten calendar parses with icalendar and vobject, keeps every meeting fact,
raises SEQUENCE by one per component, and leaves the decoded text outside the block unchanged.
Usage: ical_judge.py ORIGINAL.ics REWRITTEN.ics   (exit 0 and "ok" on success)"""
import re, sys
import icalendar, vobject

def load(path):
    raw = open(path, "rb").read()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    icalendar.Calendar.from_ical(raw)  # the file as written must parse
    # Compare meaning on octet-unfolded text: a fold may split a UTF-8 character, which both
    # libraries (unfolding text, not octets) would otherwise decode as U+FFFD.
    unfolded = re.sub(rb"\r?\n[ \t]", b"", raw)
    vobject.readOne(unfolded.decode("utf-8"))
    return icalendar.Calendar.from_ical(unfolded)

SEP = re.compile(r"_{70,}|\.{20,}(?:\s*\.{20,})+|\.{100,}")

def outside(text):
    seps = list(SEP.finditer(text))
    if not seps:
        return text, ""
    return text[: seps[0].start()], text[seps[-1].end():]

def main(a, b):
    old, new = load(a), load(b)
    oe, ne = list(old.walk("VEVENT")), list(new.walk("VEVENT"))
    assert len(oe) == len(ne), "VEVENT count changed"
    for o, n in zip(oe, ne):
        for key in ("UID", "SUMMARY", "RRULE", "ORGANIZER"):
            assert str(o.get(key)) == str(n.get(key)), key
        for key in ("DTSTART", "DTEND", "RECURRENCE-ID"):
            if o.get(key) is not None:
                assert o.decoded(key) == n.decoded(key), key
        assert [str(x) for x in (o.get("ATTENDEE") or [])] == [str(x) for x in (n.get("ATTENDEE") or [])]
        assert int(n.get("SEQUENCE")) == int(o.get("SEQUENCE", 0)) + 1, "SEQUENCE"
        for key in ("DESCRIPTION", "X-ALT-DESC"):
            if o.get(key) is None:
                continue
            ot, nt = str(o.get(key)), str(n.get(key))
            if key == "X-ALT-DESC":  # HTML: the block spans whole elements; compare visible text
                ot, nt = re.sub(r"<[^>]*>", "", ot), re.sub(r"<[^>]*>", "", nt)
            assert outside(ot) == outside(nt), f"{key}: text outside the block changed"
            assert ot != nt, f"{key}: block not replaced"
    print("ok")

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
