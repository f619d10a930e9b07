//! Versioned schema of the SQLite store.
//!
//! Each migration runs once, in order, inside one transaction together with its row in
//! `schema_version`; `PRAGMA user_version` mirrors the highest applied version. To change the
//! schema, APPEND a migration with the next version number — never edit one that has shipped.
//! A store whose version is higher than the last one here was written by a newer `mms` and is
//! refused rather than misread.

/// One step of the schema.
pub struct SchemaMigration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, in version order.
pub const MIGRATIONS: &[SchemaMigration] = &[
    SchemaMigration {
        version: 1,
        name: "tenant settings, bridges, users, migration jobs",
        sql: r#"
CREATE TABLE tenant_settings (
    name   TEXT PRIMARY KEY,
    record TEXT NOT NULL
);

CREATE TABLE bridges (
    id       TEXT PRIMARY KEY,
    name_key TEXT NOT NULL UNIQUE,       -- lower-cased Name, for lookup by name
    record   TEXT NOT NULL               -- model::Bridge as JSON
);

CREATE TABLE service_numbers (
    number    TEXT PRIMARY KEY,          -- a number belongs to one bridge
    bridge_id TEXT NOT NULL REFERENCES bridges(id) ON DELETE CASCADE
);
CREATE INDEX service_numbers_bridge ON service_numbers(bridge_id);

CREATE TABLE users (
    object_id        TEXT PRIMARY KEY,
    upn_key          TEXT NOT NULL UNIQUE,   -- lower-cased UserPrincipalName
    sip_key          TEXT NOT NULL UNIQUE,   -- lower-cased SipAddress without sip:
    display_name_key TEXT NOT NULL,          -- lower-cased DisplayName (not unique)
    bridge_id        TEXT REFERENCES bridges(id),
    record           TEXT NOT NULL           -- model::User as JSON
);
CREATE INDEX users_display_name ON users(display_name_key);
CREATE INDEX users_bridge ON users(bridge_id);

CREATE TABLE migration_jobs (
    correlation_id      TEXT PRIMARY KEY,
    user_id             TEXT NOT NULL REFERENCES users(object_id),
    user_principal_name TEXT NOT NULL,
    state               TEXT NOT NULL
        CHECK (state IN ('Pending', 'InProgress', 'Failed', 'Succeeded')),
    migration_type      TEXT NOT NULL,
    source_meeting_type TEXT NOT NULL,
    target_meeting_type TEXT NOT NULL,
    create_date         INTEGER NOT NULL,    -- microseconds since the Unix epoch, UTC
    modified_date       INTEGER NOT NULL,
    not_before          INTEGER NOT NULL,
    retry_count         INTEGER NOT NULL DEFAULT 0,
    total_meeting       INTEGER NOT NULL DEFAULT 0,
    succeeded_meeting   INTEGER NOT NULL DEFAULT 0,
    failed_meeting      INTEGER NOT NULL DEFAULT 0,
    invites_update      INTEGER NOT NULL DEFAULT 0,
    last_message        TEXT NOT NULL DEFAULT '',
    lease_owner         TEXT,
    lease_token         TEXT,
    lease_expires       INTEGER
);
-- A user has at most one Pending job (later triggers merge into it) and one InProgress job
-- (two workers never process one user at once).
CREATE UNIQUE INDEX migration_jobs_one_pending ON migration_jobs(user_id) WHERE state = 'Pending';
CREATE UNIQUE INDEX migration_jobs_one_in_progress ON migration_jobs(user_id) WHERE state = 'InProgress';
CREATE INDEX migration_jobs_user ON migration_jobs(user_id, create_date);
CREATE INDEX migration_jobs_state_user ON migration_jobs(state, user_id);
CREATE INDEX migration_jobs_due ON migration_jobs(state, not_before, create_date);
CREATE INDEX migration_jobs_lease ON migration_jobs(state, lease_expires);
CREATE INDEX migration_jobs_created ON migration_jobs(create_date);
CREATE INDEX migration_jobs_modified ON migration_jobs(modified_date);
CREATE INDEX migration_jobs_type ON migration_jobs(migration_type, create_date);
"#,
    },
    // Next: the worker's calendar objects and outbox go here as versions 2, 3, ...
    SchemaMigration {
        version: 2,
        name: "embedded calendars, outbox journal, embedded mail drop, per-meeting job progress",
        sql: r#"
CREATE TABLE calendar_object (
    href      TEXT PRIMARY KEY,
    user_key  TEXT NOT NULL,
    calendar  TEXT NOT NULL,
    uid       TEXT NOT NULL,
    version   INTEGER NOT NULL,
    data      BLOB NOT NULL,
    modified  TEXT NOT NULL
);
CREATE INDEX calendar_object_by_user ON calendar_object(user_key, calendar, href);
CREATE TABLE outbox (
    message_id TEXT PRIMARY KEY,
    job_id     TEXT NOT NULL,
    uid        TEXT NOT NULL,
    sequence   INTEGER NOT NULL,
    sender     TEXT NOT NULL,
    recipients TEXT NOT NULL,
    data       BLOB NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('Queued', 'Sent')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    created    TEXT NOT NULL,
    sent       TEXT
);
CREATE INDEX outbox_by_job ON outbox(job_id, state);
CREATE INDEX outbox_by_uid ON outbox(uid, sequence);
CREATE TABLE delivered_mail (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    recipients TEXT NOT NULL,
    data       BLOB NOT NULL,
    delivered  TEXT NOT NULL
);
CREATE INDEX delivered_mail_by_message ON delivered_mail(message_id);
CREATE TABLE job_meeting_progress (
    job_id   TEXT NOT NULL,
    href     TEXT NOT NULL,
    uid      TEXT NOT NULL,
    outcome  TEXT NOT NULL CHECK (outcome IN ('Rewritten', 'Skipped', 'Failed')),
    reason   TEXT NOT NULL,
    invites  INTEGER NOT NULL,
    updated  TEXT NOT NULL,
    PRIMARY KEY (job_id, href)
);
"#,
    },
    // -SummaryOnly counts distinct users per state. COUNT(DISTINCT user_id) scans every job
    // (about 30 ms at 100,000 jobs); these triggers keep the four counts current instead, each
    // with one probe of migration_jobs_state_user per state change, so the summary reads 4 rows.
    SchemaMigration {
        version: 3,
        name: "distinct users per job state, kept by triggers (for -SummaryOnly)",
        sql: r#"
CREATE TABLE job_state_users (
    state TEXT PRIMARY KEY,
    users INTEGER NOT NULL
);
INSERT INTO job_state_users (state, users)
    SELECT s.state, (SELECT COUNT(DISTINCT user_id) FROM migration_jobs j WHERE j.state = s.state)
    FROM (SELECT 'Pending' AS state UNION ALL SELECT 'InProgress' UNION ALL SELECT 'Failed'
          UNION ALL SELECT 'Succeeded') s;
-- A user enters a state's count with their first job in that state, leaves with their last.
CREATE TRIGGER job_state_users_insert AFTER INSERT ON migration_jobs
WHEN NOT EXISTS (SELECT 1 FROM migration_jobs WHERE state = NEW.state AND user_id = NEW.user_id
                 AND correlation_id <> NEW.correlation_id)
BEGIN
    UPDATE job_state_users SET users = users + 1 WHERE state = NEW.state;
END;
CREATE TRIGGER job_state_users_delete AFTER DELETE ON migration_jobs
WHEN NOT EXISTS (SELECT 1 FROM migration_jobs WHERE state = OLD.state AND user_id = OLD.user_id)
BEGIN
    UPDATE job_state_users SET users = users - 1 WHERE state = OLD.state;
END;
CREATE TRIGGER job_state_users_update_leave AFTER UPDATE OF state, user_id ON migration_jobs
WHEN (OLD.state IS NOT NEW.state OR OLD.user_id IS NOT NEW.user_id)
 AND NOT EXISTS (SELECT 1 FROM migration_jobs WHERE state = OLD.state AND user_id = OLD.user_id)
BEGIN
    UPDATE job_state_users SET users = users - 1 WHERE state = OLD.state;
END;
CREATE TRIGGER job_state_users_update_enter AFTER UPDATE OF state, user_id ON migration_jobs
WHEN (OLD.state IS NOT NEW.state OR OLD.user_id IS NOT NEW.user_id)
 AND NOT EXISTS (SELECT 1 FROM migration_jobs WHERE state = NEW.state AND user_id = NEW.user_id
                 AND correlation_id <> NEW.correlation_id)
BEGIN
    UPDATE job_state_users SET users = users + 1 WHERE state = NEW.state;
END;
"#,
    },
    // The worker's group commit records an update delivered into the embedded mail drop in the
    // same transaction without a second copy of its bytes: `mail_id` names the mail drop row
    // that holds them. Indexes on random keys (Message-IDs, UIDs) cost one page write per
    // meeting once the tables outgrow a batch, so the outbox is keyed by job first (a job's
    // messages sit together; the Message-ID is derived from the job, so it stays unique), only
    // unsent messages are indexed by UID, and the mail drop has no Message-ID index.
    SchemaMigration {
        version: 4,
        name: "outbox keyed by job and referencing the mail drop copy; unsent-only UID index",
        sql: r#"
CREATE TABLE outbox_keyed_by_job (
    job_id     TEXT NOT NULL,
    message_id TEXT NOT NULL,
    uid        TEXT NOT NULL,
    sequence   INTEGER NOT NULL,
    sender     TEXT NOT NULL,
    recipients TEXT NOT NULL,
    data       BLOB NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('Queued', 'Sent')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    created    TEXT NOT NULL,
    sent       TEXT,
    mail_id    INTEGER REFERENCES delivered_mail(id),
    PRIMARY KEY (job_id, message_id)
);
INSERT INTO outbox_keyed_by_job
    (job_id, message_id, uid, sequence, sender, recipients, data, state, attempts, created, sent)
    SELECT job_id, message_id, uid, sequence, sender, recipients, data, state, attempts, created, sent
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_keyed_by_job RENAME TO outbox;
CREATE INDEX outbox_unsent_by_uid ON outbox(uid, sequence) WHERE state = 'Queued';
DROP INDEX delivered_mail_by_message;
"#,
    },
    // The mail drop's bytes move to a spool file beside the store (`super::mail_spool`): a row
    // then holds where its message is in the spool, and `data` is empty. Rows written before
    // keep their bytes.
    SchemaMigration {
        version: 5,
        name: "mail drop bytes in a spool file beside the store",
        sql: r#"
ALTER TABLE delivered_mail ADD COLUMN spool_offset INTEGER;
ALTER TABLE delivered_mail ADD COLUMN spool_length INTEGER;
"#,
    },
    // Less work per meeting in the three rows the worker writes for each (progress, outbox,
    // mail drop). The outbox and the progress journal become WITHOUT ROWID tables kept in
    // their primary key's order: a rowid table with a composite key is two b-trees, the table
    // and the key's index. The mail drop's ids lose AUTOINCREMENT, which updated
    // `sqlite_sequence` on every insert (committed mail drop rows are never deleted, so plain
    // rowids are not reused either). The progress row's CHECK compares with each outcome in
    // turn: `IN` with three values built a temporary b-tree on every insert. Outbox rows that
    // keep their own bytes (a delivery outside the store) spill them to overflow pages, as
    // before. The old mail drop is renamed first, so the old outbox's reference follows it,
    // and dropped once nothing refers to it.
    SchemaMigration {
        version: 6,
        name: "outbox and meeting progress without rowid; mail drop ids without AUTOINCREMENT",
        sql: r#"
ALTER TABLE delivered_mail RENAME TO delivered_mail_v5;
CREATE TABLE delivered_mail (
    id           INTEGER PRIMARY KEY,
    message_id   TEXT NOT NULL,
    recipients   TEXT NOT NULL,
    data         BLOB NOT NULL,
    delivered    TEXT NOT NULL,
    spool_offset INTEGER,
    spool_length INTEGER
);
INSERT INTO delivered_mail (id, message_id, recipients, data, delivered, spool_offset, spool_length)
    SELECT id, message_id, recipients, data, delivered, spool_offset, spool_length
    FROM delivered_mail_v5;
CREATE TABLE outbox_v6 (
    job_id     TEXT NOT NULL,
    message_id TEXT NOT NULL,
    uid        TEXT NOT NULL,
    sequence   INTEGER NOT NULL,
    sender     TEXT NOT NULL,
    recipients TEXT NOT NULL,
    data       BLOB NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('Queued', 'Sent')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    created    TEXT NOT NULL,
    sent       TEXT,
    mail_id    INTEGER REFERENCES delivered_mail(id),
    PRIMARY KEY (job_id, message_id)
) WITHOUT ROWID;
INSERT INTO outbox_v6
    (job_id, message_id, uid, sequence, sender, recipients, data, state, attempts, created,
     sent, mail_id)
    SELECT job_id, message_id, uid, sequence, sender, recipients, data, state, attempts, created,
           sent, mail_id
    FROM outbox;
DROP TABLE outbox;
DROP TABLE delivered_mail_v5;
ALTER TABLE outbox_v6 RENAME TO outbox;
CREATE INDEX outbox_unsent_by_uid ON outbox(uid, sequence) WHERE state = 'Queued';
CREATE TABLE job_meeting_progress_v6 (
    job_id   TEXT NOT NULL,
    href     TEXT NOT NULL,
    uid      TEXT NOT NULL,
    outcome  TEXT NOT NULL
        CHECK (outcome = 'Rewritten' OR outcome = 'Skipped' OR outcome = 'Failed'),
    reason   TEXT NOT NULL,
    invites  INTEGER NOT NULL,
    updated  TEXT NOT NULL,
    PRIMARY KEY (job_id, href)
) WITHOUT ROWID;
INSERT INTO job_meeting_progress_v6 (job_id, href, uid, outcome, reason, invites, updated)
    SELECT job_id, href, uid, outcome, reason, invites, updated FROM job_meeting_progress;
DROP TABLE job_meeting_progress;
ALTER TABLE job_meeting_progress_v6 RENAME TO job_meeting_progress;
"#,
    },
];
