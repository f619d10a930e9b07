//! The `mms` command: the Meeting Migration Service from a shell.
//!
//! Every command works on one embedded store (`--store PATH`, else `MMS_STORE`, else the
//! per-user data folder). Exit codes: 0 success, 1 failure, 2 bad usage or input, 3 not found
//! or ambiguous identity, 4 refused by the rules.

mod common;
mod config;
mod demo;
mod dry_run;
mod import;
mod lines_roundtrip;
mod rewrite;
mod serve;
mod start;
mod status;
mod user;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mms",
    version,
    about = "Meeting Migration Service: rewrites the online-meeting block of an organizer's future meetings and sends the updates"
)]
pub struct Cli {
    /// The store file (SQLite). Default: $MMS_STORE, else the per-user data folder.
    #[arg(long, global = true, value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// Seconds between a trigger and the earliest moment a worker picks the job up
    /// (default: $MMS_QUEUE_DELAY, else 0).
    #[arg(long, global = true, value_name = "SECS")]
    pub queue_delay: Option<u64>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the main job on a fresh sample tenant and show what happened.
    Demo(demo::Args),
    /// Run the migration worker.
    Serve(serve::Args),
    /// Show migration status (Get-CsMeetingMigrationStatus).
    Status(status::Args),
    /// Queue a migration for a user (Start-CsExMeetingMigration).
    Start(start::Args),
    /// Tenant settings (Get-/Set-CsTenantMigrationConfiguration, ...DialInConferencingTenantSettings).
    #[command(subcommand)]
    Config(config::Command),
    /// Users and the admin changes that trigger (or do not trigger) migrations.
    #[command(subcommand)]
    User(user::Command),
    /// Load a folder of .ics files into a user's embedded calendar.
    Import(import::ImportArgs),
    /// Write a user's embedded calendar (and optionally the sent updates) to a folder.
    Export(import::ExportArgs),
    /// Show what a migration would change for a user, changing nothing.
    DryRun(dry_run::Args),
    /// Rewrite the online-meeting block of one invitation (.ics, or a bare HTML/text body).
    Rewrite(rewrite::Args),
    /// Check that files round-trip byte for byte through the line editor (test support).
    #[command(hide = true)]
    LinesRoundtrip(lines_roundtrip::Args),
}

fn main() -> ExitCode {
    // Before any connection, on the only thread: this process owns its SQLite.
    mms::store::sqlite::disable_sqlite_memory_statistics();
    let cli = Cli::parse();
    // Commands that work on files only, no store.
    if matches!(
        cli.command,
        Command::Rewrite(_) | Command::LinesRoundtrip(_)
    ) {
        return match cli.command {
            Command::Rewrite(a) => rewrite::run(a),
            Command::LinesRoundtrip(a) => lines_roundtrip::run(a),
            _ => ExitCode::FAILURE,
        };
    }
    let result = match &cli.command {
        Command::Demo(a) => demo::run(&cli, a),
        Command::Serve(a) => serve::run(&cli, a),
        Command::Status(a) => status::run(&cli, a),
        Command::Start(a) => start::run(&cli, a),
        Command::Config(c) => config::run(&cli, c),
        Command::User(c) => user::run(&cli, c),
        Command::Import(a) => import::run_import(&cli, a),
        Command::Export(a) => import::run_export(&cli, a),
        Command::DryRun(a) => dry_run::run(&cli, a),
        Command::Rewrite(_) | Command::LinesRoundtrip(_) => unreachable!("handled above"),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mms: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}
