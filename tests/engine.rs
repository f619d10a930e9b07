//! The public Rust API: settings, directory, triggers end to end into the queue, status, worker ops.

use chrono::{DateTime, Duration, TimeZone, Utc};
use mms::engine::{Engine, EngineError, StatusFilter};
use mms::model::*;
use mms::rules::triggers::{Decision, TenantEvent, UserChange};
use mms::store::JobProgress;
use serde_json::json;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use uuid::Uuid;

struct Fixture {
    _dir: tempfile::TempDir,
    engine: Engine,
    clock: Arc<AtomicI64>,
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 9, 0, 0).unwrap()
}

impl Fixture {
    fn advance(&self, d: Duration) {
        self.clock.fetch_add(d.num_seconds(), Ordering::SeqCst);
    }
}

fn bridge_id() -> Uuid {
    Uuid::from_u128(0xB1)
}

fn number(n: &str, city: &str, t: ServiceNumberType, d: bool) -> ServiceNumber {
    ServiceNumber {
        number: n.into(),
        city: city.into(),
        number_type: t,
        is_default: d,
    }
}

fn user(n: u128, upn: &str, display: &str) -> User {
    User {
        object_id: Uuid::from_u128(n),
        user_principal_name: upn.into(),
        sip_address: format!("sip:{upn}"),
        display_name: display.into(),
        mailbox_location: MailboxLocation::ExchangeOnline,
        homing: Homing::Online,
        audio_conferencing_licensed: true,
        audio_conferencing_enabled: true,
        provider: AudioConferencingProvider::Microsoft,
        conference_id: format!("29163325{n}"),
        bridge_id: Some(bridge_id()),
        service_number: None,
        toll_free_service_number: None,
        meeting_kind: MeetingKind::Teams,
        teams_upgrade_policy: None,
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(t0().timestamp()));
    let c = clock.clone();
    let engine = Engine::open(dir.path().join("mms.db"))
        .unwrap()
        .with_clock(move || Utc.timestamp_opt(c.load(Ordering::SeqCst), 0).unwrap());
    engine
        .upsert_bridge(Bridge {
            identity: bridge_id(),
            name: "Conference Bridge".into(),
            region: "NOAM".into(),
            service_numbers: vec![
                number(
                    "+13238867531",
                    "United States, Los Angeles",
                    ServiceNumberType::Toll,
                    true,
                ),
                number(
                    "14255550101",
                    "United States, Seattle",
                    ServiceNumberType::Toll,
                    false,
                ),
                number(
                    "+18005550100",
                    "United States",
                    ServiceNumberType::TollFree,
                    true,
                ),
            ],
        })
        .unwrap();
    engine
        .upsert_user(user(1, "ashaw@contoso.com", "Amy Shaw"))
        .unwrap();
    engine
        .upsert_user(user(2, "ben@contoso.com", "Ben Miller"))
        .unwrap();
    Fixture {
        _dir: dir,
        engine,
        clock,
    }
}

#[test]
fn settings_patch_validates_and_round_trips() {
    let f = fixture();
    let c = f
        .engine
        .patch_tenant_migration_configuration(&json!({"MeetingMigrationEnabled": false}))
        .unwrap();
    assert!(!c.meeting_migration_enabled);
    assert!(
        !f.engine
            .tenant_migration_configuration()
            .unwrap()
            .meeting_migration_enabled
    );
    let d = f
        .engine
        .patch_dial_in_settings(&json!({"PinLength": 7, "AutomaticallyMigrateUserMeetings": false}))
        .unwrap();
    assert_eq!(d.pin_length, 7);
    let err = f
        .engine
        .patch_dial_in_settings(&json!({"PinLength": 3}))
        .unwrap_err();
    assert!(matches!(err, EngineError::InvalidArgument(_)), "{err:?}");
    let err = f
        .engine
        .patch_dial_in_settings(&json!({"EntryExitAnnouncementsType": "Loud"}))
        .unwrap_err();
    assert!(err.to_string().contains("Loud"), "{err}");
    // Nothing was written by the failed patches.
    assert_eq!(f.engine.dial_in_settings().unwrap().pin_length, 7);
}

#[test]
fn bridge_numbers_are_normalised_and_users_validated() {
    let f = fixture();
    let b = f.engine.bridge("conference bridge").unwrap();
    assert!(b.service_numbers.iter().any(|n| n.number == "+14255550101"));
    let mut bad = user(3, "carl@contoso.com", "Carl");
    bad.service_number = Some("+19999999999".into());
    assert!(matches!(
        f.engine.upsert_user(bad),
        Err(EngineError::InvalidArgument(_))
    ));
    let u = f.engine.user("sip:ASHAW@contoso.com").unwrap();
    assert_eq!(u.sip_address, "ashaw@contoso.com", "sip: prefix stripped");
}

#[test]
fn user_change_enqueues_and_second_change_merges() {
    let f = fixture();
    let out = f
        .engine
        .apply_user_change(
            "ashaw@contoso.com",
            &UserChange::SetConferenceId {
                conference_id: "4455667".into(),
            },
        )
        .unwrap();
    assert!(out.decision.is_enqueue(), "{:?}", out.decision);
    assert!(!out.merged);
    let job = out.job.clone().unwrap();
    assert_eq!(job.state, MigrationState::Pending);
    assert_eq!(job.migration_type, MigrationType::TeamsToTeams);
    assert_eq!(out.user.conference_id, "4455667");
    assert_eq!(f.engine.user("Amy Shaw").unwrap().conference_id, "4455667");

    let out2 = f
        .engine
        .apply_user_change(
            "Amy Shaw",
            &UserChange::SetServiceNumber {
                number: "+14255550101".into(),
            },
        )
        .unwrap();
    assert!(out2.merged);
    assert_eq!(out2.job.unwrap().correlation_id, job.correlation_id);
    assert_eq!(
        f.engine
            .migration_status(&StatusFilter::default())
            .unwrap()
            .len(),
        1
    );

    // The JSON shape the C ABI returns.
    let v = serde_json::to_value(&out).unwrap();
    assert_eq!(v["Decision"], "Enqueue");
    assert_eq!(v["MigrationType"], "TeamsToTeams");
    assert!(v["Job"]["CorrelationId"].is_string());
    assert_eq!(v["User"]["ConferenceId"], "4455667");
}

#[test]
fn non_triggering_changes_queue_nothing_but_are_applied() {
    let f = fixture();
    let out = f
        .engine
        .apply_user_change(
            "ashaw@contoso.com",
            &UserChange::SetSipAddress {
                sip_address: "sip:amy.shaw@contoso.com".into(),
            },
        )
        .unwrap();
    assert!(matches!(out.decision, Decision::NoMigration { .. }));
    assert!(out.job.is_none());
    assert_eq!(
        f.engine.user("sip:amy.shaw@contoso.com").unwrap().object_id,
        Uuid::from_u128(1)
    );
    f.engine
        .patch_tenant_migration_configuration(&json!({"MeetingMigrationEnabled": false}))
        .unwrap();
    let out = f
        .engine
        .apply_user_change("ben@contoso.com", &UserChange::ResetConferenceId)
        .unwrap();
    assert!(!out.decision.is_enqueue());
    assert_ne!(out.user.conference_id, "291633252", "reset still applied");
    assert!(f
        .engine
        .migration_status(&StatusFilter::default())
        .unwrap()
        .is_empty());
    let d = f
        .engine
        .apply_tenant_event(&TenantEvent::UpdateTenantMeetingUrl);
    assert!(!d.is_enqueue());
}

#[test]
fn bad_change_input_is_rejected_and_changes_nothing() {
    let f = fixture();
    let err = f
        .engine
        .apply_user_change(
            "ashaw@contoso.com",
            &UserChange::SetConferenceId {
                conference_id: "12ab".into(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, EngineError::InvalidArgument(_)));
    let err = f
        .engine
        .apply_user_change(
            "ashaw@contoso.com",
            &UserChange::SetConferenceId {
                conference_id: "291633252".into(), // Ben's
            },
        )
        .unwrap_err();
    assert!(matches!(err, EngineError::Conflict(_)), "{err:?}");
    let err = f
        .engine
        .apply_user_change(
            "ashaw@contoso.com",
            &UserChange::MoveToBridge {
                bridge: "Nowhere".into(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, EngineError::NotFound(_)));
    assert!(matches!(
        f.engine
            .apply_user_change("nobody", &UserChange::AssignLicence),
        Err(EngineError::NotFound(_))
    ));
    assert!(f
        .engine
        .migration_status(&StatusFilter::default())
        .unwrap()
        .is_empty());
}

#[test]
fn unregistering_a_default_number_migrates_users_who_relied_on_it() {
    let f = fixture();
    let mut own = user(3, "carl@contoso.com", "Carl");
    own.service_number = Some("+14255550101".into());
    f.engine.upsert_user(own).unwrap();
    // The bridge's default number: refused without RemoveDefaultServiceNumber, nothing changes.
    match f
        .engine
        .unregister_service_number("Conference Bridge", "+13238867531", false)
    {
        Err(EngineError::Refused(reason)) => {
            assert!(reason.contains("+13238867531"), "{reason}");
            assert!(reason.contains("RemoveDefaultServiceNumber"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let b = f.engine.bridge("Conference Bridge").unwrap();
    assert!(b
        .service_numbers
        .iter()
        .any(|n| n.number == "+13238867531" && n.is_default));
    assert!(f
        .engine
        .migration_status(&StatusFilter::default())
        .unwrap()
        .is_empty());
    let out = f
        .engine
        .unregister_service_number("Conference Bridge", "+13238867531", true)
        .unwrap();
    let mut upns: Vec<&str> = out
        .affected_users
        .iter()
        .map(|a| a.user_principal_name.as_str())
        .collect();
    upns.sort();
    assert_eq!(upns, vec!["ashaw@contoso.com", "ben@contoso.com"]);
    assert!(out.affected_users.iter().all(|a| a.job.is_some()));
    // The next toll number became the default.
    let b = f.engine.bridge("Conference Bridge").unwrap();
    assert!(b
        .service_numbers
        .iter()
        .any(|n| n.number == "+14255550101" && n.is_default));
    let c = f.engine.meeting_coordinates("ashaw@contoso.com").unwrap();
    assert_eq!(c.toll_numbers[0].number, "+14255550101");
    assert!(matches!(
        f.engine
            .unregister_service_number("Conference Bridge", "+13238867531", true),
        Err(EngineError::NotFound(_))
    ));
    // The number promoted to default is protected in turn.
    assert!(matches!(
        f.engine
            .unregister_service_number("Conference Bridge", "+14255550101", false),
        Err(EngineError::Refused(_))
    ));
}

#[test]
fn manual_start_is_honoured_when_tenant_disabled_and_refused_for_on_premises_mailbox() {
    let f = fixture();
    f.engine
        .patch_tenant_migration_configuration(&json!({"MeetingMigrationEnabled": false}))
        .unwrap();
    let job = f
        .engine
        .start_migration(
            "ashaw@contoso.com",
            SourceMeetingType::All,
            TargetMeetingType::Teams,
        )
        .unwrap();
    assert_eq!(job.migration_type, MigrationType::AllToTeams);
    assert_eq!(job.state, MigrationState::Pending);
    f.engine
        .apply_user_change(
            "ben@contoso.com",
            &UserChange::SetMailboxLocation {
                mailbox_location: MailboxLocation::OnPremises,
            },
        )
        .unwrap();
    let err = f
        .engine
        .start_migration(
            "ben@contoso.com",
            SourceMeetingType::All,
            TargetMeetingType::Current,
        )
        .unwrap_err();
    assert!(matches!(err, EngineError::Refused(_)));
    assert!(err.to_string().contains("Exchange Online"));
}

#[test]
fn status_filters_resolve_identity_and_check_range() {
    let f = fixture();
    f.engine
        .start_migration(
            "ashaw@contoso.com",
            SourceMeetingType::All,
            TargetMeetingType::Current,
        )
        .unwrap();
    f.advance(Duration::days(3));
    f.engine
        .start_migration(
            "ben@contoso.com",
            SourceMeetingType::All,
            TargetMeetingType::Teams,
        )
        .unwrap();
    let by_user = f
        .engine
        .migration_status(&StatusFilter {
            identity: Some("Ben Miller".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_user.len(), 1);
    assert_eq!(by_user[0].user_principal_name, "ben@contoso.com");
    let filter: StatusFilter = serde_json::from_value(json!({
        "StartTime": "2026-09-30T00:00:00Z", "EndTime": "2026-10-02T00:00:00Z"
    }))
    .unwrap();
    let window = f.engine.migration_status(&filter).unwrap();
    assert_eq!(window.len(), 1);
    assert_eq!(window[0].user_principal_name, "ashaw@contoso.com");
    let by_type = f
        .engine
        .migration_status(&StatusFilter {
            migration_type: Some(MigrationType::AllToTeams),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_type.len(), 1);
    let err = f
        .engine
        .migration_status(&StatusFilter {
            start_time: Some(t0()),
            end_time: Some(t0() - Duration::days(1)),
            ..Default::default()
        })
        .unwrap_err();
    assert!(matches!(err, EngineError::InvalidArgument(_)));
    let summary = f.engine.migration_summary().unwrap();
    assert_eq!(summary.len(), 4);
    assert_eq!(summary[0].state, MigrationState::Pending);
    assert_eq!(summary[0].user_count, 2);
}

#[test]
fn worker_operations_retry_transient_failures_then_give_up() {
    let f = fixture();
    f.engine
        .start_migration(
            "ashaw@contoso.com",
            SourceMeetingType::All,
            TargetMeetingType::Current,
        )
        .unwrap();
    let lease = Duration::minutes(10);
    let mut expected_retries = 0;
    loop {
        let claim = f
            .engine
            .claim_next_job("worker-1", lease)
            .unwrap()
            .expect("job due");
        assert_eq!(claim.job.retry_count, expected_retries);
        let p = JobProgress {
            last_message: "CalDAV server unreachable".into(),
            ..Default::default()
        };
        let job = f.engine.fail_job(&claim, &p, true).unwrap();
        if job.state == MigrationState::Failed {
            assert_eq!(expected_retries, 9);
            assert!(job.last_message.contains("gave up after 9 retries"));
            break;
        }
        expected_retries += 1;
        assert_eq!(job.retry_count, expected_retries);
        // Not due before its backoff delay.
        assert!(f
            .engine
            .claim_next_job("worker-1", lease)
            .unwrap()
            .is_none());
        f.advance(job.not_before - f.engine.now());
    }
}

#[test]
fn complete_job_succeeds_or_fails_by_meeting_counts_and_purge_uses_150_days() {
    let f = fixture();
    f.engine
        .start_migration(
            "ashaw@contoso.com",
            SourceMeetingType::All,
            TargetMeetingType::Current,
        )
        .unwrap();
    let claim = f
        .engine
        .claim_next_job("w", Duration::minutes(5))
        .unwrap()
        .unwrap();
    let claim = f
        .engine
        .record_progress(
            &claim,
            &JobProgress {
                total_meeting: 4,
                succeeded_meeting: 1,
                ..Default::default()
            },
            Duration::minutes(5),
        )
        .unwrap();
    let done = f
        .engine
        .complete_job(
            &claim,
            &JobProgress {
                total_meeting: 4,
                succeeded_meeting: 4,
                invites_update: 12,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(done.state, MigrationState::Succeeded);
    assert_eq!(
        f.engine.job(done.correlation_id).unwrap().invites_update,
        12
    );
    f.advance(Duration::days(149));
    assert_eq!(f.engine.purge_expired().unwrap(), 0);
    f.advance(Duration::days(2));
    assert_eq!(f.engine.purge_expired().unwrap(), 1);
}

#[test]
fn engine_is_shared_between_threads() {
    let f = fixture();
    let engine = Arc::new(f.engine);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let e = engine.clone();
            std::thread::spawn(move || {
                for _ in 0..10 {
                    e.start_migration(
                        "ashaw@contoso.com",
                        SourceMeetingType::All,
                        TargetMeetingType::Current,
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    // Forty requests for one user merged into one Pending job.
    assert_eq!(
        engine
            .migration_status(&StatusFilter::default())
            .unwrap()
            .len(),
        1
    );
}
