//! Faults other than kill -9, injected mid-run into the worker (in-process, engine on a clock
//! the test moves forward):
//! - the store turns read-only (`PRAGMA query_only` on the calendar and mail connections after
//!   some writes; then a restarted worker whose every connection is read-only);
//! - the store is full (`PRAGMA max_page_count` a few pages above its size on every connection,
//!   so it fills part-way through);
//! - the CalDAV server stopped and restarted mid-run while the SMTP server refuses the first
//!   transactions.
//!
//! Each time the worker reports a readable error or the job waits for its retry (LastMessage
//! says why, not due before the `rules::retry` delay), nothing is lost, and once the fault
//! clears every eligible meeting is updated exactly once and every attendee holds exactly one
//! distinct update per series. Exact re-sends are counted and printed.

mod support;
mod worker_support;

use chrono::Utc;
use mms::engine::caldav::{CalDavConfig, CalDavSource};
use mms::engine::credentials::Credentials;
use mms::engine::delivery::InviteDelivery;
use mms::engine::embedded::{open_connection, EmbeddedCalendarSource, EmbeddedOutbox};
use mms::engine::smtp::{SmtpConfig, SmtpDelivery};
use mms::engine::source::CalendarSource;
use mms::engine::worker::{Worker, WorkerConfig};
use mms::engine::{Engine, StatusFilter};
use mms::model::{MigrationJob, MigrationState};
use mms::rules::retry::retry_delay;
use mms::store::SqliteStore;
use rusqlite::Connection;
use std::cell::{Cell, RefCell};
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use support::{RadicaleServer, SmtpSink};
use worker_support::kill::*;
use worker_support::*;

/// The engine's clock: real time plus an offset the test moves forward.
#[derive(Clone, Default)]
struct TestClock(Arc<AtomicI64>);

impl TestClock {
    fn advance(&self, by: chrono::Duration) {
        self.0.fetch_add(by.num_seconds(), Ordering::SeqCst);
    }
    fn now(&self) -> chrono::DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.0.load(Ordering::SeqCst))
    }
}

/// The four connections a worker uses, each passed through `configure` (the fault).
fn engine_on(path: &Path, clock: &TestClock, configure: &dyn Fn(&Connection)) -> Engine {
    let mut store = SqliteStore::open(path).unwrap();
    configure(store.connection());
    let c = clock.clone();
    Engine::with_store(Box::new(store)).with_clock(move || c.now())
}

fn connection(path: &Path, configure: &dyn Fn(&Connection)) -> Connection {
    let conn = open_connection(path).unwrap();
    configure(&conn);
    conn
}

fn worker<'a>(
    engine: &'a Engine,
    journal: impl Into<std::rc::Rc<Connection>>,
    source: &'a dyn CalendarSource,
    delivery: &'a dyn InviteDelivery,
) -> Worker<'a> {
    let config = WorkerConfig {
        sender: Some(SENDER.into()),
        ..WorkerConfig::default()
    };
    Worker::new(engine, journal, source, delivery, config)
}

fn no_fault(_: &Connection) {}

fn jobs(engine: &Engine) -> Vec<MigrationJob> {
    engine.migration_status(&StatusFilter::default()).unwrap()
}

/// Runs `w` until every job is settled, moving the clock to each retry's due time (or past a
/// dead worker's lease); checks on the way that no job waiting for a retry runs early.
fn run_to_settled(engine: &Engine, w: &mut Worker, clock: &TestClock) -> Vec<MigrationJob> {
    for _ in 0..12 {
        let now = jobs(engine);
        if now
            .iter()
            .all(|j| matches!(j.state, MigrationState::Succeeded | MigrationState::Failed))
        {
            return now;
        }
        let waiting: Vec<&MigrationJob> = now
            .iter()
            .filter(|j| j.state == MigrationState::Pending && j.not_before > clock.now())
            .collect();
        let ran = w.run_until_idle().unwrap();
        for j in &waiting {
            assert!(
                ran.iter().all(|r| r.correlation_id != j.correlation_id),
                "{j:?}: retried before its delay"
            );
        }
        let retry = now.iter().map(|j| j.retry_count).max().unwrap_or(0).max(1);
        clock.advance(retry_delay(retry).unwrap() + chrono::Duration::minutes(6));
        w.run_until_idle().unwrap();
    }
    panic!("jobs never settled: {:?}", jobs(engine));
}

/// The fault cleared: a fresh worker on healthy connections runs every job to its end.
fn finish_after_fault(path: &Path, clock: &TestClock) -> Vec<MigrationJob> {
    let engine = engine_on(path, clock, &no_fault);
    let source = EmbeddedCalendarSource::open(path).unwrap();
    let outbox = EmbeddedOutbox::open(path).unwrap();
    let mut w = worker(&engine, connection(path, &no_fault), &source, &outbox);
    run_to_settled(&engine, &mut w, clock)
}

/// What a fault must not change: every job's record, every calendar object, every mail.
fn snapshot(path: &Path) -> String {
    let mut records: Vec<String> = jobs(&Engine::open(path).unwrap())
        .iter()
        .map(|j| format!("{j:?}"))
        .collect();
    records.sort();
    let mut bodies: Vec<_> = embedded_bodies(path).into_iter().collect();
    bodies.sort();
    let mail = delivered(&open_connection(path).unwrap()).len();
    format!("{records:?}\n{bodies:?}\n{mail} mail")
}

/// An uninterrupted run: the counters and bodies every faulted run must end with.
fn reference(root: &Path) -> (Counters, Bodies) {
    let path = root.join("reference.db");
    let seeded = prepare(&path);
    let ended = finish_after_fault(&path, &TestClock::default());
    assert!(ended.iter().all(|j| j.state == MigrationState::Succeeded));
    let bodies = embedded_bodies(&path);
    assert_eq!(check_embedded(&path, &seeded, Some(&bodies)), 0);
    (counters(&ended), bodies)
}

/// The fault cleared; the outcome equals the uninterrupted run's. Returns exact re-sends.
fn assert_recovered(
    path: &Path,
    clock: &TestClock,
    seeded: &mms::engine::sample::SeededTenant,
    reference: &(Counters, Bodies),
    what: &str,
) -> usize {
    let ended = finish_after_fault(path, clock);
    assert_eq!(counters(&ended), reference.0, "{what}");
    check_embedded(path, seeded, Some(&reference.1))
}

/// A readable error: says what happened, no panic text, no debug dump.
fn assert_readable(message: &str, expect: &str, what: &str) {
    assert!(
        message.to_ascii_lowercase().contains(expect),
        "{what}: {message:?} does not say {expect:?}"
    );
    assert!(
        !message.contains("panicked") && !message.contains("SqliteFailure") && message.len() < 500,
        "{what}: {message:?}"
    );
}

/// A calendar source that injects `fault` once `writes` writes went through, before every
/// later write.
fn fault_after_writes<S: CalendarSource>(
    inner: S,
    writes: usize,
    fault: impl Fn(&S),
) -> HookedSource<S, impl Fn(&S, &str)> {
    let writes_left = Cell::new(writes);
    HookedSource::new(inner, move |s: &S, _href: &str| match writes_left.get() {
        0 => fault(s),
        n => writes_left.set(n - 1),
    })
}

#[test]
fn store_turning_read_only_mid_run_loses_nothing_and_the_retry_finishes() {
    let root = tempfile::tempdir().unwrap();
    let reference = reference(root.path());
    let mut resends = 0;
    let updates: u32 = reference.0.iter().map(|c| c.3).sum();
    let points = [0, 1, updates as usize / 2, updates as usize - 1];
    for writes in points {
        let what = format!("read-only after {writes} calendar writes");
        let path = root.path().join(format!("ro-{writes}.db"));
        let seeded = prepare(&path);
        let clock = TestClock::default();

        // The calendar and mail connections turn read-only mid-run.
        let engine = engine_on(&path, &clock, &no_fault);
        let outbox = EmbeddedOutbox::open(&path).unwrap();
        let read_only = |c: &Connection| c.execute_batch("PRAGMA query_only = ON").unwrap();
        let faulty = fault_after_writes(
            EmbeddedCalendarSource::open(&path).unwrap(),
            writes,
            |s: &EmbeddedCalendarSource| {
                read_only(s.connection());
                read_only(outbox.connection());
            },
        );
        let ended = worker(&engine, connection(&path, &no_fault), &faulty, &outbox)
            .run_until_idle()
            .unwrap();
        assert!(!ended.is_empty(), "{what}");
        for j in ended.iter().filter(|j| j.failed_meeting > 0) {
            // Cannot finish now: waits for its retry, with the reason.
            assert_eq!(j.state, MigrationState::Pending, "{what}: {j:?}");
            assert_eq!(j.retry_count, 1, "{what}: {j:?}");
            assert!(j.not_before > clock.now(), "{what}: {j:?}");
            assert_readable(&j.last_message, "readonly", &what);
        }
        assert!(
            ended.iter().any(|j| j.failed_meeting > 0),
            "{what}: the fault hit no job"
        );

        // Restarted while the store is still read-only: every connection read-only. A
        // readable error, and nothing changes.
        let before = snapshot(&path);
        clock.advance(chrono::Duration::minutes(6));
        let engine = engine_on(&path, &clock, &read_only);
        let source = EmbeddedCalendarSource::new(connection(&path, &read_only));
        let outbox = EmbeddedOutbox::new(connection(&path, &read_only));
        let err = worker(&engine, connection(&path, &read_only), &source, &outbox)
            .run_until_idle()
            .expect_err("a read-only store stops the worker");
        assert_readable(&err.to_string(), "readonly", &what);
        drop(engine);
        assert_eq!(
            snapshot(&path),
            before,
            "{what}: a read-only store must not change"
        );

        resends += assert_recovered(&path, &clock, &seeded, &reference, &what);
    }
    println!(
        "faults: store read-only mid-run, {} injections (+ {} restarts on a read-only store), lost meetings: 0, second distinct updates: 0, exact re-sends: {resends}",
        points.len(),
        points.len()
    );
}

#[test]
fn store_filling_up_mid_run_loses_nothing_and_the_retry_finishes() {
    let root = tempfile::tempdir().unwrap();
    let reference = reference(root.path());
    let mut resends = 0;
    let mut worker_errors = 0;
    let mut jobs_waiting = 0;
    let headrooms = [0i64, 1, 2, 3, 5, 8, 13, 21];
    // Each on both commit paths: calendars, outbox and journal on their own connections (every
    // step committed on its own), and on one shared connection (the worker's group commit,
    // `mms serve`), where SQLite may roll a whole batch back when the disk fills up.
    for (shared, headroom) in [false, true]
        .into_iter()
        .flat_map(|s| headrooms.map(|h| (s, h)))
    {
        let path_kind = if shared {
            "group commit"
        } else {
            "own connections"
        };
        let what = format!("store full {headroom} page(s) above its size ({path_kind})");
        let path = root.path().join(format!("full-{headroom}-{shared}.db"));
        let seeded = prepare(&path);
        let clock = TestClock::default();
        let full = move |c: &Connection| {
            let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
            let set: i64 = c
                .query_row(
                    &format!("PRAGMA max_page_count = {}", pages + headroom),
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(set, pages + headroom);
        };
        let engine = engine_on(&path, &clock, &full);
        let journal = std::rc::Rc::new(connection(&path, &full));
        let (source, outbox) = if shared {
            (
                EmbeddedCalendarSource::sharing(journal.clone()),
                EmbeddedOutbox::sharing(journal.clone()),
            )
        } else {
            (
                EmbeddedCalendarSource::new(connection(&path, &full)),
                EmbeddedOutbox::new(connection(&path, &full)),
            )
        };
        let ran = worker(&engine, journal, &source, &outbox).run_until_idle();
        match ran {
            Ok(ended) => {
                // What a job reports is what its journal holds, batches rolled back included.
                let check = Connection::open(&path).unwrap();
                for j in &ended {
                    let (rewritten, failed): (u32, u32) = check
                        .query_row(
                            "SELECT COALESCE(SUM(outcome = 'Rewritten'), 0),
                                    COALESCE(SUM(outcome = 'Failed'), 0)
                             FROM job_meeting_progress WHERE job_id = ?1",
                            [j.correlation_id.to_string()],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )
                        .unwrap();
                    assert_eq!(
                        (j.succeeded_meeting, j.failed_meeting),
                        (rewritten, failed),
                        "{what}: {j:?}"
                    );
                }
                for j in ended
                    .iter()
                    .filter(|j| j.state != MigrationState::Succeeded)
                {
                    assert_eq!(j.state, MigrationState::Pending, "{what}: {j:?}");
                    assert!(j.not_before > clock.now(), "{what}: {j:?}");
                    assert_readable(&j.last_message, "full", &what);
                    jobs_waiting += 1;
                }
            }
            Err(e) => {
                assert_readable(&e.to_string(), "full", &what);
                worker_errors += 1;
            }
        }
        drop(engine);
        resends += assert_recovered(&path, &clock, &seeded, &reference, &what);
    }
    assert!(
        worker_errors + jobs_waiting > 0,
        "the store never filled up"
    );
    println!(
        "faults: store full mid-run, {} injections on each commit path ({worker_errors} stopped the worker with an error, {jobs_waiting} job(s) waited for a retry), lost meetings: 0, second distinct updates: 0, exact re-sends: {resends}",
        headrooms.len()
    );
}

#[test]
fn caldav_server_restarted_and_smtp_refusing_mid_run_lose_nothing() {
    let radicale = RefCell::new(RadicaleServer::start());
    let sink = SmtpSink::start(2); // 451 for the first two transactions
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("caldav.db");
    let seeded = prepare(&path);
    radicale.borrow().load_seeded(&seeded);
    let url = radicale.borrow().url.clone();
    let caldav = || {
        let mut config = CalDavConfig::new(url.clone());
        config.credentials = Some(Credentials::new("{localpart}", "unused"));
        CalDavSource::new(config).unwrap()
    };
    let delivery = SmtpDelivery::new(SmtpConfig::new("127.0.0.1", sink.port));
    let clock = TestClock::default();
    let engine = engine_on(&path, &clock, &no_fault);

    // The server goes away after 4 writes; the first two mails are refused.
    let source = fault_after_writes(caldav(), 4, |_: &CalDavSource| radicale.borrow_mut().stop());
    let ended = worker(&engine, connection(&path, &no_fault), &source, &delivery)
        .run_until_idle()
        .unwrap();
    let waiting: Vec<&MigrationJob> = ended
        .iter()
        .filter(|j| j.state == MigrationState::Pending)
        .collect();
    assert!(!waiting.is_empty(), "{ended:?}");
    for j in &waiting {
        assert_eq!(j.retry_count, 1, "{j:?}");
        assert!(
            j.not_before > clock.now(),
            "retried on schedule, not at once: {j:?}"
        );
        assert!(
            !j.last_message.is_empty() && j.last_message.len() < 500,
            "{j:?}"
        );
    }
    assert!(
        ended.iter().all(|j| j.state != MigrationState::Failed),
        "transient faults fail no job for good: {ended:?}"
    );

    // The server is back; the retries run when due.
    radicale.borrow_mut().restart();
    let source = caldav();
    let mut w = worker(&engine, connection(&path, &no_fault), &source, &delivery);
    let ended = run_to_settled(&engine, &mut w, &clock);
    for j in &ended {
        assert_eq!(j.state, MigrationState::Succeeded, "{j:?}");
        assert_eq!(j.failed_meeting, 0, "{j:?}");
        assert_eq!(j.succeeded_meeting, j.invites_update, "{j:?}");
    }
    let server = radicale.borrow();
    let get = |user: &str, p: &str| server.get_ok(user, p);
    let (expected, _) = check_caldav(&get, &engine, &seeded, None);
    let mail = received_all(sink.envelopes());
    let resends = assert_mail(&mail, &expected, SENDER);
    println!(
        "faults: CalDAV server stopped mid-run and restarted, SMTP refused 2 transactions (451) then accepted: {} job(s) retried on schedule, lost meetings: 0, second distinct updates: 0, exact re-sends: {resends}",
        waiting.len()
    );
}
