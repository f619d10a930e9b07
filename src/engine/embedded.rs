//! The embedded (default) transports: calendars kept in the SQLite store, and an outbox that
//! drops each update into the store's mail table instead of an SMTP server.
//!
//! Each opens its own connection to the store file (WAL: readers and the one writer at a time
//! share it with the job store, the CLI and other workers).

use super::delivery::{DeliveryError, DeliveryReport, InviteDelivery};
use super::source::{CalendarObject, CalendarRef, CalendarSource, PutOutcome, SourceError};
use crate::store::calendars;
use crate::store::mail_spool::MailSpool;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use std::cell::OnceCell;
use std::path::Path;
use std::rc::Rc;
use std::sync::{Arc, Condvar, Mutex};

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
    // Each meeting is a savepoint inside the batch: SQLite saves the pages it touches that the
    // batch had already changed (the shared leaf pages of the appended tables, 16 KiB each) in a
    // sub-journal. Spilled to a temporary file past 64 KiB, that was 6 pages of file writes per
    // meeting, more than the meeting's own; held in memory it is emptied at every RELEASE.
    conn.execute_batch("PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY;")
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
    settle_after_frames: i64,
    shared: Arc<(Mutex<CheckpointState>, Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct CheckpointState {
    /// Checkpoints asked for and done (a done one covers every request made before it began).
    requested: u64,
    done: u64,
    /// Frames in the WAL after the last checkpoint.
    wal_frames: i64,
    stop: bool,
}

/// The WAL starts again from its beginning only when a write begins with every frame copied
/// back. A checkpoint running beside the writer never sees that moment, so past this many
/// frames (16 KiB each: 256 MiB) [`WalCheckpointer::settle`] lets the checkpoint finish first.
const WAL_FRAMES_BEFORE_SETTLING: i64 = 16_384;

impl WalCheckpointer {
    /// Starts the checkpoint thread for the journal's file. `None` for a store without a file
    /// (in memory) or one that cannot be opened again: SQLite's autocheckpoint then stays on.
    pub fn start(journal: &Rc<Connection>) -> Option<Self> {
        Self::start_settling_after(journal, WAL_FRAMES_BEFORE_SETTLING)
    }

    fn start_settling_after(journal: &Rc<Connection>, settle_after_frames: i64) -> Option<Self> {
        let path = journal.path().filter(|p| !p.as_os_str().is_empty())?;
        let conn = open_connection(path).ok()?;
        journal
            .execute_batch("PRAGMA wal_autocheckpoint = 0")
            .ok()?;
        let shared = Arc::new((Mutex::new(CheckpointState::default()), Condvar::new()));
        let theirs = shared.clone();
        let thread = std::thread::Builder::new()
            .name("mms-wal-checkpoint".into())
            .spawn(move || checkpoint_on_request(&conn, &theirs))
            .ok();
        let Some(thread) = thread else {
            let _ = journal.execute_batch("PRAGMA wal_autocheckpoint = 1000");
            return None;
        };
        Some(WalCheckpointer {
            journal: journal.clone(),
            settle_after_frames,
            shared,
            thread: Some(thread),
        })
    }

    /// Asks for a checkpoint (after a commit). Never blocks.
    pub fn request(&self) {
        let (state, wake) = &*self.shared;
        lock(state).requested += 1;
        wake.notify_all();
    }

    /// Call between a commit and the next write: when the WAL has grown long, waits (a few
    /// seconds at most) for the requested checkpoint, so that the next write starts the WAL
    /// from its beginning again.
    pub fn settle(&self) {
        let (state, done) = &*self.shared;
        let guard = lock(state);
        if guard.wal_frames < self.settle_after_frames {
            return;
        }
        let _ = done.wait_timeout_while(guard, std::time::Duration::from_secs(5), |s| {
            s.done < s.requested && !s.stop
        });
    }
}

fn lock(state: &Mutex<CheckpointState>) -> std::sync::MutexGuard<'_, CheckpointState> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn checkpoint_on_request(conn: &Connection, shared: &(Mutex<CheckpointState>, Condvar)) {
    let (state, signal) = shared;
    loop {
        let asked = {
            let mut s = lock(state);
            while s.done == s.requested && !s.stop {
                s = signal.wait(s).unwrap_or_else(|p| p.into_inner());
            }
            if s.stop {
                return;
            }
            s.requested
        };
        // PASSIVE: copies what no reader still needs, never waits for anyone. A failure
        // (busy, I/O) leaves the WAL longer until the next try.
        let frames = conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
            .unwrap_or(0);
        let mut s = lock(state);
        s.done = asked;
        s.wal_frames = frames;
        signal.notify_all();
    }
}

impl Drop for WalCheckpointer {
    fn drop(&mut self) {
        let (state, signal) = &*self.shared;
        lock(state).stop = true;
        signal.notify_all();
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

/// Delivery into the store's mail drop: every attendee's copy, queryable by tests and
/// `mms export`. Accepts every recipient.
pub struct EmbeddedOutbox {
    conn: Rc<Connection>,
    /// The spool holding the mail drop's bytes, attached to the connection at the first
    /// delivery (`None` inside: a store in memory keeps the bytes in its rows).
    spool: OnceCell<Option<Arc<MailSpool>>>,
}

impl EmbeddedOutbox {
    pub fn new(conn: Connection) -> Self {
        EmbeddedOutbox::sharing(Rc::new(conn))
    }

    /// Over a connection shared with the worker's journal (see [`embedded_worker_connection`]).
    pub fn sharing(conn: Rc<Connection>) -> Self {
        EmbeddedOutbox {
            conn,
            spool: OnceCell::new(),
        }
    }

    fn spool(&self) -> Result<Option<&MailSpool>, DeliveryError> {
        if self.spool.get().is_none() {
            let attached = MailSpool::attach(&self.conn).map_err(|e| {
                DeliveryError::transient(format!("cannot open the mail drop's spool: {e}"))
            })?;
            let _ = self.spool.set(attached);
        }
        Ok(self.spool.get().and_then(|s| s.as_deref()))
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
        let spool = self.spool()?;
        let row = calendars::deliver_mail(
            &self.conn,
            spool,
            message_id,
            recipients,
            rfc822,
            Utc::now(),
        )
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
    fn a_settled_checkpoint_lets_the_next_write_start_the_wal_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mms.db");
        crate::engine::Engine::open(&path).unwrap();
        let journal = embedded_worker_connection(&path).unwrap();
        let frames = |c: &Connection| -> (i64, i64) {
            c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(1)?, r.get(2)?))
            })
            .unwrap()
        };
        let checkpointer = WalCheckpointer::start_settling_after(&journal, 1).unwrap();
        let other = open_connection(&path).unwrap();
        let write = |n: usize| {
            journal.execute_batch("BEGIN IMMEDIATE").unwrap();
            for i in 0..n {
                calendars::import_object(
                    &journal,
                    "a@x.com",
                    "calendar",
                    &format!("{i}-{n}.ics"),
                    "u",
                    &[b'x'; 20_000],
                    Utc::now(),
                )
                .unwrap();
            }
            journal.execute_batch("COMMIT").unwrap();
        };
        write(50);
        // No checkpoint ran yet, so nothing is long enough to wait for.
        checkpointer.settle();
        checkpointer.request();
        // Give the first checkpoint time to report how long the WAL was.
        std::thread::sleep(std::time::Duration::from_millis(200));
        write(50);
        checkpointer.request();
        checkpointer.settle();
        write(1);
        // 50 objects of 20 KB are about 70 frames; one and its index entries a handful.
        let (log, _) = frames(&other);
        assert!(log <= 10, "the WAL started again: {log} frames");
        drop(checkpointer);
        let auto: i64 = journal
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap();
        assert_eq!(auto, 1000);
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
