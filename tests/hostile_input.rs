//! Hostile calendar input (issue 8): malformed and absurd calendar objects — bad folds,
//! invalid UTF-8 in several properties, a 10 MB line, BEGIN nested 100,000 deep, missing END,
//! 100,000 attendees, RRULE COUNT=1000000000, absurd BYSETPOS with huge intervals, UNTIL before
//! DTSTART, unknown FREQ, ... — each derived from a real, eligible sample meeting, so only the
//! damage can stop it.
//!
//! - Through `rewrite_calendar_object`: no panic, a readable error or skip (or, for damage the
//!   line editor tolerates, a rewrite that is itself up to date when rewritten again), within a
//!   wall-clock hang guard.
//! - Through the embedded worker (`mms serve --once` as a child process on a store holding the
//!   hostile object next to the organizer's good meetings): the hostile meeting gets its own
//!   Failed or Skipped outcome with a readable reason, every good meeting of the same job is
//!   still migrated, the worker exits cleanly, in bounded time, with its peak memory (the
//!   child's `ru_maxrss`) bounded.
//! - Generated cases: random combinations of the damage above on every eligible sample meeting,
//!   through the rewrite and through an in-process worker. `MMS_HOSTILE_CASES` sets how many
//!   (default 300; `make torture` runs 100,000); `MMS_HOSTILE_SEED` replays a run.

mod worker_support;

use chrono::Utc;
use mms::calendar::{rewrite_calendar_object, RewriteOutcome, RewriteRequest};
use mms::engine::embedded::{open_connection, EmbeddedCalendarSource, EmbeddedOutbox};
use mms::engine::sample::{seed, SampleKind, SampleMeeting, SeededTenant};
use mms::engine::worker::{Worker, WorkerConfig};
use mms::engine::Engine;
use mms::model::{MeetingCoordinates, MigrationState, SourceMeetingType, TargetMeetingType};
use mms::rules::triggers::UserChange;
use mms::store::calendars::{self, MeetingOutcome};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use worker_support::kill::SENDER;

const ORGANIZER: &str = "ashaw@contoso.com";
/// A hang guard, not a performance figure: no single case may take longer.
const HANG_GUARD: Duration = Duration::from_secs(20);

/// `MMS_HOSTILE_CASES`, else 300.
fn generated_cases() -> usize {
    std::env::var("MMS_HOSTILE_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(300)
}

/// `MMS_HOSTILE_SEED` (to replay a run), else the clock.
fn hostile_seed() -> u64 {
    std::env::var("MMS_HOSTILE_SEED")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| Utc::now().timestamp_nanos() as u64)
}

/// A small deterministic generator (a seed replays a run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A seeded store (the sample tenant, nothing queued) and the organizer's new coordinates.
struct Tenant {
    _dir: tempfile::TempDir,
    seeded: SeededTenant,
    coordinates: MeetingCoordinates,
    user: mms::model::User,
}

fn tenant() -> Tenant {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mms.db");
    let engine = Engine::open(&path).unwrap();
    let seeded = seed(&engine, &open_connection(&path).unwrap(), Utc::now()).unwrap();
    engine
        .apply_user_change(
            ORGANIZER,
            &UserChange::SetConferenceId {
                conference_id: "918273645".into(),
            },
        )
        .unwrap();
    Tenant {
        coordinates: engine.meeting_coordinates(ORGANIZER).unwrap(),
        user: engine.user(ORGANIZER).unwrap(),
        seeded,
        _dir: dir,
    }
}

/// The organizer's meetings the migration must rewrite (the bases the damage is done to).
fn eligible(seeded: &SeededTenant) -> Vec<SampleMeeting> {
    seeded
        .calendars
        .iter()
        .find(|(u, _)| u == ORGANIZER)
        .unwrap()
        .1
        .iter()
        .filter(|m| m.kind.must_be_rewritten())
        .cloned()
        .collect()
}

fn request<'a>(t: &'a Tenant) -> RewriteRequest<'a> {
    RewriteRequest {
        organizer: ORGANIZER,
        organizer_object_id: Some(t.user.object_id),
        organizer_sip_address: Some(t.user.sip_address.as_str()),
        coordinates: &t.coordinates,
        source: SourceMeetingType::All,
        target: TargetMeetingType::Current,
        now: Utc::now(),
        sent_by: Some(SENDER),
    }
}

/// The physical lines of `data` (line break kept on each).
fn lines(data: &[u8]) -> Vec<Vec<u8>> {
    data.split_inclusive(|b| *b == b'\n')
        .map(|l| l.to_vec())
        .collect()
}

/// Index of the first physical line starting with `prefix` inside the first VEVENT (not in a
/// VTIMEZONE before it).
fn find_line(ls: &[Vec<u8>], prefix: &str) -> Option<usize> {
    let event = ls.iter().position(|l| l.starts_with(b"BEGIN:VEVENT"))?;
    (event..ls.len()).find(|&i| ls[i].starts_with(prefix.as_bytes()))
}

/// `data` with `extra` inserted before the first line starting with `before`.
fn insert_before(data: &[u8], before: &str, extra: &[u8]) -> Vec<u8> {
    let mut ls = lines(data);
    let i = find_line(&ls, before).unwrap_or(ls.len());
    ls.insert(i, extra.to_vec());
    ls.concat()
}

/// `data` with the value of the first `prop` line replaced by `value` (unfolded: the
/// continuation lines of that property are dropped).
fn set_value(data: &[u8], prop: &str, value: &[u8]) -> Vec<u8> {
    let mut ls = lines(data);
    let Some(i) =
        find_line(&ls, &format!("{prop}:")).or_else(|| find_line(&ls, &format!("{prop};")))
    else {
        return data.to_vec();
    };
    while ls
        .get(i + 1)
        .is_some_and(|l| l.starts_with(b" ") || l.starts_with(b"\t"))
    {
        ls.remove(i + 1);
    }
    let colon = ls[i].iter().position(|b| *b == b':').unwrap_or(prop.len());
    let mut line = ls[i][..=colon].to_vec();
    line.extend_from_slice(value);
    line.extend_from_slice(b"\r\n");
    ls[i] = line;
    ls.concat()
}

/// `data` with bytes inserted into the first `prop` line, just after its colon.
fn inject_into(data: &[u8], prop: &str, bytes: &[u8]) -> Vec<u8> {
    let mut ls = lines(data);
    let Some(i) = find_line(&ls, prop) else {
        return data.to_vec();
    };
    let at = ls[i].iter().position(|b| *b == b':').map_or(0, |c| c + 1);
    ls[i].splice(at..at, bytes.iter().copied());
    ls.concat()
}

/// `data` with the first VEVENT starting at `dtstart` (UTC, one hour long) and repeating by
/// `rule` instead of its own timing.
fn rrule(data: &[u8], dtstart: &str, rule: &str) -> Vec<u8> {
    let mut ls = lines(data);
    let (Some(event), Some(end)) = (find_line(&ls, "BEGIN:VEVENT"), find_line(&ls, "END:VEVENT"))
    else {
        return data.to_vec(); // damaged already
    };
    let timing = ["DTSTART", "DTEND", "DURATION", "RRULE", "EXDATE", "RDATE"];
    let mut i = event;
    let mut kept_end = end;
    while i < kept_end {
        let named = timing.iter().any(|p| {
            ls[i].starts_with(p.as_bytes()) && matches!(ls[i].get(p.len()), Some(b':' | b';'))
        });
        if named {
            ls.remove(i);
            while i < kept_end - 1 && (ls[i].starts_with(b" ") || ls[i].starts_with(b"\t")) {
                ls.remove(i);
                kept_end -= 1;
            }
            kept_end -= 1;
        } else {
            i += 1;
        }
    }
    let timing = format!("DTSTART:{dtstart}\r\nDURATION:PT1H\r\nRRULE:{rule}\r\n");
    ls.insert(event + 1, timing.into_bytes());
    ls.concat()
}

/// What a case may end as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// A readable error or skip: the damage must be noticed.
    Refused,
    /// Anything but a panic or a hang; a rewrite must be sane (see `check_rewrite`).
    Tolerated,
}

/// The named hostile cases, each derived from `base` (an eligible single meeting).
fn named_cases(base: &[u8]) -> Vec<(&'static str, Expect, Vec<u8>)> {
    use Expect::*;
    let mut cases = Vec::new();
    // A fold whose continuation lost its leading space.
    let mut ls = lines(base);
    if let Some(i) = ls.iter().position(|l| l.starts_with(b" ")) {
        ls[i].remove(0);
    }
    cases.push((
        "bad fold (continuation without SPACE)",
        Tolerated,
        ls.concat(),
    ));
    let mut ls = lines(base);
    if let Some(i) = ls.iter().position(|l| l.starts_with(b" ")) {
        let n = ls[i - 1].len();
        ls[i - 1].truncate(n - 1); // CRLF -> CR inside a folded property
    }
    cases.push((
        "bad fold (bare CR before the continuation)",
        Tolerated,
        ls.concat(),
    ));
    for prop in [
        "SUMMARY",
        "DESCRIPTION",
        "ORGANIZER",
        "ATTENDEE",
        "UID",
        "DTSTART",
        "LOCATION",
    ] {
        let name: &'static str = Box::leak(format!("invalid UTF-8 in {prop}").into_boxed_str());
        cases.push((
            name,
            Tolerated,
            inject_into(base, prop, b"\xff\xfe\xc3(\xed\xa0\x80"),
        ));
    }
    let mut huge = b"X-HUGE:".to_vec();
    huge.extend(std::iter::repeat(b'a').take(10 * 1024 * 1024));
    huge.extend_from_slice(b"\r\n");
    cases.push((
        "10 MB line",
        Tolerated,
        insert_before(base, "END:VEVENT", &huge),
    ));
    let mut huge_desc = Vec::with_capacity(10 * 1024 * 1024);
    while huge_desc.len() < 10 * 1024 * 1024 {
        huge_desc.extend_from_slice(b"lorem ipsum \\n");
    }
    cases.push((
        "10 MB DESCRIPTION",
        Tolerated,
        set_value(base, "DESCRIPTION", &huge_desc),
    ));
    let deep = 100_000;
    let mut nest = b"BEGIN:X-NEST\r\n".repeat(deep);
    nest.extend(b"END:X-NEST\r\n".repeat(deep));
    cases.push((
        "BEGIN nested 100,000 deep",
        Tolerated,
        insert_before(base, "END:VEVENT", &nest),
    ));
    cases.push((
        "BEGIN nested 100,000 deep, never ended",
        Refused,
        insert_before(base, "END:VEVENT", &b"BEGIN:VEVENT\r\n".repeat(deep)),
    ));
    let strip = |what: &str| -> Vec<u8> {
        lines(base)
            .into_iter()
            .filter(|l| !l.starts_with(what.as_bytes()))
            .collect::<Vec<_>>()
            .concat()
    };
    cases.push(("missing END:VEVENT", Refused, strip("END:VEVENT")));
    cases.push(("missing END:VCALENDAR", Refused, strip("END:VCALENDAR")));
    cases.push((
        "truncated in the middle of the block",
        Refused,
        base[..base.len() * 2 / 3].to_vec(),
    ));
    cases.push((
        "END without BEGIN",
        Refused,
        [base, b"END:VEVENT\r\n"].concat(),
    ));
    let attendees: Vec<u8> = (0..100_000)
        .flat_map(|i| format!("ATTENDEE;RSVP=TRUE:mailto:a{i}@fabrikam.com\r\n").into_bytes())
        .collect();
    cases.push((
        "100,000 attendees",
        Refused,
        insert_before(base, "END:VEVENT", &attendees),
    ));
    cases.push((
        "RRULE COUNT=1000000000 (SECONDLY, from 1900)",
        Tolerated,
        rrule(base, "19000101T000000Z", "FREQ=SECONDLY;COUNT=1000000000"),
    ));
    cases.push((
        "RRULE COUNT=1000000000 on an impossible day",
        Tolerated,
        rrule(
            base,
            "19000101T000000Z",
            "FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=30;COUNT=1000000000",
        ),
    ));
    cases.push((
        "RRULE BYSETPOS=-366, INTERVAL=1000000",
        Tolerated,
        rrule(
            base,
            "19000101T000000Z",
            "FREQ=YEARLY;INTERVAL=1000000;BYDAY=MO,TU;BYSETPOS=-366",
        ),
    ));
    cases.push((
        "RRULE BYSETPOS=2147483648",
        Tolerated,
        rrule(
            base,
            "20200101T000000Z",
            "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=2147483648",
        ),
    ));
    cases.push((
        "RRULE INTERVAL=18446744073709551616",
        Tolerated,
        rrule(
            base,
            "20200101T000000Z",
            "FREQ=DAILY;INTERVAL=18446744073709551616",
        ),
    ));
    cases.push((
        // DTSTART is always the first instance (RFC 5545 3.8.5.3): a future single meeting.
        "RRULE UNTIL before DTSTART",
        Tolerated,
        rrule(
            base,
            "20300101T000000Z",
            "FREQ=DAILY;UNTIL=20200101T000000Z",
        ),
    ));
    cases.push((
        "RRULE unknown FREQ",
        Refused,
        rrule(base, "20300101T000000Z", "FREQ=FORTNIGHTLY;COUNT=3"),
    ));
    cases.push((
        "RRULE without FREQ",
        Refused,
        rrule(base, "20300101T000000Z", "COUNT=3"),
    ));
    cases.push((
        "DTSTART garbage",
        Refused,
        set_value(base, "DTSTART", b"2030-99-99T99:99:99"),
    ));
    cases.push((
        "NUL bytes",
        Tolerated,
        inject_into(base, "SUMMARY", b"\0\0\0"),
    ));
    cases.push(("empty object", Refused, Vec::new()));
    cases
}

/// A rewrite of damaged input must still be sane: bounded in size and itself up to date when
/// rewritten again (so no second update could ever follow from it).
fn check_rewrite(what: &str, input: &[u8], output: &[u8], req: &RewriteRequest) {
    assert!(
        output.len() <= input.len() + 64 * 1024,
        "{what}: the rewrite grew from {} to {} bytes",
        input.len(),
        output.len()
    );
    match rewrite_calendar_object(output, req) {
        Ok(RewriteOutcome::Skipped(r)) => assert_eq!(
            r,
            mms::calendar::SkipReason::AlreadyUpToDate,
            "{what}: rewriting the rewrite"
        ),
        other => panic!("{what}: rewriting the rewrite gave {other:?}"),
    }
}

/// What `rewrite_calendar_object` did with one case, checked: ("error" | "skip" |
/// "rewritten", the reason).
fn rewrite_case(
    what: &str,
    expect: Expect,
    data: &[u8],
    req: &RewriteRequest,
) -> (&'static str, String) {
    let started = Instant::now();
    let got = std::panic::catch_unwind(|| rewrite_calendar_object(data, req))
        .unwrap_or_else(|_| panic!("{what}: the rewrite panicked"));
    let took = started.elapsed();
    assert!(took < HANG_GUARD, "{what}: took {took:?}");
    match got {
        Err(e) => {
            assert_readable(what, &e.to_string());
            ("error", e.to_string())
        }
        Ok(RewriteOutcome::Skipped(r)) => {
            assert_readable(what, &r.to_string());
            ("skip", r.to_string())
        }
        Ok(RewriteOutcome::Rewritten(m)) => {
            assert_eq!(expect, Expect::Tolerated, "{what}: rewritten");
            check_rewrite(what, data, &m.organizer_copy, req);
            ("rewritten", String::new())
        }
    }
}

fn assert_readable(what: &str, message: &str) {
    assert!(
        message.len() >= 10 && message.len() <= 600,
        "{what}: unreadable reason ({} bytes): {:?}",
        message.len(),
        message.chars().take(200).collect::<String>()
    );
    assert!(!message.contains("panicked"), "{what}: {message}");
}

#[test]
fn named_hostile_calendars_through_the_rewrite() {
    let t = tenant();
    let req = request(&t);
    let base = eligible(&t.seeded)
        .into_iter()
        .find(|m| m.kind == SampleKind::FutureSingle)
        .unwrap();
    assert!(matches!(
        rewrite_calendar_object(&base.data, &req),
        Ok(RewriteOutcome::Rewritten(_))
    ));
    let mut tally = std::collections::BTreeMap::new();
    for (what, expect, data) in named_cases(&base.data) {
        let (got, reason) = rewrite_case(what, expect, &data, &req);
        println!(
            "hostile: {what}: {got} {}",
            reason.chars().take(120).collect::<String>()
        );
        *tally.entry(got).or_insert(0) += 1;
    }
    println!("hostile named cases through the rewrite: {tally:?}, panics: 0");
}

/// The organizer's calendar in a fresh store: the sample meetings plus `hostile` objects
/// (file name, bytes), and one job for the organizer. Returns the store path and the seed.
fn store_with(dir: &Path, hostile: &[(String, Vec<u8>)]) -> (std::path::PathBuf, SeededTenant) {
    let path = dir.join("mms.db");
    let engine = Engine::open(&path).unwrap();
    let conn = open_connection(&path).unwrap();
    let seeded = seed(&engine, &conn, Utc::now()).unwrap();
    for (i, (file, data)) in hostile.iter().enumerate() {
        calendars::import_object(
            &conn,
            ORGANIZER,
            "calendar",
            file,
            &format!("hostile-{i}"),
            data,
            Utc::now(),
        )
        .unwrap();
    }
    let queued = engine
        .apply_user_change(
            ORGANIZER,
            &UserChange::SetConferenceId {
                conference_id: "918273645".into(),
            },
        )
        .unwrap();
    assert!(queued.job.is_some());
    (path, seeded)
}

/// After the organizer's job: every good meeting migrated (only in its block), every hostile
/// object settled with its own outcome and a readable reason, the job ended (Succeeded, or
/// Failed with a readable LastMessage). Returns the outcomes of the hostile objects.
fn check_job(
    path: &Path,
    seeded: &SeededTenant,
    hostile: &[(String, Vec<u8>)],
    what: &str,
) -> Vec<(MeetingOutcome, String)> {
    let engine = Engine::open(path).unwrap();
    let conn = open_connection(path).unwrap();
    let job = engine
        .migration_status(&mms::engine::StatusFilter::default())
        .unwrap()
        .into_iter()
        .find(|j| j.user_principal_name == ORGANIZER)
        .unwrap();
    assert!(
        matches!(
            job.state,
            MigrationState::Succeeded | MigrationState::Failed
        ),
        "{what}: {job:?}"
    );
    assert_readable(what, &job.last_message);
    let user = engine.user(ORGANIZER).unwrap();
    for m in eligible(seeded) {
        let href = format!("{ORGANIZER}/calendar/{}", m.file_name);
        let now = calendars::object(&conn, &href).unwrap().unwrap().data;
        worker_support::assert_rewritten_only_in_block(
            &m.data,
            &now,
            &user.conference_id,
            &format!("{what}: {href}"),
        );
    }
    let progress = calendars::progress_of(&conn, &job.correlation_id.to_string()).unwrap();
    let mut outcomes = Vec::new();
    for (file, _) in hostile {
        let href = format!("{ORGANIZER}/calendar/{file}");
        let p = progress
            .iter()
            .find(|p| p.href == href)
            .unwrap_or_else(|| panic!("{what}: no outcome for {href}"));
        if p.outcome != MeetingOutcome::Rewritten {
            assert_readable(what, &p.reason);
        }
        if p.outcome == MeetingOutcome::Failed {
            assert_eq!(job.state, MigrationState::Failed, "{what}: {job:?}");
        }
        outcomes.push((p.outcome, p.reason.clone()));
    }
    outcomes
}

/// Runs `mms serve --once` on `path` as a child; returns (wall time, peak RSS in bytes).
///
/// Through a small Python parent: a child forked from this (large) test process would report
/// this process's peak RSS as its own (Linux keeps the high-water mark across exec).
fn serve_once(path: &Path, what: &str) -> (Duration, u64) {
    const MEASURE: &str = "import resource, subprocess, sys\n\
r = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=float(sys.argv[1]))\n\
print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n";
    let started = Instant::now();
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(MEASURE)
        .arg(HANG_GUARD.as_secs().to_string())
        .arg(env!("CARGO_BIN_EXE_mms"))
        .arg("--store")
        .arg(path)
        .args(["serve", "--once", "--quiet"])
        .env("MMS_SENDER", SENDER)
        .env_remove("MMS_CALDAV_URL")
        .env_remove("MMS_SMTP_HOST")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    assert!(
        out.status.success() && fields.first() == Some(&"0"),
        "{what}: the worker did not exit cleanly (hung or crashed): {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kib: u64 = fields[1].parse().unwrap();
    (took, kib * 1024)
}

#[test]
fn named_hostile_calendars_through_the_embedded_worker() {
    let t = tenant();
    let base = eligible(&t.seeded)
        .into_iter()
        .find(|m| m.kind == SampleKind::FutureSingle)
        .unwrap();
    let root = tempfile::tempdir().unwrap();
    let clean = root.path().join("clean");
    std::fs::create_dir(&clean).unwrap();
    let (path, seeded) = store_with(&clean, &[]);
    let (_, baseline) = serve_once(&path, "no hostile object");
    check_job(&path, &seeded, &[], "no hostile object");
    let mut worst = (0u64, "");
    let mut slowest = (Duration::ZERO, "");
    for (i, (what, _, data)) in named_cases(&base.data).into_iter().enumerate() {
        let dir = root.path().join(format!("case-{i}"));
        std::fs::create_dir(&dir).unwrap();
        let size = data.len() as u64;
        let hostile = vec![("hostile.ics".to_string(), data)];
        let (path, seeded) = store_with(&dir, &hostile);
        let (took, rss) = serve_once(&path, what);
        let outcomes = check_job(&path, &seeded, &hostile, what);
        // Peak memory: the clean run's, plus a small multiple of the hostile object's size.
        let bound = baseline + 16 * size + 32 * 1024 * 1024;
        assert!(
            rss <= bound,
            "{what}: peak RSS {rss} > {bound} (input {size} bytes)"
        );
        let extra = rss.saturating_sub(baseline);
        if extra >= worst.0 {
            worst = (extra, what);
        }
        if took >= slowest.0 {
            slowest = (took, what);
        }
        println!(
            "hostile worker: {what}: {:?} {} ({} ms, peak RSS +{} KiB over a clean run)",
            outcomes[0].0,
            outcomes[0].1.chars().take(100).collect::<String>(),
            took.as_millis(),
            extra / 1024
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
    println!(
        "hostile named cases through the embedded worker: {} cases, good meetings lost: 0, clean-run peak RSS {} MiB, worst extra {} MiB ({}), slowest {} ms ({})",
        named_cases(&base.data).len(),
        baseline / (1024 * 1024),
        worst.0 / (1024 * 1024),
        worst.1,
        slowest.0.as_millis(),
        slowest.1
    );
}

/// A random absurd recurrence (valid and invalid parts mixed).
fn random_rule(rng: &mut Rng) -> (String, String) {
    let start = *rng.pick(&[
        "19000101T000000Z",
        "20200101T000000Z",
        "20300101T090000Z",
        "99991231T235959Z",
        "00010101T000000Z",
    ]);
    let mut parts = vec![format!(
        "FREQ={}",
        rng.pick(&[
            "SECONDLY",
            "MINUTELY",
            "HOURLY",
            "DAILY",
            "WEEKLY",
            "MONTHLY",
            "YEARLY",
            "FORTNIGHTLY",
            ""
        ])
    )];
    let options: [&[&str]; 8] = [
        &[
            "COUNT=1",
            "COUNT=1000000000",
            "COUNT=99999999999",
            "COUNT=0",
            "COUNT=-1",
        ],
        &[
            "INTERVAL=1",
            "INTERVAL=0",
            "INTERVAL=1000000",
            "INTERVAL=4294967296",
            "INTERVAL=-5",
        ],
        &[
            "BYSETPOS=-366",
            "BYSETPOS=366",
            "BYSETPOS=0",
            "BYSETPOS=2147483648",
            "BYSETPOS=1,-1",
        ],
        &[
            "BYMONTHDAY=31",
            "BYMONTHDAY=30",
            "BYMONTHDAY=-31",
            "BYMONTHDAY=0",
            "BYMONTHDAY=99",
        ],
        &[
            "BYMONTH=2",
            "BYMONTH=13",
            "BYMONTH=0",
            "BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12",
        ],
        &[
            "BYDAY=MO",
            "BYDAY=53MO",
            "BYDAY=-1SU",
            "BYDAY=XX",
            "BYDAY=MO,TU,WE,TH,FR,SA,SU",
        ],
        &[
            "UNTIL=19991231T000000Z",
            "UNTIL=20991231T000000Z",
            "UNTIL=garbage",
            "UNTIL=20300101",
        ],
        &[
            "BYYEARDAY=366",
            "BYWEEKNO=53",
            "BYHOUR=25",
            "BYSECOND=60",
            "WKST=XX",
        ],
    ];
    for opt in options {
        if rng.below(2) == 0 {
            parts.push(rng.pick(opt).to_string());
        }
    }
    (start.to_string(), parts.join(";"))
}

/// One random piece of damage done to `data`; returns its name.
fn damage(rng: &mut Rng, data: &mut Vec<u8>) -> &'static str {
    let len = data.len().max(1);
    match rng.below(12) {
        0 => {
            let at = rng.below(len);
            let bad: [&[u8]; 5] = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf0\x9f", b"\xfe\xff"];
            let bytes = *rng.pick(&bad);
            data.splice(at..at, bytes.iter().copied());
            "invalid UTF-8"
        }
        1 => {
            let mut ls = lines(data);
            let folds: Vec<usize> = (0..ls.len()).filter(|&i| ls[i].starts_with(b" ")).collect();
            if !folds.is_empty() {
                let i = *rng.pick(&folds);
                ls[i].remove(0);
            }
            *data = ls.concat();
            "continuation without SPACE"
        }
        2 => {
            let at = rng.below(len);
            data.splice(at..at, b"\r\n ".iter().copied());
            "fold at a random byte"
        }
        3 => {
            data.truncate(rng.below(len));
            "truncated"
        }
        4 => {
            let mut ls = lines(data);
            if !ls.is_empty() {
                let i = rng.below(ls.len());
                ls.remove(i);
            }
            *data = ls.concat();
            "line deleted"
        }
        5 => {
            let mut ls = lines(data);
            if !ls.is_empty() {
                let i = rng.below(ls.len());
                let l = ls[i].clone();
                ls.insert(i, l);
            }
            *data = ls.concat();
            "line doubled"
        }
        6 => {
            let depth = 1 + rng.below(20_000);
            let mut nest = b"BEGIN:X-NEST\r\n".repeat(depth);
            if rng.below(2) == 0 {
                nest.extend(b"END:X-NEST\r\n".repeat(depth));
            }
            *data = insert_before(data, "END:VEVENT", &nest);
            "BEGIN nested"
        }
        7 => {
            let (start, rule) = random_rule(rng);
            *data = rrule(data, &start, &rule);
            "absurd RRULE"
        }
        8 => {
            let n = *rng.pick(&[10usize, 249, 250, 251, 1000, 20_000]);
            let extra: Vec<u8> = (0..n)
                .flat_map(|i| format!("ATTENDEE:mailto:g{i}@fabrikam.com\r\n").into_bytes())
                .collect();
            *data = insert_before(data, "END:VEVENT", &extra);
            "many attendees"
        }
        9 => {
            let size = 64 * 1024 + rng.below(1024 * 1024);
            let prop = rng.pick(&["X-HUGE:", "SUMMARY:", "COMMENT:", "LOCATION:"]);
            let mut line = prop.as_bytes().to_vec();
            line.extend(std::iter::repeat(b'x').take(size));
            line.extend_from_slice(b"\r\n");
            *data = insert_before(data, "END:VEVENT", &line);
            "huge line"
        }
        10 => {
            let from: &[u8] = b"\r\n";
            let breaks: [&[u8]; 3] = [b"\n", b"\r", b"\n\r"];
            let to = *rng.pick(&breaks);
            let text = data.split(|b| *b == b'\n').collect::<Vec<_>>();
            let mut out = Vec::with_capacity(data.len());
            for (i, l) in text.iter().enumerate() {
                let l = l.strip_suffix(b"\r").unwrap_or(l);
                out.extend_from_slice(l);
                if i + 1 < text.len() {
                    out.extend_from_slice(if rng.below(3) == 0 { from } else { to });
                }
            }
            *data = out;
            "line breaks mixed"
        }
        _ => {
            let at = rng.below(len);
            data.splice(at..at, b"\0:;\"=\\,\x7f".iter().copied());
            "control and special bytes"
        }
    }
}

/// `n` generated hostile objects: each an eligible sample meeting with 1 to 3 pieces of damage.
fn generated(bases: &[SampleMeeting], rng: &mut Rng, n: usize) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|_| {
            let mut data = rng.pick(bases).data.clone();
            let names: Vec<&str> = (0..1 + rng.below(3))
                .map(|_| damage(rng, &mut data))
                .collect();
            (names.join(" + "), data)
        })
        .collect()
}

#[test]
fn generated_hostile_calendars_through_the_rewrite() {
    let t = tenant();
    let req = request(&t);
    let bases = eligible(&t.seeded);
    let seed = hostile_seed();
    let mut rng = Rng(seed);
    let cases = generated_cases();
    let mut tally = std::collections::BTreeMap::new();
    let started = Instant::now();
    for i in 0..cases {
        let (what, data) = generated(&bases, &mut rng, 1).remove(0);
        let label = format!("case {i} (seed {seed}): {what}");
        let (got, _) = rewrite_case(&label, Expect::Tolerated, &data, &req);
        *tally.entry(got).or_insert(0) += 1;
    }
    println!(
        "hostile generated cases through the rewrite: {cases} cases (seed {seed}) in {:?}: {tally:?}, panics: 0, hangs: 0",
        started.elapsed()
    );
}

#[test]
fn generated_hostile_calendars_through_the_embedded_worker() {
    let t = tenant();
    let bases = eligible(&t.seeded);
    let seed = hostile_seed();
    let mut rng = Rng(seed);
    // One hostile object per 20 rewrite cases, at most 200 per job (next to the good meetings).
    let total = (generated_cases() / 20).max(5);
    let mut done = 0;
    let mut tally = std::collections::BTreeMap::new();
    let mut jobs = 0;
    while done < total {
        let batch = (total - done).min(200);
        let hostile: Vec<(String, Vec<u8>)> = generated(&bases, &mut rng, batch)
            .into_iter()
            .enumerate()
            .map(|(i, (_, data))| (format!("generated-{i}.ics"), data))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let (path, seeded) = store_with(dir.path(), &hostile);
        let engine = Engine::open(&path).unwrap();
        let source = EmbeddedCalendarSource::open(&path).unwrap();
        let outbox = EmbeddedOutbox::open(&path).unwrap();
        let config = WorkerConfig {
            sender: Some(SENDER.into()),
            ..WorkerConfig::default()
        };
        let started = Instant::now();
        let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Worker::new(
                &engine,
                open_connection(&path).unwrap(),
                &source,
                &outbox,
                config,
            )
            .run_until_idle()
            .unwrap()
        }))
        .unwrap_or_else(|_| panic!("seed {seed}: the worker panicked"));
        assert_eq!(ended.len(), 1, "seed {seed}");
        assert!(
            started.elapsed() < HANG_GUARD * 4,
            "seed {seed}: {} objects took {:?}",
            batch,
            started.elapsed()
        );
        for (outcome, _) in check_job(&path, &seeded, &hostile, &format!("seed {seed}")) {
            *tally.entry(outcome.as_str()).or_insert(0) += 1;
        }
        done += batch;
        jobs += 1;
    }
    println!(
        "hostile generated cases through the embedded worker: {total} objects in {jobs} job(s) (seed {seed}): {tally:?}, good meetings lost: 0, panics: 0"
    );
}
