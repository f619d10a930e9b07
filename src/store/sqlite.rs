//! The embedded store: one SQLite file in WAL mode.
//!
//! - The file is created with mode 0600 (it holds the directory of users); SQLite gives its
//!   `-wal` and `-shm` files the same permissions.
//! - `PRAGMA foreign_keys = ON`, `journal_mode = WAL`, `synchronous = NORMAL` (a killed process
//!   never loses a committed transaction; only a power cut can lose the last ones), and a busy
//!   timeout so several processes (workers, the CLI, PowerShell) share the file.
//! - Every write runs in a `BEGIN IMMEDIATE` transaction; every statement binds its parameters.
//! - Times are stored as microseconds since the Unix epoch (UTC), so they sort and compare as
//!   integers.

use super::schema::MIGRATIONS;
use super::{
    ChangeSet, ClaimedJob, EnqueueOutcome, JobFilter, JobProgress, JobRequest, MergeRule,
    MigrationStore, StoreError, StoreResult,
};
use crate::model::{
    Bridge, DialInConferencingTenantSettings, MigrationJob, MigrationState, StateSummary,
    TenantMigrationConfiguration, User,
};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, TransactionBehavior};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;
use uuid::Uuid;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

/// Turns off SQLite's process-wide memory statistics (`SQLITE_CONFIG_MEMSTATUS`): with them on,
/// every allocation SQLite makes takes a global mutex and updates counters. The worker's
/// savepoint per meeting keeps the pages it touches in an in-memory sub-journal of 1 KiB
/// chunks, some 60 allocations a meeting, and that accounting was 11% of the worker thread's
/// instructions. This library never reads those statistics.
///
/// For a process that owns its SQLite (the `mms` program): call it first, before any connection
/// is opened and while no other thread uses SQLite (`sqlite3_config` is not thread-safe).
/// Returns whether it took effect: once SQLite is initialized the setting cannot change, and
/// nothing else changes either. Hosts that load the library (PowerShell, C, C#) need not call it.
pub fn disable_sqlite_memory_statistics() -> bool {
    // SAFETY: a plain configuration call with an int argument, as SQLite documents it; the
    // caller guarantees no other thread is inside SQLite (see above). After initialization
    // SQLite refuses it with SQLITE_MISUSE and changes nothing.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_config(
            rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS,
            0 as std::os::raw::c_int,
        )
    };
    rc == rusqlite::ffi::SQLITE_OK
}

/// SQLite implementation of [`MigrationStore`].
pub struct SqliteStore {
    conn: Connection,
}

const TENANT_MIGRATION_CONFIGURATION: &str = "TenantMigrationConfiguration";
const DIAL_IN_SETTINGS: &str = "OnlineDialInConferencingTenantSettings";

const JOB_COLUMNS: &str = "correlation_id, user_id, user_principal_name, state, migration_type, \
     source_meeting_type, target_meeting_type, create_date, modified_date, not_before, \
     retry_count, total_meeting, succeeded_meeting, failed_meeting, invites_update, last_message";

impl SqliteStore {
    /// Opens (creating if needed, mode 0600) the store at `path` and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> StoreResult<SqliteStore> {
        let path = path.as_ref();
        create_private_file(path)?;
        let conn = Connection::open(path)?;
        let mut store = SqliteStore { conn };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// The schema version this store is at.
    pub fn schema_version(&self) -> StoreResult<u32> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0))?)
    }

    /// The underlying connection, for sibling store code (calendar objects, outbox) that keeps its
    /// tables in the same file and transaction discipline.
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    fn configure(&mut self) -> StoreResult<()> {
        self.conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Room for the job statements run through the cache (`run_cached`) beside the rest.
        self.conn.set_prepared_statement_cache_capacity(64);
        // Takes effect only on a new, empty file (before WAL is on): calendar objects of 7 KB
        // and their updates of 20 KB then need one or two pages each instead of five or six,
        // and every page is one write. An existing store keeps its page size.
        self.conn.execute_batch("PRAGMA page_size = 16384")?;
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Database(format!(
                "could not switch the store to WAL mode (got {mode})"
            )));
        }
        // Statement journals (a statement inside a transaction that may have to undo only
        // itself, such as a job update whose triggers keep the per-state counts) in memory: in
        // a temporary file each one was a file created, written (16 KiB pages) and removed.
        self.conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA trusted_schema = OFF;
             PRAGMA temp_store = MEMORY;",
        )?;
        Ok(())
    }

    fn migrate(&mut self) -> StoreResult<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_version (
                 version    INTEGER PRIMARY KEY,
                 name       TEXT NOT NULL,
                 applied_at TEXT NOT NULL
             )",
        )?;
        let current: u32 = tx.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )?;
        let newest = MIGRATIONS.last().map_or(0, |m| m.version);
        if current > newest {
            return Err(StoreError::Database(format!(
                "the store is at schema version {current}, newer than this program's {newest}; upgrade mms"
            )));
        }
        for m in MIGRATIONS.iter().filter(|m| m.version > current) {
            tx.execute_batch(m.sql).map_err(|e| {
                StoreError::Database(format!("schema migration {} failed: {e}", m.version))
            })?;
            tx.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?1, ?2, ?3)",
                params![m.version, m.name, Utc::now().to_rfc3339()],
            )?;
        }
        // PRAGMA takes no bound parameters; the value is our own integer.
        tx.execute_batch(&format!("PRAGMA user_version = {newest}"))?;
        tx.commit()?;
        Ok(())
    }

    fn write_tx(&mut self) -> StoreResult<rusqlite::Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> StoreResult<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Database(format!("cannot create folder {}: {e}", dir.display()))
        })?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Database(format!(
            "cannot create store {}: {e}",
            path.display()
        ))),
    }
}

#[cfg(not(unix))]
fn create_private_file(_path: &Path) -> StoreResult<()> {
    Ok(())
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(v: i64) -> StoreResult<DateTime<Utc>> {
    let secs = v.div_euclid(1_000_000);
    let nanos = (v.rem_euclid(1_000_000) * 1000) as u32;
    NaiveDateTime::from_timestamp_opt(secs, nanos)
        .map(|n| DateTime::<Utc>::from_utc(n, Utc))
        .ok_or_else(|| StoreError::Database(format!("stored time {v} is out of range")))
}

fn lower(s: &str) -> String {
    s.trim().to_lowercase()
}

/// SIP addresses compare without the `sip:` scheme and case-insensitively.
fn sip_key(s: &str) -> String {
    crate::model::strip_sip(s).to_lowercase()
}

fn to_json<T: Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Database(format!("cannot encode record: {e}")))
}

fn from_json<T: DeserializeOwned>(s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Database(format!("corrupt record: {e}")))
}

/// Reads a settings record over its defaults, so properties added to the model later get their
/// default instead of failing to load.
fn settings_over_default<T: Serialize + DeserializeOwned + Default>(
    stored: Option<String>,
) -> StoreResult<T> {
    let Some(stored) = stored else {
        return Ok(T::default());
    };
    let mut base = serde_json::to_value(T::default())
        .map_err(|e| StoreError::Database(format!("cannot encode defaults: {e}")))?;
    let over: serde_json::Value = from_json(&stored)?;
    if let (Some(b), serde_json::Value::Object(o)) = (base.as_object_mut(), over) {
        for (k, v) in o {
            b.insert(k, v);
        }
    }
    serde_json::from_value(base).map_err(|e| StoreError::Database(format!("corrupt settings: {e}")))
}

fn parse_text<T: std::str::FromStr>(s: &str, what: &str) -> StoreResult<T> {
    s.parse()
        .map_err(|_| StoreError::Database(format!("corrupt {what} '{s}' in store")))
}

fn parse_uuid(s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| StoreError::Database(format!("corrupt id '{s}' in store")))
}

/// The raw columns of a job row (converted after the row borrow ends).
struct JobRow {
    correlation_id: String,
    user_id: String,
    upn: String,
    state: String,
    migration_type: String,
    source: String,
    target: String,
    create_date: i64,
    modified_date: i64,
    not_before: i64,
    counters: [u32; 5],
    last_message: String,
}

fn read_job_row(r: &Row<'_>) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        correlation_id: r.get(0)?,
        user_id: r.get(1)?,
        upn: r.get(2)?,
        state: r.get(3)?,
        migration_type: r.get(4)?,
        source: r.get(5)?,
        target: r.get(6)?,
        create_date: r.get(7)?,
        modified_date: r.get(8)?,
        not_before: r.get(9)?,
        counters: [r.get(10)?, r.get(11)?, r.get(12)?, r.get(13)?, r.get(14)?],
        last_message: r.get(15)?,
    })
}

impl JobRow {
    fn into_job(self) -> StoreResult<MigrationJob> {
        Ok(MigrationJob {
            correlation_id: parse_uuid(&self.correlation_id)?,
            create_date: from_micros(self.create_date)?,
            failed_meeting: self.counters[3],
            invites_update: self.counters[4],
            last_message: self.last_message,
            migration_type: parse_text(&self.migration_type, "MigrationType")?,
            modified_date: from_micros(self.modified_date)?,
            retry_count: self.counters[0],
            state: parse_text(&self.state, "State")?,
            succeeded_meeting: self.counters[2],
            total_meeting: self.counters[1],
            user_id: parse_uuid(&self.user_id)?,
            user_principal_name: self.upn,
            source_meeting_type: parse_text(&self.source, "SourceMeetingType")?,
            target_meeting_type: parse_text(&self.target, "TargetMeetingType")?,
            not_before: from_micros(self.not_before)?,
        })
    }
}

/// Runs `sql` through the connection's statement cache: the job statements run a few times per
/// job, and parsing them anew cost more than running them.
fn run_cached(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// The one row of `sql`, through the statement cache (see [`run_cached`]).
fn row_cached<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, f)
}

fn load_job(conn: &Connection, correlation_id: &str) -> StoreResult<Option<MigrationJob>> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM migration_jobs WHERE correlation_id = ?1");
    let row = row_cached(conn, &sql, params![correlation_id], read_job_row).optional()?;
    row.map(JobRow::into_job).transpose()
}

fn pending_job_of(conn: &Connection, user_id: &str) -> StoreResult<Option<MigrationJob>> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM migration_jobs WHERE user_id = ?1 AND state = 'Pending'"
    );
    let row = conn
        .query_row(&sql, params![user_id], read_job_row)
        .optional()?;
    row.map(JobRow::into_job).transpose()
}

fn get_setting(conn: &Connection, name: &str) -> StoreResult<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT record FROM tenant_settings WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )
        .optional()?)
}

fn put_setting(conn: &Connection, name: &str, record: &str) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO tenant_settings (name, record) VALUES (?1, ?2)
         ON CONFLICT(name) DO UPDATE SET record = excluded.record",
        params![name, record],
    )?;
    Ok(())
}

fn users_where(conn: &Connection, column: &str, key: &str) -> StoreResult<Vec<User>> {
    // `column` is one of our own constant column names, never input.
    let sql = format!("SELECT record FROM users WHERE {column} = ?1 ORDER BY upn_key");
    let mut stmt = conn.prepare_cached(&sql)?;
    let records = stmt
        .query_map(params![key], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    records.iter().map(|s| from_json(s)).collect()
}

fn upsert_bridge(conn: &Connection, bridge: &Bridge) -> StoreResult<()> {
    let id = bridge.identity.to_string();
    let name_key = lower(&bridge.name);
    let other: Option<String> = conn
        .query_row(
            "SELECT id FROM bridges WHERE name_key = ?1 AND id <> ?2",
            params![name_key, id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(other) = other {
        return Err(StoreError::Conflict(format!(
            "a bridge named '{}' already exists ({other})",
            bridge.name
        )));
    }
    conn.execute(
        "INSERT INTO bridges (id, name_key, record) VALUES (?1, ?2, ?3)
         ON CONFLICT(id) DO UPDATE SET name_key = excluded.name_key, record = excluded.record",
        params![id, name_key, to_json(bridge)?],
    )?;
    conn.execute(
        "DELETE FROM service_numbers WHERE bridge_id = ?1",
        params![id],
    )?;
    for n in &bridge.service_numbers {
        let owner: Option<String> = conn
            .query_row(
                "SELECT bridge_id FROM service_numbers WHERE number = ?1",
                params![n.number],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(owner) = owner {
            return Err(StoreError::Conflict(format!(
                "service number {} is already assigned to bridge {owner}",
                n.number
            )));
        }
        conn.execute(
            "INSERT INTO service_numbers (number, bridge_id) VALUES (?1, ?2)",
            params![n.number, id],
        )?;
    }
    Ok(())
}

fn upsert_user(conn: &Connection, user: &User) -> StoreResult<()> {
    let id = user.object_id.to_string();
    let upn_key = lower(&user.user_principal_name);
    let sip = sip_key(&user.sip_address);
    for (column, key, what) in [
        ("upn_key", &upn_key, "UserPrincipalName"),
        ("sip_key", &sip, "SipAddress"),
    ] {
        let sql = format!("SELECT object_id FROM users WHERE {column} = ?1 AND object_id <> ?2");
        let other: Option<String> = conn
            .query_row(&sql, params![key, id], |r| r.get(0))
            .optional()?;
        if let Some(other) = other {
            return Err(StoreError::Conflict(format!(
                "{what} '{key}' already belongs to user {other}"
            )));
        }
    }
    conn.execute(
        "INSERT INTO users (object_id, upn_key, sip_key, display_name_key, bridge_id, record)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(object_id) DO UPDATE SET upn_key = excluded.upn_key,
             sip_key = excluded.sip_key, display_name_key = excluded.display_name_key,
             bridge_id = excluded.bridge_id, record = excluded.record",
        params![
            id,
            upn_key,
            sip,
            lower(&user.display_name),
            user.bridge_id.map(|b| b.to_string()),
            to_json(user)?
        ],
    )
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::NotFound(format!(
                "bridge {} of user {} does not exist",
                user.bridge_id.map(|b| b.to_string()).unwrap_or_default(),
                user.user_principal_name
            ))
        }
        other => other.into(),
    })?;
    Ok(())
}

fn enqueue(
    conn: &Connection,
    req: &JobRequest,
    merge: MergeRule<'_>,
    now: DateTime<Utc>,
) -> StoreResult<EnqueueOutcome> {
    let user_id = req.user_id.to_string();
    let record: Option<String> = conn
        .query_row(
            "SELECT record FROM users WHERE object_id = ?1",
            params![user_id],
            |r| r.get(0),
        )
        .optional()?;
    let user: User = match record {
        Some(r) => from_json(&r)?,
        None => {
            return Err(StoreError::NotFound(format!(
                "no user with ObjectId {user_id}"
            )))
        }
    };
    if let Some(pending) = pending_job_of(conn, &user_id)? {
        let merged = merge(&pending, req);
        let id = pending.correlation_id.to_string();
        conn.execute(
            "UPDATE migration_jobs SET migration_type = ?2, source_meeting_type = ?3,
                 target_meeting_type = ?4, not_before = ?5, modified_date = ?6,
                 user_principal_name = ?7
             WHERE correlation_id = ?1",
            params![
                id,
                merged.migration_type.as_str(),
                merged.source.as_str(),
                merged.target.as_str(),
                micros(merged.not_before),
                micros(now),
                user.user_principal_name
            ],
        )?;
        let job = load_job(conn, &id)?
            .ok_or_else(|| StoreError::Database("merged job vanished".into()))?;
        return Ok(EnqueueOutcome { job, merged: true });
    }
    let id = Uuid::new_v4().to_string();
    conn.execute(
        "INSERT INTO migration_jobs (correlation_id, user_id, user_principal_name, state,
             migration_type, source_meeting_type, target_meeting_type, create_date,
             modified_date, not_before)
         VALUES (?1, ?2, ?3, 'Pending', ?4, ?5, ?6, ?7, ?7, ?8)",
        params![
            id,
            user_id,
            user.user_principal_name,
            req.migration_type.as_str(),
            req.source.as_str(),
            req.target.as_str(),
            micros(now),
            micros(req.not_before)
        ],
    )?;
    let job =
        load_job(conn, &id)?.ok_or_else(|| StoreError::Database("new job vanished".into()))?;
    Ok(EnqueueOutcome { job, merged: false })
}

/// Checks the caller still holds the lease; returns the job's current row.
fn check_lease(conn: &Connection, claim: &ClaimedJob) -> StoreResult<MigrationJob> {
    let id = claim.job.correlation_id.to_string();
    let token: Option<Option<String>> = row_cached(
        conn,
        "SELECT lease_token FROM migration_jobs WHERE correlation_id = ?1 AND state = 'InProgress'",
        params![id],
        |r| r.get(0),
    )
    .optional()?;
    match token {
        Some(Some(t)) if t == claim.lease_token.to_string() => load_job(conn, &id)?
            .ok_or_else(|| StoreError::LeaseLost(format!("job {id} no longer exists"))),
        _ => Err(StoreError::LeaseLost(format!(
            "the lease on job {id} was lost (expired and claimed by another worker, or finished)"
        ))),
    }
}

fn write_progress(
    conn: &Connection,
    id: &str,
    p: &JobProgress,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    run_cached(
        conn,
        "UPDATE migration_jobs SET total_meeting = ?2, succeeded_meeting = ?3,
             failed_meeting = ?4, invites_update = ?5, last_message = ?6, modified_date = ?7
         WHERE correlation_id = ?1",
        params![
            id,
            p.total_meeting,
            p.succeeded_meeting,
            p.failed_meeting,
            p.invites_update,
            p.last_message,
            micros(now)
        ],
    )?;
    Ok(())
}

impl MigrationStore for SqliteStore {
    fn tenant_migration_configuration(&mut self) -> StoreResult<TenantMigrationConfiguration> {
        settings_over_default(get_setting(&self.conn, TENANT_MIGRATION_CONFIGURATION)?)
    }

    fn put_tenant_migration_configuration(
        &mut self,
        config: &TenantMigrationConfiguration,
    ) -> StoreResult<()> {
        let tx = self.write_tx()?;
        put_setting(&tx, TENANT_MIGRATION_CONFIGURATION, &to_json(config)?)?;
        tx.commit()?;
        Ok(())
    }

    fn dial_in_settings(&mut self) -> StoreResult<DialInConferencingTenantSettings> {
        settings_over_default(get_setting(&self.conn, DIAL_IN_SETTINGS)?)
    }

    fn put_dial_in_settings(
        &mut self,
        settings: &DialInConferencingTenantSettings,
    ) -> StoreResult<()> {
        let tx = self.write_tx()?;
        put_setting(&tx, DIAL_IN_SETTINGS, &to_json(settings)?)?;
        tx.commit()?;
        Ok(())
    }

    fn resolve_user(&mut self, identity: &str) -> StoreResult<User> {
        let text = identity.trim();
        if text.is_empty() {
            return Err(StoreError::NotFound("the identity is empty".into()));
        }
        if let Ok(id) = Uuid::parse_str(text) {
            return self
                .user_by_id(id)?
                .ok_or_else(|| StoreError::NotFound(format!("no user with ObjectId {id}")));
        }
        let key = sip_key(text);
        for column in ["upn_key", "sip_key"] {
            if let Some(u) = users_where(&self.conn, column, &key)?.into_iter().next() {
                return Ok(u);
            }
        }
        let mut by_name = users_where(&self.conn, "display_name_key", &lower(text))?;
        match by_name.len() {
            0 => Err(StoreError::NotFound(format!(
                "no user matches '{text}' (tried UserPrincipalName, SipAddress, ObjectId and DisplayName)"
            ))),
            1 => Ok(by_name.remove(0)),
            _ => Err(StoreError::Ambiguous(format!(
                "the display name '{text}' matches {} users: {}; use a UserPrincipalName, SIP address or ObjectId",
                by_name.len(),
                by_name
                    .iter()
                    .map(|u| format!("{} ({})", u.user_principal_name, u.object_id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    fn user_by_id(&mut self, object_id: Uuid) -> StoreResult<Option<User>> {
        Ok(
            users_where(&self.conn, "object_id", &object_id.to_string())?
                .into_iter()
                .next(),
        )
    }

    fn users(&mut self) -> StoreResult<Vec<User>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT record FROM users ORDER BY upn_key")?;
        let records = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        records.iter().map(|s| from_json(s)).collect()
    }

    fn users_on_bridge(&mut self, bridge_id: Uuid) -> StoreResult<Vec<User>> {
        users_where(&self.conn, "bridge_id", &bridge_id.to_string())
    }

    fn resolve_bridge(&mut self, identity: &str) -> StoreResult<Bridge> {
        let text = identity.trim();
        let record: Option<String> = if let Ok(id) = Uuid::parse_str(text) {
            self.conn
                .query_row(
                    "SELECT record FROM bridges WHERE id = ?1",
                    params![id.to_string()],
                    |r| r.get(0),
                )
                .optional()?
        } else {
            self.conn
                .query_row(
                    "SELECT record FROM bridges WHERE name_key = ?1",
                    params![lower(text)],
                    |r| r.get(0),
                )
                .optional()?
        };
        match record {
            Some(r) => from_json(&r),
            None => Err(StoreError::NotFound(format!(
                "no audio conferencing bridge matches '{text}'"
            ))),
        }
    }

    fn bridges(&mut self) -> StoreResult<Vec<Bridge>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT record FROM bridges ORDER BY name_key")?;
        let records = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        records.iter().map(|s| from_json(s)).collect()
    }

    fn bridge_of_number(&mut self, number: &str) -> StoreResult<Option<Bridge>> {
        let record: Option<String> = self
            .conn
            .query_row(
                "SELECT b.record FROM service_numbers n JOIN bridges b ON b.id = n.bridge_id
                 WHERE n.number = ?1",
                params![number],
                |r| r.get(0),
            )
            .optional()?;
        record.map(|r| from_json(&r)).transpose()
    }

    fn commit(
        &mut self,
        changes: &ChangeSet,
        merge: MergeRule<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<EnqueueOutcome>> {
        let tx = self.write_tx()?;
        for b in &changes.bridges {
            upsert_bridge(&tx, b)?;
        }
        for u in &changes.users {
            upsert_user(&tx, u)?;
        }
        let mut outcomes = Vec::with_capacity(changes.jobs.len());
        for req in &changes.jobs {
            outcomes.push(enqueue(&tx, req, merge, now)?);
        }
        tx.commit()?;
        Ok(outcomes)
    }

    fn job(&mut self, correlation_id: Uuid) -> StoreResult<Option<MigrationJob>> {
        load_job(&self.conn, &correlation_id.to_string())
    }

    fn jobs(&mut self, filter: &JobFilter) -> StoreResult<Vec<MigrationJob>> {
        let mut clauses: Vec<&str> = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        if let Some(u) = filter.user_id {
            values.push(Value::Text(u.to_string()));
            clauses.push("user_id = ?");
        }
        if let Some(s) = filter.state {
            values.push(Value::Text(s.as_str().to_string()));
            clauses.push("state = ?");
        }
        if let Some(t) = filter.migration_type {
            values.push(Value::Text(t.as_str().to_string()));
            clauses.push("migration_type = ?");
        }
        if let Some(start) = filter.start_time {
            values.push(Value::Integer(micros(start)));
            clauses.push("modified_date >= ?");
        }
        if let Some(end) = filter.end_time {
            values.push(Value::Integer(micros(end)));
            clauses.push("create_date <= ?");
        }
        let where_sql = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM migration_jobs{where_sql} ORDER BY create_date, correlation_id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt
            .query_map(params_from_iter(values), read_job_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(JobRow::into_job).collect()
    }

    fn summary(&mut self) -> StoreResult<Vec<StateSummary>> {
        let mut stmt = self.conn.prepare_cached(
            // Kept by triggers (schema migration 3); equals COUNT(DISTINCT user_id) per state.
            "SELECT state, users FROM job_state_users",
        )?;
        let counts = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(MigrationState::ALL
            .iter()
            .map(|s| StateSummary {
                state: *s,
                user_count: counts
                    .iter()
                    .find(|(name, _)| name == s.as_str())
                    .map_or(0, |(_, n)| *n as u64),
            })
            .collect())
    }

    fn claim_next_job(
        &mut self,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<Option<ClaimedJob>> {
        let tx = self.write_tx()?;
        let expired: Option<String> = row_cached(
            &tx,
            "SELECT correlation_id FROM migration_jobs
                 WHERE state = 'InProgress' AND lease_expires <= ?1
                 ORDER BY lease_expires LIMIT 1",
            params![micros(now)],
            |r| r.get(0),
        )
        .optional()?;
        let id = match expired {
            Some(id) => Some(id),
            None => row_cached(
                &tx,
                "SELECT j.correlation_id FROM migration_jobs j
                     WHERE j.state = 'Pending' AND j.not_before <= ?1
                       AND NOT EXISTS (SELECT 1 FROM migration_jobs k
                                       WHERE k.user_id = j.user_id AND k.state = 'InProgress')
                     ORDER BY j.not_before, j.create_date LIMIT 1",
                params![micros(now)],
                |r| r.get(0),
            )
            .optional()?,
        };
        let Some(id) = id else {
            return Ok(None);
        };
        let token = Uuid::new_v4();
        let expires = now + lease;
        run_cached(
            &tx,
            "UPDATE migration_jobs SET state = 'InProgress', lease_owner = ?2, lease_token = ?3,
                 lease_expires = ?4, modified_date = ?5
             WHERE correlation_id = ?1",
            params![id, worker, token.to_string(), micros(expires), micros(now)],
        )?;
        let job = load_job(&tx, &id)?
            .ok_or_else(|| StoreError::Database("claimed job vanished".into()))?;
        tx.commit()?;
        Ok(Some(ClaimedJob {
            job,
            lease_token: token,
            lease_expires: expires,
        }))
    }

    fn record_progress(
        &mut self,
        claim: &ClaimedJob,
        progress: &JobProgress,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<ClaimedJob> {
        let tx = self.write_tx()?;
        check_lease(&tx, claim)?;
        let id = claim.job.correlation_id.to_string();
        write_progress(&tx, &id, progress, now)?;
        let expires = now + lease;
        run_cached(
            &tx,
            "UPDATE migration_jobs SET lease_expires = ?2 WHERE correlation_id = ?1",
            params![id, micros(expires)],
        )?;
        let job = load_job(&tx, &id)?.ok_or_else(|| StoreError::Database("job vanished".into()))?;
        tx.commit()?;
        Ok(ClaimedJob {
            job,
            lease_token: claim.lease_token,
            lease_expires: expires,
        })
    }

    fn finish_job(
        &mut self,
        claim: &ClaimedJob,
        state: MigrationState,
        progress: &JobProgress,
        now: DateTime<Utc>,
    ) -> StoreResult<MigrationJob> {
        if !matches!(state, MigrationState::Succeeded | MigrationState::Failed) {
            return Err(StoreError::Conflict(format!(
                "a job can only finish Succeeded or Failed, not {state}"
            )));
        }
        let tx = self.write_tx()?;
        check_lease(&tx, claim)?;
        let id = claim.job.correlation_id.to_string();
        write_progress(&tx, &id, progress, now)?;
        run_cached(
            &tx,
            "UPDATE migration_jobs SET state = ?2, lease_owner = NULL, lease_token = NULL,
                 lease_expires = NULL
             WHERE correlation_id = ?1",
            params![id, state.as_str()],
        )?;
        let job = load_job(&tx, &id)?.ok_or_else(|| StoreError::Database("job vanished".into()))?;
        tx.commit()?;
        Ok(job)
    }

    fn reschedule_job(
        &mut self,
        claim: &ClaimedJob,
        progress: &JobProgress,
        retry_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<MigrationJob> {
        let tx = self.write_tx()?;
        let current = check_lease(&tx, claim)?;
        let id = claim.job.correlation_id.to_string();
        let user_id = current.user_id.to_string();
        write_progress(&tx, &id, progress, now)?;
        if let Some(other) = pending_job_of(&tx, &user_id)? {
            let message = format!(
                "{}; the retry is handed to the queued job {}",
                progress.last_message, other.correlation_id
            );
            tx.execute(
                "UPDATE migration_jobs SET state = 'Failed', last_message = ?2,
                     lease_owner = NULL, lease_token = NULL, lease_expires = NULL
                 WHERE correlation_id = ?1",
                params![id, message],
            )?;
            tx.execute(
                "UPDATE migration_jobs SET not_before = MIN(not_before, ?2), modified_date = ?3
                 WHERE correlation_id = ?1",
                params![
                    other.correlation_id.to_string(),
                    micros(retry_at),
                    micros(now)
                ],
            )?;
        } else {
            tx.execute(
                "UPDATE migration_jobs SET state = 'Pending', retry_count = retry_count + 1,
                     not_before = ?2, lease_owner = NULL, lease_token = NULL, lease_expires = NULL
                 WHERE correlation_id = ?1",
                params![id, micros(retry_at)],
            )?;
        }
        let job = load_job(&tx, &id)?.ok_or_else(|| StoreError::Database("job vanished".into()))?;
        tx.commit()?;
        Ok(job)
    }

    fn purge_finished_before(&mut self, cutoff: DateTime<Utc>) -> StoreResult<usize> {
        let tx = self.write_tx()?;
        let n = tx.execute(
            "DELETE FROM migration_jobs
             WHERE state IN ('Succeeded', 'Failed') AND modified_date < ?1",
            params![micros(cutoff)],
        )?;
        tx.commit()?;
        Ok(n)
    }
}
