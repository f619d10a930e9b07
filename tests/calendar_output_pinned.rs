//! Pins the exact output bytes of the rewrite pipeline (organizer copy, iTIP REQUEST, iMIP
//! message, dry-run diff) for fixed inputs, so that performance work on `src/calendar` cannot
//! change a single byte unnoticed.
//!
//! `fixture_outputs_are_pinned` hashes the outputs for our own fixtures (tests/fixtures/) and
//! the sample tenant's invitations at a fixed clock. When an output change is intended, update
//! the pinned digests from the test's failure message.
//!
//! `dump_output_digests` (ignored) writes one digest line per input, for the fixtures, the sample
//! tenant and the shared corpus (`MMS_SHARED`, default /work/shared), to `MMS_PIN_DUMP`: run it
//! before and after a change and diff the two files to see which input changed.

use chrono::{DateTime, Utc};
use mms::calendar::lines::Document;
use mms::calendar::{
    compose_imip, dry_run_diff, rewrite_body, rewrite_calendar_object, RewriteOutcome,
    RewriteRequest,
};
use mms::engine::coordinates::derive_coordinates;
use mms::engine::sample::{sample_calendar, sample_tenant};
use mms::model::{
    DialInNumber, MeetingCoordinates, MeetingKind, SourceMeetingType, TargetMeetingType, User,
};
use std::fmt::Write as _;
use std::path::Path;

/// 64-bit FNV-1a: a stable digest with no dependency.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn clock() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
        .unwrap()
        .into()
}

fn teams_coords() -> MeetingCoordinates {
    MeetingCoordinates {
        meeting_kind: MeetingKind::Teams,
        join_url: "https://teams.microsoft.com/l/meetup-join/19%3ameeting_UElOTkVE%40thread.v2/0?context=%7b%22Tid%22%3a%2211111111-1111-1111-1111-111111111111%22%2c%22Oid%22%3a%22aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa%22%7d".into(),
        conference_id: "123 456 789".into(),
        toll_numbers: vec![DialInNumber { number: "+33 1 70 00 00 00".into(), city: "France, Paris <b>& Île-de-France</b>".into() }],
        toll_free_numbers: vec![DialInNumber { number: "+1 800-555-0100".into(), city: "United States".into() }],
        find_local_number_url: Some("https://dialin.teams.microsoft.com/x?id=123456789".into()),
        meeting_options_url: Some("https://teams.microsoft.com/meetingOptions/?a=1&b=2".into()),
    }
}

fn skype_coords() -> MeetingCoordinates {
    MeetingCoordinates {
        meeting_kind: MeetingKind::SkypeForBusiness,
        join_url: "https://meet.lync.com/contoso/ashaw/PINNED1".into(),
        conference_id: "7654321".into(),
        toll_numbers: vec![DialInNumber {
            number: "+971 4 000 0000".into(),
            city: "دبي".into(),
        }],
        toll_free_numbers: vec![],
        find_local_number_url: Some("https://dialin.lync.com/x?id=7654321".into()),
        meeting_options_url: None,
    }
}

/// Every output of one input under one request, as digest text (or the skip / error).
fn digest(ics: &[u8], req: &RewriteRequest) -> String {
    let mut out = String::new();
    match rewrite_calendar_object(ics, req) {
        Ok(RewriteOutcome::Rewritten(m)) => {
            let mail = compose_imip(
                &m,
                "meetingmigration@contoso.com",
                Some("meetingmigration@contoso.com"),
                "<pinned@contoso.com>",
                req.now,
            );
            let _ = write!(
                out,
                "copy={:016x} itip={:016x} mail={:016x} meeting={:016x}",
                fnv(&m.organizer_copy),
                fnv(&m.itip_request),
                fnv(&mail),
                fnv(format!("{m:?}").as_bytes())
            );
        }
        Ok(RewriteOutcome::Skipped(r)) => {
            let _ = write!(out, "skipped={r:?}");
        }
        Err(e) => {
            let _ = write!(out, "error={e}");
        }
    }
    match dry_run_diff(ics, req) {
        Ok(d) => {
            let _ = write!(out, " diff={:016x}", fnv(d.as_bytes()));
        }
        Err(e) => {
            let _ = write!(out, " diff-error={e}");
        }
    }
    out
}

fn request<'a>(
    organizer: &'a User,
    c: &'a MeetingCoordinates,
    target: TargetMeetingType,
    now: DateTime<Utc>,
) -> RewriteRequest<'a> {
    RewriteRequest {
        organizer: &organizer.user_principal_name,
        organizer_object_id: Some(organizer.object_id),
        organizer_sip_address: Some(&organizer.sip_address),
        coordinates: c,
        source: SourceMeetingType::All,
        target,
        now,
        sent_by: Some("meetingmigration@contoso.com"),
    }
}

/// The fixed organizer used for files that are not from the sample tenant.
fn fixture_organizer() -> User {
    let mut u = sample_tenant().users[0].clone();
    u.user_principal_name = "ashaw@contoso.com".into();
    u.sip_address = "ashaw@contoso.com".into();
    u.object_id = uuid::Uuid::from_u128(0xaaaaaaaa_aaaa_aaaa_aaaa_aaaaaaaaaaaa);
    u
}

/// Digest lines for one calendar file under Teams/Skype coordinates and both targets.
fn file_lines(name: &str, ics: &[u8], organizer: &User, out: &mut Vec<String>) {
    let teams = teams_coords();
    let skype = skype_coords();
    for (label, c, target) in [
        ("teams/current", &teams, TargetMeetingType::Current),
        ("teams/teams", &teams, TargetMeetingType::Teams),
        ("skype/current", &skype, TargetMeetingType::Current),
    ] {
        let req = request(organizer, c, target, clock());
        out.push(format!("{name} {label} {}", digest(ics, &req)));
    }
}

fn fixture_lines() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".ics"))
        .collect();
    names.sort();
    let organizer = fixture_organizer();
    let mut out = Vec::new();
    for n in names {
        file_lines(
            &n,
            &std::fs::read(dir.join(&n)).unwrap(),
            &organizer,
            &mut out,
        );
    }
    out
}

/// The sample tenant's calendars at the fixed clock, each organizer with new coordinates
/// (as the rewrite bench does).
fn sample_lines() -> Vec<String> {
    let tenant = sample_tenant();
    let now = clock();
    let mut out = Vec::new();
    for (i, u) in tenant.users.iter().enumerate() {
        let others: Vec<&User> = (1..tenant.users.len())
            .map(|k| &tenant.users[(i + k) % tenant.users.len()])
            .collect();
        let mut moved = u.clone();
        moved.conference_id = format!("{:09}", 700_000_000 + i);
        let bridge = moved
            .bridge_id
            .and_then(|b| tenant.bridges.iter().find(|x| x.identity == b));
        let c = derive_coordinates(&moved, bridge);
        for m in sample_calendar(u, &tenant, &others, now) {
            for target in [TargetMeetingType::Current, TargetMeetingType::Teams] {
                let req = request(&moved, &c, target, now);
                out.push(format!(
                    "sample/{}/{} {target:?} {}",
                    u.user_principal_name,
                    m.file_name,
                    digest(&m.data, &req)
                ));
            }
        }
    }
    out
}

/// The first ORGANIZER's address (no `mailto:`) of a calendar.
fn organizer_of(ics: &[u8]) -> Option<String> {
    let doc = Document::parse(ics);
    let l = doc.lines.iter().find(|l| l.is("ORGANIZER"))?;
    let v = l.value_lossy();
    let v = v.trim();
    let addr = v
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("mailto:"))
        .map_or(v, |_| &v[7..]);
    Some(addr.to_string())
}

fn combined(lines: &[String]) -> u64 {
    fnv(lines.join("\n").as_bytes())
}

#[test]
fn fixture_outputs_are_pinned() {
    let fixtures = fixture_lines();
    assert!(
        fixtures.iter().any(|l| l.contains("copy=")),
        "{fixtures:#?}"
    );
    assert_eq!(
        format!("{:016x}", combined(&fixtures)),
        "6b4b2d3e50323037",
        "fixture outputs changed:\n{}",
        fixtures.join("\n")
    );
    let samples = sample_lines();
    assert!(samples.iter().filter(|l| l.contains("copy=")).count() >= 12);
    assert_eq!(
        format!("{:016x}", combined(&samples)),
        "3eaada1aca0f778c",
        "sample outputs changed:\n{}",
        samples.join("\n")
    );
}

#[test]
#[ignore = "writes digests of the shared corpus to MMS_PIN_DUMP, for before/after diffs"]
fn dump_output_digests() {
    let Ok(dump) = std::env::var("MMS_PIN_DUMP") else {
        return;
    };
    let shared = std::env::var("MMS_SHARED").unwrap_or_else(|_| "/work/shared".into());
    let mut lines = fixture_lines();
    lines.extend(sample_lines());
    let organizer = fixture_organizer();
    let teams = teams_coords();
    for sub in ["samples/invites", "samples/ical-corpus"] {
        let dir = Path::new(&shared).join(sub);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<_> = rd
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        for n in names {
            let data = std::fs::read(dir.join(&n)).unwrap();
            if n.ends_with(".ics") {
                // The file's own organizer, so that the rewrite path runs, not just the skip.
                let mut own = organizer.clone();
                if let Some(addr) = organizer_of(&data) {
                    own.user_principal_name = addr.clone();
                    own.sip_address = addr;
                }
                file_lines(&format!("{sub}/{n}"), &data, &own, &mut lines);
            } else if n.ends_with(".html") || n.ends_with(".txt") {
                let req = request(&organizer, &teams, TargetMeetingType::Current, clock());
                let r = format!("{:?}", rewrite_body(&data, &req));
                lines.push(format!("{sub}/{n} body {:016x}", fnv(r.as_bytes())));
            }
        }
    }
    std::fs::write(&dump, lines.join("\n") + "\n").unwrap();
}
