//! The embedded (default) transports: calendars kept in the SQLite store, and an outbox that
//! drops each update into the store's mail table instead of an SMTP server.
//!
//! Each opens its own connection to the store file (WAL: readers and the one writer at a time
//! share it with the job store, the CLI and other workers).

use super::delivery::{DeliveryError, DeliveryReport, InviteDelivery};
use super::source::{CalendarObject, CalendarRef, CalendarSource, PutOutcome, SourceError};
use crate::store::calendars;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use std::path::Path;
use std::rc::Rc;

/// Opens a connection to the store file for the calendar and outbox tables. The schema must
/// exist already: open an [`super::Engine`] on the same path first (it runs the migrations).
pub fn open_connection(path: &Path) -> Result<Connection, String> {
    let conn = Connection::open(path)
        .map_err(|e| format!("cannot open the store {}: {e}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| format!("cannot configure the store: {e}"))?;
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
        .map_err(|e| format!("cannot configure the store: {e}"))?;
    Ok(conn)
}

/// One connection for the worker's journal and the embedded calendars and outbox: pass it to
/// [`EmbeddedCalendarSource::sharing`], [`EmbeddedOutbox::sharing`] and
/// [`super::worker::Worker::new`]. The worker then commits a batch of meetings (calendar write,
/// outbox record, delivery, progress) in one transaction instead of several per meeting; a crash
/// rolls the whole batch back, deliveries included, and the resumed job redoes it.
pub fn embedded_worker_connection(path: &Path) -> Result<Rc<Connection>, String> {
    let conn = open_connection(path)?;
    // A batch holds a few MB of new pages (invitations, recorded and delivered mail): a page
    // cache that holds them all spares writing them to the WAL twice (spill, then commit).
    conn.execute_batch("PRAGMA cache_size = -32768;")
        .map_err(|e| format!("cannot configure the store: {e}"))?;
    Ok(Rc::new(conn))
}

/// Copies the store's WAL back into the database file on a thread of its own while a
/// group-commit worker runs (the checkpoint reads and rewrites every page a batch wrote; done
/// by SQLite's autocheckpoint it would run on the worker's thread at every commit). The journal
/// connection's autocheckpoint is off while this lives and back on when it is dropped; other
/// connections keep theirs, and two checkpoints never run at once (SQLite's checkpoint lock).
pub struct WalCheckpointer {
    journal: Rc<Connection>,
    wake: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WalCheckpointer {
    /// Starts the checkpoint thread for the journal's file. `None` for a store without a file
    /// (in memory) or one that cannot be opened again: SQLite's autocheckpoint then stays on.
    pub fn start(journal: &Rc<Connection>) -> Option<Self> {
        let path = journal.path().filter(|p| !p.as_os_str().is_empty())?;
        let conn = open_connection(path).ok()?;
        journal
            .execute_batch("PRAGMA wal_autocheckpoint = 0")
            .ok()?;
        let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("mms-wal-checkpoint".into())
            .spawn(move || {
                while woken.recv().is_ok() {
                    // PASSIVE: copies what no reader still needs, never waits for anyone. A
                    // failure (busy, I/O) leaves the WAL longer until the next try.
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .ok();
        let Some(thread) = thread else {
            let _ = journal.execute_batch("PRAGMA wal_autocheckpoint = 1000");
            return None;
        };
        Some(WalCheckpointer {
            journal: journal.clone(),
            wake: Some(wake),
            thread: Some(thread),
        })
    }

    /// Asks for a checkpoint (after a commit). Never blocks: one pending request is enough.
    pub fn request(&self) {
        if let Some(w) = &self.wake {
            let _ = w.try_send(());
        }
    }
}

impl Drop for WalCheckpointer {
    fn drop(&mut self) {
        drop(self.wake.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // SQLite's default, for whoever goes on using the connection.
        let _ = self
            .journal
            .execute_batch("PRAGMA wal_autocheckpoint = 1000");
    }
}

/// Whether a store failure can clear by itself or by an admin's fix while the retries run: a
/// locked or busy database, a read-only or full one, an I/O error. Anything else (a corrupt
/// record, a constraint) will not.
fn store_failure_is_transient(e: &calendars::CalendarStoreError) -> bool {
    ["locked", "busy", "readonly", "is full", "disk I/O"]
        .iter()
        .any(|m| e.0.contains(m))
}

fn store_error(e: calendars::CalendarStoreError) -> SourceError {
    if store_failure_is_transient(&e) {
        SourceError::transient(e.to_string())
    } else {
        SourceError::permanent(e.to_string())
    }
}

/// Calendars kept in the SQLite store (`mms import` fills them).
pub struct EmbeddedCalendarSource {
    conn: Rc<Connection>,
}

impl EmbeddedCalendarSource {
    pub fn new(conn: Connection) -> Self {
        EmbeddedCalendarSource::sharing(Rc::new(conn))
    }

    /// Over a connection shared with the worker's journal (see [`embedded_worker_connection`]).
    pub fn sharing(conn: Rc<Connection>) -> Self {
        EmbeddedCalendarSource { conn }
    }

    pub fn open(path: &Path) -> Result<Self, String> {
        Ok(EmbeddedCalendarSource::new(open_connection(path)?))
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

fn to_object(o: calendars::StoredCalendarObject) -> CalendarObject {
    CalendarObject {
        href: o.href,
        etag: calendars::etag_of(o.version),
        data: o.data,
    }
}

impl CalendarSource for EmbeddedCalendarSource {
    fn calendars(&self, user: &str) -> Result<Vec<CalendarRef>, SourceError> {
        Ok(calendars::calendars_of(&self.conn, user)
            .map_err(store_error)?
            .into_iter()
            .map(|c| CalendarRef {
                id: format!("{}/{c}", calendars::user_key(user)),
                display_name: Some(c),
            })
            .collect())
    }

    /// Every object of the calendar: a superset of the future ones (the calendar layer decides
    /// per object, with full recurrence evaluation).
    fn list_future_objects(
        &self,
        calendar: &CalendarRef,
        _now: DateTime<Utc>,
    ) -> Result<Vec<CalendarObject>, SourceError> {
        let (user, name) = calendar
            .id
            .rsplit_once('/')
            .ok_or_else(|| SourceError::permanent(format!("bad calendar id {}", calendar.id)))?;
        Ok(calendars::objects_of(&self.conn, user, name)
            .map_err(store_error)?
            .into_iter()
            .map(to_object)
            .collect())
    }

    fn get(&self, href: &str) -> Result<Option<CalendarObject>, SourceError> {
        Ok(calendars::object(&self.conn, href)
            .map_err(store_error)?
            .map(to_object))
    }

    fn commits_with(&self, journal: &Connection) -> bool {
        std::ptr::eq(&*self.conn, journal)
    }

    fn put(&self, href: &str, data: &[u8], if_match: &str) -> Result<PutOutcome, SourceError> {
        let Ok(version) = if_match.trim_matches('"').parse::<i64>() else {
            return Ok(PutOutcome::Conflict);
        };
        match calendars::put_object_if(&self.conn, href, data, version, Utc::now())
            .map_err(store_error)?
        {
            Some(v) => Ok(PutOutcome::Stored {
                etag: calendars::etag_of(v),
            }),
            None => Ok(PutOutcome::Conflict),
        }
    }
}

/// Delivery into the store's mail table: every attendee's copy, queryable by tests and
/// `mms export`. Accepts every recipient.
pub struct EmbeddedOutbox {
    conn: Rc<Connection>,
}

impl EmbeddedOutbox {
    pub fn new(conn: Connection) -> Self {
        EmbeddedOutbox::sharing(Rc::new(conn))
    }

    /// Over a connection shared with the worker's journal (see [`embedded_worker_connection`]).
    pub fn sharing(conn: Rc<Connection>) -> Self {
        EmbeddedOutbox { conn }
    }

    pub fn open(path: &Path) -> Result<Self, String> {
        Ok(EmbeddedOutbox::new(open_connection(path)?))
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl InviteDelivery for EmbeddedOutbox {
    fn commits_with(&self, journal: &Connection) -> bool {
        std::ptr::eq(&*self.conn, journal)
    }

    fn send(
        &self,
        message_id: &str,
        _envelope_from: &str,
        recipients: &[String],
        rfc822: &[u8],
    ) -> Result<DeliveryReport, DeliveryError> {
        if recipients.is_empty() {
            return Err(DeliveryError::permanent("no recipients"));
        }
        let row = calendars::deliver_mail(&self.conn, message_id, recipients, rfc822, Utc::now())
            .map_err(|e| {
            if store_failure_is_transient(&e) {
                DeliveryError::transient(e.to_string())
            } else {
                DeliveryError::permanent(e.to_string())
            }
        })?;
        Ok(DeliveryReport {
            accepted: recipients.to_vec(),
            rejected: Vec::new(),
            mail_drop_row: Some(row),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> EmbeddedCalendarSource {
        let c = Connection::open_in_memory().unwrap();
        for m in crate::store::schema::MIGRATIONS {
            c.execute_batch(m.sql).unwrap();
        }
        EmbeddedCalendarSource::new(c)
    }

    #[test]
    fn a_read_only_or_full_store_is_transient_a_corrupt_record_is_not() {
        let e = |m: &str| calendars::CalendarStoreError(m.to_string());
        for m in [
            "attempt to write a readonly database",
            "database or disk is full",
            "database is locked",
            "disk I/O error",
        ] {
            assert!(store_failure_is_transient(&e(m)), "{m}");
            assert!(store_error(e(m)).is_transient(), "{m}");
        }
        assert!(!store_failure_is_transient(&e(
            "corrupt record: expected value"
        )));
        assert!(!store_failure_is_transient(&e("stored successfully")));
    }

    #[test]
    fn embedded_source_lists_gets_and_puts_with_if_match() {
        let s = source();
        let now = Utc::now();
        calendars::import_object(
            s.connection(),
            "a@x.com",
            "calendar",
            "1.ics",
            "u1",
            b"one",
            now,
        )
        .unwrap();
        let cals = s.calendars("A@X.com").unwrap();
        assert_eq!(cals.len(), 1);
        let objs = s.list_future_objects(&cals[0], now).unwrap();
        assert_eq!(objs.len(), 1);
        let o = &objs[0];
        let stored = s.put(&o.href, b"two", &o.etag).unwrap();
        assert!(matches!(stored, PutOutcome::Stored { .. }));
        assert_eq!(
            s.put(&o.href, b"three", &o.etag).unwrap(),
            PutOutcome::Conflict
        );
        assert_eq!(s.get(&o.href).unwrap().unwrap().data, b"two");
        assert_eq!(s.get("nope").unwrap(), None);
    }
}
