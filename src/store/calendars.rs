//! The embedded calendars, the outbox journal and per-meeting job progress, in SQLite.
//!
//! Three things live here because the worker's crash safety needs them in one database:
//! - `calendar_object`: each user's calendar objects (one row per UID, master plus overrides),
//!   with a version number that serves as the entity tag for optimistic concurrency;
//! - `outbox`: every update the worker composed, keyed by job and its deterministic Message-ID
//!   and recorded *before* it is sent, so a restarted worker re-sends the exact same bytes
//!   instead of composing a second, distinct update (an update delivered into the mail drop in
//!   the same transaction is recorded as sent, pointing at the mail drop's copy of its bytes);
//! - `delivered_mail`: the embedded mail drop (what the embedded delivery hands to attendees),
//!   whose bytes are in a spool file beside the store (`super::mail_spool`);
//! - `job_meeting_progress`: one row per (job, meeting) once that meeting is settled, so a
//!   restarted worker neither skips nor repeats a meeting.
//!
//! Plain functions over a `rusqlite::Connection`; every SQL statement binds its parameters.

use super::mail_spool::{MailSpool, SpoolReader};
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use std::fmt;

/// A store failure in the calendar tables.
#[derive(Debug)]
pub struct CalendarStoreError(pub String);

impl fmt::Display for CalendarStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "calendar store: {}", self.0)
    }
}

impl std::error::Error for CalendarStoreError {}

impl From<rusqlite::Error> for CalendarStoreError {
    fn from(e: rusqlite::Error) -> Self {
        CalendarStoreError(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, CalendarStoreError>;

/// RFC 3339 in UTC with milliseconds (`2026-12-02T19:20:41.123Z`), exactly as chrono's
/// `to_rfc3339_opts(SecondsFormat::Millis, true)` writes it. Digit by digit: the worker stamps
/// three rows a meeting, and chrono's formatter cost about a microsecond each time.
fn now_text(t: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    // (Each accessor of a DateTime converts it first: convert once.)
    let n = t.naive_utc();
    let (year, nanos) = (n.year(), n.nanosecond());
    // Years of more than four digits and leap seconds: chrono's own spelling.
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return t.to_rfc3339_opts(SecondsFormat::Millis, true);
    }
    let fields = [
        (year as u32, 4, '-'),
        (n.month(), 2, '-'),
        (n.day(), 2, 'T'),
        (n.hour(), 2, ':'),
        (n.minute(), 2, ':'),
        (n.second(), 2, '.'),
        (nanos / 1_000_000, 3, 'Z'),
    ];
    let mut out = String::with_capacity(24);
    for (value, width, after) in fields {
        for k in (0..width).rev() {
            out.push(char::from(b'0' + (value / 10u32.pow(k) % 10) as u8));
        }
        out.push(after);
    }
    out
}

/// The key under which a user's calendars are stored: the address, lower-cased.
pub fn user_key(address: &str) -> String {
    address
        .trim()
        .trim_start_matches("mailto:")
        .to_ascii_lowercase()
}

/// The entity tag of a stored version.
pub fn etag_of(version: i64) -> String {
    format!("\"{version}\"")
}

/// One stored calendar object.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCalendarObject {
    pub href: String,
    pub user_key: String,
    pub calendar: String,
    pub uid: String,
    pub version: i64,
    pub data: Vec<u8>,
}

impl fmt::Debug for StoredCalendarObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCalendarObject")
            .field("href", &self.href)
            .field("uid", &self.uid)
            .field("version", &self.version)
            .field("data_len", &self.data.len())
            .finish()
    }
}

fn row_to_object(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredCalendarObject> {
    Ok(StoredCalendarObject {
        href: r.get(0)?,
        user_key: r.get(1)?,
        calendar: r.get(2)?,
        uid: r.get(3)?,
        version: r.get(4)?,
        data: r.get(5)?,
    })
}

const OBJECT_COLUMNS: &str = "href, user_key, calendar, uid, version, data";

/// Inserts or replaces an object (import). The version grows so any reader's etag goes stale.
pub fn import_object(
    conn: &Connection,
    user: &str,
    calendar: &str,
    file_name: &str,
    uid: &str,
    data: &[u8],
    now: DateTime<Utc>,
) -> Result<String> {
    let key = user_key(user);
    let href = format!("{key}/{calendar}/{file_name}");
    conn.prepare_cached(
        "INSERT INTO calendar_object (href, user_key, calendar, uid, version, data, modified)
         VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6)
         ON CONFLICT(href) DO UPDATE SET uid = excluded.uid, data = excluded.data,
             version = calendar_object.version + 1, modified = excluded.modified",
    )?
    .execute(params![href, key, calendar, uid, data, now_text(now)])?;
    Ok(href)
}

/// The calendars (distinct collection names) of a user.
pub fn calendars_of(conn: &Connection, user: &str) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached(
        "SELECT DISTINCT calendar FROM calendar_object WHERE user_key = ?1 ORDER BY calendar",
    )?;
    let rows = st.query_map(params![user_key(user)], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Every object of one calendar of a user, in href order.
pub fn objects_of(
    conn: &Connection,
    user: &str,
    calendar: &str,
) -> Result<Vec<StoredCalendarObject>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {OBJECT_COLUMNS} FROM calendar_object WHERE user_key = ?1 AND calendar = ?2 ORDER BY href"
    ))?;
    let rows = st.query_map(params![user_key(user), calendar], row_to_object)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Every object of every calendar of a user.
pub fn all_objects_of(conn: &Connection, user: &str) -> Result<Vec<StoredCalendarObject>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {OBJECT_COLUMNS} FROM calendar_object WHERE user_key = ?1 ORDER BY calendar, href"
    ))?;
    let rows = st.query_map(params![user_key(user)], row_to_object)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// One object by href.
pub fn object(conn: &Connection, href: &str) -> Result<Option<StoredCalendarObject>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {OBJECT_COLUMNS} FROM calendar_object WHERE href = ?1"
        ))?
        .query_row(params![href], row_to_object)
        .optional()?)
}

/// Conditional write: replaces the object only if its version is still `if_version`.
/// Returns the new version, or `None` when the object changed or vanished meanwhile.
pub fn put_object_if(
    conn: &Connection,
    href: &str,
    data: &[u8],
    if_version: i64,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let changed = conn
        .prepare_cached(
            "UPDATE calendar_object SET data = ?1, version = version + 1, modified = ?2
         WHERE href = ?3 AND version = ?4",
        )?
        .execute(params![data, now_text(now), href, if_version])?;
    Ok(if changed == 1 {
        Some(if_version + 1)
    } else {
        None
    })
}

/// State of a recorded update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    /// Recorded, not yet accepted by the delivery.
    Queued,
    /// The delivery accepted it.
    Sent,
}

impl OutboxState {
    fn as_str(self) -> &'static str {
        match self {
            OutboxState::Queued => "Queued",
            OutboxState::Sent => "Sent",
        }
    }
}

/// One recorded update message.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub message_id: String,
    pub job_id: String,
    pub uid: String,
    pub sequence: u32,
    pub sender: String,
    pub recipients: Vec<String>,
    pub data: Vec<u8>,
    pub state: OutboxState,
    pub attempts: u32,
}

impl fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxMessage")
            .field("message_id", &self.message_id)
            .field("uid", &self.uid)
            .field("sequence", &self.sequence)
            .field("recipients", &self.recipients.len())
            .field("state", &self.state)
            .field("attempts", &self.attempts)
            .finish()
    }
}

/// Where a message's bytes are in the mail drop's spool, when they are there and not in the row.
struct SpooledAt {
    offset: i64,
    length: i64,
}

impl SpooledAt {
    /// From the offset column `at` and the length column after it (both NULL: not spooled).
    fn from_columns(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Option<SpooledAt>> {
        Ok(
            match (
                r.get::<_, Option<i64>>(at)?,
                r.get::<_, Option<i64>>(at + 1)?,
            ) {
                (Some(offset), Some(length)) => Some(SpooledAt { offset, length }),
                _ => None,
            },
        )
    }
}

/// `rows` with the bytes of each spooled one (`bytes` of it) read from the mail drop's spool,
/// which is opened only when a row needs it.
fn with_spooled_bytes<T>(
    conn: &Connection,
    rows: Vec<(T, Option<SpooledAt>)>,
    bytes: impl Fn(&mut T) -> &mut Vec<u8>,
) -> Result<Vec<T>> {
    let mut spool: Option<SpoolReader> = None;
    let mut out = Vec::with_capacity(rows.len());
    for (mut row, spooled) in rows {
        if let Some(at) = spooled {
            let reader = match &mut spool {
                Some(r) => r,
                None => spool.insert(SpoolReader::of(conn)?),
            };
            *bytes(&mut row) = reader
                .read(at.offset, at.length)
                .map_err(CalendarStoreError)?;
        }
        out.push(row);
    }
    Ok(out)
}

fn row_to_message(r: &rusqlite::Row<'_>) -> rusqlite::Result<(OutboxMessage, Option<SpooledAt>)> {
    let recipients: String = r.get(5)?;
    let state: String = r.get(7)?;
    let spooled = SpooledAt::from_columns(r, 9)?;
    let message = OutboxMessage {
        message_id: r.get(0)?,
        job_id: r.get(1)?,
        uid: r.get(2)?,
        sequence: r.get(3)?,
        sender: r.get(4)?,
        recipients: serde_json::from_str(&recipients).unwrap_or_default(),
        data: r.get(6)?,
        state: if state == "Sent" {
            OutboxState::Sent
        } else {
            OutboxState::Queued
        },
        attempts: r.get(8)?,
    };
    Ok((message, spooled))
}

/// The columns `row_to_message` reads. A message delivered into the embedded mail drop in the
/// same transaction that recorded it keeps its bytes there only (see [`record_delivered`]):
/// `data` is then the mail drop row's bytes, or where they are in its spool (the last two
/// columns), so every reader sees the bytes that were sent.
const MESSAGE_COLUMNS: &str = "message_id, job_id, uid, sequence, sender, recipients,
    CASE WHEN mail_id IS NULL THEN data
         ELSE COALESCE((SELECT d.data FROM delivered_mail d WHERE d.id = outbox.mail_id), data) END,
    state, attempts,
    (SELECT d.spool_offset FROM delivered_mail d WHERE d.id = outbox.mail_id),
    (SELECT d.spool_length FROM delivered_mail d WHERE d.id = outbox.mail_id)";

/// The outbox messages `sql` (selecting [`MESSAGE_COLUMNS`]) finds, their bytes read from the
/// mail drop's spool where they are kept there.
fn query_messages<P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> Result<Vec<OutboxMessage>> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st
        .query_map(params, row_to_message)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    with_spooled_bytes(conn, rows, |m| &mut m.data)
}

/// Records a composed update before it is sent. A message already recorded under the same
/// Message-ID is kept as it is (its bytes are what must be re-sent), and `false` is returned.
pub fn record_message(conn: &Connection, m: &OutboxMessage, now: DateTime<Utc>) -> Result<bool> {
    insert_message(conn, m, &m.data, m.state, None, now)
}

/// One outbox row; `mail_id` names the mail drop row holding the bytes when `data` is empty.
fn insert_message(
    conn: &Connection,
    m: &OutboxMessage,
    data: &[u8],
    state: OutboxState,
    mail_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let recipients =
        serde_json::to_string(&m.recipients).map_err(|e| CalendarStoreError(e.to_string()))?;
    let now = now_text(now);
    let (attempts, sent) = match state {
        OutboxState::Queued => (0, None),
        OutboxState::Sent => (1, Some(now.as_str())),
    };
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO outbox (message_id, job_id, uid, sequence, sender, recipients,
                 data, state, attempts, created, sent, mail_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?
        .execute(params![
            m.message_id,
            m.job_id,
            m.uid,
            m.sequence,
            m.sender,
            recipients,
            data,
            state.as_str(),
            attempts,
            now,
            sent,
            mail_id
        ])?;
    Ok(n == 1)
}

/// Records a freshly composed update for (job, UID), discarding any earlier *unsent* message
/// of that job for that UID: an unsent message whose calendar write never happened (the write
/// hit a conflict, or the worker died before it) must not go out with stale content.
/// A message already sent under the same Message-ID is kept. Returns whether `m` was stored.
pub fn replace_queued_message(
    conn: &Connection,
    m: &OutboxMessage,
    now: DateTime<Utc>,
) -> Result<bool> {
    // A savepoint, not a transaction: it nests inside a worker's group commit.
    conn.execute_batch("SAVEPOINT replace_queued")?;
    let replaced = (|| {
        discard_unsent(conn, &m.job_id, &m.uid)?;
        record_message(conn, m, now)
    })();
    match replaced {
        Ok(stored) => {
            conn.execute_batch("RELEASE replace_queued")?;
            Ok(stored)
        }
        Err(e) => {
            // The savepoint may already be gone with a transaction SQLite rolled back.
            let _ = conn.execute_batch("ROLLBACK TO replace_queued; RELEASE replace_queued");
            Err(e)
        }
    }
}

/// Deletes every unsent message of a job for a UID (a newer update for the meeting replaces them).
pub fn discard_unsent(conn: &Connection, job_id: &str, uid: &str) -> Result<()> {
    // Through the index of unsent messages (almost always empty for the UID), not the primary
    // key: the key's job prefix would read every message of the job, one meeting after another.
    // Looked up before deleting: a DELETE that finds nothing still costs twice the lookup (the
    // foreign key's bookkeeping), once per meeting.
    let unsent = conn
        .prepare_cached(
            "SELECT 1 FROM outbox INDEXED BY outbox_unsent_by_uid
             WHERE uid = ?2 AND state = 'Queued' AND job_id = ?1",
        )?
        .exists(params![job_id, uid])?;
    if unsent {
        conn.prepare_cached(
            "DELETE FROM outbox INDEXED BY outbox_unsent_by_uid
             WHERE uid = ?2 AND state = 'Queued' AND job_id = ?1",
        )?
        .execute(params![job_id, uid])?;
    }
    Ok(())
}

/// Records an update that the embedded mail drop accepted in the same transaction, as row
/// `mail_id` of the mail drop: state Sent, one attempt, and no bytes of its own (the readers
/// return the mail drop's copy). Used only where a crash rolls the delivery and this record
/// back together, so there is never an unsent message to re-send. A message already recorded
/// under the same Message-ID is kept; returns whether `m` was stored.
pub fn record_delivered(
    conn: &Connection,
    m: &OutboxMessage,
    mail_id: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    insert_message(conn, m, &[], OutboxState::Sent, Some(mail_id), now)
}

/// One recorded message by Message-ID.
pub fn messages_for_id(
    conn: &Connection,
    job_id: &str,
    message_id: &str,
) -> Result<Option<OutboxMessage>> {
    Ok(query_messages(
        conn,
        &format!("SELECT {MESSAGE_COLUMNS} FROM outbox WHERE job_id = ?1 AND message_id = ?2"),
        params![job_id, message_id],
    )?
    .pop())
}

/// Unsent messages for a UID from any job, newest sequence first.
pub fn queued_for_uid(conn: &Connection, uid: &str) -> Result<Vec<OutboxMessage>> {
    query_messages(
        conn,
        &format!("SELECT {MESSAGE_COLUMNS} FROM outbox WHERE uid = ?1 AND state = 'Queued' ORDER BY sequence DESC, created DESC"),
        params![uid],
    )
}

/// Deletes an unsent message (superseded by a newer one for the same meeting).
pub fn discard_queued(conn: &Connection, job_id: &str, message_id: &str) -> Result<()> {
    conn.prepare_cached(
        "DELETE FROM outbox WHERE job_id = ?1 AND message_id = ?2 AND state = 'Queued'",
    )?
    .execute(params![job_id, message_id])?;
    Ok(())
}

/// The recorded messages of a job for one UID, oldest first.
pub fn messages_for(conn: &Connection, job_id: &str, uid: &str) -> Result<Vec<OutboxMessage>> {
    query_messages(
        conn,
        &format!("SELECT {MESSAGE_COLUMNS} FROM outbox WHERE job_id = ?1 AND uid = ?2 ORDER BY created, message_id"),
        params![job_id, uid],
    )
}

/// Every recorded message of a job that the delivery has not yet accepted.
pub fn queued_messages(conn: &Connection, job_id: &str) -> Result<Vec<OutboxMessage>> {
    query_messages(
        conn,
        &format!("SELECT {MESSAGE_COLUMNS} FROM outbox WHERE job_id = ?1 AND state = 'Queued' ORDER BY created, message_id"),
        params![job_id],
    )
}

/// Every recorded message, in recording order.
pub fn all_messages(conn: &Connection) -> Result<Vec<OutboxMessage>> {
    query_messages(
        conn,
        &format!("SELECT {MESSAGE_COLUMNS} FROM outbox ORDER BY created, message_id"),
        [],
    )
}

/// Counts a delivery attempt (before it is made: a crash after it still counts).
pub fn note_attempt(conn: &Connection, job_id: &str, message_id: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET attempts = attempts + 1 WHERE job_id = ?1 AND message_id = ?2",
    )?
    .execute(params![job_id, message_id])?;
    Ok(())
}

/// Marks a message accepted by the delivery.
pub fn mark_sent(
    conn: &Connection,
    job_id: &str,
    message_id: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'Sent', sent = ?3 WHERE job_id = ?1 AND message_id = ?2",
    )?
    .execute(params![job_id, message_id, now_text(now)])?;
    Ok(())
}

/// Appends a message to the embedded mail drop; returns its row. With a `spool` (a store with a
/// file) the bytes go to the spool and the row records where (see [`deliver_spooled`]).
pub fn deliver_mail(
    conn: &Connection,
    spool: Option<&MailSpool>,
    message_id: &str,
    recipients: &[String],
    data: &[u8],
    now: DateTime<Utc>,
) -> Result<i64> {
    let recipients =
        serde_json::to_string(recipients).map_err(|e| CalendarStoreError(e.to_string()))?;
    let mail = NewMail {
        message_id,
        recipients: &recipients,
        delivered: now_text(now),
    };
    let Some(spool) = spool else {
        return mail.insert(conn, data, None);
    };
    if !conn.is_autocommit() {
        return deliver_spooled(conn, spool, &mail, data);
    }
    // The row and the append in one transaction: a row committed on its own would name bytes
    // not yet written (and not synced by the commit).
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    match deliver_spooled(conn, spool, &mail, data) {
        Ok(row) => match conn.prepare_cached("COMMIT")?.execute([]) {
            Ok(_) => Ok(row),
            Err(e) => {
                // A commit the spool's sync refused is rolled back already; any other is undone.
                let _ = conn.execute_batch("ROLLBACK");
                Err(e.into())
            }
        },
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// A mail drop row about to be written.
struct NewMail<'a> {
    message_id: &'a str,
    recipients: &'a str,
    delivered: String,
}

impl NewMail<'_> {
    fn insert(&self, conn: &Connection, data: &[u8], spooled: Option<(u64, usize)>) -> Result<i64> {
        conn.prepare_cached(
            "INSERT INTO delivered_mail
                 (message_id, recipients, data, delivered, spool_offset, spool_length)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            self.message_id,
            self.recipients,
            data,
            self.delivered,
            spooled.map(|(offset, _)| offset as i64),
            spooled.map(|(_, length)| length as i64)
        ])?;
        Ok(conn.last_insert_rowid())
    }
}

/// Inside a write transaction: the row, naming the spool's end as where the bytes begin, then
/// the append. The row's INSERT holds the store's write lock, so no other writer appends after
/// it; one that appended between reading the end and the INSERT moved the end, and the row is
/// corrected. A failed append removes the row again.
fn deliver_spooled(
    conn: &Connection,
    spool: &MailSpool,
    mail: &NewMail<'_>,
    data: &[u8],
) -> Result<i64> {
    let spool_failure = |e: std::io::Error| {
        CalendarStoreError(format!(
            "disk I/O error appending to the mail drop's spool {}: {e}",
            spool.path().display()
        ))
    };
    let expected = spool.end().map_err(spool_failure)?;
    let row = mail.insert(conn, &[], Some((expected, data.len())))?;
    match spool.append(data) {
        Ok(offset) if offset == expected => Ok(row),
        Ok(offset) => {
            conn.prepare_cached("UPDATE delivered_mail SET spool_offset = ?2 WHERE id = ?1")?
                .execute(params![row, offset as i64])?;
            Ok(row)
        }
        Err(e) => {
            conn.prepare_cached("DELETE FROM delivered_mail WHERE id = ?1")?
                .execute(params![row])?;
            Err(spool_failure(e))
        }
    }
}

/// One message in the embedded mail drop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveredMail {
    pub message_id: String,
    pub recipients: Vec<String>,
    pub data: Vec<u8>,
}

/// Everything in the embedded mail drop, in delivery order (re-sends appear again).
pub fn delivered_mail(conn: &Connection) -> Result<Vec<DeliveredMail>> {
    let mut st = conn.prepare_cached(
        "SELECT message_id, recipients, data, spool_offset, spool_length
         FROM delivered_mail ORDER BY id",
    )?;
    let rows = st.query_map([], |r| {
        let recipients: String = r.get(1)?;
        let mail = DeliveredMail {
            message_id: r.get(0)?,
            recipients: serde_json::from_str(&recipients).unwrap_or_default(),
            data: r.get(2)?,
        };
        Ok((mail, SpooledAt::from_columns(r, 3)?))
    })?;
    let rows = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    with_spooled_bytes(conn, rows, |m| &mut m.data)
}

/// How one meeting of a job was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingOutcome {
    Rewritten,
    Skipped,
    Failed,
}

impl MeetingOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingOutcome::Rewritten => "Rewritten",
            MeetingOutcome::Skipped => "Skipped",
            MeetingOutcome::Failed => "Failed",
        }
    }
    fn parse(s: &str) -> MeetingOutcome {
        match s {
            "Rewritten" => MeetingOutcome::Rewritten,
            "Skipped" => MeetingOutcome::Skipped,
            _ => MeetingOutcome::Failed,
        }
    }
}

/// One settled meeting of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingProgress {
    pub href: String,
    pub uid: String,
    pub outcome: MeetingOutcome,
    pub reason: String,
    pub invites: u32,
}

/// Records (or overwrites: a failed meeting is tried again on a retry) a meeting's outcome.
pub fn record_progress(
    conn: &Connection,
    job_id: &str,
    p: &MeetingProgress,
    now: DateTime<Utc>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO job_meeting_progress (job_id, href, uid, outcome, reason, invites, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(job_id, href) DO UPDATE SET uid = excluded.uid, outcome = excluded.outcome,
             reason = excluded.reason, invites = excluded.invites, updated = excluded.updated",
    )?
    .execute(params![
        job_id,
        p.href,
        p.uid,
        p.outcome.as_str(),
        p.reason,
        p.invites,
        now_text(now)
    ])?;
    Ok(())
}

/// Every settled meeting of a job, in the order they were settled.
pub fn progress_of(conn: &Connection, job_id: &str) -> Result<Vec<MeetingProgress>> {
    let mut st = conn.prepare_cached(
        "SELECT href, uid, outcome, reason, invites FROM job_meeting_progress
         WHERE job_id = ?1 ORDER BY updated, href",
    )?;
    let rows = st.query_map(params![job_id], |r| {
        let outcome: String = r.get(2)?;
        Ok(MeetingProgress {
            href: r.get(0)?,
            uid: r.get(1)?,
            outcome: MeetingOutcome::parse(&outcome),
            reason: r.get(3)?,
            invites: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The UID of a calendar object (first UID line), for messages; empty when absent.
pub fn uid_of(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n').peekable();
    while let Some(line) = lines.next() {
        let l = line.trim_end_matches('\r');
        if l.len() >= 4 && l.as_bytes()[..4].eq_ignore_ascii_case(b"UID:") {
            let mut v = l.get(4..).unwrap_or("").to_string();
            while let Some(next) = lines.peek() {
                if next.starts_with(' ') || next.starts_with('\t') {
                    v.push_str(next.trim_end_matches('\r').get(1..).unwrap_or(""));
                    lines.next();
                } else {
                    break;
                }
            }
            return v;
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migrated(c: Connection) -> Connection {
        for m in super::super::schema::MIGRATIONS {
            c.execute_batch(m.sql).unwrap();
        }
        c
    }

    fn db() -> Connection {
        migrated(Connection::open_in_memory().unwrap())
    }

    #[test]
    fn row_stamps_are_what_chronos_rfc3339_with_milliseconds_writes() {
        use chrono::TimeZone;
        let mut seconds: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
                                                // From year 0 to past 9999 in uneven steps (every field and carry), milliseconds
                                                // truncated as chrono truncates them, plus a leap second.
        let mut times = vec![Utc.timestamp_opt(1_483_228_799, 1_999_999_999).unwrap()];
        while seconds < 253_402_300_800 + 86_400 * 800 {
            let nanos = (seconds.rem_euclid(1_000_003) * 997) as u32 % 1_000_000_000;
            times.push(Utc.timestamp_opt(seconds, nanos).unwrap());
            seconds += 3_210_987 + seconds.rem_euclid(86_413);
        }
        assert!(times.len() > 50_000, "{}", times.len());
        for t in times {
            assert_eq!(
                now_text(t),
                t.to_rfc3339_opts(SecondsFormat::Millis, true),
                "{t:?}"
            );
        }
    }

    #[test]
    fn conditional_put_refuses_a_stale_version() {
        let c = db();
        let now = Utc::now();
        let href =
            import_object(&c, "Ann@Contoso.com", "calendar", "a.ics", "u1", b"v1", now).unwrap();
        assert_eq!(href, "ann@contoso.com/calendar/a.ics");
        let o = object(&c, &href).unwrap().unwrap();
        assert_eq!(
            put_object_if(&c, &href, b"v2", o.version, now).unwrap(),
            Some(o.version + 1)
        );
        assert_eq!(
            put_object_if(&c, &href, b"v3", o.version, now).unwrap(),
            None
        );
        assert_eq!(object(&c, &href).unwrap().unwrap().data, b"v2");
        assert_eq!(
            calendars_of(&c, "ann@contoso.com").unwrap(),
            vec!["calendar"]
        );
    }

    #[test]
    fn uid_of_unfolds() {
        assert_eq!(
            uid_of(b"BEGIN:VEVENT\r\nUID:0400\r\n 00AB\r\nEND:VEVENT\r\n"),
            "040000AB"
        );
        assert_eq!(uid_of("X:—☕\nUID:a\n".as_bytes()), "a");
        assert_eq!(uid_of("—\n".as_bytes()), "");
    }

    /// A store file in `dir` and its mail drop's spool.
    fn spooled_db(dir: &std::path::Path) -> (Connection, std::sync::Arc<MailSpool>) {
        let c = migrated(Connection::open(dir.join("mms.db")).unwrap());
        let spool = MailSpool::attach(&c).unwrap().unwrap();
        (c, spool)
    }

    fn recipients() -> Vec<String> {
        vec!["b@x".into(), "c@x".into()]
    }

    #[test]
    fn delivered_mail_is_kept_in_the_spool_and_read_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let (c, spool) = spooled_db(dir.path());
        let now = Utc::now();
        let first = "Subject: caf\u{e9}\r\n\r\n\u{1F600}\r\n".as_bytes();
        let a = deliver_mail(&c, Some(&spool), "<a@x>", &recipients(), first, now).unwrap();
        let b = deliver_mail(&c, Some(&spool), "<b@x>", &recipients(), b"second", now).unwrap();
        let mail = delivered_mail(&c).unwrap();
        assert_eq!(mail.len(), 2);
        assert_eq!(
            (mail[0].data.as_slice(), mail[1].data.as_slice()),
            (first, &b"second"[..])
        );
        assert_eq!(mail[1].recipients, recipients());
        // The rows hold no bytes of their own; the spool holds both messages, once.
        let empty: i64 = c
            .query_row(
                "SELECT COUNT(*) FROM delivered_mail WHERE length(data) = 0",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(empty, 2);
        assert_eq!(
            std::fs::metadata(spool.path()).unwrap().len(),
            (first.len() + 6) as u64
        );
        // An outbox record that points at a mail drop row reads the spooled bytes.
        let m = OutboxMessage {
            message_id: "<b@x>".into(),
            job_id: "j".into(),
            uid: "u".into(),
            sequence: 1,
            sender: "s@x".into(),
            recipients: recipients(),
            data: Vec::new(),
            state: OutboxState::Sent,
            attempts: 1,
        };
        assert!(record_delivered(&c, &m, b, now).unwrap());
        let recorded = messages_for_id(&c, "j", "<b@x>").unwrap().unwrap();
        assert_eq!(recorded.data, b"second");
        assert_eq!(all_messages(&c).unwrap()[0].data, b"second");
        assert_ne!(a, b);
    }

    #[test]
    fn a_delivery_rolled_back_leaves_no_row_and_later_ones_read_right() {
        let dir = tempfile::tempdir().unwrap();
        let (c, spool) = spooled_db(dir.path());
        let now = Utc::now();
        c.execute_batch("BEGIN IMMEDIATE").unwrap();
        deliver_mail(&c, Some(&spool), "<gone@x>", &recipients(), b"undone", now).unwrap();
        c.execute_batch("ROLLBACK").unwrap();
        deliver_mail(&c, Some(&spool), "<kept@x>", &recipients(), b"kept", now).unwrap();
        let mail = delivered_mail(&c).unwrap();
        assert_eq!(mail.len(), 1);
        assert_eq!(
            (mail[0].message_id.as_str(), mail[0].data.as_slice()),
            ("<kept@x>", &b"kept"[..])
        );
    }

    #[test]
    fn a_delivery_waiting_for_another_writer_names_where_its_bytes_really_are() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, spool) = spooled_db(dir.path());
        writer.execute_batch("BEGIN IMMEDIATE").unwrap();
        let path = dir.path().join("mms.db");
        let waiting = std::thread::spawn(move || {
            let c = Connection::open(path).unwrap();
            let spool = MailSpool::attach(&c).unwrap().unwrap();
            // In a transaction that has not written yet: reads the spool's end, then waits in
            // its INSERT for the other writer's lock.
            c.execute_batch("BEGIN").unwrap();
            let late = b"late";
            deliver_mail(
                &c,
                Some(&spool),
                "<late@x>",
                &recipients(),
                late,
                Utc::now(),
            )
            .unwrap();
            c.execute_batch("COMMIT").unwrap();
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        deliver_mail(
            &writer,
            Some(&spool),
            "<first@x>",
            &recipients(),
            b"first!",
            Utc::now(),
        )
        .unwrap();
        writer.execute_batch("COMMIT").unwrap();
        waiting.join().unwrap();
        let mail = delivered_mail(&writer).unwrap();
        let got: Vec<(&str, &[u8])> = mail
            .iter()
            .map(|m| (m.message_id.as_str(), m.data.as_slice()))
            .collect();
        assert_eq!(
            got,
            [("<first@x>", &b"first!"[..]), ("<late@x>", &b"late"[..])]
        );
    }

    #[test]
    fn a_spool_cut_short_is_a_readable_error_not_wrong_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let (c, spool) = spooled_db(dir.path());
        deliver_mail(
            &c,
            Some(&spool),
            "<a@x>",
            &recipients(),
            b"0123456789",
            Utc::now(),
        )
        .unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(spool.path())
            .unwrap()
            .set_len(4)
            .unwrap();
        let e = delivered_mail(&c).unwrap_err().to_string();
        assert!(
            e.contains("mms.db-maildrop") && e.contains("bytes 0..10"),
            "{e}"
        );
    }

    #[test]
    fn a_store_in_memory_keeps_delivered_bytes_in_its_rows() {
        let c = db();
        deliver_mail(&c, None, "<a@x>", &recipients(), b"in the row", Utc::now()).unwrap();
        assert_eq!(delivered_mail(&c).unwrap()[0].data, b"in the row");
    }

    #[test]
    fn discarding_unsent_updates_drops_only_the_jobs_queued_messages_for_the_uid() {
        let c = db();
        let now = Utc::now();
        let message = |id: &str, job: &str, uid: &str| OutboxMessage {
            message_id: id.into(),
            job_id: job.into(),
            uid: uid.into(),
            sequence: 1,
            sender: "s@x".into(),
            recipients: vec!["b@x".into()],
            data: id.as_bytes().to_vec(),
            state: OutboxState::Queued,
            attempts: 0,
        };
        for (id, job, uid) in [
            ("<q1@x>", "j", "u"),
            ("<q2@x>", "j", "u"),
            ("<sent@x>", "j", "u"),
            ("<other-uid@x>", "j", "v"),
            ("<other-job@x>", "k", "u"),
        ] {
            assert!(record_message(&c, &message(id, job, uid), now).unwrap());
        }
        mark_sent(&c, "j", "<sent@x>", now).unwrap();
        discard_unsent(&c, "j", "u").unwrap();
        let left: Vec<String> = all_messages(&c)
            .unwrap()
            .into_iter()
            .map(|m| m.message_id)
            .collect();
        assert_eq!(left, ["<other-job@x>", "<other-uid@x>", "<sent@x>"]);
        // Nothing unsent left for it: a second discard finds nothing and changes nothing.
        discard_unsent(&c, "j", "u").unwrap();
        assert_eq!(all_messages(&c).unwrap().len(), 3);
    }

    #[test]
    fn a_recorded_message_is_never_replaced() {
        let c = db();
        let now = Utc::now();
        let mut m = OutboxMessage {
            message_id: "<a@x>".into(),
            job_id: "j".into(),
            uid: "u".into(),
            sequence: 1,
            sender: "s@x".into(),
            recipients: vec!["b@x".into()],
            data: b"first".to_vec(),
            state: OutboxState::Queued,
            attempts: 0,
        };
        assert!(record_message(&c, &m, now).unwrap());
        m.data = b"second".to_vec();
        assert!(!record_message(&c, &m, now).unwrap());
        let stored = messages_for(&c, "j", "u").unwrap();
        assert_eq!(stored[0].data, b"first");
        assert_eq!(queued_messages(&c, "j").unwrap().len(), 1);
        mark_sent(&c, "j", "<a@x>", now).unwrap();
        assert!(queued_messages(&c, "j").unwrap().is_empty());
    }
}
