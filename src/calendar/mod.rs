//! Calendar text work: RFC 5545 line editor, online-meeting block find/replace, recurrence,
//! iTIP/iMIP composition. Edits lines; never re-serializes a calendar. No store access.
//!
//! The worker calls [`rewrite_calendar_object`] per meeting, stores `organizer_copy` back,
//! and mails [`compose_imip`]'s message to the attendees. [`dry_run_diff`] shows what would
//! change without changing anything.

pub mod base64;
pub mod block;
pub mod imip;
pub mod itip;
pub mod lines;
pub mod recur;
pub mod render;
pub mod rewrite;
pub mod schedule;
pub mod tz;

use crate::model::{clip_quoted, MeetingCoordinates, SourceMeetingType, TargetMeetingType};
pub use crate::rules::eligibility::SkipReason;
pub use imip::compose_imip;
pub use rewrite::{dry_run_diff, rewrite_body, rewrite_calendar_object, BodyRewrite};
use std::fmt;

/// One meeting to migrate, and for whom.
#[derive(Debug, Clone)]
pub struct RewriteRequest<'a> {
    /// The organizer's address, e.g. `ashaw@contoso.com` (no `mailto:`).
    pub organizer: &'a str,
    /// The organizer's ObjectId: a Teams block whose join context names another Oid is skipped.
    pub organizer_object_id: Option<uuid::Uuid>,
    /// The organizer's SIP address (without `sip:`): a Skype block whose meet URL names another
    /// user is skipped. `None` when unknown.
    pub organizer_sip_address: Option<&'a str>,
    /// The organizer's NEW coordinates.
    pub coordinates: &'a MeetingCoordinates,
    /// Which meeting kinds are candidates.
    pub source: SourceMeetingType,
    /// Keep each meeting's kind, or convert Skype meetings to Teams.
    pub target: TargetMeetingType,
    pub now: chrono::DateTime<chrono::Utc>,
    /// The mailbox sending on the organizer's behalf (SENT-BY), when it is not the organizer.
    pub sent_by: Option<&'a str>,
}

/// The result for one meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RewriteOutcome {
    Rewritten(RewrittenMeeting),
    Skipped(SkipReason),
}

/// A rewritten meeting: what to store back and what to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewrittenMeeting {
    pub uid: String,
    /// The new SEQUENCE of the master (or of the first component when there is no master).
    pub sequence: u32,
    /// The calendar object to store back: block replaced, SEQUENCE raised, PARTSTATs kept.
    pub organizer_copy: Vec<u8>,
    /// The METHOD:REQUEST calendar sent to attendees (master and overrides together).
    pub itip_request: Vec<u8>,
    /// Attendee addresses (no `mailto:`), organizer excluded, deduplicated.
    pub attendees: Vec<String>,
    /// The meeting's SUMMARY (TEXT-unescaped).
    pub summary: String,
    /// The organizer's address (no `mailto:`) and display name (CN), for From.
    pub organizer: String,
    pub organizer_name: Option<String>,
    /// The new block as plain text and as HTML, for the iMIP text/plain and text/html parts.
    pub body_text: String,
    pub body_html: String,
}

/// A calendar that cannot be processed, with a reason an admin can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalendarError {
    /// Structurally broken iCalendar (missing END, bad fold, not a calendar at all).
    Malformed { line: usize, message: String },
    /// A property we must change is not valid UTF-8.
    InvalidUtf8 { line: usize, property: String },
    /// The calendar object holds several different meetings (UIDs).
    SeveralMeetings { uids: usize },
    /// The coordinates cannot be rendered safely (bad URL, wrong kind for the target).
    InvalidCoordinates(String),
    /// Recurrence data that cannot be evaluated.
    Recurrence(String),
}

impl fmt::Display for CalendarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CalendarError::Malformed { line, message } => {
                write!(
                    f,
                    "malformed calendar at line {line}: {}",
                    clip_quoted(message)
                )
            }
            CalendarError::InvalidUtf8 { line, property } => {
                write!(
                    f,
                    "{} at line {line} is not valid UTF-8",
                    clip_quoted(property)
                )
            }
            CalendarError::SeveralMeetings { uids } => write!(
                f,
                "the calendar object holds {uids} different meetings (UIDs); expected one"
            ),
            CalendarError::InvalidCoordinates(m) => {
                write!(f, "invalid coordinates: {}", clip_quoted(m))
            }
            CalendarError::Recurrence(m) => {
                write!(f, "recurrence cannot be evaluated: {}", clip_quoted(m))
            }
        }
    }
}

impl std::error::Error for CalendarError {}

#[cfg(test)]
mod error_tests {
    use super::*;

    #[test]
    fn errors_quoting_huge_input_stay_short() {
        let e = CalendarError::Malformed {
            line: 3,
            message: format!("END:{} without BEGIN", "X".repeat(1_000_000)),
        };
        let shown = e.to_string();
        assert!(shown.len() < 300, "{}", shown.len());
        assert!(shown.starts_with("malformed calendar at line 3: END:XXX"));
        assert!(shown.ends_with("(1000018 bytes)"), "{shown}");
        let short = CalendarError::Recurrence("é".repeat(200));
        assert_eq!(
            short.to_string(),
            format!("recurrence cannot be evaluated: {}", "é".repeat(200))
        );
    }
}
