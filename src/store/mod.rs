//! Persistence behind a trait: SQLite (embedded default) now, PostgreSQL later.
//!
//! The store keeps the tenant's two settings objects, users, bridges and migration jobs. It knows
//! no rules: where a decision is needed inside a transaction (merging a second trigger into a
//! Pending job) the caller passes the rule in as a function.
//!
//! Identity resolution (every query and command that takes an identity): a GUID is an ObjectId;
//! otherwise the text (with any `sip:` prefix removed, compared case-insensitively) is matched
//! against UserPrincipalName, then SipAddress, then DisplayName. A display name shared by several
//! users is an [`StoreError::Ambiguous`] error naming every match.

pub mod calendars;
pub mod mail_spool;
pub mod schema;
pub mod sqlite;

use crate::model::{
    Bridge, DialInConferencingTenantSettings, MigrationJob, MigrationState, MigrationType,
    SourceMeetingType, StateSummary, TargetMeetingType, TenantMigrationConfiguration, User,
};
use chrono::{DateTime, Duration, Utc};
use std::fmt;
use uuid::Uuid;

pub use sqlite::SqliteStore;

/// What the names of an embedded store's files add to the store's path: the database, SQLite's
/// WAL and shared-memory index, and the mail drop's spool. Copy or remove them together.
pub const STORE_FILE_SUFFIXES: [&str; 4] = ["", "-wal", "-shm", mail_spool::SPOOL_SUFFIX];

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// No record matches the identity.
    NotFound(String),
    /// A display name matches several users; the text names them.
    Ambiguous(String),
    /// A uniqueness rule would be broken (UPN, SIP address, bridge name, number).
    Conflict(String),
    /// The caller's lease on a job was lost (expired and reclaimed, or the job finished).
    LeaseLost(String),
    /// The database failed (I/O, corruption, locking, schema).
    Database(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotFound(m)
            | StoreError::Ambiguous(m)
            | StoreError::Conflict(m)
            | StoreError::LeaseLost(m) => f.write_str(m),
            StoreError::Database(m) => write!(f, "store error: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

pub type StoreResult<T> = Result<T, StoreError>;

/// What a trigger asks the queue for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRequest {
    pub user_id: Uuid,
    pub migration_type: MigrationType,
    pub source: SourceMeetingType,
    pub target: TargetMeetingType,
    /// Not claimed before this time (the queue delay).
    pub not_before: DateTime<Utc>,
}

/// How a request reached the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnqueueOutcome {
    pub job: MigrationJob,
    /// True when the request merged into a Pending job instead of creating one.
    pub merged: bool,
}

/// Merges a new request into the user's Pending job: returns the combined request.
pub type MergeRule<'a> = &'a dyn Fn(&MigrationJob, &JobRequest) -> JobRequest;

/// Users, bridges and jobs written in one transaction (a change and the jobs it triggers are
/// never half-applied).
#[derive(Debug, Clone, Default)]
pub struct ChangeSet {
    pub bridges: Vec<Bridge>,
    pub users: Vec<User>,
    pub jobs: Vec<JobRequest>,
}

/// Status query filters (all optional, combined with AND).
///
/// The time range selects records whose lifetime overlaps it: `StartTime` keeps records last
/// modified at or after it, `EndTime` keeps records created at or before it. So
/// `-StartTime 10/1 -EndTime 10/8` lists every migration that was active during that week.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    pub user_id: Option<Uuid>,
    pub state: Option<MigrationState>,
    pub migration_type: Option<MigrationType>,
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
}

/// A job claimed by a worker. Every later write names the lease token; a worker whose lease was
/// reclaimed gets [`StoreError::LeaseLost`] instead of overwriting the new owner's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub job: MigrationJob,
    pub lease_token: Uuid,
    pub lease_expires: DateTime<Utc>,
}

/// Counters a worker reports while it processes a job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobProgress {
    pub total_meeting: u32,
    pub succeeded_meeting: u32,
    pub failed_meeting: u32,
    pub invites_update: u32,
    pub last_message: String,
}

/// The job store. Implementations must make each method atomic.
pub trait MigrationStore: Send {
    fn tenant_migration_configuration(&mut self) -> StoreResult<TenantMigrationConfiguration>;
    fn put_tenant_migration_configuration(
        &mut self,
        config: &TenantMigrationConfiguration,
    ) -> StoreResult<()>;
    fn dial_in_settings(&mut self) -> StoreResult<DialInConferencingTenantSettings>;
    fn put_dial_in_settings(
        &mut self,
        settings: &DialInConferencingTenantSettings,
    ) -> StoreResult<()>;

    /// Identity resolution as described in the module documentation.
    fn resolve_user(&mut self, identity: &str) -> StoreResult<User>;
    fn user_by_id(&mut self, object_id: Uuid) -> StoreResult<Option<User>>;
    /// Every user, ordered by UserPrincipalName.
    fn users(&mut self) -> StoreResult<Vec<User>>;
    /// Users homed on a bridge.
    fn users_on_bridge(&mut self, bridge_id: Uuid) -> StoreResult<Vec<User>>;
    /// By GUID or (case-insensitive) name.
    fn resolve_bridge(&mut self, identity: &str) -> StoreResult<Bridge>;
    /// Every bridge, ordered by name.
    fn bridges(&mut self) -> StoreResult<Vec<Bridge>>;
    /// The bridge that owns a service number, if any.
    fn bridge_of_number(&mut self, number: &str) -> StoreResult<Option<Bridge>>;

    /// Writes bridges, then users, then jobs, in one transaction. Each job request merges into
    /// the user's Pending job through `merge` if one exists, else creates a Pending job.
    fn commit(
        &mut self,
        changes: &ChangeSet,
        merge: MergeRule<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<EnqueueOutcome>>;

    fn job(&mut self, correlation_id: Uuid) -> StoreResult<Option<MigrationJob>>;
    /// Ordered by CreateDate, then CorrelationId.
    fn jobs(&mut self, filter: &JobFilter) -> StoreResult<Vec<MigrationJob>>;
    /// Distinct users per state; always all four states, in Pending, InProgress, Failed,
    /// Succeeded order.
    fn summary(&mut self) -> StoreResult<Vec<StateSummary>>;

    /// Claims the next due job: an InProgress job whose lease expired (its worker died), else the
    /// oldest due Pending job of a user with no InProgress job. Never two jobs of one user.
    fn claim_next_job(
        &mut self,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<Option<ClaimedJob>>;
    /// Records progress and extends the lease to `now + lease`.
    fn record_progress(
        &mut self,
        claim: &ClaimedJob,
        progress: &JobProgress,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> StoreResult<ClaimedJob>;
    /// Ends the job Succeeded or Failed and releases the lease.
    fn finish_job(
        &mut self,
        claim: &ClaimedJob,
        state: MigrationState,
        progress: &JobProgress,
        now: DateTime<Utc>,
    ) -> StoreResult<MigrationJob>;
    /// Puts the job back to Pending with RetryCount + 1, due at `retry_at`. If the user already
    /// has another Pending job (queued while this one ran), that job will redo this work: this one
    /// ends Failed with a message naming it, and the other becomes due no later than `retry_at`.
    fn reschedule_job(
        &mut self,
        claim: &ClaimedJob,
        progress: &JobProgress,
        retry_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<MigrationJob>;
    /// Deletes Succeeded and Failed records last modified before `cutoff`; returns how many.
    /// Pending and InProgress jobs are never purged (that would lose work).
    fn purge_finished_before(&mut self, cutoff: DateTime<Utc>) -> StoreResult<usize>;
}
