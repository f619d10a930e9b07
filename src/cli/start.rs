//! `mms start`: Start-CsExMeetingMigration.

use crate::common::{open_engine, print_json, CliResult};
use crate::Cli;
use mms::model::{SourceMeetingType, TargetMeetingType};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The user: UPN, SIP address, ObjectId or display name.
    pub identity: String,
    /// Which meetings are candidates: All, SfB or Teams.
    #[arg(long, default_value = "All")]
    pub source: SourceMeetingType,
    /// Current keeps each meeting's kind; Teams converts Skype meetings to Teams.
    #[arg(long, default_value = "Current")]
    pub target: TargetMeetingType,
    #[arg(long)]
    pub json: bool,
}

pub fn run(cli: &Cli, a: &Args) -> CliResult {
    let (engine, _) = open_engine(cli)?;
    let job = engine.start_migration(&a.identity, a.source, a.target)?;
    if a.json {
        print_json(&job)?;
    } else {
        println!(
            "queued {} migration for {} (CorrelationId {}, due {})",
            job.migration_type,
            job.user_principal_name,
            job.correlation_id,
            job.not_before.format("%Y-%m-%d %H:%M:%S UTC")
        );
    }
    Ok(ExitCode::SUCCESS)
}
