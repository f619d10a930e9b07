//! The kill -9 harness shared by the kill tests (embedded and CalDAV paths, one or two workers)
//! and the store-fault tests: a store with three deterministic triggers, `mms serve` as a child
//! process killed with SIGKILL at random points, restarts until idle, and the job counters.

use super::*;
use chrono::Utc;
use mms::engine::embedded::open_connection;
use mms::engine::sample::SampleMeeting;
use mms::engine::sample::{seed, SeededTenant};
use mms::engine::{Engine, StatusFilter};
use mms::model::{MigrationJob, MigrationState};
use mms::rules::triggers::UserChange;
use mms::store::calendars;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

pub const SENDER: &str = "meetingmigration@contoso.com";
/// The organizers the three triggers migrate.
pub const MIGRATING: [&str; 3] = [
    "ashaw@contoso.com",
    "bfrank@contoso.com",
    "fmoreau@contoso.com",
];

/// `MMS_KILL_TRIALS`, else `default`.
pub fn kill_trials(default: usize) -> usize {
    std::env::var("MMS_KILL_TRIALS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// `MMS_KILL_SEED` (to replay a run), else the clock.
pub fn kill_seed() -> u64 {
    std::env::var("MMS_KILL_SEED")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| Utc::now().timestamp_nanos() as u64)
}

/// Random kill points within an uninterrupted run's duration, from `kill_seed()` (a small
/// deterministic generator: the kill points of a seed can be replayed).
pub struct KillSchedule {
    pub seed: u64,
    state: u64,
    span_us: u64,
}

impl KillSchedule {
    pub fn new(run_time: Duration) -> KillSchedule {
        let seed = kill_seed();
        KillSchedule {
            seed,
            state: seed,
            span_us: (run_time.as_micros() as u64).max(1000),
        }
    }

    /// `n` delays, each uniform in [0, run time).
    pub fn delays(&mut self, n: usize) -> Vec<Duration> {
        (0..n)
            .map(|_| {
                self.state = self
                    .state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                Duration::from_micros((self.state >> 33) % self.span_us)
            })
            .collect()
    }
}

/// How `mms serve` reaches the calendars and the mail server.
#[derive(Clone, Debug, Default)]
pub struct Serve {
    /// Extra `serve` arguments (`--caldav URL`, `--smtp HOST:PORT`).
    pub args: Vec<String>,
    /// Extra environment (`MMS_CALDAV_USER`, ...).
    pub envs: Vec<(String, String)>,
}

impl Serve {
    /// The embedded calendars and outbox.
    pub fn embedded() -> Serve {
        Serve::default()
    }

    /// `mms --store PATH serve --once --lease 1 --quiet` (+ `--worker-id`), output discarded.
    pub fn command(&self, path: &Path, worker_id: Option<&str>) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mms"));
        c.env("MMS_SENDER", SENDER)
            .env_remove("MMS_CALDAV_URL")
            .env_remove("MMS_SMTP_HOST")
            .arg("--store")
            .arg(path)
            .args(["serve", "--once", "--lease", "1", "--quiet"])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(id) = worker_id {
            c.args(["--worker-id", id]);
        }
        for (k, v) in &self.envs {
            c.env(k, v);
        }
        c
    }

    /// Restarts the worker until no job is Pending or InProgress (a killed worker's lease must
    /// expire first); returns the jobs.
    pub fn finish(&self, path: &Path) -> Vec<MigrationJob> {
        let engine = Engine::open(path).unwrap();
        for _ in 0..20 {
            let out = self
                .command(path, None)
                .stderr(Stdio::piped())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "mms serve: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let jobs = engine.migration_status(&StatusFilter::default()).unwrap();
            if jobs.iter().all(|j| is_settled(j.state)) {
                return jobs;
            }
            std::thread::sleep(Duration::from_millis(1100));
        }
        panic!("jobs never finished");
    }

    /// One kill trial: workers killed after `delays` (see `kill_at`), restarted until idle; the
    /// jobs must end with the `reference` counters, resumed rather than re-created. Returns
    /// how many workers were killed mid-run.
    pub fn kill_trial(&self, path: &Path, delays: &[Duration], reference: &Counters) -> usize {
        let killed = self.kill_at(path, delays);
        let jobs = self.finish(path);
        assert_eq!(
            &counters(&jobs),
            reference,
            "kills after {delays:?}: same counters as an uninterrupted run, same jobs"
        );
        killed
    }

    /// Starts one worker per delay and kills each with SIGKILL after its delay. Returns how many
    /// were still running when killed. Then waits for the dead workers' leases to expire.
    pub fn kill_at(&self, path: &Path, delays: &[Duration]) -> usize {
        let mut children: Vec<_> = delays
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let id = format!("kill-test-worker-{i}");
                (*d, self.command(path, Some(&id)).spawn().unwrap())
            })
            .collect();
        children.sort_by_key(|(d, _)| *d);
        let start = std::time::Instant::now();
        let mut killed = 0;
        for (delay, child) in &mut children {
            std::thread::sleep(delay.saturating_sub(start.elapsed()));
            if child.try_wait().unwrap().is_none() {
                killed += 1;
            }
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
        }
        std::thread::sleep(Duration::from_millis(1100)); // the dead workers' leases expire
        killed
    }
}

fn is_settled(state: MigrationState) -> bool {
    matches!(state, MigrationState::Succeeded | MigrationState::Failed)
}

/// A store with the sample tenant and three deterministic triggers (one job each).
pub fn prepare(path: &Path) -> SeededTenant {
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

/// Per job: (organizer, state, TotalMeeting, SucceededMeeting, FailedMeeting, InvitesUpdate).
pub type Counters = Vec<(String, MigrationState, u32, u32, u32, u32)>;

pub fn counters(jobs: &[MigrationJob]) -> Counters {
    let mut v: Counters = jobs
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

/// Per calendar object (href) of the migrating organizers: its descriptions.
pub type Bodies = HashMap<String, Vec<String>>;

/// The embedded calendars' descriptions after a run.
pub fn embedded_bodies(path: &Path) -> Bodies {
    let conn = open_connection(path).unwrap();
    let mut out = HashMap::new();
    for u in MIGRATING {
        for o in calendars::all_objects_of(&conn, u).unwrap() {
            out.insert(o.href.clone(), descriptions(&o.data));
        }
    }
    out
}

/// Checks an embedded store after a run: every eligible meeting of the migrating organizers
/// rewritten once, only in its block (and, given a `reference`, with the same block as an
/// uninterrupted run), every other object untouched, and the delivered mail as `assert_mail`
/// wants it. Returns the exact re-sends.
pub fn check_embedded(path: &Path, seeded: &SeededTenant, reference: Option<&Bodies>) -> usize {
    let conn = open_connection(path).unwrap();
    let engine = Engine::open(path).unwrap();
    let mut expected = Vec::new();
    for (upn, meetings) in &seeded.calendars {
        let migrating = MIGRATING.contains(&upn.as_str());
        let user = engine.user(upn).unwrap();
        for m in meetings {
            let href = format!("{upn}/calendar/{}", m.file_name);
            let now = calendars::object(&conn, &href).unwrap().unwrap().data;
            if migrating && m.kind.must_be_rewritten() {
                assert_rewritten_only_in_block(&m.data, &now, &user.conference_id, &href);
                if let Some(reference) = reference {
                    assert_eq!(
                        &descriptions(&now),
                        &reference[&href],
                        "{href}: same block as an uninterrupted run"
                    );
                }
            } else {
                assert_eq!(now, m.data, "{href} must be untouched");
            }
        }
        if migrating {
            expected.extend(must_rewrite(upn, meetings));
        }
    }
    assert_mail(&delivered(&conn), &expected, SENDER)
}

/// A meeting whose update `assert_mail` expects: (organizer, meeting, new SEQUENCE).
pub type ExpectedUpdate = (String, SampleMeeting, u32);

/// The CalDAV user (and calendar-home name on the test Radicale) of an organizer.
pub fn localpart(upn: &str) -> &str {
    upn.split('@').next().unwrap_or(upn)
}

/// Checks calendars on a CalDAV server after a run. Servers re-serialize what they store, so
/// objects are compared parsed: for each eligible meeting of a migrating organizer, the text
/// outside the block unchanged, the block replaced and holding the organizer's new conference
/// ID, SEQUENCE raised by exactly one (and, given a `reference`, the same descriptions as an
/// uninterrupted run); every other object's descriptions and SEQUENCEs untouched.
/// `get(user, path)` fetches `/<user>/calendar/<file>`. Returns the meetings whose updates
/// `assert_mail` expects and every fetched object as (path, bytes).
pub fn check_caldav(
    get: &dyn Fn(&str, &str) -> Vec<u8>,
    engine: &Engine,
    seeded: &SeededTenant,
    reference: Option<&Bodies>,
) -> (Vec<ExpectedUpdate>, Vec<(String, Vec<u8>)>) {
    let mut expected = Vec::new();
    let mut fetched = Vec::new();
    for (upn, meetings) in &seeded.calendars {
        let user = localpart(upn);
        let migrating = MIGRATING.contains(&upn.as_str());
        let new_id = engine.user(upn).unwrap().conference_id;
        for m in meetings {
            let p = format!("/{user}/calendar/{}", m.file_name);
            let now = get(user, &p);
            let (db, da) = (descriptions(&m.data), descriptions(&now));
            let (sb, sa) = (sequences(&m.data), sequences(&now));
            assert_eq!(db.len(), da.len(), "{p}");
            if migrating && m.kind.must_be_rewritten() {
                for (x, y) in db.iter().zip(&da) {
                    assert_eq!(
                        outside_block(x),
                        outside_block(y),
                        "{p}: text outside the block"
                    );
                    assert_ne!(x, y, "{p}: block replaced");
                    let digits: String = y.chars().filter(|c| c.is_ascii_digit()).collect();
                    assert!(digits.contains(&new_id), "{p}: new conference ID");
                }
                assert_eq!(sb.len(), sa.len(), "{p}: SEQUENCE lines");
                for (x, y) in sb.iter().zip(&sa) {
                    assert_eq!(x + 1, *y, "{p}: one SEQUENCE step");
                }
                if let Some(reference) = reference {
                    assert_eq!(
                        &da, &reference[&p],
                        "{p}: same block as an uninterrupted run"
                    );
                }
            } else {
                assert_eq!(db, da, "{p} ({:?}) must be untouched", m.kind);
                assert_eq!(sb, sa, "{p} ({:?}) must be untouched", m.kind);
            }
            fetched.push((p, now));
        }
        if migrating {
            expected.extend(must_rewrite(upn, meetings));
        }
    }
    (expected, fetched)
}

/// One message as an SMTP server received it.
pub fn received(data: Vec<u8>, recipients: Vec<String>) -> Mail {
    Mail {
        message_id: header(&data, "Message-ID")
            .unwrap_or_default()
            .trim_matches(['<', '>'])
            .to_string(),
        recipients,
        data,
    }
}

/// Every message an SMTP server received, as (data, envelope recipients).
pub fn received_all(messages: impl IntoIterator<Item = (Vec<u8>, Vec<String>)>) -> Vec<Mail> {
    messages
        .into_iter()
        .map(|(data, recipients)| received(data, recipients))
        .collect()
}
