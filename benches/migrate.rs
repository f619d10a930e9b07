//! Figure (b) of `make bench`: 10,000 users x 100 future meetings (1,000,000 invitations) in the
//! embedded store, migrated by the real worker (`mms::engine::worker::Worker` over the embedded
//! calendar source and outbox: the code path of `mms serve` and `mms demo`).
//!
//! Phases, each in its own process so that one phase's memory never shows in another's peak RSS
//! (VmHWM of /proc/self/status):
//! 1. generation (this process): the users through the Engine API, their calendars bulk-inserted
//!    in one transaction, each user then given a new conference ID and a `Start-CsExMeetingMigration`,
//!    which queues one job each. Not part of any figure.
//! 2. `--migrate-worker`: `MIGRATE_WORKERS` workers (default 1, one `mms serve`; more share
//!    the store's single writer lock and gain nothing) run until no job is due. Wall time, meetings/s, peak
//!    RSS, and peak RSS once the first 10% of the meetings were done (memory must not grow with
//!    the number of meetings).
//! 3. `--migrate-baseline`: the same rows read and written back unchanged with raw SQL, one
//!    commit per meeting and a copy of the bytes into a mail table (what any crash-safe
//!    per-meeting migration has to write), no rewriting.
//!
//! The invitations are the sample tenant's Outlook-shaped single meetings and series with an
//! override (Teams blocks in DESCRIPTION and HTML X-ALT-DESC, ~7 attendees), one set per user,
//! with distinct UIDs. The store lives in a temporary directory removed at the end.

mod common;

use chrono::Utc;
use common::tenant::*;
use common::*;
use mms::engine::embedded::{
    embedded_worker_connection, open_connection, EmbeddedCalendarSource, EmbeddedOutbox,
};
use mms::engine::worker::{Worker, WorkerConfig, WorkerObserver};
use mms::engine::Engine;
use mms::model::MigrationJob;
use rusqlite::params;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

const MEETINGS_PER_USER: usize = 100;
/// 1,000,000 meetings in 2 minutes.
const TARGET_RATE: f64 = 1_000_000.0 / 120.0;

/// Removes the temporary store directory however the bench ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Generates the store; returns the number of invitations and their total size.
fn generate(path: &Path, users: usize) -> (usize, u64) {
    let engine = Engine::open(path).expect("open store");
    let (tenant, people) = bench_tenant(users);
    let now = Utc::now();
    let mut conn = open_connection(path).expect("connection");
    let tx = conn.transaction().expect("tx");
    let mut count = 0usize;
    let mut bytes = 0u64;
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO calendar_object (href, user_key, calendar, uid, version, data, modified)
                 VALUES (?1, ?2, 'calendar', ?3, 1, ?4, ?5)",
            )
            .expect("prepare");
        let modified = now.to_rfc3339();
        for user in &people {
            for m in invitations(user, &tenant, MEETINGS_PER_USER, now) {
                let href = format!("{}/calendar/{}", user.user_principal_name, m.file_name);
                insert
                    .execute(params![
                        href,
                        user.user_principal_name,
                        m.uid,
                        m.data,
                        modified
                    ])
                    .expect("insert");
                count += 1;
                bytes += m.data.len() as u64;
            }
        }
    }
    tx.commit().expect("commit");
    provision(&engine, &tenant, &people);
    start_migrations(&engine, &people);
    (count, bytes)
}

/// Counts settled meetings across worker threads and notes the peak RSS after the first
/// `checkpoint` of them. At every multiple of `checkpoint` it also prints the resident set
/// then and the peak so far: a peak is one moment, the series shows whether memory grows.
struct Counter {
    done: AtomicUsize,
    checkpoint: usize,
    rss_at_checkpoint: AtomicU64,
    /// Resident set (now, not peak) after the first tenth and after the latest tenth.
    resident_first: AtomicU64,
    resident_last: AtomicU64,
}

impl WorkerObserver for Counter {
    fn meeting_done(&self, _job: &MigrationJob, _uid: &str, _outcome: &str, _reason: &str) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if self.checkpoint == 0 || done % self.checkpoint != 0 {
            return;
        }
        let (peak, resident) = (peak_rss_kib().unwrap_or(0), current_rss_kib().unwrap_or(0));
        if done == self.checkpoint {
            self.rss_at_checkpoint.store(peak, Ordering::Relaxed);
            self.resident_first.store(resident, Ordering::Relaxed);
        }
        self.resident_last.store(resident, Ordering::Relaxed);
        note(&format!(
            "worker: {done} meetings settled, RSS {:.1} MiB, peak so far {:.1} MiB",
            mib(resident),
            mib(peak)
        ));
    }
}

/// Phase 2 (child process): prints `RESULT <meetings> <wall ns> <peak KiB> <peak KiB at
/// checkpoint> <RSS KiB at checkpoint> <RSS KiB at the last multiple of it>`.
fn worker_phase(path: &Path, workers: usize, checkpoint: usize) {
    // As `mms serve` does before it opens the store.
    mms::store::sqlite::disable_sqlite_memory_statistics();
    let engine = Engine::open(path).expect("open store");
    let counter = Counter {
        done: AtomicUsize::new(0),
        checkpoint,
        rss_at_checkpoint: AtomicU64::new(0),
        resident_first: AtomicU64::new(0),
        resident_last: AtomicU64::new(0),
    };
    let t = Instant::now();
    std::thread::scope(|s| {
        for w in 0..workers {
            let engine = &engine;
            let counter = &counter;
            s.spawn(move || {
                let journal = embedded_worker_connection(path).expect("journal");
                let source = EmbeddedCalendarSource::sharing(journal.clone());
                let outbox = EmbeddedOutbox::sharing(journal.clone());
                let config = WorkerConfig {
                    worker_id: format!("bench-worker-{w}"),
                    ..WorkerConfig::default()
                };
                let mut worker =
                    Worker::new(engine, journal, &source, &outbox, config).with_observer(counter);
                while worker.run_once().expect("worker").is_some() {}
            });
        }
    });
    let wall = t.elapsed();
    println!(
        "RESULT {} {} {} {} {} {}",
        counter.done.load(Ordering::Relaxed),
        wall.as_nanos(),
        peak_rss_kib().unwrap_or(0),
        counter.rss_at_checkpoint.load(Ordering::Relaxed),
        counter.resident_first.load(Ordering::Relaxed),
        counter.resident_last.load(Ordering::Relaxed),
    );
}

/// Phase 3 (child process): raw read + write-back + mail copy, one commit per meeting. Prints
/// `RESULT <meetings> <wall ns>`.
fn baseline_phase(path: &Path) {
    let conn = open_connection(path).expect("connection");
    conn.execute_batch("CREATE TABLE IF NOT EXISTS bench_mail (id INTEGER PRIMARY KEY, data BLOB)")
        .expect("table");
    let users: Vec<String> = {
        let mut st = conn
            .prepare("SELECT DISTINCT user_key FROM calendar_object")
            .expect("users");
        let rows = st.query_map([], |r| r.get(0)).expect("users");
        rows.collect::<Result<_, _>>().expect("users")
    };
    let t = Instant::now();
    let mut n = 0usize;
    for u in &users {
        let objects: Vec<(String, i64, Vec<u8>)> = {
            let mut st = conn
                .prepare_cached(
                    "SELECT href, version, data FROM calendar_object WHERE user_key = ?1 ORDER BY href",
                )
                .expect("select");
            let rows = st
                .query_map(params![u], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .expect("select");
            rows.collect::<Result<_, _>>().expect("select")
        };
        for (href, version, data) in objects {
            conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
            conn.prepare_cached(
                "UPDATE calendar_object SET data = ?1, version = version + 1 WHERE href = ?2 AND version = ?3",
            )
            .expect("update")
            .execute(params![data, href, version])
            .expect("update");
            conn.prepare_cached("INSERT INTO bench_mail (data) VALUES (?1)")
                .expect("insert")
                .execute(params![data])
                .expect("insert");
            conn.execute_batch("COMMIT").expect("commit");
            n += 1;
        }
    }
    println!("RESULT {n} {}", t.elapsed().as_nanos());
}

fn child(args: &[&str]) -> Vec<u64> {
    let out = Command::new(std::env::current_exe().expect("exe"))
        .args(args)
        .output()
        .expect("child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "child {args:?} failed: {stdout}");
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .expect("child result")
        .split_whitespace()
        .map(|v| v.parse().expect("number"))
        .collect()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--migrate-worker") => {
            let workers = args[3].parse().expect("workers");
            let checkpoint = args[4].parse().expect("checkpoint");
            return worker_phase(Path::new(&args[2]), workers, checkpoint);
        }
        Some("--migrate-baseline") => return baseline_phase(Path::new(&args[2])),
        // For profiling one phase by hand: `--generate-only STORE USERS`, then
        // `--migrate-worker STORE 1 0` under a profiler (the store is kept).
        Some("--generate-only") => {
            let (count, bytes) = generate(Path::new(&args[2]), args[3].parse().expect("users"));
            return note(&format!("generated {count} invitations, {bytes} B"));
        }
        _ => {}
    }
    let users = scaled(10_000);
    let total = users * MEETINGS_PER_USER;
    let workers: usize = std::env::var("MIGRATE_WORKERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let dir =
        TempDir(std::env::temp_dir().join(format!("mms-bench-migrate-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).expect("temp dir");
    let path = dir.0.join("mms.db");

    let t = Instant::now();
    let (count, bytes) = generate(&path, users);
    note(&format!(
        "generated {count} invitations ({users} users x {MEETINGS_PER_USER}), {:.0} B on average, {:.1} MiB, in {}",
        bytes as f64 / count as f64,
        bytes as f64 / 1048576.0,
        fmt_duration(t.elapsed())
    ));
    let path_text = path.to_string_lossy().to_string();
    let checkpoint = total / 10;
    let r = child(&[
        "--migrate-worker",
        &path_text,
        &workers.to_string(),
        &checkpoint.to_string(),
    ]);
    let (done, wall_ns, peak_kib, peak_at_checkpoint) = (r[0] as usize, r[1], r[2], r[3]);
    let (resident_first, resident_last) = (r[4], r[5]);
    // What the worker produced, checked (a fast worker that skips meetings is no figure).
    let conn = open_connection(&path).expect("connection");
    let (sent, succeeded, meetings_ok): (i64, i64, i64) = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM delivered_mail),
                    (SELECT COUNT(*) FROM migration_jobs WHERE state = 'Succeeded'),
                    (SELECT COALESCE(SUM(succeeded_meeting), 0) FROM migration_jobs)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("check");
    let db_bytes: u64 = std::fs::read_dir(&dir.0)
        .map(|d| {
            d.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    drop(conn);
    note(&format!(
        "worker: {done} meetings settled, {meetings_ok} updated, {sent} mails delivered, {succeeded}/{users} jobs Succeeded, store {:.1} GiB, {workers} worker(s)",
        db_bytes as f64 / 1073741824.0
    ));
    assert_eq!(meetings_ok as usize, total, "not every meeting was updated");
    assert_eq!(succeeded as usize, users, "not every job succeeded");

    let b = child(&["--migrate-baseline", &path_text]);
    let baseline_ns = b[1];

    let rate = total as f64 / (wall_ns as f64 / 1e9);
    let base_rate = b[0] as f64 / (baseline_ns as f64 / 1e9);
    let size = format!("{:.1} KB", bytes as f64 / count as f64 / 1000.0);
    let baseline = format!(
        "raw SQL read+write+mail copy {}",
        fmt_ns(baseline_ns as f64)
    );
    row(
        &format!("Worker: {total} meetings ({users} users x {MEETINGS_PER_USER}, {size}), wall time, {workers} workers"),
        &fmt_ns(wall_ns as f64),
        &baseline,
        Some(wall_ns as f64 / baseline_ns as f64),
        "< 2 min at 1,000,000 (>= 8,333/s)",
        rate >= TARGET_RATE,
    );
    row(
        &format!("Worker: meetings/s ({total} meetings)"),
        &format!("{rate:.0}/s"),
        &format!("{base_rate:.0}/s raw SQL"),
        Some(base_rate / rate),
        ">= 8,333/s (1,000,000 in 2 min)",
        rate >= TARGET_RATE,
    );
    row(
        &format!("Worker: peak RSS, {total} meetings"),
        &format!("{:.1} MiB", mib(peak_kib)),
        "-",
        None,
        "< 200 MiB",
        mib(peak_kib) < 200.0,
    );
    row(
        &format!("Worker: peak RSS after the first {checkpoint} meetings"),
        &format!("{:.1} MiB", mib(peak_at_checkpoint)),
        &format!("{:.1} MiB at {total}", mib(peak_kib)),
        Some(peak_at_checkpoint as f64 / peak_kib.max(1) as f64),
        "< 200 MiB, no growth",
        mib(peak_at_checkpoint) < 200.0 && peak_kib as f64 <= peak_at_checkpoint as f64 * 1.2,
    );
    // The peak is the highest moment (one flush can set it); the resident set after the last
    // tenth against the first says whether memory grows with the number of meetings.
    row(
        &format!("Worker: RSS after all {total} meetings"),
        &format!("{:.1} MiB", mib(resident_last)),
        &format!("{:.1} MiB after {checkpoint}", mib(resident_first)),
        Some(resident_last as f64 / resident_first.max(1) as f64),
        "no growth (<= 1.2x)",
        resident_first > 0 && resident_last as f64 <= resident_first as f64 * 1.2,
    );
}
