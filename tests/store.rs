//! SQLite store: schema, lifecycle, merge, leases, retry, purge, every query, identity resolution.

use chrono::{DateTime, Duration, TimeZone, Utc};
use mms::model::*;
use mms::store::{
    ChangeSet, JobFilter, JobProgress, JobRequest, MigrationStore, SqliteStore, StoreError,
};
use uuid::Uuid;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 9, 0, 0).unwrap()
}

fn user(n: u128, upn: &str, display: &str) -> User {
    User {
        object_id: Uuid::from_u128(n),
        user_principal_name: upn.into(),
        sip_address: upn.into(),
        display_name: display.into(),
        mailbox_location: MailboxLocation::ExchangeOnline,
        homing: Homing::Online,
        audio_conferencing_licensed: true,
        audio_conferencing_enabled: true,
        provider: AudioConferencingProvider::Microsoft,
        conference_id: "291633251".into(),
        bridge_id: None,
        service_number: None,
        toll_free_service_number: None,
        meeting_kind: MeetingKind::Teams,
        teams_upgrade_policy: None,
    }
}

fn request(u: &User, t: MigrationType, at: DateTime<Utc>) -> JobRequest {
    JobRequest {
        user_id: u.object_id,
        migration_type: t,
        source: SourceMeetingType::All,
        target: TargetMeetingType::Current,
        not_before: at,
    }
}

/// The merge rule used in tests: keep the pending job, take the earlier due time.
fn keep_pending(p: &MigrationJob, r: &JobRequest) -> JobRequest {
    JobRequest {
        user_id: p.user_id,
        migration_type: p.migration_type,
        source: p.source_meeting_type,
        target: p.target_meeting_type,
        not_before: p.not_before.min(r.not_before),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    store: SqliteStore,
    ashaw: User,
    ben: User,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mms.db");
    let mut store = SqliteStore::open(&path).unwrap();
    let ashaw = user(1, "ashaw@contoso.com", "Amy Shaw");
    let ben = user(2, "ben@contoso.com", "Ben Miller");
    store
        .commit(
            &ChangeSet {
                users: vec![ashaw.clone(), ben.clone()],
                ..Default::default()
            },
            &keep_pending,
            t0(),
        )
        .unwrap();
    Fixture {
        _dir: dir,
        path,
        store,
        ashaw,
        ben,
    }
}

fn enqueue(f: &mut Fixture, u: &User, t: MigrationType, now: DateTime<Utc>) -> MigrationJob {
    let out = f
        .store
        .commit(
            &ChangeSet {
                jobs: vec![request(u, t, now)],
                ..Default::default()
            },
            &keep_pending,
            now,
        )
        .unwrap();
    out[0].job.clone()
}

fn progress(msg: &str) -> JobProgress {
    JobProgress {
        total_meeting: 3,
        succeeded_meeting: 2,
        failed_meeting: 1,
        invites_update: 7,
        last_message: msg.into(),
    }
}

#[test]
fn store_file_is_private_wal_with_foreign_keys_and_versioned_schema() {
    let mut f = fixture();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&f.path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let conn = f.store.connection();
    let jm: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(jm, "wal");
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    // 16 KiB pages: an invitation and its update fit in a page or two, not five or six.
    let page: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    assert_eq!(page, 16384);
    let newest = mms::store::schema::MIGRATIONS.last().unwrap().version;
    assert_eq!(f.store.schema_version().unwrap(), newest);
    drop(f.store);
    // Re-opening applies nothing twice.
    let mut again = SqliteStore::open(&f.path).unwrap();
    let rows: i64 = again
        .connection()
        .query_row("SELECT COUNT(*) FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows as usize, mms::store::schema::MIGRATIONS.len());
}

/// The other side of `tests/sqlite_memory_statistics.rs`: unless a process turns them off,
/// SQLite counts its memory (so the zero seen there is the setting, not the build).
#[test]
fn sqlite_counts_its_memory_unless_the_process_turns_that_off() {
    let _f = fixture();
    assert!(unsafe { rusqlite::ffi::sqlite3_memory_used() } > 0);
}

#[test]
fn store_written_by_newer_program_is_refused() {
    let f = fixture();
    drop(f.store);
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    conn.execute(
        "INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'future', 'x')",
        [],
    )
    .unwrap();
    drop(conn);
    let err = SqliteStore::open(&f.path).err().expect("refused");
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn every_query_has_an_index() {
    let mut f = fixture();
    let conn = f.store.connection();
    for sql in [
        "SELECT * FROM migration_jobs WHERE user_id = 'x' AND state = 'Pending'",
        "SELECT * FROM migration_jobs WHERE state = 'Pending' AND not_before <= 5",
        "SELECT * FROM migration_jobs WHERE state = 'InProgress' AND lease_expires <= 5",
        "SELECT * FROM migration_jobs WHERE migration_type = 'AllToTeams'",
        "SELECT * FROM migration_jobs WHERE modified_date >= 5",
        "SELECT * FROM migration_jobs WHERE create_date <= 5",
        "SELECT * FROM users WHERE display_name_key = 'x'",
        "SELECT * FROM users WHERE bridge_id = 'x'",
    ] {
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let text = plan.join(" | ");
        assert!(
            text.contains("USING INDEX") || text.contains("USING COVERING INDEX"),
            "{sql}: {text}"
        );
    }
}

#[test]
fn settings_default_until_set_and_round_trip() {
    let mut f = fixture();
    assert_eq!(
        f.store.tenant_migration_configuration().unwrap(),
        TenantMigrationConfiguration::default()
    );
    let c = TenantMigrationConfiguration {
        meeting_migration_enabled: false,
        ..Default::default()
    };
    f.store.put_tenant_migration_configuration(&c).unwrap();
    assert_eq!(f.store.tenant_migration_configuration().unwrap(), c);
    let mut d = f.store.dial_in_settings().unwrap();
    d.pin_length = 9;
    d.automatically_migrate_user_meetings = false;
    f.store.put_dial_in_settings(&d).unwrap();
    assert_eq!(f.store.dial_in_settings().unwrap(), d);
}

#[test]
fn job_lifecycle_pending_in_progress_succeeded() {
    let mut f = fixture();
    let ashaw = f.ashaw.clone();
    let job = enqueue(&mut f, &ashaw, MigrationType::TeamsToTeams, t0());
    assert_eq!(job.state, MigrationState::Pending);
    assert_eq!(job.user_principal_name, "ashaw@contoso.com");
    assert_eq!(job.user_id, ashaw.object_id);
    assert_eq!(job.retry_count, 0);
    assert_eq!(job.create_date, t0());

    let later = t0() + Duration::minutes(1);
    let claim = f
        .store
        .claim_next_job("w1", later, Duration::minutes(5))
        .unwrap()
        .expect("due job");
    assert_eq!(claim.job.correlation_id, job.correlation_id);
    assert_eq!(claim.job.state, MigrationState::InProgress);
    assert_eq!(claim.job.modified_date, later);

    let claim = f
        .store
        .record_progress(&claim, &progress("one failed"), later, Duration::minutes(5))
        .unwrap();
    assert_eq!(claim.job.total_meeting, 3);
    assert_eq!(claim.job.invites_update, 7);
    assert_eq!(claim.job.last_message, "one failed");

    let done = f
        .store
        .finish_job(&claim, MigrationState::Succeeded, &progress(""), later)
        .unwrap();
    assert_eq!(done.state, MigrationState::Succeeded);
    assert_eq!(done.succeeded_meeting, 2);
    assert_eq!(f.store.job(job.correlation_id).unwrap().unwrap(), done);
    // The lease is gone: a late write is refused.
    let err = f
        .store
        .record_progress(&claim, &progress(""), later, Duration::minutes(5))
        .unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost(_)), "{err:?}");
    assert!(f
        .store
        .finish_job(&claim, MigrationState::Pending, &progress(""), later)
        .is_err());
}

#[test]
fn job_lifecycle_failed() {
    let mut f = fixture();
    let ashaw = f.ashaw.clone();
    enqueue(&mut f, &ashaw, MigrationType::TeamsToTeams, t0());
    let claim = f
        .store
        .claim_next_job("w1", t0(), Duration::minutes(5))
        .unwrap()
        .unwrap();
    let done = f
        .store
        .finish_job(
            &claim,
            MigrationState::Failed,
            &progress("mailbox not found"),
            t0(),
        )
        .unwrap();
    assert_eq!(done.state, MigrationState::Failed);
    assert_eq!(done.last_message, "mailbox not found");
}

#[test]
fn second_trigger_merges_into_pending_job() {
    let mut f = fixture();
    let ashaw = f.ashaw.clone();
    let first = enqueue(&mut f, &ashaw, MigrationType::ToSameType, t0());
    let out = f
        .store
        .commit(
            &ChangeSet {
                jobs: vec![request(
                    &ashaw,
                    MigrationType::AllToTeams,
                    t0() + Duration::hours(1),
                )],
                ..Default::default()
            },
            &|_, r| r.clone(),
            t0() + Duration::hours(1),
        )
        .unwrap();
    assert!(out[0].merged);
    assert_eq!(out[0].job.correlation_id, first.correlation_id);
    assert_eq!(out[0].job.migration_type, MigrationType::AllToTeams);
    assert_eq!(f.store.jobs(&JobFilter::default()).unwrap().len(), 1);
}

#[test]
fn trigger_during_in_progress_queues_one_new_pending_job() {
    let mut f = fixture();
    let ashaw = f.ashaw.clone();
    let first = enqueue(&mut f, &ashaw, MigrationType::ToSameType, t0());
    let claim = f
        .store
        .claim_next_job("w1", t0(), Duration::minutes(5))
        .unwrap()
        .unwrap();
    let second = enqueue(&mut f, &ashaw, MigrationType::ToSameType, t0());
    assert_ne!(second.correlation_id, first.correlation_id);
    let third = enqueue(&mut f, &ashaw, MigrationType::ToSameType, t0());
    assert_eq!(third.correlation_id, second.correlation_id, "merged");
    // The user's second job waits while the first is in progress.
    assert!(f
        .store
        .claim_next_job("w2", t0(), Duration::minutes(5))
        .unwrap()
        .is_none());
    f.store
        .finish_job(&claim, MigrationState::Succeeded, &progress(""), t0())
        .unwrap();
    let next = f
        .store
        .claim_next_job("w2", t0(), Duration::minutes(5))
        .unwrap()
        .unwrap();
    assert_eq!(next.job.correlation_id, second.correlation_id);
}

#[test]
fn claim_respects_not_before_and_order() {
    let mut f = fixture();
    let (ashaw, ben) = (f.ashaw.clone(), f.ben.clone());
    let a = enqueue(
        &mut f,
        &ashaw,
        MigrationType::ToSameType,
        t0() + Duration::minutes(90),
    );
    let b = enqueue(&mut f, &ben, MigrationType::ToSameType, t0());
    let c1 = f
        .store
        .claim_next_job("w", t0(), Duration::hours(2))
        .unwrap()
        .unwrap();
    assert_eq!(c1.job.correlation_id, b.correlation_id);
    assert!(f
        .store
        .claim_next_job("w", t0(), Duration::minutes(5))
        .unwrap()
        .is_none());
    let c2 = f
        .store
        .claim_next_job("w", t0() + Duration::minutes(90), Duration::minutes(5))
        .unwrap()
        .unwrap();
    assert_eq!(c2.job.correlation_id, a.correlation_id);
}

#[test]
fn expired_lease_is_reclaimed_and_the_old_worker_is_fenced_off() {
    let mut f = fixture();
    let ashaw = f.ashaw.clone();
    enqueue(&mut f, &ashaw, MigrationType::ToSameType, t0());
    let old = f
        .store
        .claim_next_job("w1", t0(), Duration::minutes(5))
        .unwrap()
        .unwrap();
    // Still leased: nobody else gets it.
    assert!(f
        .store
        .claim_next_job("w2", t0() + Duration::minutes(4), Duration::minutes(5))
        .unwrap()
        .is_none());
    let new = f
        .store
        .claim_next_job("w2", t0() + Duration::minutes(6), Duration::minutes(5))
        .unwrap()
        .expect("expired lease reclaimed");
    assert_eq!(new.job.correlation_id, old.job.correlation_id);
    assert_ne!(new.lease_token, old.lease_token);
    let err = f
        .store
        .finish_job(&old, MigrationState::Succeeded, &progress(""), t0())
        .unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost(_)));
    f.store
        .finish_job(&new, MigrationState::Succeeded, &progress(""), t0())
        .unwrap();
}

#[test]
fn two_store_connections_never_claim_the_same_user() {
    let mut f = fixture();
    let (ashaw, ben) = (f.ashaw.clone(), f.ben.clone());
    enqueue(&mut f, &ashaw, MigrationType::ToSameType, t0());
    enqueue(&mut f, &ben, MigrationType::ToSameType, t0());
    let path = f.path.clone();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut s = SqliteStore::open(&path).unwrap();
                s.claim_next_job(&format!("w{i}"), t0(), Duration::minutes(5))
                    .unwrap()
                    .map(|c| c.job.user_id)
            })
        })
        .collect();
    let mut claimed: Vec<Uuid> = handles
        .into_iter()
        .filter_map(|h| h.join().unwrap())
        .collect();
    claimed.sort();
    assert_eq!(claimed, vec![ashaw.object_id, ben.object_id]);
}

#[test]
fn reschedule_puts_job_back_with_retry_count_and_due_time() {
    let mut f = fixture();
    let ashaw = f.ashaw.clone();
    enqueue(&mut f, &ashaw, MigrationType::ToSameType, t0());
    let claim = f
        .store
        .claim_next_job("w", t0(), Duration::minutes(5))
        .unwrap()
        .unwrap();
    let at = t0() + Duration::minutes(5);
    let job = f
        .store
        .reschedule_job(&claim, &progress("CalDAV server returned 503"), at, t0())
        .unwrap();
    assert_eq!(job.state, MigrationState::Pending);
    assert_eq!(job.retry_count, 1);
    assert_eq!(job.not_before, at);
    assert_eq!(job.last_message, "CalDAV server returned 503");
    assert!(f
        .store
        .claim_next_job("w", t0() + Duration::minutes(4), Duration::minutes(5))
        .unwrap()
        .is_none());
    assert!(f
        .store
        .claim_next_job("w", at, Duration::minutes(5))
        .unwrap()
        .is_some());
}

#[test]
fn reschedule_hands_retry_to_a_job_queued_meanwhile() {
    let mut f = fixture();
    let ashaw = f.ashaw.clone();
    enqueue(&mut f, &ashaw, MigrationType::ToSameType, t0());
    let claim = f
        .store
        .claim_next_job("w", t0(), Duration::minutes(5))
        .unwrap()
        .unwrap();
    let queued = enqueue(
        &mut f,
        &ashaw,
        MigrationType::ToSameType,
        t0() + Duration::hours(2),
    );
    let at = t0() + Duration::minutes(5);
    let job = f
        .store
        .reschedule_job(&claim, &progress("timeout"), at, t0())
        .unwrap();
    assert_eq!(job.state, MigrationState::Failed);
    assert!(job
        .last_message
        .contains(&queued.correlation_id.to_string()));
    assert_eq!(
        f.store
            .job(queued.correlation_id)
            .unwrap()
            .unwrap()
            .not_before,
        at
    );
}

#[test]
fn purge_removes_finished_records_older_than_cutoff_only() {
    let mut f = fixture();
    let (ashaw, ben) = (f.ashaw.clone(), f.ben.clone());
    let old = t0() - Duration::days(151);
    enqueue(&mut f, &ashaw, MigrationType::ToSameType, old);
    let c = f
        .store
        .claim_next_job("w", old, Duration::minutes(5))
        .unwrap()
        .unwrap();
    f.store
        .finish_job(&c, MigrationState::Succeeded, &progress(""), old)
        .unwrap();
    // An old Pending job is kept: purging it would lose work.
    let pending = enqueue(&mut f, &ben, MigrationType::ToSameType, old);
    let recent = enqueue(&mut f, &ashaw, MigrationType::ToSameType, t0());
    let n = f
        .store
        .purge_finished_before(t0() - Duration::days(150))
        .unwrap();
    assert_eq!(n, 1);
    let left: Vec<Uuid> = f
        .store
        .jobs(&JobFilter::default())
        .unwrap()
        .iter()
        .map(|j| j.correlation_id)
        .collect();
    assert_eq!(left, vec![pending.correlation_id, recent.correlation_id]);
}

#[test]
fn queries_by_user_state_type_and_time_range() {
    let mut f = fixture();
    let (ashaw, ben) = (f.ashaw.clone(), f.ben.clone());
    let a = enqueue(&mut f, &ashaw, MigrationType::ToSameType, t0());
    let c = f
        .store
        .claim_next_job("w", t0(), Duration::minutes(5))
        .unwrap()
        .unwrap();
    f.store
        .finish_job(
            &c,
            MigrationState::Succeeded,
            &progress(""),
            t0() + Duration::days(1),
        )
        .unwrap();
    let b = enqueue(
        &mut f,
        &ben,
        MigrationType::AllToTeams,
        t0() + Duration::days(10),
    );
    let ids =
        |jobs: Vec<MigrationJob>| -> Vec<Uuid> { jobs.iter().map(|j| j.correlation_id).collect() };
    let q = |f: &mut Fixture, filter: JobFilter| ids(f.store.jobs(&filter).unwrap());
    assert_eq!(
        q(&mut f, JobFilter::default()),
        vec![a.correlation_id, b.correlation_id]
    );
    assert_eq!(
        q(
            &mut f,
            JobFilter {
                user_id: Some(ben.object_id),
                ..Default::default()
            }
        ),
        vec![b.correlation_id]
    );
    assert_eq!(
        q(
            &mut f,
            JobFilter {
                state: Some(MigrationState::Succeeded),
                ..Default::default()
            }
        ),
        vec![a.correlation_id]
    );
    assert_eq!(
        q(
            &mut f,
            JobFilter {
                migration_type: Some(MigrationType::AllToTeams),
                ..Default::default()
            }
        ),
        vec![b.correlation_id]
    );
    // A window in the first week sees a (created t0, finished t0+1d), not b (created t0+10d).
    assert_eq!(
        q(
            &mut f,
            JobFilter {
                start_time: Some(t0() - Duration::days(1)),
                end_time: Some(t0() + Duration::days(7)),
                ..Default::default()
            }
        ),
        vec![a.correlation_id]
    );
    // A window after a finished sees only b.
    assert_eq!(
        q(
            &mut f,
            JobFilter {
                start_time: Some(t0() + Duration::days(2)),
                ..Default::default()
            }
        ),
        vec![b.correlation_id]
    );
    assert!(q(
        &mut f,
        JobFilter {
            end_time: Some(t0() - Duration::days(1)),
            ..Default::default()
        }
    )
    .is_empty());
}

#[test]
fn summary_always_lists_all_four_states() {
    let mut f = fixture();
    let s = f.store.summary().unwrap();
    assert_eq!(
        s.iter().map(|r| r.state).collect::<Vec<_>>(),
        MigrationState::ALL.to_vec()
    );
    assert!(s.iter().all(|r| r.user_count == 0));
    let (ashaw, ben) = (f.ashaw.clone(), f.ben.clone());
    enqueue(&mut f, &ashaw, MigrationType::ToSameType, t0());
    enqueue(
        &mut f,
        &ben,
        MigrationType::ToSameType,
        t0() + Duration::days(1),
    );
    f.store
        .claim_next_job("w", t0(), Duration::minutes(5))
        .unwrap()
        .unwrap();
    let s = f.store.summary().unwrap();
    let count = |st: MigrationState| s.iter().find(|r| r.state == st).unwrap().user_count;
    assert_eq!(count(MigrationState::Pending), 1);
    assert_eq!(count(MigrationState::InProgress), 1);
    assert_eq!(count(MigrationState::Failed), 0);
    assert_eq!(count(MigrationState::Succeeded), 0);
}

#[test]
fn identity_resolves_by_upn_sip_object_id_and_display_name() {
    let mut f = fixture();
    let mut sip = f.ashaw.clone();
    sip.sip_address = "amy.shaw@contoso.com".into();
    f.store
        .commit(
            &ChangeSet {
                users: vec![sip],
                ..Default::default()
            },
            &keep_pending,
            t0(),
        )
        .unwrap();
    let id = f.ashaw.object_id;
    for identity in [
        "ashaw@contoso.com",
        "ASHAW@Contoso.com",
        "amy.shaw@contoso.com",
        "sip:amy.shaw@contoso.com",
        "SIP:Amy.Shaw@CONTOSO.com",
        &id.to_string(),
        "Amy Shaw",
        "  amy shaw ",
    ] {
        let u = f.store.resolve_user(identity).unwrap();
        assert_eq!(u.object_id, id, "{identity}");
    }
    let err = f.store.resolve_user("nobody@contoso.com").unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)));
    assert!(err.to_string().contains("nobody@contoso.com"));
    let err = f
        .store
        .resolve_user(&Uuid::from_u128(99).to_string())
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)));
}

#[test]
fn ambiguous_display_name_is_an_error_naming_the_matches() {
    let mut f = fixture();
    let twin = user(3, "amy.shaw2@contoso.com", "Amy Shaw");
    f.store
        .commit(
            &ChangeSet {
                users: vec![twin],
                ..Default::default()
            },
            &keep_pending,
            t0(),
        )
        .unwrap();
    let err = f.store.resolve_user("Amy Shaw").unwrap_err();
    assert!(matches!(err, StoreError::Ambiguous(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("ashaw@contoso.com"), "{text}");
    assert!(text.contains("amy.shaw2@contoso.com"), "{text}");
}

#[test]
fn duplicate_upn_sip_bridge_name_and_number_are_conflicts() {
    let mut f = fixture();
    let clash = user(9, "ASHAW@contoso.com", "Other");
    let err = f
        .store
        .commit(
            &ChangeSet {
                users: vec![clash],
                ..Default::default()
            },
            &keep_pending,
            t0(),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let bridge = |n: u128, name: &str, number: &str| Bridge {
        identity: Uuid::from_u128(n),
        name: name.into(),
        region: "NOAM".into(),
        service_numbers: vec![ServiceNumber {
            number: number.into(),
            city: "Seattle".into(),
            number_type: ServiceNumberType::Toll,
            is_default: true,
        }],
    };
    let commit_bridge = |f: &mut Fixture, b: Bridge| {
        f.store.commit(
            &ChangeSet {
                bridges: vec![b],
                ..Default::default()
            },
            &keep_pending,
            t0(),
        )
    };
    commit_bridge(&mut f, bridge(100, "Bridge A", "+14255550100")).unwrap();
    assert!(matches!(
        commit_bridge(&mut f, bridge(101, "bridge a", "+14255550101")),
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        commit_bridge(&mut f, bridge(102, "Bridge B", "+14255550100")),
        Err(StoreError::Conflict(_))
    ));
    // A failed transaction leaves nothing behind.
    assert_eq!(f.store.bridges().unwrap().len(), 1);
    assert_eq!(
        f.store
            .bridge_of_number("+14255550100")
            .unwrap()
            .unwrap()
            .identity,
        Uuid::from_u128(100)
    );
    assert_eq!(
        f.store.resolve_bridge("BRIDGE A").unwrap().identity,
        Uuid::from_u128(100)
    );
    let mut on_bridge = f.ben.clone();
    on_bridge.bridge_id = Some(Uuid::from_u128(100));
    f.store
        .commit(
            &ChangeSet {
                users: vec![on_bridge],
                ..Default::default()
            },
            &keep_pending,
            t0(),
        )
        .unwrap();
    assert_eq!(
        f.store.users_on_bridge(Uuid::from_u128(100)).unwrap().len(),
        1
    );
    // A user on a bridge that does not exist is refused by the foreign key.
    let mut orphan = f.ashaw.clone();
    orphan.bridge_id = Some(Uuid::from_u128(555));
    assert!(f
        .store
        .commit(
            &ChangeSet {
                users: vec![orphan],
                ..Default::default()
            },
            &keep_pending,
            t0(),
        )
        .is_err());
}

#[test]
fn job_for_unknown_user_is_not_found_and_nothing_is_written() {
    let mut f = fixture();
    let ghost = user(77, "ghost@contoso.com", "Ghost");
    let err = f
        .store
        .commit(
            &ChangeSet {
                jobs: vec![request(&ghost, MigrationType::ToSameType, t0())],
                ..Default::default()
            },
            &keep_pending,
            t0(),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)));
    assert!(f.store.jobs(&JobFilter::default()).unwrap().is_empty());
}

/// The -SummaryOnly counts are kept by triggers; after every kind of change (queue, claim,
/// finish, re-queue, state edits, deletes, purge) they equal COUNT(DISTINCT user_id) per state.
#[test]
fn summary_counts_equal_distinct_users_per_state_after_every_change() {
    let mut f = fixture();
    let (ashaw, ben) = (f.ashaw.clone(), f.ben.clone());
    fn check(f: &mut Fixture, step: &str) {
        let got = f.store.summary().unwrap();
        let conn = f.store.connection();
        for row in got {
            let want: u64 = conn
                .query_row(
                    "SELECT COUNT(DISTINCT user_id) FROM migration_jobs WHERE state = ?1",
                    [row.state.as_str()],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(row.user_count, want, "{step}: {:?}", row.state);
        }
    }
    check(&mut f, "empty");
    let mut now = t0();
    for round in 0..3 {
        enqueue(&mut f, &ashaw, MigrationType::ToSameType, now);
        enqueue(&mut f, &ben, MigrationType::ToSameType, now);
        check(&mut f, "queued");
        for _ in 0..2 {
            let claim = f
                .store
                .claim_next_job("w", now, Duration::minutes(5))
                .unwrap()
                .unwrap();
            check(&mut f, "claimed");
            let state = if round == 1 {
                MigrationState::Failed
            } else {
                MigrationState::Succeeded
            };
            f.store
                .finish_job(&claim, state, &progress("done"), now)
                .unwrap();
            check(&mut f, "finished");
        }
        now += Duration::days(60);
    }
    // Direct edits and deletes go through the same triggers.
    f.store
        .connection()
        .execute(
            "UPDATE migration_jobs SET state = 'Failed' WHERE state = 'Succeeded' AND user_id = ?1",
            [ashaw.object_id.to_string()],
        )
        .unwrap();
    check(&mut f, "edited");
    f.store
        .connection()
        .execute(
            "DELETE FROM migration_jobs WHERE user_id = ?1",
            [ben.object_id.to_string()],
        )
        .unwrap();
    check(&mut f, "deleted");
    f.store
        .purge_finished_before(now + Duration::days(365))
        .unwrap();
    check(&mut f, "purged");
    assert!(f.store.summary().unwrap().iter().all(|r| r.user_count == 0));
}

/// Creates a store at `path` as a release with schema `version` left it, then runs `sql` on it.
fn old_store(path: &std::path::Path, version: u32, sql: &str) {
    let old = rusqlite::Connection::open(path).unwrap();
    old.execute_batch(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                                      applied_at TEXT NOT NULL)",
    )
    .unwrap();
    for m in mms::store::schema::MIGRATIONS
        .iter()
        .filter(|m| m.version <= version)
    {
        old.execute_batch(m.sql).unwrap();
        old.execute(
            "INSERT INTO schema_version VALUES (?1, ?2, '2026-11-01T00:00:00Z')",
            rusqlite::params![m.version, m.name],
        )
        .unwrap();
    }
    old.pragma_update(None, "user_version", version).unwrap();
    old.execute_batch(sql).unwrap();
}

/// A store written by the previous release (schema 3) with a recorded, unsent update and a sent
/// one: after the upgrade to schema 4 (outbox keyed by job) both are still there, unchanged,
/// and findable the way the worker finds them.
#[test]
fn upgrading_a_schema_3_store_keeps_every_recorded_update() {
    use mms::store::calendars::{self, OutboxState};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mms.db");
    old_store(
        &path,
        3,
        "INSERT INTO outbox (message_id, job_id, uid, sequence, sender, recipients, data,
                                 state, attempts, created)
             VALUES ('m1@contoso.com', 'job-1', 'uid-1', 2, 's@contoso.com', '[\"b@contoso.com\"]',
                     x'01020304', 'Queued', 1, '2026-11-01T00:00:00Z'),
                    ('m2@contoso.com', 'job-1', 'uid-2', 3, 's@contoso.com', '[\"c@contoso.com\"]',
                     x'0506', 'Sent', 1, '2026-11-01T00:00:00Z');",
    );
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        mms::store::schema::MIGRATIONS.last().unwrap().version
    );
    drop(store);
    let conn = mms::engine::embedded::open_connection(&path).unwrap();
    let queued = calendars::queued_for_uid(&conn, "uid-1").unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].data, [1, 2, 3, 4]);
    assert_eq!(queued[0].recipients, ["b@contoso.com"]);
    assert_eq!(queued[0].attempts, 1);
    let sent = calendars::messages_for_id(&conn, "job-1", "m2@contoso.com")
        .unwrap()
        .unwrap();
    assert_eq!(
        (sent.state, sent.data.as_slice()),
        (OutboxState::Sent, &[5u8, 6][..])
    );
    assert!(calendars::queued_for_uid(&conn, "uid-2")
        .unwrap()
        .is_empty());
    assert_eq!(calendars::all_messages(&conn).unwrap().len(), 2);
}

/// A store written before the mail drop's spool (schema 4), with mail whose bytes are in its
/// rows and an outbox record pointing at one: after the upgrade both still read the same, and a
/// new delivery goes to the spool and is listed after them.
#[test]
fn upgrading_a_schema_4_store_keeps_the_mail_in_its_rows_readable() {
    use mms::engine::delivery::InviteDelivery;
    use mms::store::calendars;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mms.db");
    old_store(
        &path,
        4,
        "INSERT INTO delivered_mail (id, message_id, recipients, data, delivered)
             VALUES (1, 'm1@contoso.com', '[\"b@contoso.com\"]', x'0a0b0c', '2026-11-01T00:00:00Z');
             INSERT INTO outbox (job_id, message_id, uid, sequence, sender, recipients, data,
                                 state, attempts, created, sent, mail_id)
             VALUES ('job-1', 'm1@contoso.com', 'uid-1', 2, 's@contoso.com',
                     '[\"b@contoso.com\"]', x'', 'Sent', 1, '2026-11-01T00:00:00Z',
                     '2026-11-01T00:00:00Z', 1);",
    );
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        mms::store::schema::MIGRATIONS.last().unwrap().version
    );
    drop(store);
    let outbox = mms::engine::embedded::EmbeddedOutbox::open(&path).unwrap();
    outbox
        .send(
            "m2@contoso.com",
            "s@contoso.com",
            &["c@contoso.com".to_string()],
            b"new mail",
        )
        .unwrap();
    let conn = mms::engine::embedded::open_connection(&path).unwrap();
    let mail = calendars::delivered_mail(&conn).unwrap();
    let listed: Vec<(&str, &[u8])> = mail
        .iter()
        .map(|m| (m.message_id.as_str(), m.data.as_slice()))
        .collect();
    assert_eq!(
        listed,
        [
            ("m1@contoso.com", &[10u8, 11, 12][..]),
            ("m2@contoso.com", &b"new mail"[..])
        ]
    );
    let recorded = calendars::messages_for_id(&conn, "job-1", "m1@contoso.com")
        .unwrap()
        .unwrap();
    assert_eq!(recorded.data, [10, 11, 12]);
    let mut spool = path.clone().into_os_string();
    spool.push(mms::store::mail_spool::SPOOL_SUFFIX);
    assert_eq!(std::fs::read(spool).unwrap(), b"new mail");
}

/// A store at schema 5 with mail in the drop, an outbox record naming it, an unsent update and
/// a job's progress: after the upgrade to schema 6 (outbox and progress without rowid, mail drop
/// ids without AUTOINCREMENT) every row reads the same, the outbox's reference to the mail drop
/// is still enforced, and new mail gets an id after the old ones.
#[test]
fn upgrading_a_schema_5_store_keeps_mail_outbox_and_progress() {
    use mms::engine::delivery::InviteDelivery;
    use mms::store::calendars::{self, MeetingOutcome};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mms.db");
    old_store(
        &path,
        5,
        "INSERT INTO delivered_mail (id, message_id, recipients, data, delivered)
             VALUES (7, 'm1@contoso.com', '[\"b@contoso.com\"]', x'0a0b0c', '2026-11-01T00:00:00Z');
         INSERT INTO outbox (job_id, message_id, uid, sequence, sender, recipients, data,
                             state, attempts, created, sent, mail_id)
             VALUES ('job-1', 'm1@contoso.com', 'uid-1', 2, 's@contoso.com',
                     '[\"b@contoso.com\"]', x'', 'Sent', 1, '2026-11-01T00:00:00Z',
                     '2026-11-01T00:00:00Z', 7),
                    ('job-1', 'm2@contoso.com', 'uid-2', 3, 's@contoso.com',
                     '[\"c@contoso.com\"]', x'0506', 'Queued', 0, '2026-11-01T00:00:01Z',
                     NULL, NULL);
         INSERT INTO job_meeting_progress (job_id, href, uid, outcome, reason, invites, updated)
             VALUES ('job-1', '/cal/b.ics', 'uid-2', 'Failed', 'SMTP down', 0,
                     '2026-11-01T00:00:02Z'),
                    ('job-1', '/cal/a.ics', 'uid-1', 'Rewritten', 'updated', 1,
                     '2026-11-01T00:00:01Z');",
    );
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), 6);
    drop(store);
    let conn = mms::engine::embedded::open_connection(&path).unwrap();
    for table in ["outbox", "job_meeting_progress"] {
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap();
        assert!(sql.ends_with("WITHOUT ROWID"), "{table}: {sql}");
    }
    let sent = calendars::messages_for_id(&conn, "job-1", "m1@contoso.com")
        .unwrap()
        .unwrap();
    assert_eq!(
        sent.data,
        [10, 11, 12],
        "the outbox still reads the mail drop's copy"
    );
    let queued = calendars::queued_for_uid(&conn, "uid-2").unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(
        (queued[0].data.as_slice(), queued[0].sequence),
        (&[5u8, 6][..], 3)
    );
    let progress = calendars::progress_of(&conn, "job-1").unwrap();
    let settled: Vec<(&str, MeetingOutcome, &str)> = progress
        .iter()
        .map(|p| (p.href.as_str(), p.outcome, p.reason.as_str()))
        .collect();
    assert_eq!(
        settled,
        [
            ("/cal/a.ics", MeetingOutcome::Rewritten, "updated"),
            ("/cal/b.ics", MeetingOutcome::Failed, "SMTP down")
        ]
    );
    // The reference to the mail drop survived the rebuild.
    let dangling = conn.execute(
        "INSERT INTO outbox (job_id, message_id, uid, sequence, sender, recipients, data, state,
                             created, mail_id)
         VALUES ('job-2', 'm3@contoso.com', 'uid-3', 1, 's', '[]', x'', 'Sent', 'now', 99)",
        [],
    );
    assert!(
        dangling.is_err(),
        "an outbox row naming no mail drop row is refused"
    );
    drop(conn);
    let outbox = mms::engine::embedded::EmbeddedOutbox::open(&path).unwrap();
    outbox
        .send(
            "m4@contoso.com",
            "s@contoso.com",
            &["d@contoso.com".to_string()],
            b"new mail",
        )
        .unwrap();
    let conn = mms::engine::embedded::open_connection(&path).unwrap();
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM delivered_mail ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ids, [7, 8]);
    let mail = calendars::delivered_mail(&conn).unwrap();
    assert_eq!(mail[1].data, b"new mail");
}

/// The per-meeting progress row is written once for every meeting: its CHECK must not make
/// SQLite build a temporary b-tree (as `IN (...)` with three values does) on every insert, and
/// it still refuses an outcome that is not one of the three.
#[test]
fn the_progress_rows_check_builds_no_temporary_b_tree_and_refuses_unknown_outcomes() {
    let mut f = fixture();
    let conn = f.store.connection();
    let insert = "INSERT INTO job_meeting_progress
                      (job_id, href, uid, outcome, reason, invites, updated)
                  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    let opcodes: Vec<String> = conn
        .prepare(&format!("EXPLAIN {insert}"))
        .unwrap()
        .query_map(
            rusqlite::params_from_iter([rusqlite::types::Null; 7]),
            |r| r.get::<_, String>(1),
        )
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        opcodes.iter().any(|o| o == "Insert" || o == "IdxInsert"),
        "{opcodes:?}"
    );
    assert!(!opcodes.iter().any(|o| o == "OpenEphemeral"), "{opcodes:?}");
    for (outcome, accepted) in [
        ("Rewritten", true),
        ("Skipped", true),
        ("Failed", true),
        ("Done", false),
    ] {
        let r = conn.execute(
            insert,
            rusqlite::params!["job", outcome, "uid", outcome, "", 0, "now"],
        );
        assert_eq!(r.is_ok(), accepted, "{outcome}: {r:?}");
    }
}
