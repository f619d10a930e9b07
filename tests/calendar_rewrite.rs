//! Rewrites our own fixtures (tests/fixtures/) and proves: every line outside the changed
//! properties is byte-identical, outputs parse with Python's icalendar and vobject with the text
//! outside the block unchanged (tests/judges/ical_judge.py), re-runs are "already up to date",
//! the iTIP REQUEST and iMIP message are well formed, and foreign blocks are skipped.

use mms::calendar::lines::Document;
use mms::calendar::{
    compose_imip, dry_run_diff, rewrite_calendar_object, RewriteOutcome, RewriteRequest,
    RewrittenMeeting, SkipReason,
};
use mms::model::{
    DialInNumber, MeetingCoordinates, MeetingKind, SourceMeetingType, TargetMeetingType,
};
use std::path::Path;

const FIXTURES: &[(&str, TargetMeetingType)] = &[
    (
        "teams-recurring-override-fr-tab-crlf.ics",
        TargetMeetingType::Current,
    ),
    ("teams-single-space-lf.ics", TargetMeetingType::Current),
    ("skype-single-arabic-crlf.ics", TargetMeetingType::Teams),
];

fn coords() -> MeetingCoordinates {
    MeetingCoordinates {
        meeting_kind: MeetingKind::Teams,
        join_url: "https://teams.microsoft.com/l/meetup-join/19%3ameeting_TkVX%40thread.v2/0?context=%7b%22Tid%22%3a%2211111111-1111-1111-1111-111111111111%22%2c%22Oid%22%3a%22aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa%22%7d".into(),
        conference_id: "987654321".into(),
        toll_numbers: vec![DialInNumber { number: "+33 1 70 00 00 00".into(), city: "France, Paris <b>& Île-de-France</b>".into() }],
        toll_free_numbers: vec![],
        find_local_number_url: Some("https://dialin.teams.microsoft.com/x?id=987654321".into()),
        meeting_options_url: Some("https://teams.microsoft.com/meetingOptions/?a=1&b=2".into()),
    }
}

fn request<'a>(c: &'a MeetingCoordinates, target: TargetMeetingType) -> RewriteRequest<'a> {
    RewriteRequest {
        organizer: "ashaw@contoso.com",
        organizer_object_id: Some(uuid::Uuid::from_u128(
            0xaaaaaaaa_aaaa_aaaa_aaaa_aaaaaaaaaaaa,
        )),
        organizer_sip_address: Some("ashaw@contoso.com"),
        coordinates: c,
        source: SourceMeetingType::All,
        target,
        now: chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
            .unwrap()
            .into(),
        sent_by: Some("meetingmigration@contoso.com"),
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

fn rewritten(bytes: &[u8], target: TargetMeetingType) -> RewrittenMeeting {
    let c = coords();
    match rewrite_calendar_object(bytes, &request(&c, target)).unwrap() {
        RewriteOutcome::Rewritten(m) => m,
        RewriteOutcome::Skipped(r) => panic!("skipped: {r}"),
    }
}

/// Properties the rewrite is allowed to change (inside VEVENTs).
fn may_change(name: &str) -> bool {
    matches!(
        name,
        "DESCRIPTION" | "X-ALT-DESC" | "SEQUENCE" | "DTSTAMP" | "LAST-MODIFIED" | "LOCATION"
    ) || name.starts_with("X-MICROSOFT-")
}

#[test]
fn every_line_outside_the_changed_properties_is_byte_identical() {
    for (name, target) in FIXTURES {
        let src = fixture(name);
        let out = rewritten(&src, *target).organizer_copy;
        let (a, b) = (Document::parse(&src), Document::parse(&out));
        let kept = |d: &Document| -> Vec<Vec<u8>> {
            (0..d.lines.len())
                .filter(|&i| !may_change(&d.lines[i].name()))
                .map(|i| d.raw(i).to_vec())
                .collect()
        };
        assert_eq!(kept(&a), kept(&b), "{name}");
        assert_eq!(
            src.starts_with(b"\xEF\xBB\xBF"),
            out.starts_with(b"\xEF\xBB\xBF"),
            "{name}: BOM"
        );
        // Lines we wrote are folded at 75 octets without splitting a character.
        for (i, l) in b.lines.iter().enumerate() {
            if a.lines
                .iter()
                .any(|x| a.raw(a.lines.iter().position(|y| y == x).unwrap()) == b.raw(i))
            {
                continue;
            }
            for phys in b.raw(i).split(|&c| c == b'\n') {
                let phys = phys.strip_suffix(b"\r").unwrap_or(phys);
                assert!(phys.len() <= 75, "{name}: line {} too long", l.line_no);
                let body = phys
                    .strip_prefix(b" ")
                    .or_else(|| phys.strip_prefix(b"\t"))
                    .unwrap_or(phys);
                assert!(
                    std::str::from_utf8(body).is_ok(),
                    "{name}: split character at line {}",
                    l.line_no
                );
            }
        }
    }
}

#[test]
fn outputs_parse_with_icalendar_and_vobject_and_text_outside_the_block_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let judge = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/judges/ical_judge.py");
    for (name, target) in FIXTURES {
        let out = rewritten(&fixture(name), *target);
        let path = dir.path().join(name);
        std::fs::write(&path, &out.organizer_copy).unwrap();
        let orig = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        let run = std::process::Command::new("/usr/bin/python3")
            .arg(&judge)
            .arg(&orig)
            .arg(&path)
            .output()
            .expect("run /usr/bin/python3");
        assert!(
            run.status.success(),
            "{name}: {}{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
    }
}

#[test]
fn rerun_is_already_up_to_date_and_sequence_rises_on_every_component() {
    for (name, target) in FIXTURES {
        let m = rewritten(&fixture(name), *target);
        let c = coords();
        let again = rewrite_calendar_object(&m.organizer_copy, &request(&c, *target)).unwrap();
        assert_eq!(
            again,
            RewriteOutcome::Skipped(SkipReason::AlreadyUpToDate),
            "{name}"
        );
        let text = String::from_utf8_lossy(&m.organizer_copy)
            .replace("\r\n\t", "")
            .replace("\r\n ", "")
            .replace("\n ", "");
        assert!(text.contains(&c.join_url.replace(',', "\\,")), "{name}");
        assert!(
            text.contains("&lt\\;b&gt\\;&amp\\; Île-de-France"),
            "{name}: city not HTML-escaped"
        );
    }
    let m = rewritten(&fixture(FIXTURES[0].0), TargetMeetingType::Current);
    assert_eq!(m.sequence, 3);
    let s = String::from_utf8_lossy(&m.organizer_copy);
    assert!(
        s.contains("SEQUENCE:3") && s.contains("SEQUENCE:4"),
        "master 2->3, override 3->4"
    );
    assert!(s.contains("X-MICROSOFT-CDO-APPT-SEQUENCE:3"));
    assert!(
        s.contains("PARTSTAT=ACCEPTED"),
        "organizer copy keeps PARTSTATs"
    );
}

#[test]
fn skype_to_teams_conversion_updates_location_and_markers() {
    let m = rewritten(
        &fixture("skype-single-arabic-crlf.ics"),
        TargetMeetingType::Teams,
    );
    let s = String::from_utf8_lossy(&m.organizer_copy).replace("\r\n ", "");
    assert!(s.contains("LOCATION:Microsoft Teams Meeting\r\n"), "{s}");
    assert!(
        s.contains("X-MICROSOFT-SKYPETEAMSMEETINGURL:https://teams.microsoft.com/l/meetup-join/")
    );
    assert!(!s.contains("meet.lync.com"));
    assert!(s.contains("مرحبا بكم في الاجتماع"));
    let c = coords();
    let current = rewrite_calendar_object(
        &fixture("skype-single-arabic-crlf.ics"),
        &request(&c, TargetMeetingType::Current),
    )
    .unwrap();
    assert!(
        matches!(
            current,
            RewriteOutcome::Skipped(SkipReason::KindMismatch { .. })
        ),
        "{current:?}"
    );
}

#[test]
fn itip_request_and_imip_message() {
    let m = rewritten(&fixture(FIXTURES[0].0), TargetMeetingType::Current);
    let r = String::from_utf8_lossy(&m.itip_request)
        .replace("\r\n\t", "")
        .replace("\r\n ", "");
    assert!(r.contains("METHOD:REQUEST\r\n"));
    assert!(!r.contains("METHOD:PUBLISH"));
    assert!(!r.contains("BEGIN:VALARM"));
    assert!(
        r.contains("PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:elodie@fabrikam.fr"),
        "{r}"
    );
    assert!(r.contains("SENT-BY=\"mailto:meetingmigration@contoso.com\":mailto:ashaw@contoso.com"));
    assert_eq!(
        r.matches("BEGIN:VEVENT").count(),
        2,
        "one REQUEST per series"
    );
    assert_eq!(
        m.attendees,
        vec![
            "elodie@fabrikam.fr".to_string(),
            "wang@contoso.cn".to_string()
        ]
    );
    let date = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
        .unwrap()
        .into();
    let mail = String::from_utf8(compose_imip(
        &m,
        "ashaw@contoso.com",
        Some("meetingmigration@contoso.com"),
        "abc@contoso.com",
        date,
    ))
    .unwrap();
    for h in [
        "From: \"Shaw, Ashley\" <ashaw@contoso.com>\r\n",
        "Sender: <meetingmigration@contoso.com>\r\n",
        "To: <elodie@fabrikam.fr>,\r\n <wang@contoso.cn>\r\n",
        "Subject: =?UTF-8?B?",
        "Date: ",
        "Message-ID: <abc@contoso.com>\r\n",
        "multipart/alternative",
        "text/plain; charset=UTF-8",
        "text/html; charset=UTF-8",
        "text/calendar; charset=UTF-8; method=REQUEST",
    ] {
        assert!(mail.contains(h), "missing {h:?} in\n{mail}");
    }
}

#[test]
fn foreign_blocks_and_dry_run() {
    let src = fixture(FIXTURES[1].0);
    let c = coords();
    let mut req = request(&c, TargetMeetingType::Current);
    req.organizer_object_id = Some(uuid::Uuid::from_u128(1));
    match rewrite_calendar_object(&src, &req).unwrap() {
        RewriteOutcome::Skipped(r) => {
            assert!(r.to_string().starts_with("copy-pasted block"), "{r}")
        }
        other => panic!("{other:?}"),
    }
    let diff = dry_run_diff(&src, &request(&c, TargetMeetingType::Current)).unwrap();
    assert!(diff.contains("--- a/VEVENT[master]/DESCRIPTION"), "{diff}");
    assert!(diff.contains("+Click here to join the meeting<https://teams.microsoft.com/l/meetup-join/19%3ameeting_TkVX"), "{diff}");
    assert!(diff.contains("-Cliquez ici pour participer<"), "{diff}");
}

#[test]
fn malformed_input_gives_readable_errors_in_bounded_time() {
    let c = coords();
    let req = request(&c, TargetMeetingType::Current);
    let mut huge = b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:1\r\nORGANIZER:mailto:ashaw@contoso.com\r\nDTSTART:20300101T000000Z\r\nDESCRIPTION:".to_vec();
    huge.extend(std::iter::repeat(b'a').take(10 * 1024 * 1024));
    huge.extend_from_slice(b"\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("missing END", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:1\r\n".to_vec()),
        ("bad fold", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:a\r\nbroken\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n".to_vec()),
        ("invalid UTF-8", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:1\r\nORGANIZER:mailto:ashaw@contoso.com\r\nDTSTART:20300101T000000Z\r\nDESCRIPTION:\xff\xfe________________________________________________________________________________\\n<https://teams.microsoft.com/l/meetup-join/x>\\n________________________________________________________________________________\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n".to_vec()),
        ("absurd RRULE", b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:1\r\nORGANIZER:mailto:ashaw@contoso.com\r\nDTSTART:19000101T000000Z\r\nRRULE:FREQ=SECONDLY;INTERVAL=1;BYMONTH=2;BYMONTHDAY=31;COUNT=99999999999\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n".to_vec()),
        ("10 MB line", huge),
    ];
    for (what, bytes) in cases {
        match rewrite_calendar_object(&bytes, &req) {
            Err(e) => assert!(e.to_string().len() > 10, "{what}: {e}"),
            Ok(RewriteOutcome::Skipped(r)) => assert!(!r.to_string().is_empty(), "{what}"),
            Ok(RewriteOutcome::Rewritten(_)) => panic!("{what}: rewritten"),
        }
    }
}
