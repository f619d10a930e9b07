//! Figure (b) of `make bench`: 10,000 users x 100 future meetings (1,000,000 invitations) in the
//! embedded store, migrated by the real worker (`mms::engine::worker::Worker` over the embedded
//! calendar source and outbox: the code path of `mms serve` and `mms demo`).
//!
//! Phases, each in its own process so that one phase's memory never shows in another's peak RSS
//! (VmHWM of /proc/self/status):
//! 1. generation (this process): the users through the Engine API, their calendars bulk-inserted
//!    in one transaction, then one `Set-CsOnlineDialInConferencingUser -ConferenceId` per user,
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
use common::*;
use mms::engine::embedded::{
    embedded_worker_connection, open_connection, EmbeddedCalendarSource, EmbeddedOutbox,
};
use mms::engine::sample::{sample_calendar, sample_tenant, SampleKind};
use mms::engine::worker::{Worker, WorkerConfig, WorkerObserver};
use mms::engine::Engine;
use mms::model::{MeetingKind, MigrationJob, User};
use mms::rules::triggers::UserChange;
use rusqlite::params;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;
use uuid::Uuid;

const MEETINGS_PER_USER: usize = 100;
/// 1,000,000 meetings in 2 minutes.
const TARGET_RATE: f64 = 1_000_000.0 / 120.0;
const BENCH_NAMESPACE: Uuid = Uuid::from_u128(0x6d6d732d_6265_6e63_682d_6d6967726174);

/// Removes the temporary store directory however the bench ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn bench_user(k: usize, base: &User) -> User {
    let mut u = base.clone();
    u.object_id = Uuid::new_v5(&BENCH_NAMESPACE, format!("user-{k}").as_bytes());
    u.user_principal_name = format!("user{k:05}@contoso.com");
    u.sip_address = u.user_principal_name.clone();
    u.display_name = format!("Bench User {k:05}");
    u.conference_id = format!("{}", 100_000_000 + k);
    u
}

/// The invitation without its X-ALT-DESC (HTML copy of the body): a few KB, the size of a
/// typical Teams invitation as a CalDAV server or an .ics export holds it.
fn without_html_body(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let mut out = String::with_capacity(text.len());
    let mut skipping = false;
    for line in text.split_inclusive("\r\n") {
        if line.starts_with(' ') || line.starts_with('\t') {
            if !skipping {
                out.push_str(line);
            }
            continue;
        }
        skipping = line.starts_with("X-ALT-DESC");
        if !skipping {
            out.push_str(line);
        }
    }
    out
}

/// Generates the store; returns the number of invitations and their total size.
fn generate(path: &Path, users: usize) -> (usize, u64) {
    let engine = Engine::open(path).expect("open store");
    let tenant = sample_tenant();
    for b in &tenant.bridges {
        engine.upsert_bridge(b.clone()).expect("bridge");
    }
    // Online Teams users with Microsoft audio conferencing: the ones a conference ID change
    // migrates.
    let bases: Vec<&User> = tenant
        .users
        .iter()
        .filter(|u| {
            u.meeting_kind == MeetingKind::Teams
                && u.audio_conferencing_enabled
                && u.mailbox_location == mms::model::MailboxLocation::ExchangeOnline
        })
        .collect();
    let colleagues: Vec<&User> = tenant.users.iter().collect();
    let now = Utc::now();
    let mut conn = open_connection(path).expect("connection");
    let tx = conn.transaction().expect("tx");
    let mut count = 0usize;
    let mut bytes = 0u64;
    let mut people = Vec::with_capacity(users);
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO calendar_object (href, user_key, calendar, uid, version, data, modified)
                 VALUES (?1, ?2, 'calendar', ?3, 1, ?4, ?5)",
            )
            .expect("prepare");
        let modified = now.to_rfc3339();
        for k in 0..users {
            let user = bench_user(k, bases[k % bases.len()]);
            let templates: Vec<_> = sample_calendar(&user, &tenant, &colleagues, now)
                .into_iter()
                .filter(|m| {
                    matches!(
                        m.kind,
                        SampleKind::FutureSingle | SampleKind::RecurringWithOverride
                    )
                })
                .collect();
            assert!(!templates.is_empty(), "no future meeting template");
            for n in 0..MEETINGS_PER_USER {
                let t = &templates[n % templates.len()];
                // Same length as the template's UID (the last 8 hex digits number the meeting),
                // so line folding is unchanged.
                let uid = format!("{}{:08X}", &t.uid[..t.uid.len() - 8], n);
                let text = without_html_body(&t.data).replace(&t.uid, &uid);
                let href = format!("{}/calendar/{n:03}.ics", user.user_principal_name);
                insert
                    .execute(params![
                        href,
                        user.user_principal_name,
                        uid,
                        text.as_bytes(),
                        modified
                    ])
                    .expect("insert");
                count += 1;
                bytes += text.len() as u64;
            }
            people.push(user);
        }
    }
    tx.commit().expect("commit");
    for u in &people {
        engine.upsert_user(u.clone()).expect("user");
    }
    for (k, u) in people.iter().enumerate() {
        engine
            .apply_user_change(
                &u.user_principal_name,
                &UserChange::SetConferenceId {
                    conference_id: format!("{}", 500_000_000 + k),
                },
            )
            .expect("trigger");
    }
    (count, bytes)
}

/// Counts settled meetings across worker threads and notes the peak RSS after the first
/// `checkpoint` of them.
struct Counter {
    done: AtomicUsize,
    checkpoint: usize,
    rss_at_checkpoint: AtomicU64,
}

impl WorkerObserver for Counter {
    fn meeting_done(&self, _job: &MigrationJob, _uid: &str, _outcome: &str, _reason: &str) {
        if self.done.fetch_add(1, Ordering::Relaxed) + 1 == self.checkpoint {
            self.rss_at_checkpoint
                .store(peak_rss_kib().unwrap_or(0), Ordering::Relaxed);
        }
    }
}

/// Phase 2 (child process): prints `RESULT <meetings> <wall ns> <peak KiB> <peak KiB at
/// checkpoint>`.
fn worker_phase(path: &Path, workers: usize, checkpoint: usize) {
    let engine = Engine::open(path).expect("open store");
    let counter = Counter {
        done: AtomicUsize::new(0),
        checkpoint,
        rss_at_checkpoint: AtomicU64::new(0),
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
        "RESULT {} {} {} {}",
        counter.done.load(Ordering::Relaxed),
        wall.as_nanos(),
        peak_rss_kib().unwrap_or(0),
        counter.rss_at_checkpoint.load(Ordering::Relaxed)
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
}
