//! `mms rewrite INPUT --organizer ADDRESS --coordinates COORDS.json [--target Current|Teams]
//! [--source All|SfB|Teams] [--now RFC3339] [--itip | --diff]`
//!
//! Writes the organizer's rewritten copy (or, with `--itip`, the METHOD:REQUEST; with `--diff`,
//! the dry-run diff) to stdout. Exit codes: 0 rewritten, 3 skipped (reason on stderr),
//! 2 bad input (readable error on stderr). A bare HTML or text body (not a calendar) is
//! detected by content and only its block is rewritten.

use mms::calendar::{
    dry_run_diff, rewrite_body, rewrite_calendar_object, BodyRewrite, RewriteOutcome,
    RewriteRequest,
};
use mms::model::{MeetingCoordinates, SourceMeetingType, TargetMeetingType};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status of a skipped meeting.
pub const EXIT_SKIPPED: u8 = 3;
/// Exit status of bad input.
pub const EXIT_BAD_INPUT: u8 = 2;

#[derive(clap::Args)]
pub struct Args {
    /// The invitation: an .ics calendar object, or a bare HTML/text body.
    input: PathBuf,
    /// The organizer's address (mailto: optional).
    #[arg(long)]
    organizer: String,
    /// JSON file with the organizer's new coordinates (camelCase keys).
    #[arg(long)]
    coordinates: PathBuf,
    /// Keep each meeting's kind (Current) or convert Skype meetings to Teams.
    #[arg(long, default_value = "Current")]
    target: TargetMeetingType,
    /// Which meeting kinds are candidates.
    #[arg(long, default_value = "All")]
    source: SourceMeetingType,
    /// "Now" for the future-only rule (RFC 3339); defaults to the current time.
    #[arg(long)]
    now: Option<String>,
    /// The organizer's ObjectId (a Teams block naming another Oid is skipped).
    #[arg(long)]
    organizer_object_id: Option<uuid::Uuid>,
    /// The organizer's SIP address (a Skype block naming another user is skipped).
    #[arg(long)]
    organizer_sip: Option<String>,
    /// The mailbox sending on the organizer's behalf (ORGANIZER;SENT-BY in the REQUEST).
    #[arg(long)]
    sent_by: Option<String>,
    /// Print the iTIP METHOD:REQUEST instead of the organizer copy.
    #[arg(long, conflicts_with = "diff")]
    itip: bool,
    /// Print a unified diff of the bodies before and after (dry run).
    #[arg(long)]
    diff: bool,
}

fn bad(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("mms rewrite: {msg}");
    ExitCode::from(EXIT_BAD_INPUT)
}

fn looks_like_calendar(bytes: &[u8]) -> bool {
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    b[start..].len() >= 6 && b[start..start + 6].eq_ignore_ascii_case(b"BEGIN:")
}

pub fn run(a: Args) -> ExitCode {
    let input = match std::fs::read(&a.input) {
        Ok(b) => b,
        Err(e) => return bad(format!("cannot read {}: {e}", a.input.display())),
    };
    let coords_text = match std::fs::read_to_string(&a.coordinates) {
        Ok(t) => t,
        Err(e) => return bad(format!("cannot read {}: {e}", a.coordinates.display())),
    };
    let coordinates: MeetingCoordinates = match serde_json::from_str(&coords_text) {
        Ok(c) => c,
        Err(e) => return bad(format!("{}: {e}", a.coordinates.display())),
    };
    let now = match &a.now {
        Some(s) => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(t) => t.with_timezone(&chrono::Utc),
            Err(e) => return bad(format!("--now '{s}': {e}")),
        },
        None => chrono::Utc::now(),
    };
    let organizer = mms::rules::eligibility::calendar_address(&a.organizer).to_string();
    let req = RewriteRequest {
        organizer: &organizer,
        organizer_object_id: a.organizer_object_id,
        organizer_sip_address: a.organizer_sip.as_deref(),
        coordinates: &coordinates,
        source: a.source,
        target: a.target,
        now,
        sent_by: a.sent_by.as_deref(),
    };
    let mut stdout = std::io::stdout().lock();
    if !looks_like_calendar(&input) {
        return match rewrite_body(&input, &req) {
            Ok(BodyRewrite::Rewritten(out)) => write_out(&mut stdout, &out),
            Ok(BodyRewrite::Skipped(r)) => skipped(r),
            Err(e) => bad(format!("{}: {e}", a.input.display())),
        };
    }
    if a.diff {
        return match dry_run_diff(&input, &req) {
            Ok(d) => write_out(&mut stdout, d.as_bytes()),
            Err(e) => bad(format!("{}: {e}", a.input.display())),
        };
    }
    match rewrite_calendar_object(&input, &req) {
        Ok(RewriteOutcome::Rewritten(m)) => {
            let out = if a.itip {
                &m.itip_request
            } else {
                &m.organizer_copy
            };
            write_out(&mut stdout, out)
        }
        Ok(RewriteOutcome::Skipped(r)) => skipped(r),
        Err(e) => bad(format!("{}: {e}", a.input.display())),
    }
}

fn skipped(r: mms::calendar::SkipReason) -> ExitCode {
    eprintln!("skipped: {r}");
    ExitCode::from(EXIT_SKIPPED)
}

fn write_out(w: &mut impl Write, bytes: &[u8]) -> ExitCode {
    match w.write_all(bytes).and_then(|_| w.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => bad(format!("cannot write output: {e}")),
    }
}
