//! Kill test: `mms serve` killed with SIGKILL at random points, then restarted. After the
//! restart the outcome equals an uninterrupted run: every eligible meeting rewritten exactly once
//! (one SEQUENCE step, same block), every attendee holding exactly one distinct update
//! (Message-ID) per series, every job Succeeded with the same counters. Exact re-sends (same
//! Message-ID, same bytes) are counted and printed. The same with two workers on one store,
//! both killed at random points.
//!
//! `MMS_KILL_TRIALS` sets the number of trials of each test (default 20 for one worker, 5 for
//! two); `MMS_KILL_SEED` replays a run.

mod worker_support;

use std::path::Path;
use std::time::{Duration, Instant};
use worker_support::kill::*;

/// The uninterrupted reference run: its counters, bodies and duration.
fn reference_run(root: &Path, serve: &Serve) -> (Counters, Bodies, Duration) {
    let path = root.join("reference.db");
    let seeded = prepare(&path);
    let started = Instant::now();
    let jobs = serve.finish(&path);
    let run_time = started.elapsed();
    let reference = embedded_bodies(&path);
    assert_eq!(check_embedded(&path, &seeded, Some(&reference)), 0);
    assert!(jobs
        .iter()
        .all(|j| j.state == mms::model::MigrationState::Succeeded));
    (counters(&jobs), reference, run_time)
}

/// `workers` workers per trial, each killed after its own random delay.
fn kill_trials_with(workers: usize, default_trials: usize) {
    let trials = kill_trials(default_trials);
    let root = tempfile::tempdir().unwrap();
    let serve = Serve::embedded();
    let (ref_counters, reference, run_time) = reference_run(root.path(), &serve);
    let mut schedule = KillSchedule::new(run_time);
    let mut total_resends = 0;
    let mut killed_mid_run = 0;
    for trial in 0..trials {
        let path = root.path().join(format!("trial-{trial}.db"));
        let seeded = prepare(&path);
        let delays = schedule.delays(workers);
        killed_mid_run += serve.kill_trial(&path, &delays, &ref_counters);
        total_resends += check_embedded(&path, &seeded, Some(&reference));
    }
    println!(
        "kill test ({workers} worker(s), embedded): {trials} trials (seed {}), {killed_mid_run} of {} workers killed mid-run (uninterrupted run {run_time:?}), exact re-sends: {total_resends}, lost meetings: 0, second distinct updates: 0",
        schedule.seed,
        trials * workers
    );
}

#[test]
fn kill_9_at_random_points_loses_nothing_and_sends_no_second_distinct_update() {
    kill_trials_with(1, 20);
}

#[test]
fn two_workers_on_one_store_killed_at_random_points_lose_nothing() {
    kill_trials_with(2, 5);
}
