//! `mms status`: Get-CsMeetingMigrationStatus.

use crate::common::{open_engine, print_json, print_table, CliError, CliResult};
use crate::Cli;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use mms::engine::StatusFilter;
use mms::model::{MigrationJob, MigrationState, MigrationType};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only the State/UserCount table (-SummaryOnly).
    #[arg(long)]
    pub summary: bool,
    /// A user: UPN, SIP address, ObjectId or display name (-UserId).
    #[arg(long, value_name = "IDENTITY")]
    pub user: Option<String>,
    /// Pending, InProgress, Failed or Succeeded.
    #[arg(long)]
    pub state: Option<MigrationState>,
    /// SfbToSfb, SfbToTeams, TeamsToTeams, AllToTeams or ToSameType.
    #[arg(long = "type")]
    pub migration_type: Option<MigrationType>,
    /// Records active at or after this time (RFC 3339, YYYY-MM-DD or MM/DD/YYYY; UTC).
    #[arg(long, value_parser = parse_time)]
    pub start: Option<DateTime<Utc>>,
    /// Records created at or before this time.
    #[arg(long, value_parser = parse_time)]
    pub end: Option<DateTime<Utc>>,
    /// JSON output (Microsoft's property names).
    #[arg(long)]
    pub json: bool,
}

/// RFC 3339, `YYYY-MM-DD[ HH:MM[:SS]]` or `MM/DD/YYYY` (as the cmdlet's examples), UTC.
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, f) {
            return Ok(Utc.from_utc_datetime(&n));
        }
    }
    for f in ["%Y-%m-%d", "%m/%d/%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(t, f) {
            if let Some(n) = d.and_hms_opt(0, 0, 0) {
                return Ok(Utc.from_utc_datetime(&n));
            }
        }
    }
    Err(format!(
        "'{s}' is not a time (use RFC 3339, YYYY-MM-DD or MM/DD/YYYY)"
    ))
}

pub fn job_row(j: &MigrationJob) -> Vec<String> {
    vec![
        j.user_principal_name.clone(),
        j.state.to_string(),
        j.migration_type.to_string(),
        j.total_meeting.to_string(),
        j.succeeded_meeting.to_string(),
        j.failed_meeting.to_string(),
        j.invites_update.to_string(),
        j.retry_count.to_string(),
        j.modified_date.format("%Y-%m-%d %H:%M:%S").to_string(),
        j.last_message.clone(),
    ]
}

pub const JOB_HEADERS: &[&str] = &[
    "UserPrincipalName",
    "State",
    "MigrationType",
    "Total",
    "Succeeded",
    "Failed",
    "Invites",
    "Retries",
    "ModifiedDate (UTC)",
    "LastMessage",
];

pub fn print_summary(engine: &mms::engine::Engine, json: bool) -> Result<(), CliError> {
    let summary = engine.migration_summary()?;
    if json {
        return print_json(&summary);
    }
    let rows: Vec<Vec<String>> = summary
        .iter()
        .map(|s| vec![s.state.to_string(), s.user_count.to_string()])
        .collect();
    print_table(&["State", "UserCount"], &rows);
    Ok(())
}

pub fn run(cli: &Cli, a: &Args) -> CliResult {
    let (engine, _) = open_engine(cli)?;
    if a.summary {
        print_summary(&engine, a.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    let filter = StatusFilter {
        identity: a.user.clone(),
        state: a.state,
        migration_type: a.migration_type,
        start_time: a.start,
        end_time: a.end,
    };
    let jobs = engine.migration_status(&filter)?;
    if a.json {
        print_json(&jobs)?;
    } else if jobs.is_empty() {
        eprintln!("no migration records match");
    } else {
        let rows: Vec<Vec<String>> = jobs.iter().map(job_row).collect();
        print_table(JOB_HEADERS, &rows);
    }
    Ok(ExitCode::SUCCESS)
}
