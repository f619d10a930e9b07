//! End to end on the embedded store: a sample tenant, triggers, the worker; then every stored
//! calendar object, every delivered update and every status record is checked.

mod worker_support;

use chrono::Utc;
use mms::engine::embedded::{open_connection, EmbeddedCalendarSource, EmbeddedOutbox};
use mms::engine::sample::{seed, SeededTenant};
use mms::engine::worker::{message_id, Worker, WorkerConfig};
use mms::engine::{Engine, StatusFilter};
use mms::model::{MigrationState, SourceMeetingType, TargetMeetingType};
use mms::rules::triggers::{TenantEvent, UserChange};
use mms::store::calendars;
use std::collections::HashMap;
use worker_support::*;

const SENDER: &str = "meetingmigration@contoso.com";

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    engine: Engine,
    conn: rusqlite::Connection,
    seeded: SeededTenant,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mms.db");
    let engine = Engine::open(&path).unwrap();
    let conn = open_connection(&path).unwrap();
    let seeded = seed(&engine, &conn, Utc::now()).unwrap();
    Fixture {
        _dir: dir,
        path,
        engine,
        conn,
        seeded,
    }
}

fn run_worker(f: &Fixture) -> Vec<mms::model::MigrationJob> {
    let source = EmbeddedCalendarSource::open(&f.path).unwrap();
    let outbox = EmbeddedOutbox::open(&f.path).unwrap();
    let config = WorkerConfig {
        sender: Some(SENDER.to_string()),
        ..WorkerConfig::default()
    };
    let mut w = Worker::new(
        &f.engine,
        open_connection(&f.path).unwrap(),
        &source,
        &outbox,
        config,
    );
    w.run_until_idle().unwrap()
}

fn snapshot(conn: &rusqlite::Connection) -> HashMap<String, Vec<u8>> {
    let mut all = HashMap::new();
    for u in ["ashaw", "bfrank", "cdiaz", "dlee", "ekim", "fmoreau"] {
        for o in calendars::all_objects_of(conn, &format!("{u}@contoso.com")).unwrap() {
            all.insert(o.href, o.data);
        }
    }
    all
}

const MIGRATING: [&str; 3] = [
    "ashaw@contoso.com",
    "bfrank@contoso.com",
    "fmoreau@contoso.com",
];

#[test]
fn triggers_run_the_worker_and_every_object_mail_and_status_record_is_right() {
    let f = fixture();
    let before = snapshot(&f.conn);
    for (who, change) in [
        ("ashaw@contoso.com", UserChange::ResetConferenceId),
        ("bfrank@contoso.com", UserChange::MoveToOnline),
        (
            "fmoreau@contoso.com",
            UserChange::MoveToBridge {
                bridge: "Contoso Europe".into(),
            },
        ),
    ] {
        let o = f.engine.apply_user_change(who, &change).unwrap();
        assert!(o.job.is_some(), "{who}: {:?}", o.decision);
    }
    let ended = run_worker(&f);
    assert_eq!(ended.len(), 3);

    // Status records.
    let jobs = f.engine.migration_status(&StatusFilter::default()).unwrap();
    assert_eq!(jobs.len(), 3);
    for j in &jobs {
        let (_, meetings) = f
            .seeded
            .calendars
            .iter()
            .find(|(u, _)| *u == j.user_principal_name)
            .unwrap();
        let rewrite = meetings
            .iter()
            .filter(|m| m.kind.must_be_rewritten())
            .count() as u32;
        assert_eq!(j.state, MigrationState::Succeeded, "{j:?}");
        assert_eq!(j.succeeded_meeting, rewrite, "{j:?}");
        assert_eq!(j.failed_meeting, 0, "{j:?}");
        assert_eq!(j.invites_update, rewrite, "{j:?}");
        // Future meetings the user organizes with a block: rewritten + >250 + copy-pasted.
        assert_eq!(j.total_meeting, rewrite + 2, "{j:?}");
        assert!(!j.last_message.is_empty());
        assert!(MIGRATING.contains(&j.user_principal_name.as_str()));
    }
    let summary = f.engine.migration_summary().unwrap();
    assert_eq!(summary.len(), 4);
    assert_eq!(
        summary
            .iter()
            .find(|s| s.state == MigrationState::Succeeded)
            .unwrap()
            .user_count,
        3
    );

    // Calendar objects.
    let after = snapshot(&f.conn);
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut expected_mail = Vec::new();
    for (upn, meetings) in &f.seeded.calendars {
        let migrating = MIGRATING.contains(&upn.as_str());
        let new_id = f.engine.user(upn).unwrap().conference_id;
        for m in meetings {
            let href = format!("{upn}/calendar/{}", m.file_name);
            let a = &after[&href];
            assert_eq!(&before[&href], &m.data);
            if migrating && m.kind.must_be_rewritten() {
                assert_rewritten_only_in_block(&m.data, a, &new_id, &href);
            } else {
                assert_eq!(a, &m.data, "{href} ({:?}) must be byte-identical", m.kind);
            }
            let p = dir.path().join(format!("{}-{}", upn, m.file_name));
            std::fs::write(&p, a).unwrap();
            files.push(p);
        }
        if migrating {
            expected_mail.extend(must_rewrite(upn, meetings));
        }
    }
    let refs: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    assert_parses_with_python(&refs);

    // Mail: one update per series per attendee, deterministic Message-IDs.
    let mail = delivered(&f.conn);
    let resends = assert_mail(&mail, &expected_mail, SENDER);
    assert_eq!(resends, 0, "an uninterrupted run sends nothing twice");
    for j in &jobs {
        for (upn, m, seq) in &expected_mail {
            if *upn == j.user_principal_name {
                let id = message_id(j.correlation_id, &m.uid, *seq, upn);
                assert!(mail.iter().any(|x| x.message_id == id), "{id}");
            }
        }
    }

    // A second run (manual start) finds everything up to date: nothing written or sent.
    let again = f
        .engine
        .start_migration(
            "ashaw@contoso.com",
            SourceMeetingType::All,
            TargetMeetingType::Current,
        )
        .unwrap();
    run_worker(&f);
    let job = f.engine.job(again.correlation_id).unwrap();
    assert_eq!(job.state, MigrationState::Succeeded);
    assert_eq!(job.succeeded_meeting, 0);
    assert_eq!(job.invites_update, 0);
    assert_eq!(
        snapshot(&f.conn),
        after,
        "a re-run must not touch any calendar object"
    );
    assert_eq!(
        delivered(&f.conn).len(),
        mail.len(),
        "a re-run must send nothing"
    );
}

#[test]
fn triggers_that_must_not_migrate_leave_calendars_and_outbox_untouched() {
    let f = fixture();
    let before = snapshot(&f.conn);
    let no = |who: &str, change: UserChange| {
        let o = f.engine.apply_user_change(who, &change).unwrap();
        assert!(o.job.is_none(), "{who}: {change:?} queued {:?}", o.job);
    };
    // SIP address change.
    no(
        "ekim@contoso.com",
        UserChange::SetSipAddress {
            sip_address: "eunji.kim@contoso.com".into(),
        },
    );
    // On-premises mailbox.
    no(
        "dlee@contoso.com",
        UserChange::SetConferenceId {
            conference_id: "123456789".into(),
        },
    );
    // Third-party ACP, AutomaticallyReplaceAcpProvider false.
    no("cdiaz@contoso.com", UserChange::AssignLicence);
    // Tenant meeting-URL change.
    assert!(!matches!(
        f.engine
            .apply_tenant_event(&TenantEvent::UpdateTenantMeetingUrl),
        mms::rules::triggers::Decision::Enqueue { .. }
    ));
    // Tenant switch off: an otherwise triggering change queues nothing.
    f.engine
        .patch_tenant_migration_configuration(
            &serde_json::json!({"MeetingMigrationEnabled": false}),
        )
        .unwrap();
    no("ashaw@contoso.com", UserChange::ResetConferenceId);
    no("bfrank@contoso.com", UserChange::MoveToOnline);

    assert!(run_worker(&f).is_empty(), "no job may be due");
    assert!(f
        .engine
        .migration_status(&StatusFilter::default())
        .unwrap()
        .is_empty());
    assert_eq!(snapshot(&f.conn), before);
    assert!(delivered(&f.conn).is_empty());
    assert!(calendars::all_messages(&f.conn).unwrap().is_empty());
}

#[test]
fn a_worker_that_died_after_writing_resumes_without_a_second_distinct_update() {
    let f = fixture();
    f.engine
        .apply_user_change("ashaw@contoso.com", &UserChange::ResetConferenceId)
        .unwrap();
    // Simulate a worker that claimed the job, wrote the future meeting and recorded its
    // update, then died before sending: do the same steps by hand with the public pieces.
    let claim = f
        .engine
        .claim_next_job("doomed", chrono::Duration::milliseconds(1))
        .unwrap()
        .unwrap();
    let user = f.engine.user("ashaw@contoso.com").unwrap();
    let coords = f.engine.meeting_coordinates("ashaw@contoso.com").unwrap();
    let (_, meetings) = &f.seeded.calendars[0];
    let m = meetings
        .iter()
        .find(|m| m.kind == mms::engine::sample::SampleKind::FutureSingle)
        .unwrap();
    let href = format!("ashaw@contoso.com/calendar/{}", m.file_name);
    let stored = calendars::object(&f.conn, &href).unwrap().unwrap();
    let req = mms::calendar::RewriteRequest {
        organizer: "ashaw@contoso.com",
        organizer_object_id: Some(user.object_id),
        organizer_sip_address: Some(&user.sip_address),
        coordinates: &coords,
        source: SourceMeetingType::All,
        target: TargetMeetingType::Current,
        now: Utc::now(),
        sent_by: Some(SENDER),
    };
    let mms::calendar::RewriteOutcome::Rewritten(r) =
        mms::calendar::rewrite_calendar_object(&stored.data, &req).unwrap()
    else {
        panic!("the future meeting must be rewritten")
    };
    let id = message_id(
        claim.job.correlation_id,
        &r.uid,
        r.sequence,
        "ashaw@contoso.com",
    );
    let bytes = mms::calendar::compose_imip(&r, "ashaw@contoso.com", Some(SENDER), &id, Utc::now());
    let journal = open_connection(&f.path).unwrap();
    calendars::replace_queued_message(
        &journal,
        &calendars::OutboxMessage {
            message_id: id.clone(),
            job_id: claim.job.correlation_id.to_string(),
            uid: r.uid.clone(),
            sequence: r.sequence,
            sender: SENDER.into(),
            recipients: r.attendees.clone(),
            data: bytes.clone(),
            state: calendars::OutboxState::Queued,
            attempts: 0,
        },
        Utc::now(),
    )
    .unwrap();
    assert!(calendars::put_object_if(
        &f.conn,
        &href,
        &r.organizer_copy,
        stored.version,
        Utc::now()
    )
    .unwrap()
    .is_some());
    std::thread::sleep(std::time::Duration::from_millis(20)); // the 1 ms lease expires

    // A new worker takes the job over.
    let ended = run_worker(&f);
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].correlation_id, claim.job.correlation_id);
    assert_eq!(ended[0].state, MigrationState::Succeeded);
    let written = calendars::object(&f.conn, &href).unwrap().unwrap();
    assert_eq!(
        written.data, r.organizer_copy,
        "not rewritten or re-sequenced a second time"
    );
    let mail = delivered(&f.conn);
    let for_uid: Vec<&Mail> = mail
        .iter()
        .filter(|x| {
            calendar_part(&x.data)
                .replace("\n ", "")
                .contains(&format!("UID:{}", m.uid))
        })
        .collect();
    assert_eq!(for_uid.len(), 1);
    assert_eq!(for_uid[0].message_id, id);
    assert_eq!(for_uid[0].data, bytes, "the recorded bytes, exactly");
    let expected = must_rewrite("ashaw@contoso.com", meetings);
    assert_eq!(assert_mail(&mail, &expected, SENDER), 0);
}

/// Fails the first `n` sends with the given kind, then delivers into the embedded outbox.
struct FlakyDelivery {
    inner: EmbeddedOutbox,
    fail_left: std::cell::Cell<usize>,
    transient: bool,
}

impl mms::engine::delivery::InviteDelivery for FlakyDelivery {
    fn send(
        &self,
        message_id: &str,
        envelope_from: &str,
        recipients: &[String],
        rfc822: &[u8],
    ) -> Result<mms::engine::delivery::DeliveryReport, mms::engine::delivery::DeliveryError> {
        if self.fail_left.get() > 0 {
            self.fail_left.set(self.fail_left.get() - 1);
            return Err(if self.transient {
                mms::engine::delivery::DeliveryError::transient("451 mailbox busy, try later")
            } else {
                mms::engine::delivery::DeliveryError::permanent("554 relay refused")
            });
        }
        self.inner
            .send(message_id, envelope_from, recipients, rfc822)
    }

    fn commits_with(&self, journal: &rusqlite::Connection) -> bool {
        self.inner.commits_with(journal)
    }
}

fn clocked_fixture() -> (Fixture, std::sync::Arc<std::sync::atomic::AtomicI64>) {
    let offset = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let f = fixture();
    let o = offset.clone();
    let engine = Engine::open(&f.path).unwrap().with_clock(move || {
        Utc::now() + chrono::Duration::seconds(o.load(std::sync::atomic::Ordering::SeqCst))
    });
    (Fixture { engine, ..f }, offset)
}

fn run_with(f: &Fixture, delivery: &FlakyDelivery) -> Vec<mms::model::MigrationJob> {
    let source = EmbeddedCalendarSource::open(&f.path).unwrap();
    let config = WorkerConfig {
        sender: Some(SENDER.to_string()),
        ..WorkerConfig::default()
    };
    let mut w = Worker::new(
        &f.engine,
        open_connection(&f.path).unwrap(),
        &source,
        delivery,
        config,
    );
    w.run_until_idle().unwrap()
}

#[test]
fn a_transient_failure_is_retried_on_the_backoff_schedule_and_then_succeeds() {
    let (f, offset) = clocked_fixture();
    f.engine
        .apply_user_change("ashaw@contoso.com", &UserChange::ResetConferenceId)
        .unwrap();
    let delivery = FlakyDelivery {
        inner: EmbeddedOutbox::open(&f.path).unwrap(),
        fail_left: std::cell::Cell::new(2),
        transient: true,
    };
    let first = run_with(&f, &delivery);
    assert_eq!(first.len(), 1);
    let job = &first[0];
    assert_eq!(job.state, MigrationState::Pending, "{job:?}");
    assert_eq!(job.retry_count, 1);
    assert_eq!(job.failed_meeting, 2, "{job:?}");
    assert_eq!(
        job.succeeded_meeting, 1,
        "one meeting's failure does not stop the others"
    );
    assert!(job.last_message.contains("451"), "{}", job.last_message);
    assert!(job.not_before > Utc::now(), "retried later, not at once");
    assert!(
        run_with(&f, &delivery).is_empty(),
        "not due before the backoff delay"
    );

    offset.store(6 * 60, std::sync::atomic::Ordering::SeqCst);
    let second = run_with(&f, &delivery);
    assert_eq!(second.len(), 1);
    let job = &second[0];
    assert_eq!(job.state, MigrationState::Succeeded, "{job:?}");
    assert_eq!(
        (
            job.succeeded_meeting,
            job.failed_meeting,
            job.invites_update
        ),
        (3, 0, 3)
    );
    let (_, meetings) = &f.seeded.calendars[0];
    let expected = must_rewrite("ashaw@contoso.com", meetings);
    assert_eq!(assert_mail(&delivered(&f.conn), &expected, SENDER), 0);
}

#[test]
fn a_permanent_failure_fails_the_job_with_a_readable_reason_after_the_other_meetings() {
    let (f, _) = clocked_fixture();
    f.engine
        .apply_user_change("ashaw@contoso.com", &UserChange::ResetConferenceId)
        .unwrap();
    let delivery = FlakyDelivery {
        inner: EmbeddedOutbox::open(&f.path).unwrap(),
        fail_left: std::cell::Cell::new(1),
        transient: false,
    };
    let ended = run_with(&f, &delivery);
    let job = &ended[0];
    assert_eq!(job.state, MigrationState::Failed, "{job:?}");
    assert_eq!((job.succeeded_meeting, job.failed_meeting), (2, 1));
    assert!(
        job.last_message.contains("554 relay refused"),
        "{}",
        job.last_message
    );
    assert!(
        job.last_message.contains("could not be sent"),
        "{}",
        job.last_message
    );
}

/// The worker's group commit (`mms serve` and `mms demo` on the embedded store): source, outbox
/// and journal on one connection, so the failing delivery runs inside the batch.
#[test]
fn in_a_group_commit_a_failed_delivery_undoes_the_meeting_and_sent_updates_keep_one_copy() {
    let (f, offset) = clocked_fixture();
    f.engine
        .apply_user_change("ashaw@contoso.com", &UserChange::ResetConferenceId)
        .unwrap();
    let before = snapshot(&f.conn);
    let journal = mms::engine::embedded::embedded_worker_connection(&f.path).unwrap();
    let source = EmbeddedCalendarSource::sharing(journal.clone());
    let delivery = FlakyDelivery {
        inner: EmbeddedOutbox::sharing(journal.clone()),
        fail_left: std::cell::Cell::new(2),
        transient: true,
    };
    let config = WorkerConfig {
        sender: Some(SENDER.to_string()),
        ..WorkerConfig::default()
    };
    let mut w = Worker::new(&f.engine, journal.clone(), &source, &delivery, config);
    let autocheckpoint = || -> i64 {
        journal
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(
        autocheckpoint(),
        0,
        "checkpoints run on the worker's checkpoint thread"
    );

    let first = w.run_until_idle().unwrap();
    let job = &first[0];
    assert_eq!(job.state, MigrationState::Pending, "{job:?}");
    assert_eq!(
        (job.succeeded_meeting, job.failed_meeting),
        (1, 2),
        "{job:?}"
    );
    // The two meetings whose update was refused are exactly as before: their calendar write
    // was undone with the refused delivery, so the retry rewrites and sends them again.
    let after = snapshot(&f.conn);
    let changed: Vec<&String> = before
        .iter()
        .filter(|(href, data)| after.get(*href) != Some(*data))
        .map(|(href, _)| href)
        .collect();
    assert_eq!(
        changed.len(),
        1,
        "only the delivered meeting changed: {changed:?}"
    );
    assert_eq!(calendars::all_messages(&f.conn).unwrap().len(), 1);

    offset.store(6 * 60, std::sync::atomic::Ordering::SeqCst);
    let second = w.run_until_idle().unwrap();
    let job = &second[0];
    assert_eq!(job.state, MigrationState::Succeeded, "{job:?}");
    assert_eq!(
        (job.succeeded_meeting, job.invites_update),
        (3, 3),
        "{job:?}"
    );
    let mail = delivered(&f.conn);
    let (_, meetings) = &f.seeded.calendars[0];
    let expected = must_rewrite("ashaw@contoso.com", meetings);
    assert_eq!(assert_mail(&mail, &expected, SENDER), 0);
    // Each update is stored once, in the mail drop; the outbox record points at that copy and
    // every reader of the outbox still gets the bytes that were sent.
    let own_bytes: i64 = f
        .conn
        .query_row(
            "SELECT COUNT(*) FROM outbox WHERE length(data) > 0 OR mail_id IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(own_bytes, 0);
    let recorded = calendars::all_messages(&f.conn).unwrap();
    assert_eq!(recorded.len(), 3);
    for m in &recorded {
        assert_eq!(m.state, calendars::OutboxState::Sent);
        let copy = mail.iter().find(|d| d.message_id == m.message_id).unwrap();
        assert_eq!(m.data, copy.data, "{}", m.message_id);
        let by_id = calendars::messages_for_id(&f.conn, &m.job_id, &m.message_id)
            .unwrap()
            .unwrap();
        assert_eq!(by_id.data, copy.data);
    }
    drop(w);
    assert_eq!(autocheckpoint(), 1000, "SQLite's own checkpoints are back");
}
