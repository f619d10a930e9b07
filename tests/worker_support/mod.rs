//! Shared checks for the worker's end-to-end tests (embedded store, Radicale + SMTP, kill test).
#![allow(dead_code)]

pub mod kill;

use mms::engine::sample::{SampleKind, SampleMeeting};
use mms::engine::source::{CalendarObject, CalendarRef, CalendarSource, PutOutcome, SourceError};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// Unfolds content lines (CRLF or LF followed by SPACE or TAB), keeping each logical line.
pub fn unfold(data: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(data).replace("\r\n", "\n");
    let mut out: Vec<String> = Vec::new();
    for line in text.split('\n') {
        if (line.starts_with(' ') || line.starts_with('\t')) && !out.is_empty() {
            if let Some(last) = out.last_mut() {
                last.push_str(&line[1..]);
            }
        } else if !line.is_empty() {
            out.push(line.to_string());
        }
    }
    out
}

pub fn prop_name(line: &str) -> String {
    line.split([';', ':'])
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

pub fn prop_value(line: &str) -> String {
    // Value after the first ':' that is not inside a quoted parameter.
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => return line[i + 1..].to_string(),
            _ => {}
        }
    }
    String::new()
}

pub fn unescape(v: &str) -> String {
    let mut out = String::new();
    let mut it = v.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') | Some('N') => out.push('\n'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Properties the migration may change in a rewritten object.
pub fn may_change(name: &str) -> bool {
    matches!(
        name,
        "DESCRIPTION" | "X-ALT-DESC" | "SEQUENCE" | "DTSTAMP" | "LAST-MODIFIED" | "LOCATION"
    ) || name.starts_with("X-MICROSOFT-")
        || name.starts_with("X-MS-")
}

/// The SEQUENCE of every VEVENT, in order.
pub fn sequences(data: &[u8]) -> Vec<u32> {
    unfold(data)
        .iter()
        .filter(|l| prop_name(l) == "SEQUENCE")
        .map(|l| prop_value(l).trim().parse().unwrap_or(0))
        .collect()
}

/// Every DESCRIPTION, unescaped.
pub fn descriptions(data: &[u8]) -> Vec<String> {
    unfold(data)
        .iter()
        .filter(|l| prop_name(l) == "DESCRIPTION" && !l.contains("Reminder"))
        .map(|l| unescape(&prop_value(l)))
        .collect()
}

/// Text of a body outside the block: before the first separator line and after the last one.
pub fn outside_block(body: &str) -> (String, String) {
    let is_sep = |l: &str| {
        let t = l.trim();
        t.len() >= 30 && (t.chars().all(|c| c == '_') || t.chars().all(|c| c == '.'))
    };
    let lines: Vec<&str> = body.split('\n').collect();
    let first = lines.iter().position(|l| is_sep(l));
    let last = lines.iter().rposition(|l| is_sep(l));
    match (first, last) {
        (Some(f), Some(l)) => (lines[..f].join("\n"), lines[l + 1..].join("\n")),
        _ => (body.to_string(), String::new()),
    }
}

/// Asserts a rewritten object differs from the original only where a migration may change it:
/// every other content line byte-identical and in the same order, SEQUENCE raised by one on
/// every component, text outside the block identical, the new conference ID in the block.
pub fn assert_rewritten_only_in_block(
    before: &[u8],
    after: &[u8],
    new_conference_id: &str,
    what: &str,
) {
    let b = unfold(before);
    let a = unfold(after);
    let keep_b: Vec<&String> = b.iter().filter(|l| !may_change(&prop_name(l))).collect();
    let keep_a: Vec<&String> = a.iter().filter(|l| !may_change(&prop_name(l))).collect();
    assert_eq!(keep_b, keep_a, "{what}: lines outside the block changed");
    let sb = sequences(before);
    let sa = sequences(after);
    assert_eq!(sb.len(), sa.len(), "{what}: SEQUENCE lines");
    for (x, y) in sb.iter().zip(&sa) {
        assert_eq!(x + 1, *y, "{what}: SEQUENCE must rise by exactly one");
    }
    let db = descriptions(before);
    let da = descriptions(after);
    assert_eq!(db.len(), da.len(), "{what}: DESCRIPTION count");
    for (x, y) in db.iter().zip(&da) {
        assert_eq!(
            outside_block(x),
            outside_block(y),
            "{what}: text outside the block changed"
        );
        assert_ne!(x, y, "{what}: block not replaced");
        let digits: String = y.chars().filter(|c| c.is_ascii_digit()).collect();
        assert!(
            digits.contains(new_conference_id),
            "{what}: new conference ID {new_conference_id} not in the block:\n{y}"
        );
    }
}

/// Parses every file with Python's icalendar (Debian's /usr/bin/python3); panics with the
/// parser's message on the first failure.
pub fn assert_parses_with_python(files: &[&Path]) {
    let script = "import sys, icalendar\nfor p in sys.argv[1:]:\n    c = icalendar.Calendar.from_ical(open(p,'rb').read())\n    assert any(True for _ in c.walk('VEVENT')), p\nprint('ok', len(sys.argv)-1)\n";
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .args(files)
        .output()
        .expect("run /usr/bin/python3");
    assert!(
        out.status.success(),
        "icalendar refused a file: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every message the embedded outbox delivered.
pub fn delivered(conn: &rusqlite::Connection) -> Vec<Mail> {
    mms::store::calendars::delivered_mail(conn)
        .unwrap()
        .into_iter()
        .map(|m| Mail {
            message_id: m.message_id,
            recipients: m.recipients,
            data: m.data,
        })
        .collect()
}

/// One received mail, reduced to what the assertions need.
#[derive(Debug, Clone)]
pub struct Mail {
    pub message_id: String,
    pub recipients: Vec<String>,
    pub data: Vec<u8>,
}

pub fn header(data: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    let prefix = format!("{}:", name.to_ascii_lowercase());
    for line in text.split("\r\n\r\n").next().unwrap_or("").lines() {
        if line.to_ascii_lowercase().starts_with(&prefix) {
            return Some(line[prefix.len()..].trim().to_string());
        }
    }
    None
}

/// Decodes the text/calendar part (base64 or plain) of an iMIP message.
pub fn calendar_part(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data).replace("\r\n", "\n");
    let Some(i) = text.find("Content-Type: text/calendar") else {
        return String::new();
    };
    let part = &text[i..];
    let body_start = part.find("\n\n").map_or(part.len(), |x| x + 2);
    let headers = &part[..body_start];
    let body = &part[body_start..];
    let body = body.split("\n--").next().unwrap_or("");
    if headers.to_ascii_lowercase().contains("base64") {
        let clean: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        String::from_utf8_lossy(&base64_decode(&clean)).into_owned()
    } else {
        body.to_string()
    }
}

pub fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let Some(v) = val(c) else { continue };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Checks the updates received: for each meeting that must be rewritten, exactly one distinct
/// Message-ID reached each of its attendees, carrying METHOD:REQUEST, the meeting's UID, the
/// raised SEQUENCE and ORGANIZER;SENT-BY=the sender. Nothing else was received. Returns the
/// number of exact re-sends (same Message-ID delivered more than once, identical bytes).
pub fn assert_mail(
    mail: &[Mail],
    meetings: &[(String, SampleMeeting, u32)],
    sender: &str,
) -> usize {
    let mut by_id: BTreeMap<String, Vec<&Mail>> = BTreeMap::new();
    for m in mail {
        by_id.entry(m.message_id.clone()).or_default().push(m);
    }
    let mut resends = 0;
    for copies in by_id.values() {
        for c in &copies[1..] {
            assert_eq!(c.data, copies[0].data, "a re-send must be an exact copy");
        }
        resends += copies.len() - 1;
    }
    let mut expected_ids = BTreeSet::new();
    for (organizer, m, new_sequence) in meetings {
        let matching: Vec<(&String, &Vec<&Mail>)> = by_id
            .iter()
            .filter(|(_, c)| {
                calendar_part(&c[0].data)
                    .replace("\n ", "")
                    .contains(&format!("UID:{}", m.uid))
            })
            .collect();
        assert_eq!(
            matching.len(),
            1,
            "{organizer} {}: exactly one distinct update per series",
            m.file_name
        );
        let (id, copies) = matching[0];
        expected_ids.insert(id.clone());
        let ical = calendar_part(&copies[0].data)
            .replace("\r\n ", "")
            .replace("\n ", "");
        assert!(
            ical.contains("METHOD:REQUEST"),
            "{}: METHOD:REQUEST",
            m.file_name
        );
        assert!(
            ical.contains(&format!("SEQUENCE:{new_sequence}")),
            "{}: SEQUENCE:{new_sequence} in\n{ical}",
            m.file_name
        );
        assert!(
            ical.to_ascii_lowercase().contains(&format!(
                "sent-by=\"mailto:{}\"",
                sender.to_ascii_lowercase()
            )) || ical
                .to_ascii_lowercase()
                .contains(&format!("sent-by=mailto:{}", sender.to_ascii_lowercase())),
            "{}: SENT-BY {sender}",
            m.file_name
        );
        let mut got: Vec<String> = copies[0]
            .recipients
            .iter()
            .map(|r| r.to_ascii_lowercase())
            .collect();
        got.sort();
        got.dedup();
        let mut want: Vec<String> = m.attendees.iter().map(|a| a.to_ascii_lowercase()).collect();
        want.sort();
        assert_eq!(got, want, "{}: every attendee, once", m.file_name);
        assert_eq!(
            header(&copies[0].data, "Message-ID").map(|h| h.trim_matches(['<', '>']).to_string()),
            Some(id.clone()),
            "{}: Message-ID header",
            m.file_name
        );
    }
    let unexpected: Vec<&String> = by_id
        .keys()
        .filter(|k| !expected_ids.contains(*k))
        .collect();
    assert!(
        unexpected.is_empty(),
        "updates nobody should have received: {unexpected:?}"
    );
    resends
}

/// The meetings of a sample calendar that must be rewritten, with their new SEQUENCE.
pub fn must_rewrite(
    organizer: &str,
    meetings: &[SampleMeeting],
) -> Vec<(String, SampleMeeting, u32)> {
    meetings
        .iter()
        .filter(|m| m.kind.must_be_rewritten())
        .map(|m| {
            let seq = sequences(&m.data).into_iter().max().unwrap_or(0) + 1;
            (organizer.to_string(), m.clone(), seq)
        })
        .collect()
}

pub fn kinds_not_rewritten() -> Vec<SampleKind> {
    vec![
        SampleKind::PastSingle,
        SampleKind::EndedSeries,
        SampleKind::LargeAudience,
        SampleKind::CopyPastedBlock,
        SampleKind::OrganizedBySomeoneElse,
        SampleKind::Cancelled,
        SampleKind::NoOnlineBlock,
    ]
}

/// One call a [`HookedSource`] passed to its inner source, and what came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceCall {
    /// "get" or "put".
    pub op: &'static str,
    pub href: String,
    /// "Stored", "Conflict", "found", "gone" or "error: ...".
    pub outcome: String,
}

/// A calendar source that runs `before_put(inner, href)` before delegating every write (to
/// inject a fault or a concurrent edit at a known point) and logs every get and put.
pub struct HookedSource<S, F: Fn(&S, &str)> {
    pub inner: S,
    pub before_put: F,
    pub log: std::cell::RefCell<Vec<SourceCall>>,
}

impl<S: CalendarSource, F: Fn(&S, &str)> HookedSource<S, F> {
    pub fn new(inner: S, before_put: F) -> Self {
        HookedSource {
            inner,
            before_put,
            log: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// The logged calls on `href`, as "op outcome".
    pub fn calls_on(&self, href: &str) -> Vec<String> {
        self.log
            .borrow()
            .iter()
            .filter(|c| c.href == href)
            .map(|c| format!("{} {}", c.op, c.outcome))
            .collect()
    }

    fn note(&self, op: &'static str, href: &str, outcome: String) {
        self.log.borrow_mut().push(SourceCall {
            op,
            href: href.to_string(),
            outcome,
        });
    }
}

impl<S: CalendarSource, F: Fn(&S, &str)> CalendarSource for HookedSource<S, F> {
    fn calendars(&self, user: &str) -> Result<Vec<CalendarRef>, SourceError> {
        self.inner.calendars(user)
    }
    fn list_future_objects(
        &self,
        calendar: &CalendarRef,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<CalendarObject>, SourceError> {
        self.inner.list_future_objects(calendar, now)
    }
    fn get(&self, href: &str) -> Result<Option<CalendarObject>, SourceError> {
        let got = self.inner.get(href);
        let outcome = match &got {
            Ok(Some(_)) => "found".to_string(),
            Ok(None) => "gone".to_string(),
            Err(e) => format!("error: {e}"),
        };
        self.note("get", href, outcome);
        got
    }
    fn put(&self, href: &str, data: &[u8], if_match: &str) -> Result<PutOutcome, SourceError> {
        (self.before_put)(&self.inner, href);
        let put = self.inner.put(href, data, if_match);
        let outcome = match &put {
            Ok(PutOutcome::Stored { .. }) => "Stored".to_string(),
            Ok(PutOutcome::Conflict) => "Conflict".to_string(),
            Err(e) => format!("error: {e}"),
        };
        self.note("put", href, outcome);
        put
    }
}
