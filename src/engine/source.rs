//! Where the organizer's meetings live: the `CalendarSource` trait the worker drives, with two
//! implementations (the embedded SQLite calendars and CalDAV, `super::caldav`).
//!
//! The worker's loop over one organizer is:
//! 1. `calendars(user)` → the calendars that can hold events;
//! 2. `list_future_objects(calendar, now)` → every calendar object (whole resource: master and
//!    overrides) with an instance ending after `now`. A source may return more than that (a
//!    superset is safe: the calendar layer decides per object), never less;
//! 3. rewrite the object's bytes, then `put(href, bytes, &etag)`;
//! 4. on [`PutOutcome::Conflict`] someone changed the object since we read it: `get(href)`,
//!    re-apply the rewrite (which recognises an already-rewritten object) and `put` again,
//!    a bounded number of times.
//!
//! Errors say whether trying again later can help ([`FailureKind`]), which is what the job's
//! backoff schedule needs.

use chrono::{DateTime, Utc};
use std::fmt;

/// Whether a failure can go away by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// Retry on the job's backoff schedule: connection refused or reset, timeouts, HTTP 5xx,
    /// 408, 429, SMTP 4xx.
    Transient,
    /// Retrying the same request will fail the same way: HTTP 4xx (except 408/409/412/429),
    /// malformed or oversized responses, SMTP 5xx, bad configuration.
    Permanent,
}

impl FailureKind {
    pub fn is_transient(self) -> bool {
        self == FailureKind::Transient
    }
}

/// A calendar collection of one user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarRef {
    /// Source-specific identity: the collection URL path for CalDAV (`/alice/cal/`), the
    /// calendar's key in the embedded store.
    pub id: String,
    pub display_name: Option<String>,
}

/// One calendar object resource: one UID, master plus its overrides.
#[derive(Clone, PartialEq, Eq)]
pub struct CalendarObject {
    /// Source-specific identity of the object: the resource path for CalDAV
    /// (`/alice/cal/ev.ics`), the object's key in the embedded store. Pass it back unchanged.
    pub href: String,
    /// The entity tag to send back as If-Match, exactly as the source gave it (quotes included
    /// for CalDAV).
    pub etag: String,
    /// The iCalendar bytes as the source stores them.
    pub data: Vec<u8>,
}

impl fmt::Debug for CalendarObject {
    // The bytes can be megabytes; show their size, not their content.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CalendarObject")
            .field("href", &self.href)
            .field("etag", &self.etag)
            .field("data_len", &self.data.len())
            .finish()
    }
}

/// The result of a conditional write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// Written. `etag` is the object's new entity tag (for CalDAV: from the PUT response, or
    /// re-fetched when the server sent none).
    Stored { etag: String },
    /// The object changed (or vanished) since `if_match` was read (HTTP 412, or 409): fetch it
    /// again, re-apply the rewrite and retry.
    Conflict,
}

/// A failed source operation: what was attempted, why it failed, and whether retrying can
/// help. The message never contains a credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceError {
    pub kind: FailureKind,
    /// HTTP status when the server answered with one.
    pub status: Option<u16>,
    pub message: String,
}

impl SourceError {
    pub fn transient(message: impl Into<String>) -> Self {
        SourceError {
            kind: FailureKind::Transient,
            status: None,
            message: message.into(),
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        SourceError {
            kind: FailureKind::Permanent,
            status: None,
            message: message.into(),
        }
    }

    /// Classifies an HTTP error status (anything the operation did not expect).
    pub fn from_status(status: u16, message: impl Into<String>) -> Self {
        SourceError {
            kind: classify_http_status(status),
            status: Some(status),
            message: message.into(),
        }
    }

    pub fn is_transient(&self) -> bool {
        self.kind.is_transient()
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SourceError {}

/// Transient: 408 Request Timeout, 409/412 (state that changes under us), 429 Too Many
/// Requests and 5xx except 501/505 (the server will never support the request). Everything
/// else the caller did not expect is permanent.
pub fn classify_http_status(status: u16) -> FailureKind {
    match status {
        408 | 409 | 412 | 429 => FailureKind::Transient,
        501 | 505 => FailureKind::Permanent,
        500..=599 => FailureKind::Transient,
        _ => FailureKind::Permanent,
    }
}

/// The organizer's calendars, read and written with optimistic concurrency.
///
/// Methods take `&self` so one source can serve a worker loop without exclusive borrows;
/// implementations keep their own connection state (an HTTP agent, a store handle).
pub trait CalendarSource {
    /// The calendars of `user` (the organizer's address, no `mailto:`) that can hold events.
    fn calendars(&self, user: &str) -> Result<Vec<CalendarRef>, SourceError>;

    /// Every object in `calendar` that has an event instance ending after `now`, whole (master
    /// and overrides, recurrences not expanded). A superset is allowed; nothing may be missing.
    fn list_future_objects(
        &self,
        calendar: &CalendarRef,
        now: DateTime<Utc>,
    ) -> Result<Vec<CalendarObject>, SourceError>;

    /// The object at `href` as stored now, or `None` when it no longer exists.
    fn get(&self, href: &str) -> Result<Option<CalendarObject>, SourceError>;

    /// Replaces the object at `href` with `data` if its entity tag is still `if_match`.
    fn put(&self, href: &str, data: &[u8], if_match: &str) -> Result<PutOutcome, SourceError>;

    /// Whether this source writes through `journal` itself (the same SQLite connection as the
    /// worker's outbox and progress), so its writes commit and roll back together with them and
    /// the worker may commit many meetings at once. Never true for a remote source.
    fn commits_with(&self, _journal: &rusqlite::Connection) -> bool {
        false
    }

    /// All future objects of all of `user`'s calendars, in calendar order.
    fn future_objects_of(
        &self,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<CalendarObject>, SourceError> {
        let mut all = Vec::new();
        for calendar in self.calendars(user)? {
            all.extend(self.list_future_objects(&calendar, now)?);
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_status_classification() {
        for s in [408, 409, 412, 429, 500, 502, 503, 504, 599] {
            assert_eq!(classify_http_status(s), FailureKind::Transient, "{s}");
        }
        for s in [300, 301, 400, 401, 403, 404, 405, 410, 413, 415, 501, 505] {
            assert_eq!(classify_http_status(s), FailureKind::Permanent, "{s}");
        }
    }

    #[test]
    fn calendar_object_debug_hides_the_bytes() {
        let o = CalendarObject {
            href: "/a/c/x.ics".into(),
            etag: "\"1\"".into(),
            data: b"BEGIN:VCALENDAR secret-ish body".to_vec(),
        };
        let shown = format!("{o:?}");
        assert!(shown.contains("data_len"));
        assert!(!shown.contains("BEGIN:VCALENDAR"));
    }
}
