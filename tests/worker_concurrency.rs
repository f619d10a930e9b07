//! Concurrency while the worker runs (issue 8):
//! - the organizer edits a meeting on the CalDAV server (outside the block) after the worker's
//!   read and before its write: the worker's PUT gets 412, it fetches the meeting again and
//!   re-applies the rewrite; the server keeps the user's edit AND the new block, SEQUENCE rises
//!   once over the user's version, every attendee gets exactly one distinct update;
//! - an admin changes the organizer's settings while the worker is part-way through that
//!   organizer's job: the trigger is not lost (a new Pending job, the next change merged into
//!   it), and once the worker settles every meeting carries the newest coordinates, with one
//!   SEQUENCE step and one distinct update per distinct rewrite. Both with the worker's
//!   one-step-at-a-time commits (the admin change made between two meetings, deterministic)
//!   and with its group commit (the production `mms serve` path, the admin in another thread
//!   on its own connection, waiting for the worker's batch).

mod support;
mod worker_support;

use mms::engine::caldav::{CalDavConfig, CalDavSource};
use mms::engine::credentials::Credentials;
use mms::engine::embedded::{
    embedded_worker_connection, open_connection, EmbeddedCalendarSource, EmbeddedOutbox,
};
use mms::engine::sample::{SampleKind, SeededTenant};
use mms::engine::smtp::{SmtpConfig, SmtpDelivery};
use mms::engine::worker::{Worker, WorkerConfig, WorkerObserver};
use mms::engine::{Engine, StatusFilter};
use mms::model::{MigrationJob, MigrationState};
use mms::rules::triggers::UserChange;
use mms::store::calendars;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use support::{RadicaleServer, SmtpSink};
use worker_support::kill::*;
use worker_support::*;

const ORGANIZER: &str = "ashaw@contoso.com";
const USER_SUMMARY: &str = "Moved to room 4 (edited by the organizer)";
const USER_NOTE: &str = "Agenda: bring the Q3 numbers.";

fn config() -> WorkerConfig {
    WorkerConfig {
        sender: Some(SENDER.into()),
        ..WorkerConfig::default()
    }
}

fn jobs(engine: &Engine) -> Vec<MigrationJob> {
    engine.migration_status(&StatusFilter::default()).unwrap()
}

/// The organizer's own edit of a stored object: a new SUMMARY, a note before the block in
/// every DESCRIPTION, and (with `bump`) a SEQUENCE step, as a client that moves the meeting
/// does. Returns the unfolded, edited object.
fn user_edit(stored: &[u8], bump: bool) -> Vec<u8> {
    let mut out = String::new();
    for line in unfold(stored) {
        let name = prop_name(&line);
        let edited = match name.as_str() {
            "SUMMARY" => {
                let head = &line[..line.len() - prop_value(&line).len()];
                format!("{head}{USER_SUMMARY}")
            }
            "DESCRIPTION" if !line.contains("Reminder") => {
                let value = prop_value(&line);
                let head = &line[..line.len() - value.len()];
                format!("{head}{USER_NOTE}\\n{value}")
            }
            "SEQUENCE" if bump => {
                let n: u32 = prop_value(&line).trim().parse().unwrap();
                format!("SEQUENCE:{}", n + 1)
            }
            _ => line,
        };
        out.push_str(&edited);
        out.push_str("\r\n");
    }
    out.into_bytes()
}

#[test]
fn user_edit_between_the_workers_get_and_put_survives_and_the_block_is_replaced() {
    let radicale = RadicaleServer::start();
    let sink = SmtpSink::start(0);
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("mms.db");
    let mut seeded = prepare(&path);
    radicale.load_seeded(&seeded);

    // The organizer edits two meetings: one without and one with a SEQUENCE step.
    let (_, meetings) = seeded
        .calendars
        .iter()
        .find(|(u, _)| u == ORGANIZER)
        .unwrap();
    let pick = |kind: SampleKind| {
        let m = meetings.iter().find(|m| m.kind == kind).unwrap();
        format!("/{}/calendar/{}", localpart(ORGANIZER), m.file_name)
    };
    let edits: BTreeMap<String, bool> = [
        (pick(SampleKind::FutureSingle), false),
        (pick(SampleKind::RecurringWithOverride), true),
    ]
    .into_iter()
    .collect();
    let user_versions: RefCell<BTreeMap<String, Vec<u8>>> = RefCell::new(BTreeMap::new());

    let mut caldav = CalDavConfig::new(radicale.url.clone());
    caldav.credentials = Some(Credentials::new("{localpart}", "unused"));
    let source = HookedSource::new(
        CalDavSource::new(caldav).unwrap(),
        |_: &CalDavSource, href: &str| {
            let Some(&bump) = edits.get(href) else { return };
            if user_versions.borrow().contains_key(href) {
                return;
            }
            // The worker read the meeting and is about to write it: the user's client PUTs
            // its edit first, conditionally on the version it has.
            let user = localpart(ORGANIZER);
            let (status, etag, body) = radicale.http(user, "GET", href, &[], None);
            assert_eq!(status, 200, "GET {href}");
            let edited = user_edit(body.as_bytes(), bump);
            let etag = etag.expect("ETag");
            let (status, _, text) = radicale.http(
                user,
                "PUT",
                href,
                &[("Content-Type", "text/calendar"), ("If-Match", &etag)],
                Some(&edited),
            );
            assert!(
                matches!(status, 201 | 204),
                "user's PUT {href}: {status} {text}"
            );
            user_versions.borrow_mut().insert(href.to_string(), edited);
        },
    );
    let delivery = SmtpDelivery::new(SmtpConfig::new("127.0.0.1", sink.port));
    let engine = Engine::open(&path).unwrap();
    let ended = Worker::new(
        &engine,
        open_connection(&path).unwrap(),
        &source,
        &delivery,
        config(),
    )
    .run_until_idle()
    .unwrap();
    assert_eq!(ended.len(), 3, "{ended:?}");
    for j in &ended {
        assert_eq!(j.state, MigrationState::Succeeded, "{j:?}");
        assert_eq!(j.failed_meeting, 0, "{j:?}");
    }

    // The worker's first PUT of each edited meeting was refused (412), it fetched the meeting
    // again and its second PUT went through.
    let user_versions = user_versions.borrow().clone();
    assert_eq!(user_versions.len(), edits.len(), "every edit was injected");
    for href in edits.keys() {
        assert_eq!(
            source.calls_on(href),
            ["put Conflict", "get found", "put Stored"],
            "{href}"
        );
    }

    // Checked against the user's versions: text outside the block is the user's (with the
    // note), the block is new, SEQUENCE one step above the user's.
    for (upn, meetings) in &mut seeded.calendars {
        for m in meetings.iter_mut() {
            let href = format!("/{}/calendar/{}", localpart(upn), m.file_name);
            if let Some(v) = user_versions.get(&href) {
                m.data = v.clone();
            }
        }
    }
    let get = |user: &str, p: &str| radicale.get_ok(user, p);
    let (expected, fetched) = check_caldav(&get, &engine, &seeded, None);
    for (href, bump) in &edits {
        let (_, now) = fetched.iter().find(|(p, _)| p == href).unwrap();
        let lines = unfold(now);
        assert!(
            lines
                .iter()
                .filter(|l| prop_name(l) == "SUMMARY")
                .all(|l| prop_value(l) == USER_SUMMARY),
            "{href}: the user's SUMMARY survives"
        );
        for d in descriptions(now) {
            assert!(d.starts_with(USER_NOTE), "{href}: the user's note survives");
        }
        let original = meetings_of(&seeded, href);
        let base = sequences(original).into_iter().max().unwrap();
        let now_max = sequences(now).into_iter().max().unwrap();
        assert_eq!(
            now_max,
            base + 1,
            "{href}: one step over the user's version"
        );
        if *bump {
            assert!(base >= 1, "{href}: the user's edit raised SEQUENCE");
        }
    }

    // Every attendee got exactly one distinct update per series, carrying the user's edit.
    let mail = received_all(sink.envelopes());
    let resends = assert_mail(&mail, &expected, SENDER);
    assert_eq!(resends, 0);
    for (_, m, _) in expected.iter().filter(|(u, _, _)| u == ORGANIZER) {
        let href = format!("/{}/calendar/{}", localpart(ORGANIZER), m.file_name);
        if !edits.contains_key(&href) {
            continue;
        }
        let update = mail
            .iter()
            .map(|x| {
                calendar_part(&x.data)
                    .replace("\r\n ", "")
                    .replace("\n ", "")
            })
            .find(|c| c.contains(&format!("UID:{}", m.uid)))
            .unwrap();
        assert!(update.contains(USER_SUMMARY), "{href}: update has the edit");
    }
    println!(
        "concurrency: {} user edit(s) between the worker's GET and PUT on Radicale: {} conflict(s) (412) re-applied, user edits kept: {}, second distinct updates: 0",
        edits.len(),
        edits.len(),
        edits.len()
    );
}

fn meetings_of<'a>(seeded: &'a SeededTenant, href: &str) -> &'a [u8] {
    for (upn, meetings) in &seeded.calendars {
        for m in meetings {
            if format!("/{}/calendar/{}", localpart(upn), m.file_name) == href {
                return &m.data;
            }
        }
    }
    panic!("no meeting at {href}");
}

/// The admin's two changes for the organizer (the first queues a job, the second merges into
/// it) and the conference ID they leave.
fn admin_changes(engine: &Engine) -> Vec<mms::engine::ChangeOutcome> {
    [
        UserChange::SetConferenceId {
            conference_id: "555000111".into(),
        },
        UserChange::MoveToBridge {
            bridge: "Contoso Europe".into(),
        },
    ]
    .iter()
    .map(|c| engine.apply_user_change(ORGANIZER, c).unwrap())
    .collect()
}

/// Runs `admin` once, when the organizer's job has settled its first meeting.
struct AfterFirstMeeting<F: Fn(&MigrationJob)> {
    admin: F,
    fired: Cell<bool>,
}

impl<F: Fn(&MigrationJob)> WorkerObserver for AfterFirstMeeting<F> {
    fn meeting_done(&self, job: &MigrationJob, _uid: &str, _outcome: &str, _reason: &str) {
        if job.user_principal_name == ORGANIZER && !self.fired.replace(true) {
            (self.admin)(job);
        }
    }
}

/// After the worker settled: the organizer has two Succeeded jobs (the one that ran and the
/// one the admin's changes queued and merged into); every eligible meeting carries the newest
/// coordinates, two SEQUENCE steps over the original (one per distinct rewrite); every
/// attendee got exactly two distinct updates per series, the first with the old conference
/// ID, the second with the newest, never two with the same content.
fn assert_newest_everywhere(path: &Path, seeded: &SeededTenant, first_job: uuid::Uuid) {
    let engine = Engine::open(path).unwrap();
    let all = jobs(&engine);
    let mine: Vec<&MigrationJob> = all
        .iter()
        .filter(|j| j.user_principal_name == ORGANIZER)
        .collect();
    assert_eq!(mine.len(), 2, "one running job + one merged job: {mine:?}");
    assert!(mine.iter().any(|j| j.correlation_id == first_job));
    for j in &all {
        assert_eq!(j.state, MigrationState::Succeeded, "{j:?}");
        assert_eq!(j.failed_meeting, 0, "{j:?}");
    }
    let newest = engine.meeting_coordinates(ORGANIZER).unwrap();
    assert_eq!(newest.conference_id, "555000111");
    let toll: String = newest.toll_numbers[0]
        .number
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    assert_eq!(toll, "33170550123", "the Europe bridge's default number");

    let conn = open_connection(path).unwrap();
    let (_, meetings) = seeded
        .calendars
        .iter()
        .find(|(u, _)| u == ORGANIZER)
        .unwrap();
    let mail = delivered(&conn);
    let mut distinct_updates = 0;
    for m in meetings.iter().filter(|m| m.kind.must_be_rewritten()) {
        let href = format!("{ORGANIZER}/calendar/{}", m.file_name);
        let now = calendars::object(&conn, &href).unwrap().unwrap().data;
        for d in descriptions(&now) {
            let digits: String = d.chars().filter(|c| c.is_ascii_digit()).collect();
            assert!(digits.contains("555000111"), "{href}: newest conference ID");
            assert!(digits.contains(&toll), "{href}: newest dial-in number");
        }
        let before = sequences(&m.data);
        let after = sequences(&now);
        assert_eq!(before.len(), after.len(), "{href}");
        for (b, a) in before.iter().zip(&after) {
            assert_eq!(b + 2, *a, "{href}: one SEQUENCE step per distinct rewrite");
        }
        let updates: Vec<&Mail> = mail
            .iter()
            .filter(|x| {
                calendar_part(&x.data)
                    .replace("\r\n ", "")
                    .replace("\n ", "")
                    .contains(&format!("UID:{}", m.uid))
            })
            .collect();
        let ids: BTreeSet<&String> = updates.iter().map(|x| &x.message_id).collect();
        assert_eq!(ids.len(), 2, "{href}: one distinct update per rewrite");
        let contents: BTreeSet<String> = updates.iter().map(|x| calendar_part(&x.data)).collect();
        assert_eq!(
            contents.len(),
            2,
            "{href}: no two updates with the same content"
        );
        let first = update_at_sequence(&updates, before.iter().max().unwrap() + 1);
        let second = update_at_sequence(&updates, before.iter().max().unwrap() + 2);
        assert!(!first.contains("555000111") && second.contains("555000111"));
        for u in &updates {
            let mut got: Vec<String> = u.recipients.iter().map(|r| r.to_lowercase()).collect();
            got.sort();
            let mut want: Vec<String> = m.attendees.iter().map(|a| a.to_lowercase()).collect();
            want.sort();
            assert_eq!(got, want, "{href}: every attendee, once per update");
        }
        distinct_updates += ids.len();
    }
    assert!(distinct_updates > 0);
}

/// The digits of the one update (calendar part) whose highest SEQUENCE is `seq`.
fn update_at_sequence(updates: &[&Mail], seq: u32) -> String {
    let found: Vec<String> = updates
        .iter()
        .map(|u| calendar_part(&u.data))
        .filter(|c| sequences(c.as_bytes()).into_iter().max() == Some(seq))
        .collect();
    assert_eq!(found.len(), 1, "one update at SEQUENCE {seq}");
    found[0].chars().filter(|c| c.is_ascii_digit()).collect()
}

/// Checks what the admin's changes returned while the organizer's job was running: the first
/// queued a new Pending job (not merged into the running one), the second merged into it.
fn assert_trigger_kept(outcomes: &[mms::engine::ChangeOutcome], running: uuid::Uuid) {
    let first = outcomes[0].job.as_ref().expect("the change queues a job");
    assert!(!outcomes[0].merged, "a running job is not merged into");
    assert_ne!(first.correlation_id, running);
    assert_eq!(first.state, MigrationState::Pending);
    let second = outcomes[1].job.as_ref().expect("the change queues a job");
    assert!(
        outcomes[1].merged,
        "the second change merges into the Pending job"
    );
    assert_eq!(second.correlation_id, first.correlation_id);
}

#[test]
fn admin_change_between_two_meetings_of_the_running_job_is_not_lost() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("mms.db");
    let seeded = prepare(&path);
    let engine = Engine::open(&path).unwrap();
    let admin = Engine::open(&path).unwrap();
    let running = Cell::new(None);
    let outcomes = RefCell::new(Vec::new());
    let observer = AfterFirstMeeting {
        admin: |job: &MigrationJob| {
            running.set(Some(job.correlation_id));
            let state = admin.job(job.correlation_id).unwrap().state;
            assert_eq!(state, MigrationState::InProgress, "the admin acts mid-run");
            *outcomes.borrow_mut() = admin_changes(&admin);
        },
        fired: Cell::new(false),
    };
    // Separate connections: every step commits on its own (no group commit).
    let source = EmbeddedCalendarSource::open(&path).unwrap();
    let outbox = EmbeddedOutbox::open(&path).unwrap();
    let ended = Worker::new(
        &engine,
        open_connection(&path).unwrap(),
        &source,
        &outbox,
        config(),
    )
    .with_observer(&observer)
    .run_until_idle()
    .unwrap();
    let running = running.get().expect("the admin acted");
    assert_trigger_kept(&outcomes.borrow(), running);
    assert_eq!(ended.len(), 4, "three jobs + the admin's: {ended:?}");
    assert_newest_everywhere(&path, &seeded, running);
    println!("concurrency: admin changes mid-run (one-step commits): trigger kept, merged, newest coordinates on every meeting, lost: 0");
}

/// Lets the admin act while the worker holds its batch open (after the organizer's first
/// meeting), and holds the worker after the organizer's job until both changes have landed:
/// two cmdlets run one after the other, and without the hold the worker could claim the job
/// the first one queued before the second one arrives (then correctly a third job, not a merge).
struct AdminDuringBatch {
    go: std::sync::mpsc::Sender<uuid::Uuid>,
    admin_done: std::sync::mpsc::Receiver<()>,
    fired: Cell<bool>,
}

impl WorkerObserver for AdminDuringBatch {
    fn meeting_done(&self, job: &MigrationJob, _uid: &str, _outcome: &str, _reason: &str) {
        if job.user_principal_name == ORGANIZER && !self.fired.replace(true) {
            self.go.send(job.correlation_id).unwrap();
        }
    }

    fn job_finished(&self, job: &MigrationJob) {
        if job.user_principal_name == ORGANIZER && self.fired.get() {
            // Only the first organizer job waits: the admin sends once.
            let _ = self.admin_done.recv();
        }
    }
}

#[test]
fn admin_change_while_the_group_committing_worker_runs_is_not_lost() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("mms.db");
    let seeded = prepare(&path);
    let engine = Engine::open(&path).unwrap();
    let (go, wait) = std::sync::mpsc::channel::<uuid::Uuid>();
    let (done, admin_done) = std::sync::mpsc::channel::<()>();
    let admin_path = path.clone();
    // The admin, as another process would: its own connection, blocked while the worker
    // holds the store's write lock for a batch of meetings.
    let admin = std::thread::spawn(move || {
        let running = wait.recv().unwrap();
        let admin = Engine::open(&admin_path).unwrap();
        let outcomes = admin_changes(&admin);
        done.send(()).unwrap();
        (running, outcomes)
    });
    let observer = AdminDuringBatch {
        go,
        admin_done,
        fired: Cell::new(false),
    };
    let shared = embedded_worker_connection(&path).unwrap();
    let source = EmbeddedCalendarSource::sharing(shared.clone());
    let outbox = EmbeddedOutbox::sharing(shared.clone());
    let mut worker =
        Worker::new(&engine, shared, &source, &outbox, config()).with_observer(&observer);
    let ended = worker.run_until_idle().unwrap();
    let (running, outcomes) = admin.join().unwrap();
    assert_eq!(ended.len(), 4, "three jobs + the admin's: {ended:?}");
    let first = outcomes[0].job.as_ref().expect("queued");
    assert_ne!(
        first.correlation_id, running,
        "never merged into the running job"
    );
    assert!(outcomes[1].merged);
    assert_newest_everywhere(&path, &seeded, running);
    println!("concurrency: admin changes mid-run (group commit, admin in another thread): trigger kept, merged, newest coordinates on every meeting, lost: 0");
}
