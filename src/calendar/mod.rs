//! Calendar text work: RFC 5545 line editor, online-meeting block find/replace, recurrence,
//! iTIP/iMIP composition. Edits lines; never re-serializes a calendar. No store access.

pub mod recur;
pub mod tz;
