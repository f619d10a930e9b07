//! Persistence behind traits: SQLite (embedded default) now, PostgreSQL later.

pub mod calendars;
