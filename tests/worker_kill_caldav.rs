//! Kill test on the network path: `mms serve --caldav ... --smtp ...` against a real Radicale
//! and the SMTP sink on 127.0.0.1, killed with SIGKILL at random points, then restarted until
//! idle. Every trial ends like an uninterrupted run: every eligible meeting on the server
//! rewritten exactly once (one SEQUENCE step, same block), every attendee holding exactly one
//! distinct update (Message-ID) per series, the same job counters. Exact re-sends (same
//! Message-ID, same bytes) are counted and printed.
//!
//! `MMS_KILL_TRIALS` sets the number of trials (default 5); `MMS_KILL_SEED` replays a run.

mod support;
mod worker_support;

use mms::engine::sample::SeededTenant;
use mms::engine::Engine;
use mms::model::MigrationState;
use std::path::Path;
use std::time::Instant;
use support::{RadicaleServer, SmtpSink};
use worker_support::kill::*;
use worker_support::*;

/// Checks the server's calendars and the mail received since `mail_before`; returns the exact
/// re-sends and the descriptions by path.
fn check(
    radicale: &RadicaleServer,
    sink: &SmtpSink,
    mail_before: usize,
    path: &Path,
    seeded: &SeededTenant,
    reference: Option<&Bodies>,
) -> (usize, Bodies) {
    let engine = Engine::open(path).unwrap();
    let get = |user: &str, p: &str| radicale.get_ok(user, p);
    let (expected, fetched) = check_caldav(&get, &engine, seeded, reference);
    let mail = received_all(sink.envelopes().into_iter().skip(mail_before));
    let resends = assert_mail(&mail, &expected, SENDER);
    let bodies = fetched
        .into_iter()
        .map(|(p, data)| (p, descriptions(&data)))
        .collect();
    (resends, bodies)
}

#[test]
fn kill_9_on_the_caldav_smtp_path_loses_nothing_and_sends_no_second_distinct_update() {
    let trials = kill_trials(5);
    let radicale = RadicaleServer::start();
    let sink = SmtpSink::start(0);
    let serve = Serve {
        args: vec![
            "--caldav".into(),
            radicale.url.clone(),
            "--smtp".into(),
            format!("127.0.0.1:{}", sink.port),
        ],
        envs: vec![
            ("MMS_CALDAV_USER".into(), "{localpart}".into()),
            ("MMS_CALDAV_PASSWORD".into(), "unused".into()),
        ],
    };
    let root = tempfile::tempdir().unwrap();

    // Uninterrupted reference run.
    let ref_path = root.path().join("reference.db");
    let seeded = prepare(&ref_path);
    radicale.load_seeded(&seeded);
    let started = Instant::now();
    let ref_jobs = serve.finish(&ref_path);
    let run_time = started.elapsed();
    assert!(
        ref_jobs
            .iter()
            .all(|j| j.state == MigrationState::Succeeded),
        "{ref_jobs:?}"
    );
    let ref_counters = counters(&ref_jobs);
    let (resends, reference) = check(&radicale, &sink, 0, &ref_path, &seeded, None);
    assert_eq!(resends, 0);

    let mut schedule = KillSchedule::new(run_time);
    let mut total_resends = 0;
    let mut killed_mid_run = 0;
    for trial in 0..trials {
        let path = root.path().join(format!("trial-{trial}.db"));
        let seeded = prepare(&path);
        radicale.load_seeded(&seeded);
        let mail_before = sink.messages().len();
        killed_mid_run += serve.kill_trial(&path, &schedule.delays(1), &ref_counters);
        let (resends, _) = check(
            &radicale,
            &sink,
            mail_before,
            &path,
            &seeded,
            Some(&reference),
        );
        total_resends += resends;
    }
    println!(
        "kill test (1 worker, CalDAV + SMTP): {trials} trials (seed {}), {killed_mid_run} killed mid-run (uninterrupted run {run_time:?}), exact re-sends: {total_resends}, lost meetings: 0, second distinct updates: 0",
        schedule.seed
    );
}
