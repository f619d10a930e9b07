//! Which meetings a migration touches, as plain functions over facts the calendar layer extracts.
//!
//! Each rule returns `Ok(())` when the meeting stays a candidate, or the `SkipReason` an admin sees
//! in the job's `LastMessage`. The calendar layer evaluates them in the order of [`RULE_ORDER`].

use crate::model::{clip_quoted, strip_prefix_ignore_ascii_case, MeetingCoordinates, MeetingKind};
use std::fmt;
use uuid::Uuid;

/// Microsoft: "meetings with more than 250 attendees (including the organizer) are not migrated".
pub const MAX_ATTENDEES_INCLUDING_ORGANIZER: usize = 250;

/// The order the calendar layer applies the rules in (cheapest and most common skips first).
pub const RULE_ORDER: &[&str] = &[
    "not_cancelled",
    "organizer_only",
    "attendee_limit",
    "future_only",
    "block_created_by_add_in",
    "already_up_to_date",
];

/// Why a meeting was left alone. `Display` is the admin-readable text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// Every instance ended before the migration ran.
    NotFuture,
    /// The user does not organize this meeting (they are an attendee, or it is someone else's).
    NotOrganizer { organizer: String },
    /// More than 250 attendees including the organizer.
    TooManyAttendees { count: usize },
    /// STATUS:CANCELLED or METHOD:CANCEL.
    Cancelled,
    /// The block already carries the organizer's current coordinates: nothing to send.
    AlreadyUpToDate,
    /// The block was not created by the add-in for this organizer.
    CopyPastedBlock { detail: String },
    /// No online-meeting block in the body.
    NoOnlineMeetingBlock,
    /// A consumer Teams (teams.live.com) meeting: not a tenant meeting.
    ConsumerTeamsMeeting,
    /// A Teams channel meeting: its join link belongs to the channel conversation.
    ChannelMeeting,
    /// The meeting's kind is not selected by `-SourceMeetingType`.
    KindNotSelected { kind: MeetingKind },
    /// `-TargetMeetingType Current` keeps the kind, but the new coordinates are of another kind.
    KindMismatch {
        meeting: MeetingKind,
        coordinates: MeetingKind,
    },
    /// The calendar object holds no meeting (VEVENT).
    NoMeeting,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::NotFuture => f.write_str("not a future meeting: every occurrence has ended"),
            SkipReason::NotOrganizer { organizer } => {
                let organizer = clip_quoted(organizer);
                write!(f, "not organized by the user (organizer is {organizer})")
            }
            SkipReason::TooManyAttendees { count } => write!(
                f,
                "more than {MAX_ATTENDEES_INCLUDING_ORGANIZER} attendees ({count} including the organizer)"
            ),
            SkipReason::Cancelled => f.write_str("meeting is cancelled"),
            SkipReason::AlreadyUpToDate => f.write_str("already up to date"),
            SkipReason::CopyPastedBlock { detail } => {
                write!(f, "copy-pasted block: {}", clip_quoted(detail))
            }
            SkipReason::NoOnlineMeetingBlock => f.write_str("no online meeting block"),
            SkipReason::ConsumerTeamsMeeting => {
                f.write_str("consumer Teams meeting (teams.live.com), not a tenant meeting")
            }
            SkipReason::ChannelMeeting => f.write_str(
                "Teams channel meeting: the join link belongs to the channel, not the organizer",
            ),
            SkipReason::KindNotSelected { kind } => {
                write!(f, "{kind} meeting not selected by SourceMeetingType")
            }
            SkipReason::KindMismatch { meeting, coordinates } => write!(
                f,
                "{meeting} meeting but the new coordinates are {coordinates} (TargetMeetingType Current keeps the kind)"
            ),
            SkipReason::NoMeeting => f.write_str("no meeting (VEVENT) in the calendar object"),
        }
    }
}

/// Strips a `mailto:` prefix (any case) and surrounding space.
pub fn calendar_address(value: &str) -> &str {
    let v = trim(value);
    strip_prefix_ignore_ascii_case(v, "mailto:").map_or(v, trim)
}

/// `str::trim`, without its Unicode walk when both ends are visible ASCII (every address the
/// calendars hold: an attendee's is compared several times per meeting).
fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(z)) if a.is_ascii_graphic() && z.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// Same mailbox? Addresses compare case-insensitively, with or without `mailto:`.
pub fn same_address(a: &str, b: &str) -> bool {
    calendar_address(a).eq_ignore_ascii_case(calendar_address(b))
}

/// Future only: a single meeting whose end is after now; a series with any occurrence (or
/// override) ending after now. The recurrence maths produces the boolean.
pub fn future_only(any_instance_ends_after_now: bool) -> Result<(), SkipReason> {
    if any_instance_ends_after_now {
        Ok(())
    } else {
        Err(SkipReason::NotFuture)
    }
}

/// Organizer only: the meeting's ORGANIZER is the user.
pub fn organizer_only(organizer_property: Option<&str>, user: &str) -> Result<(), SkipReason> {
    match organizer_property {
        Some(o) if same_address(o, user) => Ok(()),
        Some(o) => Err(SkipReason::NotOrganizer {
            organizer: calendar_address(o).to_string(),
        }),
        None => Err(SkipReason::NotOrganizer {
            organizer: "nobody (no ORGANIZER)".to_string(),
        }),
    }
}

/// More than 250 attendees including the organizer: skipped. `attendees` are the ATTENDEE
/// addresses; the organizer is counted once whether or not it is listed among them.
pub fn attendee_limit<A: AsRef<str>>(attendees: &[A], organizer: &str) -> Result<(), SkipReason> {
    if attendees.len() < MAX_ATTENDEES_INCLUDING_ORGANIZER {
        return Ok(()); // at most len + 1 distinct, counting the organizer
    }
    let mut distinct: Vec<String> = attendees
        .iter()
        .map(|a| calendar_address(a.as_ref()).to_ascii_lowercase())
        .filter(|a| !same_address(a, organizer))
        .collect();
    distinct.sort();
    distinct.dedup();
    let count = distinct.len() + 1;
    if count > MAX_ATTENDEES_INCLUDING_ORGANIZER {
        Err(SkipReason::TooManyAttendees { count })
    } else {
        Ok(())
    }
}

/// Cancelled meetings are skipped (STATUS:CANCELLED on the master, or a CANCEL message).
pub fn not_cancelled(status: Option<&str>, method: Option<&str>) -> Result<(), SkipReason> {
    let cancelled = status.is_some_and(|s| s.trim().eq_ignore_ascii_case("CANCELLED"))
        || method.is_some_and(|m| m.trim().eq_ignore_ascii_case("CANCEL"));
    if cancelled {
        Err(SkipReason::Cancelled)
    } else {
        Ok(())
    }
}

/// What the calendar layer learned about who a block belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockOwnership {
    /// The block has the add-in's structure (separators, a join link of a known kind, and for
    /// Skype the `[!OC(..)!]` marker or `OutJoinLink` anchor).
    pub has_add_in_structure: bool,
    /// Where the calendar names a join URL in X-MICROSOFT-* properties: does the block's agree?
    /// `None` when the calendar carries no such property (Outlook desktop exports).
    pub markers_agree: Option<bool>,
    /// Oid in the Teams join link's context.
    pub teams_context_oid: Option<Uuid>,
    /// The organizer's ObjectId, when known.
    pub organizer_object_id: Option<Uuid>,
    /// User part of a Skype meet URL (`https://meet.lync.com/<domain>/<user>/<id>`).
    pub skype_meet_user: Option<String>,
    /// The organizer's SIP user part, when known.
    pub organizer_sip_user: Option<String>,
}

/// Block created by the add-in: only the add-in's own blocks for this organizer are migrated;
/// anything else is a "copy-pasted block".
pub fn block_created_by_add_in(o: &BlockOwnership) -> Result<(), SkipReason> {
    let skip = |detail: &str| {
        Err(SkipReason::CopyPastedBlock {
            detail: detail.to_string(),
        })
    };
    if !o.has_add_in_structure {
        return skip("the block lacks the add-in's structure");
    }
    if o.markers_agree == Some(false) {
        return skip("the join link differs from the meeting's X-MICROSOFT properties");
    }
    if let (Some(block), Some(organizer)) = (o.teams_context_oid, o.organizer_object_id) {
        if block != organizer {
            return skip("the Teams join link belongs to another organizer");
        }
    }
    if let (Some(block), Some(organizer)) = (&o.skype_meet_user, &o.organizer_sip_user) {
        if !block.eq_ignore_ascii_case(organizer) {
            return skip("the Skype meeting link belongs to another organizer");
        }
    }
    Ok(())
}

/// What an existing block shows.
#[derive(Clone)]
pub struct ExistingBlock<'a> {
    pub kind: MeetingKind,
    pub join_urls: Vec<&'a str>,
    /// The block's visible text (for numbers and conference ID), made only when the kind and
    /// the join link already agree: a block whose link changed needs no text.
    pub text: &'a dyn Fn() -> String,
}

fn digits(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}

/// Already up to date: every block already carries the organizer's current coordinates (same
/// kind, join link, conference ID and dial-in numbers). Nothing is changed or sent, so re-runs
/// and retries never send attendees another round.
pub fn already_up_to_date(blocks: &[ExistingBlock], new: &MeetingCoordinates) -> bool {
    !blocks.is_empty()
        && blocks.iter().all(|b| {
            if b.kind != new.meeting_kind || !b.join_urls.iter().any(|u| *u == new.join_url) {
                return false;
            }
            let block_digits = digits(&(b.text)());
            (new.conference_id.is_empty() || block_digits.contains(&digits(&new.conference_id)))
                && new
                    .toll_numbers
                    .iter()
                    .chain(&new.toll_free_numbers)
                    .all(|n| block_digits.contains(&digits(&n.number)))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DialInNumber;

    #[test]
    fn organizer_only_reason_quotes_a_hostile_organizer_short() {
        // A calendar whose line breaks were mangled can run a whole body into ORGANIZER.
        let huge = format!("mailto:ashaw@contoso.com{}", "<p>text</p>".repeat(400));
        let shown = super::organizer_only(Some(&huge), "pat@contoso.com")
            .unwrap_err()
            .to_string();
        assert!(shown.len() < 300, "{} bytes", shown.len());
        assert!(
            shown.starts_with("not organized by the user (organizer is ashaw@contoso.com<p>"),
            "{shown}"
        );
        assert!(
            shown.ends_with(&format!("... ({} bytes))", huge.len() - 7)),
            "{shown}"
        );
        let detail = "x".repeat(10_000);
        let copied = SkipReason::CopyPastedBlock { detail }.to_string();
        assert!(copied.len() < 300, "{} bytes", copied.len());
    }

    #[test]
    fn addresses_with_multi_byte_characters_near_the_scheme_do_not_panic() {
        assert_eq!(
            calendar_address("\u{fffd}\u{fffd}\u{fffd}(mailto:a@b.c"),
            "\u{fffd}\u{fffd}\u{fffd}(mailto:a@b.c"
        );
        assert_eq!(calendar_address("MAILTO: a@b.c "), "a@b.c");
        assert_eq!(calendar_address("mailté:x"), "mailté:x");
        assert!(!same_address("\u{fffd}\u{fffd}mailto:a@b.c", "a@b.c"));
    }

    #[test]
    fn addresses_lose_any_unicode_space_around_them_and_after_the_scheme() {
        assert_eq!(
            calendar_address("\u{a0}mailto:\u{3000}a@b.c\u{2003}"),
            "a@b.c"
        );
        assert_eq!(calendar_address("\tmailto:a@b.c\r"), "a@b.c");
        assert_eq!(calendar_address("mailto:a@b.c"), "a@b.c");
        assert_eq!(calendar_address(" "), "");
        assert!(same_address("a@b.c\u{a0}", "MAILTO:A@B.C"));
    }

    fn coords() -> MeetingCoordinates {
        MeetingCoordinates {
            meeting_kind: MeetingKind::Teams,
            join_url: "https://teams.microsoft.com/l/meetup-join/x".into(),
            conference_id: "123456789".into(),
            toll_numbers: vec![DialInNumber {
                number: "+1 323-555-0166".into(),
                city: "Los Angeles".into(),
            }],
            toll_free_numbers: vec![],
            find_local_number_url: None,
            meeting_options_url: None,
        }
    }

    #[test]
    fn future_only() {
        assert_eq!(super::future_only(true), Ok(()));
        assert_eq!(super::future_only(false), Err(SkipReason::NotFuture));
    }

    #[test]
    fn organizer_only() {
        assert_eq!(
            super::organizer_only(Some("MAILTO:AShaw@Contoso.com"), "ashaw@contoso.com"),
            Ok(())
        );
        assert_eq!(
            super::organizer_only(Some("ashaw@contoso.com"), "mailto:ashaw@contoso.com"),
            Ok(())
        );
        let e = super::organizer_only(Some("mailto:boss@contoso.com"), "ashaw@contoso.com")
            .unwrap_err();
        assert!(e.to_string().contains("boss@contoso.com"), "{e}");
        assert!(super::organizer_only(None, "ashaw@contoso.com").is_err());
    }

    #[test]
    fn attendee_limit() {
        let org = "o@x.com";
        let mut a: Vec<String> = (0..249).map(|i| format!("mailto:a{i}@x.com")).collect();
        a.push("MAILTO:O@X.COM".into()); // the organizer listed as attendee counts once
        assert_eq!(super::attendee_limit(&a, org), Ok(()));
        a.push("mailto:a249@x.com".into());
        assert_eq!(
            super::attendee_limit(&a, org),
            Err(SkipReason::TooManyAttendees { count: 251 })
        );
        // Duplicates (different case) count once.
        a.push("mailto:A249@x.com".into());
        assert_eq!(
            super::attendee_limit(&a, org),
            Err(SkipReason::TooManyAttendees { count: 251 })
        );
    }

    #[test]
    fn not_cancelled() {
        assert_eq!(
            super::not_cancelled(Some("CONFIRMED"), Some("REQUEST")),
            Ok(())
        );
        assert_eq!(
            super::not_cancelled(Some("cancelled"), None),
            Err(SkipReason::Cancelled)
        );
        assert_eq!(
            super::not_cancelled(None, Some("CANCEL")),
            Err(SkipReason::Cancelled)
        );
        assert_eq!(super::not_cancelled(None, None), Ok(()));
    }

    #[test]
    fn block_created_by_add_in() {
        let oid = Uuid::from_u128(7);
        let good = BlockOwnership {
            has_add_in_structure: true,
            markers_agree: Some(true),
            teams_context_oid: Some(oid),
            organizer_object_id: Some(oid),
            ..Default::default()
        };
        assert_eq!(super::block_created_by_add_in(&good), Ok(()));
        let other = BlockOwnership {
            teams_context_oid: Some(Uuid::from_u128(8)),
            ..good.clone()
        };
        let e = super::block_created_by_add_in(&other).unwrap_err();
        assert!(e.to_string().starts_with("copy-pasted block"), "{e}");
        let disagree = BlockOwnership {
            markers_agree: Some(false),
            ..good.clone()
        };
        assert!(super::block_created_by_add_in(&disagree).is_err());
        let unstructured = BlockOwnership {
            has_add_in_structure: false,
            ..good.clone()
        };
        assert!(super::block_created_by_add_in(&unstructured).is_err());
        let skype = BlockOwnership {
            has_add_in_structure: true,
            skype_meet_user: Some("jaiello".into()),
            organizer_sip_user: Some("someoneelse".into()),
            ..Default::default()
        };
        assert!(super::block_created_by_add_in(&skype).is_err());
        let skype_ok = BlockOwnership {
            organizer_sip_user: Some("JAiello".into()),
            ..skype
        };
        assert_eq!(super::block_created_by_add_in(&skype_ok), Ok(()));
    }

    #[test]
    fn already_up_to_date() {
        let c = coords();
        let text =
            "Join<...>\n+1 323-555-0166,,123456789# Los Angeles\nPhone conference ID: 123 456 789#";
        let same = ExistingBlock {
            kind: MeetingKind::Teams,
            join_urls: vec![c.join_url.as_str()],
            text: &|| text.to_string(),
        };
        assert!(super::already_up_to_date(std::slice::from_ref(&same), &c));
        assert_eq!(
            SkipReason::AlreadyUpToDate.to_string(),
            "already up to date"
        );
        let old_text = || {
            text.replace("123 456 789", "999 456 789")
                .replace("123456789", "1")
        };
        let old_id = ExistingBlock {
            text: &old_text,
            ..same.clone()
        };
        assert!(!super::already_up_to_date(&[same.clone(), old_id], &c));
        // A block whose join link changed is judged without its text.
        let unread = || -> String { panic!("text of a block whose link changed") };
        let moved = ExistingBlock {
            join_urls: vec!["https://teams.microsoft.com/l/meetup-join/other"],
            text: &unread,
            ..same.clone()
        };
        assert!(!super::already_up_to_date(&[moved], &c));
        let skype = ExistingBlock {
            kind: MeetingKind::SkypeForBusiness,
            ..same.clone()
        };
        assert!(!super::already_up_to_date(&[skype], &c));
        assert!(!super::already_up_to_date(&[], &c));
    }

    #[test]
    fn every_skip_reason_reads_as_text() {
        for r in [
            SkipReason::NotFuture,
            SkipReason::Cancelled,
            SkipReason::NoOnlineMeetingBlock,
            SkipReason::ConsumerTeamsMeeting,
            SkipReason::ChannelMeeting,
            SkipReason::NoMeeting,
            SkipReason::KindNotSelected {
                kind: MeetingKind::Teams,
            },
        ] {
            assert!(r.to_string().len() > 10, "{r:?}");
        }
    }
}
