//! Kill test: `mms serve` killed with SIGKILL at random points, then restarted. After the
//! restart the outcome equals an uninterrupted run: every eligible meeting rewritten exactly once
//! (one SEQUENCE step, same block), every attendee holding exactly one distinct update
//! (Message-ID) per series, every job Succeeded with the same counters. Exact re-sends (same
//! Message-ID, same bytes) are counted and printed.
//!
//! `MMS_KILL_TRIALS` sets the number of trials (default 20).

mod worker_support;

use chrono::Utc;
use mms::engine::embedded::open_connection;
use mms::engine::sample::{seed, SeededTenant};
use mms::engine::{Engine, StatusFilter};
use mms::model::{MigrationJob, MigrationState};
use mms::rules::triggers::UserChange;
use mms::store::calendars;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use worker_support::*;

const SENDER: &str = "meetingmigration@contoso.com";
const MIGRATING: [&str; 3] = [
    "ashaw@contoso.com",
    "bfrank@contoso.com",
    "fmoreau@contoso.com",
];

fn mms() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mms"));
    c.env("MMS_SENDER", SENDER)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// A store with the sample tenant and three deterministic triggers.
fn prepare(path: &Path) -> SeededTenant {
    let engine = Engine::open(path).unwrap();
    let conn = open_connection(path).unwrap();
    let seeded = seed(&engine, &conn, Utc::now()).unwrap();
    for (who, change) in [
        (
            "ashaw@contoso.com",
            UserChange::SetConferenceId {
                conference_id: "918273645".into(),
            },
        ),
        ("bfrank@contoso.com", UserChange::MoveToOnline),
        (
            "fmoreau@contoso.com",
            UserChange::MoveToBridge {
                bridge: "Contoso Europe".into(),
            },
        ),
    ] {
        assert!(engine
            .apply_user_change(who, &change)
            .unwrap()
            .job
            .is_some());
    }
    seeded
}

fn serve_once(path: &Path) -> std::process::ExitStatus {
    mms()
        .arg("--store")
        .arg(path)
        .args(["serve", "--once", "--lease", "1", "--quiet"])
        .status()
        .unwrap()
}

/// Restarts the worker until no job is Pending or InProgress (a killed worker's lease must
/// expire first).
fn finish(path: &Path) -> Vec<MigrationJob> {
    let engine = Engine::open(path).unwrap();
    for _ in 0..20 {
        assert!(serve_once(path).success());
        let jobs = engine.migration_status(&StatusFilter::default()).unwrap();
        if jobs
            .iter()
            .all(|j| matches!(j.state, MigrationState::Succeeded | MigrationState::Failed))
        {
            return jobs;
        }
        std::thread::sleep(Duration::from_millis(1100));
    }
    panic!("jobs never finished");
}

/// Per user: the descriptions of every calendar object, by file name.
fn bodies(path: &Path) -> HashMap<String, Vec<String>> {
    let conn = open_connection(path).unwrap();
    let mut out = HashMap::new();
    for u in MIGRATING {
        for o in calendars::all_objects_of(&conn, u).unwrap() {
            out.insert(o.href.clone(), descriptions(&o.data));
        }
    }
    out
}

fn counters(jobs: &[MigrationJob]) -> Vec<(String, MigrationState, u32, u32, u32, u32)> {
    let mut v: Vec<_> = jobs
        .iter()
        .map(|j| {
            (
                j.user_principal_name.clone(),
                j.state,
                j.total_meeting,
                j.succeeded_meeting,
                j.failed_meeting,
                j.invites_update,
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn check_trial(
    path: &Path,
    seeded: &SeededTenant,
    reference: &HashMap<String, Vec<String>>,
) -> usize {
    let conn = open_connection(path).unwrap();
    let mut expected = Vec::new();
    for (upn, meetings) in &seeded.calendars {
        let migrating = MIGRATING.contains(&upn.as_str());
        let engine_user = Engine::open(path).unwrap().user(upn).unwrap();
        for m in meetings {
            let href = format!("{upn}/calendar/{}", m.file_name);
            let now = calendars::object(&conn, &href).unwrap().unwrap().data;
            if migrating && m.kind.must_be_rewritten() {
                assert_rewritten_only_in_block(&m.data, &now, &engine_user.conference_id, &href);
                assert_eq!(
                    &descriptions(&now),
                    &reference[&href],
                    "{href}: same block as an uninterrupted run"
                );
            } else {
                assert_eq!(now, m.data, "{href} must be untouched");
            }
        }
        if migrating {
            expected.extend(must_rewrite(upn, meetings));
        }
    }
    let mail: Vec<Mail> = calendars::delivered_mail(&conn)
        .unwrap()
        .into_iter()
        .map(|m| Mail {
            message_id: m.message_id,
            recipients: m.recipients,
            data: m.data,
        })
        .collect();
    assert_mail(&mail, &expected, SENDER)
}

#[test]
fn kill_9_at_random_points_loses_nothing_and_sends_no_second_distinct_update() {
    let trials: usize = std::env::var("MMS_KILL_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let root = tempfile::tempdir().unwrap();

    // Uninterrupted reference run.
    let ref_path: PathBuf = root.path().join("reference.db");
    let seeded = prepare(&ref_path);
    let started = Instant::now();
    let ref_jobs = finish(&ref_path);
    let run_time = started.elapsed();
    let reference = bodies(&ref_path);
    assert_eq!(check_trial(&ref_path, &seeded, &reference), 0);
    assert!(ref_jobs
        .iter()
        .all(|j| j.state == MigrationState::Succeeded));
    let ref_counters = counters(&ref_jobs);

    let seed_value = std::env::var("MMS_KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| Utc::now().timestamp_nanos() as u64);
    let mut rng = Lcg(seed_value);
    let span_us = (run_time.as_micros() as u64).max(1000);
    let mut total_resends = 0;
    let mut killed_mid_run = 0;
    for trial in 0..trials {
        let path = root.path().join(format!("trial-{trial}.db"));
        let trial_seeded = prepare(&path);
        let delay = Duration::from_micros(rng.next() % span_us);
        let mut child = mms()
            .arg("--store")
            .arg(&path)
            .args(["serve", "--once", "--lease", "1", "--quiet"])
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let exited_already = child.try_wait().unwrap().is_some();
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        if !exited_already {
            killed_mid_run += 1;
        }
        std::thread::sleep(Duration::from_millis(1100)); // the dead worker's lease expires
        let jobs = finish(&path);
        assert_eq!(
            counters(&jobs),
            ref_counters,
            "trial {trial} (kill after {delay:?})"
        );
        // Same jobs as before the crash: resumed, not re-created.
        assert_eq!(jobs.len(), 3, "trial {trial}");
        let resends = check_trial(&path, &trial_seeded, &reference);
        total_resends += resends;
    }
    println!(
        "kill test: {trials} trials (seed {seed_value}), {killed_mid_run} killed mid-run (uninterrupted run {run_time:?}), exact re-sends: {total_resends}, lost meetings: 0, second distinct updates: 0"
    );
}
