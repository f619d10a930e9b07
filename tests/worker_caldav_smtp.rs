//! End to end over the network: the organizers' calendars on a real Radicale (CalDAV) server,
//! the updates through a real SMTP sink (aiosmtpd), both on 127.0.0.1. Radicale re-serializes
//! what it stores, so calendar objects are compared parsed (unfolded, property by property).

mod support;
mod worker_support;

use chrono::Utc;
use mms::engine::caldav::{CalDavConfig, CalDavSource};
use mms::engine::credentials::Credentials;
use mms::engine::embedded::open_connection;
use mms::engine::sample::seed;
use mms::engine::smtp::{SmtpConfig, SmtpDelivery};
use mms::engine::worker::{Worker, WorkerConfig};
use mms::engine::{Engine, StatusFilter};
use mms::model::MigrationState;
use mms::rules::triggers::UserChange;
use support::{RadicaleServer, SmtpSink};
use worker_support::kill::{check_caldav, localpart, received_all, SENDER};
use worker_support::*;

#[test]
fn caldav_and_smtp_end_to_end() {
    let radicale = RadicaleServer::start();
    let sink = SmtpSink::start(0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mms.db");
    let engine = Engine::open(&path).unwrap();
    let conn = open_connection(&path).unwrap();
    let seeded = seed(&engine, &conn, Utc::now()).unwrap();
    for (upn, meetings) in &seeded.calendars {
        let user = localpart(upn);
        radicale.mkcalendar(user, "calendar", &[]);
        for m in meetings {
            radicale.put_ics(user, &format!("/{user}/calendar/{}", m.file_name), &m.data);
        }
    }
    for (who, change) in [
        ("ashaw@contoso.com", UserChange::ResetConferenceId),
        ("bfrank@contoso.com", UserChange::MoveToOnline),
        (
            "fmoreau@contoso.com",
            UserChange::MoveToBridge {
                bridge: "Contoso Europe".into(),
            },
        ),
        // Not migrating: SIP change.
        (
            "ekim@contoso.com",
            UserChange::SetSipAddress {
                sip_address: "eunji.kim@contoso.com".into(),
            },
        ),
    ] {
        engine.apply_user_change(who, &change).unwrap();
    }

    let mut caldav = CalDavConfig::new(radicale.url.clone());
    caldav.credentials = Some(Credentials::new(
        "{localpart}",
        "secret-password-never-logged",
    ));
    let source = CalDavSource::new(caldav).unwrap();
    let delivery = SmtpDelivery::new(SmtpConfig::new("127.0.0.1", sink.port));
    let config = WorkerConfig {
        sender: Some(SENDER.into()),
        ..WorkerConfig::default()
    };
    let mut worker = Worker::new(
        &engine,
        open_connection(&path).unwrap(),
        &source,
        &delivery,
        config,
    );
    let ended = worker.run_until_idle().unwrap();
    assert_eq!(ended.len(), 3, "{ended:?}");

    // Status records.
    let jobs = engine.migration_status(&StatusFilter::default()).unwrap();
    assert_eq!(jobs.len(), 3);
    for j in &jobs {
        let (_, meetings) = seeded
            .calendars
            .iter()
            .find(|(u, _)| *u == j.user_principal_name)
            .unwrap();
        let rewrite = meetings
            .iter()
            .filter(|m| m.kind.must_be_rewritten())
            .count() as u32;
        assert_eq!(j.state, MigrationState::Succeeded, "{j:?}");
        assert_eq!(
            (j.succeeded_meeting, j.failed_meeting, j.invites_update),
            (rewrite, 0, rewrite),
            "{j:?}"
        );
        assert_eq!(j.total_meeting, rewrite + 2, "{j:?}");
        assert!(!j.last_message.contains("secret-password"));
    }

    // Every calendar object on the server, parsed.
    let get = |user: &str, p: &str| radicale.get_ok(user, p);
    let (expected, fetched) = check_caldav(&get, &engine, &seeded, None);
    let files_dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (p, now) in &fetched {
        let f = files_dir
            .path()
            .join(p.trim_start_matches('/').replace('/', "-"));
        std::fs::write(&f, now).unwrap();
        files.push(f);
    }
    let refs: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    assert_parses_with_python(&refs);

    // Every mail the SMTP server accepted.
    let mail = received_all(sink.envelopes());
    for m in &mail {
        assert!(!String::from_utf8_lossy(&m.data).contains("secret-password"));
    }
    assert_eq!(assert_mail(&mail, &expected, SENDER), 0);

    // A second run finds every meeting up to date: nothing stored, nothing sent.
    engine
        .start_migration(
            "ashaw@contoso.com",
            mms::model::SourceMeetingType::All,
            mms::model::TargetMeetingType::Current,
        )
        .unwrap();
    worker.run_until_idle().unwrap();
    assert_eq!(sink.messages().len(), mail.len());
}
