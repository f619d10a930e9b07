//! `mms demo`: the README's main job, on a fresh embedded store.
//!
//! Creates a sample tenant (users, bridges, realistic calendars), makes admin changes that do
//! and do not trigger migrations, runs the worker, and prints the summary, a per-user table, the
//! per-meeting outcomes of one user and one before/after diff of a meeting body.

use crate::common::{open_connection, print_table, CliError, CliResult};
use crate::serve::StderrObserver;
use crate::status::{job_row, print_summary, JOB_HEADERS};
use crate::Cli;
use chrono::Utc;
use mms::calendar::rewrite::unified_diff;
use mms::engine::embedded::{EmbeddedCalendarSource, EmbeddedOutbox};
use mms::engine::sample::{seed, SampleKind};
use mms::engine::worker::{Worker, WorkerConfig};
use mms::engine::{Engine, StatusFilter};
use mms::rules::triggers::{Decision, TenantEvent, UserChange};
use mms::store::calendars;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Replace the store if it exists (the demo always starts from an empty store).
    #[arg(long)]
    pub force: bool,
    /// No worker progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

fn demo_store(cli: &Cli, force: bool) -> Result<PathBuf, CliError> {
    let path = match &cli.store {
        Some(p) => p.clone(),
        None => std::env::temp_dir()
            .join(format!(
                "mms-demo-{}-{}",
                std::process::id(),
                Utc::now().timestamp()
            ))
            .join("mms.db"),
    };
    if path.exists() {
        if !force {
            return Err(CliError::usage(format!(
                "{} exists; the demo needs a fresh store (pass --force to replace it)",
                path.display()
            )));
        }
        for suffix in mms::store::STORE_FILE_SUFFIXES {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
    Ok(path)
}

/// Unfolded, unescaped DESCRIPTION of the first VEVENT.
fn description(ics: &[u8]) -> String {
    let text = String::from_utf8_lossy(ics);
    let unfolded = text
        .replace("\r\n ", "")
        .replace("\r\n\t", "")
        .replace("\n ", "");
    for line in unfolded.lines() {
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("DESCRIPTION") {
            if let Some(i) = line.find(':') {
                let mut out = String::new();
                let mut chars = line[i + 1..].chars();
                while let Some(c) = chars.next() {
                    if c == '\\' {
                        match chars.next() {
                            Some('n') | Some('N') => out.push('\n'),
                            Some(o) => out.push(o),
                            None => {}
                        }
                    } else {
                        out.push(c);
                    }
                }
                return out;
            }
        }
    }
    String::new()
}

pub fn run(cli: &Cli, a: &Args) -> CliResult {
    let path = demo_store(cli, a.force)?;
    let engine = Engine::open(&path)?;
    let conn = open_connection(&path)?;
    let now = engine.now();
    println!("Meeting Migration Service demo — store {}", path.display());
    println!();

    // 1. The tenant.
    let seeded = seed(&engine, &conn, now).map_err(CliError::failure)?;
    let objects: usize = seeded.calendars.iter().map(|(_, m)| m.len()).sum();
    println!(
        "1. Sample tenant: {} users, {} bridges, {objects} calendar objects (past, future, recurring with an override, >250 attendees, copy-pasted block, someone else's meeting, cancelled, no block)",
        seeded.tenant.users.len(),
        seeded.tenant.bridges.len()
    );
    print_table(
        crate::user::USER_HEADERS,
        &engine
            .users()?
            .iter()
            .map(crate::user::user_row)
            .collect::<Vec<_>>(),
    );
    println!();

    // 2. Admin changes.
    println!("2. Admin changes and the rules' decisions");
    let changes: Vec<(&str, &str, UserChange)> = vec![
        (
            "ashaw@contoso.com",
            "Set-CsOnlineDialInConferencingUser -ResetConferenceId",
            UserChange::ResetConferenceId,
        ),
        (
            "ashaw@contoso.com",
            "Set-CsOnlineDialInConferencingUser -ServiceNumber +12065550142",
            UserChange::SetServiceNumber {
                number: "+12065550142".into(),
            },
        ),
        (
            "bfrank@contoso.com",
            "Move-CsUser (on-premises -> online)",
            UserChange::MoveToOnline,
        ),
        (
            "fmoreau@contoso.com",
            "Set-CsOnlineDialInConferencingUser -BridgeName \"Contoso Europe\"",
            UserChange::MoveToBridge {
                bridge: "Contoso Europe".into(),
            },
        ),
        (
            "ekim@contoso.com",
            "Set-CsUser -SipAddress sip:eunji.kim@contoso.com",
            UserChange::SetSipAddress {
                sip_address: "eunji.kim@contoso.com".into(),
            },
        ),
        (
            "cdiaz@contoso.com",
            "Audio Conferencing licence assigned (third-party ACP)",
            UserChange::AssignLicence,
        ),
        (
            "dlee@contoso.com",
            "Set-CsOnlineDialInConferencingUser -ConferenceId 123456789 (mailbox on-premises)",
            UserChange::SetConferenceId {
                conference_id: "123456789".into(),
            },
        ),
    ];
    let mut rows = Vec::new();
    for (who, what, change) in changes {
        let o = engine.apply_user_change(who, &change)?;
        let decision = match &o.decision {
            Decision::Enqueue { migration_type, .. } if o.merged => {
                format!("merged into pending job ({migration_type})")
            }
            Decision::Enqueue { migration_type, .. } => format!("queued {migration_type}"),
            Decision::NoMigration { .. } => "no migration".to_string(),
        };
        rows.push(vec![
            who.to_string(),
            what.to_string(),
            decision,
            o.decision.reason().to_string(),
        ]);
    }
    let ev = engine.apply_tenant_event(&TenantEvent::UpdateTenantMeetingUrl);
    rows.push(vec![
        "(tenant)".into(),
        "Update-CsTenantMeetingUrl".into(),
        "no migration".into(),
        ev.reason().to_string(),
    ]);
    print_table(&["User", "Change", "Decision", "Reason"], &rows);
    println!();
    println!("Summary before the worker runs:");
    print_summary(&engine, false)?;
    println!();

    // 3. The worker.
    println!("3. Running the worker (progress on stderr)");
    let journal = std::rc::Rc::new(open_connection(&path)?);
    let source = EmbeddedCalendarSource::sharing(journal.clone());
    let outbox = EmbeddedOutbox::sharing(journal.clone());
    let observer = StderrObserver { quiet: a.quiet };
    let mut worker = Worker::new(&engine, journal, &source, &outbox, WorkerConfig::default())
        .with_observer(&observer);
    let done = worker
        .run_until_idle()
        .map_err(|e| CliError::failure(e.to_string()))?;
    println!("   {} job(s) processed", done.len());
    println!();

    // 4. Results.
    println!("4. Get-CsMeetingMigrationStatus -SummaryOnly");
    print_summary(&engine, false)?;
    println!();
    println!("Get-CsMeetingMigrationStatus");
    let jobs = engine.migration_status(&StatusFilter::default())?;
    print_table(JOB_HEADERS, &jobs.iter().map(job_row).collect::<Vec<_>>());
    println!();

    let mail = calendars::delivered_mail(&conn).map_err(|e| CliError::failure(e.to_string()))?;
    let recipients: usize = mail.iter().map(|m| m.recipients.len()).sum();
    println!(
        "Outbox: {} update message(s) delivered to {recipients} attendee mailbox(es)",
        mail.len()
    );
    println!();

    // Per-meeting outcomes of the first migrated user.
    if let Some(job) = jobs
        .iter()
        .find(|j| j.user_principal_name == "ashaw@contoso.com")
    {
        println!(
            "Meetings of {} (job {})",
            job.user_principal_name, job.correlation_id
        );
        let progress = calendars::progress_of(&conn, &job.correlation_id.to_string())
            .map_err(|e| CliError::failure(e.to_string()))?;
        let rows: Vec<Vec<String>> = progress
            .iter()
            .map(|p| {
                vec![
                    p.href.rsplit('/').next().unwrap_or("").to_string(),
                    p.outcome.as_str().to_string(),
                    p.invites.to_string(),
                    p.reason.clone(),
                ]
            })
            .collect();
        print_table(&["Calendar object", "Outcome", "Invites", "Reason"], &rows);
        println!();
    }

    // 5. One before/after diff.
    let mut failures = 0;
    if let Some((upn, meetings)) = seeded
        .calendars
        .iter()
        .find(|(u, _)| u == "ashaw@contoso.com")
    {
        if let Some(m) = meetings.iter().find(|m| m.kind == SampleKind::FutureSingle) {
            let after = calendars::all_objects_of(&conn, upn)
                .map_err(|e| CliError::failure(e.to_string()))?
                .into_iter()
                .find(|o| o.uid == m.uid);
            if let Some(after) = after {
                println!("5. Before/after: DESCRIPTION of '{}' ({upn})", m.file_name);
                println!(
                    "{}",
                    unified_diff(
                        "DESCRIPTION",
                        &description(&m.data),
                        &description(&after.data)
                    )
                );
                if after.data == m.data {
                    failures += 1;
                    eprintln!("mms demo: the future meeting was not rewritten");
                }
            }
        }
    }
    println!(
        "Store kept at {} (try: mms --store {} status)",
        path.display(),
        path.display()
    );
    if failures > 0 {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
