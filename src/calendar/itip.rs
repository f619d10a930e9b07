//! The iTIP update (RFC 5546 METHOD:REQUEST) built from the organizer's rewritten copy.
//!
//! Same UID and every component (master and overrides) in one object; SEQUENCE was already
//! raised in the organizer copy. Here: METHOD:REQUEST, each ATTENDEE back to
//! PARTSTAT=NEEDS-ACTION with RSVP=TRUE, ORGANIZER with SENT-BY when someone else sends, and
//! the organizer's own alarms left out.

use super::lines::{walk_params, Document, Edits, ParamPiece};
use super::rewrite::{structure, Structure};
use super::CalendarError;
use crate::rules::eligibility::same_address;

/// Calls `each` with the name and the raw `A=1`, `B="x;y"` item of each parameter of
/// `;A=1;B="x;y"` (as the line parser splits them, empty items skipped), in order.
fn each_param_raw<'p>(params: &'p str, mut each: impl FnMut(&'p str, &'p str)) {
    let mut name = "";
    walk_params(params, |piece| {
        match piece {
            ParamPiece::Name(n) => name = n,
            ParamPiece::Whole(p) if !p.is_empty() => each(name, p),
            _ => {}
        }
        true
    });
}

/// Rebuilds a line (into `logical`, emptied first) with its parameters but those named in
/// `drop`, then `add`.
fn reparam(
    logical: &mut Vec<u8>,
    name: &[u8],
    params: &str,
    drop: &[&str],
    add: &[&str],
    value: &[u8],
) {
    logical.clear();
    logical.extend_from_slice(name);
    each_param_raw(params, |name, p| {
        if !drop.iter().any(|d| name.eq_ignore_ascii_case(d)) {
            logical.push(b';');
            logical.extend_from_slice(p.as_bytes());
        }
    });
    for a in add {
        logical.push(b';');
        logical.extend_from_slice(a.as_bytes());
    }
    logical.push(b':');
    logical.extend_from_slice(value);
}

/// Builds the METHOD:REQUEST calendar from the organizer copy.
pub fn build_request(
    organizer_copy: &[u8],
    organizer: &str,
    sent_by: Option<&str>,
) -> Result<Vec<u8>, CalendarError> {
    let doc = Document::parse(organizer_copy);
    let st = structure(&doc)?;
    let edits = request_edits(&doc, &st, organizer, sent_by);
    Ok(doc.write(&edits))
}

/// The edits that turn a calendar into its METHOD:REQUEST. They touch only METHOD, ATTENDEE,
/// ORGANIZER and VALARM lines, so they can be layered over the rewrite's own edits of the same
/// document instead of re-parsing the organizer copy.
pub(crate) fn request_edits(
    doc: &Document,
    st: &Structure,
    organizer: &str,
    sent_by: Option<&str>,
) -> Edits {
    // The attendee lines are what changes (a few more bytes each).
    let attendee_bytes: usize = st
        .event_props(doc, "ATTENDEE")
        .map(|(_, l)| l.raw.len() + 32)
        .sum();
    let mut edits = Edits::with_capacity(attendee_bytes + 256);
    let method = st
        .cal_props
        .iter()
        .copied()
        .find(|&i| doc.lines[i].is("METHOD"));
    match method {
        Some(i) => {
            if !doc.lines[i]
                .value_lossy()
                .trim()
                .eq_ignore_ascii_case("REQUEST")
            {
                edits.set_folded(i, doc, b"METHOD:REQUEST");
            }
        }
        None => {
            for &b in &st.cal_begins {
                edits.insert_folded_before(b + 1, doc, b"METHOD:REQUEST");
            }
        }
    }
    let sender = sent_by
        .map(crate::rules::eligibility::calendar_address)
        .filter(|s| !s.is_empty() && !same_address(s, organizer));
    // (Made once: every component's ORGANIZER gets the same one.)
    let sent_by_param = sender.map(|s| format!("SENT-BY=\"mailto:{s}\""));
    // One buffer for every rebuilt line (each is folded into its own edit).
    let mut logical = Vec::with_capacity(256);
    for ev in &st.events {
        for &i in &ev.props {
            let l = &doc.lines[i];
            let params = || l.params_lossy();
            if l.is("ATTENDEE") {
                if same_address(&l.value_lossy(), organizer) {
                    continue; // the organizer's own entry keeps its PARTSTAT
                }
                reparam(
                    &mut logical,
                    l.name_bytes(),
                    &params(),
                    &["PARTSTAT", "RSVP"],
                    &["PARTSTAT=NEEDS-ACTION", "RSVP=TRUE"],
                    l.value_bytes(),
                );
                if logical[..] != l.unfolded()[..] {
                    edits.set_folded(i, doc, &logical);
                }
            } else if l.is("ORGANIZER") {
                if let Some(s) = &sent_by_param {
                    reparam(
                        &mut logical,
                        l.name_bytes(),
                        &params(),
                        &["SENT-BY"],
                        &[s],
                        l.value_bytes(),
                    );
                    edits.set_folded(i, doc, &logical);
                }
            }
        }
        for child in &ev.children {
            let is_alarm = doc
                .lines
                .get(child.start)
                .is_some_and(|l| l.value_lossy().trim().eq_ignore_ascii_case("VALARM"));
            if is_alarm {
                for i in child.clone() {
                    edits.delete(i);
                }
            }
        }
    }
    edits
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAL: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:u1\r\nSEQUENCE:1\r\nORGANIZER;CN=\"Shaw, A\":mailto:ashaw@contoso.com\r\nATTENDEE;CN=\"B; b\";PARTSTAT=ACCEPTED;RSVP=FALSE:mailto:b@contoso.com\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:ASHAW@contoso.com\r\nBEGIN:VALARM\r\nTRIGGER:-PT15M\r\nACTION:DISPLAY\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn request_resets_attendees_adds_method_and_sent_by_and_drops_alarms() {
        let out =
            build_request(CAL.as_bytes(), "ashaw@contoso.com", Some("mms@contoso.com")).unwrap();
        let s = String::from_utf8(out).unwrap().replace("\r\n ", "");
        assert!(
            s.starts_with("BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nVERSION:2.0\r\n"),
            "{s}"
        );
        assert!(
            s.contains(
                "ATTENDEE;CN=\"B; b\";PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:b@contoso.com\r\n"
            ),
            "{s}"
        );
        assert!(s.contains("ATTENDEE;PARTSTAT=ACCEPTED:mailto:ASHAW@contoso.com\r\n"));
        assert!(s.contains("ORGANIZER;CN=\"Shaw, A\";SENT-BY=\"mailto:mms@contoso.com\":mailto:ashaw@contoso.com\r\n"), "{s}");
        assert!(!s.contains("VALARM"));
        assert!(s.contains("SEQUENCE:1\r\n"));
    }

    #[test]
    fn no_sent_by_when_the_organizer_sends() {
        let s = String::from_utf8(
            build_request(
                CAL.as_bytes(),
                "ashaw@contoso.com",
                Some("MAILTO:AShaw@contoso.com"),
            )
            .unwrap(),
        )
        .unwrap();
        assert!(!s.contains("SENT-BY"));
    }

    #[test]
    fn quoted_params_split_whole() {
        let mut items = Vec::new();
        each_param_raw(";A=1;;B=\"x;y\";C", |n, p| items.push((n, p)));
        assert_eq!(items, vec![("A", "A=1"), ("B", "B=\"x;y\""), ("C", "C")]);
    }
}
