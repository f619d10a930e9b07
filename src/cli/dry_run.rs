//! `mms dry-run`: what a migration would change for a user, changing and sending nothing.

use crate::common::{open_engine, CliError, CliResult};
use crate::serve::transports;
use crate::Cli;
use mms::calendar::{dry_run_diff, rewrite_calendar_object, RewriteOutcome, RewriteRequest};
use mms::model::{SourceMeetingType, TargetMeetingType};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The organizer: UPN, SIP address, ObjectId or display name.
    pub identity: String,
    #[arg(long, default_value = "All")]
    pub source: SourceMeetingType,
    #[arg(long, default_value = "Current")]
    pub target: TargetMeetingType,
    /// Read the calendar from this CalDAV server instead of the embedded store.
    #[arg(long, value_name = "URL")]
    pub caldav: Option<String>,
}

pub fn run(cli: &Cli, a: &Args) -> CliResult {
    let (engine, path) = open_engine(cli)?;
    let user = engine.user(&a.identity)?;
    let coordinates = engine.meeting_coordinates(&user.object_id.to_string())?;
    let (caldav, _) = crate::serve::transport_choice(a.caldav.as_deref(), None);
    let (source, _) = transports(&path, None, caldav.as_deref(), None)?;
    let now = engine.now();
    let objects = source
        .future_objects_of(&user.user_principal_name, now)
        .map_err(|e| CliError::failure(format!("cannot read the calendar: {e}")))?;
    let req = RewriteRequest {
        organizer: &user.user_principal_name,
        organizer_object_id: Some(user.object_id),
        organizer_sip_address: Some(&user.sip_address),
        coordinates: &coordinates,
        source: a.source,
        target: a.target,
        now,
        sent_by: None,
    };
    let (mut would, mut skipped, mut errors) = (0, 0, 0);
    for o in &objects {
        match rewrite_calendar_object(&o.data, &req) {
            Ok(RewriteOutcome::Rewritten(m)) => {
                would += 1;
                println!(
                    "=== {} — would update '{}' (SEQUENCE {}, {} attendee(s))",
                    o.href,
                    m.summary,
                    m.sequence,
                    m.attendees.len()
                );
                match dry_run_diff(&o.data, &req) {
                    Ok(d) => println!("{d}"),
                    Err(e) => println!("(no diff: {e})"),
                }
            }
            Ok(RewriteOutcome::Skipped(r)) => {
                skipped += 1;
                println!("=== {} — skipped: {r}", o.href);
            }
            Err(e) => {
                errors += 1;
                println!("=== {} — error: {e}", o.href);
            }
        }
    }
    eprintln!("{would} meeting(s) would be updated, {skipped} skipped, {errors} error(s); nothing was written or sent");
    Ok(ExitCode::SUCCESS)
}
