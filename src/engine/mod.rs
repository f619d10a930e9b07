//! Public Rust API, the worker and the job state machine. Knows nothing of C.
//!
//! [`Engine`] wraps a [`MigrationStore`] behind a mutex, so one engine is safe to share between
//! threads (`Engine: Send + Sync`); every call is one store transaction. Several processes may
//! open engines on the same SQLite file.
//!
//! Users and bridges written with `upsert_*` are directory provisioning and never trigger a
//! migration; admin changes go through [`Engine::apply_user_change`] and
//! [`Engine::unregister_service_number`], which run the rules and queue jobs atomically with the
//! change.

pub mod caldav;
pub mod coordinates;
pub mod credentials;
pub mod delivery;
pub mod embedded;
pub mod paths;
pub mod sample;
pub mod smtp;
pub mod source;
pub mod validate;
pub mod worker;

use crate::model::{
    AudioConferencingProvider, Bridge, DialInConferencingTenantSettings, MeetingCoordinates,
    MeetingKind, MigrationJob, MigrationState, MigrationType, ServiceNumberType, SourceMeetingType,
    StateSummary, TargetMeetingType, TeamsUpgradeMode, TenantMigrationConfiguration, User,
};
use crate::rules::triggers::{Decision, TenantEvent, UserChange};
use crate::rules::{retry, service_numbers, triggers};
use crate::store::{
    ChangeSet, ClaimedJob, JobFilter, JobProgress, JobRequest, MigrationStore, SqliteStore,
    StoreError,
};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use uuid::Uuid;

/// Why an engine call failed. Each kind maps to one C result code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineError {
    /// Bad input: malformed value, out of range, unknown property or enum value.
    InvalidArgument(String),
    /// No user, bridge, number or job matches.
    NotFound(String),
    /// A display name matches several users.
    Ambiguous(String),
    /// A uniqueness rule would be broken.
    Conflict(String),
    /// The rules refused the request (a manual start for an on-premises mailbox, removing a
    /// bridge's default number without RemoveDefaultServiceNumber); the text is the reason.
    Refused(String),
    /// A worker's lease on a job was lost.
    LeaseLost(String),
    /// The store failed.
    Store(String),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::InvalidArgument(m)
            | EngineError::NotFound(m)
            | EngineError::Ambiguous(m)
            | EngineError::Conflict(m)
            | EngineError::Refused(m)
            | EngineError::LeaseLost(m)
            | EngineError::Store(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for EngineError {}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => EngineError::NotFound(m),
            StoreError::Ambiguous(m) => EngineError::Ambiguous(m),
            StoreError::Conflict(m) => EngineError::Conflict(m),
            StoreError::LeaseLost(m) => EngineError::LeaseLost(m),
            StoreError::Database(m) => EngineError::Store(m),
        }
    }
}

pub type EngineResult<T> = Result<T, EngineError>;

/// The result of a user change: the rules' decision, the job it queued or merged into, and the
/// user as now stored. JSON: `{"Decision":"Enqueue","MigrationType":..,"SourceMeetingType":..,
/// "TargetMeetingType":..,"Reason":..,"Merged":false,"Job":{..},"User":{..}}` or
/// `{"Decision":"NoMigration","Reason":..,"Merged":false,"Job":null,"User":{..}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeOutcome {
    #[serde(flatten)]
    pub decision: Decision,
    /// True when the job is an existing Pending job this trigger merged into.
    pub merged: bool,
    pub job: Option<MigrationJob>,
    pub user: User,
}

/// One user affected by a number unregistered from a bridge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AffectedUser {
    pub user_principal_name: String,
    pub user_id: Uuid,
    #[serde(flatten)]
    pub decision: Decision,
    pub merged: bool,
    pub job: Option<MigrationJob>,
}

/// The result of unregistering a service number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UnregisterOutcome {
    /// The bridge without the number (a removed default is replaced by the next number of its
    /// type, if any).
    pub bridge: Bridge,
    /// Every user whose default number it was.
    pub affected_users: Vec<AffectedUser>,
}

/// Filters of Get-CsMeetingMigrationStatus. JSON (all optional): `{"Identity":"ashaw@contoso.com",
/// "State":"Failed","MigrationType":"AllToTeams","StartTime":"2016-10-01T00:00:00Z",
/// "EndTime":"2016-10-08T00:00:00Z"}`. See [`JobFilter`] for what the time range selects.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct StatusFilter {
    #[serde(default)]
    pub identity: Option<String>,
    #[serde(default)]
    pub state: Option<MigrationState>,
    #[serde(default)]
    pub migration_type: Option<MigrationType>,
    #[serde(default)]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub end_time: Option<DateTime<Utc>>,
}

type Clock = Box<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The engine: tenant settings, directory, triggers, the queue and the worker's job operations.
pub struct Engine {
    store: Mutex<Box<dyn MigrationStore>>,
    clock: Clock,
    queue_delay: Duration,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("queue_delay", &self.queue_delay)
            .finish_non_exhaustive()
    }
}

/// A new conference ID: 9 digits, not starting with 0.
fn random_conference_id() -> String {
    let n = Uuid::new_v4().as_u128() % 900_000_000 + 100_000_000;
    n.to_string()
}

impl Engine {
    /// Opens (creating if needed) the embedded SQLite store at `path`.
    pub fn open(path: impl AsRef<Path>) -> EngineResult<Engine> {
        Ok(Engine::with_store(Box::new(SqliteStore::open(path)?)))
    }

    /// An engine over any store. Queue delay 0, system clock.
    pub fn with_store(store: Box<dyn MigrationStore>) -> Engine {
        Engine {
            store: Mutex::new(store),
            clock: Box::new(Utc::now),
            queue_delay: Duration::zero(),
        }
    }

    /// Replaces the clock (tests, simulations).
    pub fn with_clock(mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// Time between a trigger and the earliest moment a worker may pick the job up (Microsoft's
    /// service waits about 90 minutes; the demo uses 0).
    pub fn with_queue_delay(mut self, delay: Duration) -> Self {
        self.queue_delay = delay;
        self
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// The engine's clock, for threads that need the time but not the engine.
    pub fn clock(&self) -> &(dyn Fn() -> DateTime<Utc> + Send + Sync) {
        &*self.clock
    }

    /// The store, locked. A panic while a transaction was open rolled it back, so a poisoned
    /// lock still guards a consistent store.
    fn store(&self) -> MutexGuard<'_, Box<dyn MigrationStore>> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` with the store locked (for worker code that needs store calls the engine does not
    /// wrap).
    pub fn with_locked_store<R>(&self, f: impl FnOnce(&mut dyn MigrationStore) -> R) -> R {
        let mut guard = self.store();
        f(guard.as_mut())
    }

    // ---- tenant settings -------------------------------------------------------------------

    pub fn tenant_migration_configuration(&self) -> EngineResult<TenantMigrationConfiguration> {
        Ok(self.store().tenant_migration_configuration()?)
    }

    pub fn set_tenant_migration_configuration(
        &self,
        config: TenantMigrationConfiguration,
    ) -> EngineResult<TenantMigrationConfiguration> {
        let config = validate::tenant_migration_configuration(config)?;
        self.store().put_tenant_migration_configuration(&config)?;
        Ok(config)
    }

    /// Sets the properties named in a JSON object (e.g. `{"MeetingMigrationEnabled":false}`).
    pub fn patch_tenant_migration_configuration(
        &self,
        patch: &serde_json::Value,
    ) -> EngineResult<TenantMigrationConfiguration> {
        let mut store = self.store();
        let current = store.tenant_migration_configuration()?;
        let next = validate::tenant_migration_configuration(validate::apply_patch(
            &current,
            patch,
            "TenantMigrationConfiguration",
        )?)?;
        store.put_tenant_migration_configuration(&next)?;
        Ok(next)
    }

    pub fn dial_in_settings(&self) -> EngineResult<DialInConferencingTenantSettings> {
        Ok(self.store().dial_in_settings()?)
    }

    pub fn set_dial_in_settings(
        &self,
        settings: DialInConferencingTenantSettings,
    ) -> EngineResult<DialInConferencingTenantSettings> {
        let settings = validate::dial_in_settings(settings)?;
        self.store().put_dial_in_settings(&settings)?;
        Ok(settings)
    }

    /// Sets the properties named in a JSON object (e.g. `{"AutomaticallyMigrateUserMeetings":false,
    /// "PinLength":7}`); the whole result is validated before anything is written.
    pub fn patch_dial_in_settings(
        &self,
        patch: &serde_json::Value,
    ) -> EngineResult<DialInConferencingTenantSettings> {
        let mut store = self.store();
        let current = store.dial_in_settings()?;
        let next = validate::dial_in_settings(validate::apply_patch(
            &current,
            patch,
            "OnlineDialInConferencingTenantSettings",
        )?)?;
        store.put_dial_in_settings(&next)?;
        Ok(next)
    }

    // ---- directory -------------------------------------------------------------------------

    /// Creates or replaces a user (keyed by ObjectId). Provisioning: never triggers a migration.
    pub fn upsert_user(&self, user: User) -> EngineResult<User> {
        let mut store = self.store();
        let bridge = match user.bridge_id {
            Some(id) => Some(store.resolve_bridge(&id.to_string())?),
            None => None,
        };
        let user = validate::user(user, bridge.as_ref())?;
        store.commit(
            &ChangeSet {
                users: vec![user.clone()],
                ..Default::default()
            },
            &|p, _| keep(p),
            self.now(),
        )?;
        Ok(user)
    }

    /// A user by UPN, SIP address, ObjectId or display name.
    pub fn user(&self, identity: &str) -> EngineResult<User> {
        Ok(self.store().resolve_user(identity)?)
    }

    pub fn users(&self) -> EngineResult<Vec<User>> {
        Ok(self.store().users()?)
    }

    /// Creates or replaces a bridge (keyed by Identity). Provisioning: never triggers; removing a
    /// number that users rely on goes through [`Engine::unregister_service_number`].
    pub fn upsert_bridge(&self, bridge: Bridge) -> EngineResult<Bridge> {
        let bridge = validate::bridge(bridge)?;
        let mut store = self.store();
        // A number users explicitly use may not silently disappear.
        for u in store.users_on_bridge(bridge.identity)? {
            for n in [&u.service_number, &u.toll_free_service_number]
                .into_iter()
                .flatten()
            {
                if !bridge.service_numbers.iter().any(|s| &s.number == n) {
                    return Err(EngineError::Conflict(format!(
                        "number {n} is used by {}; unregister it with unregister_service_number",
                        u.user_principal_name
                    )));
                }
            }
        }
        store.commit(
            &ChangeSet {
                bridges: vec![bridge.clone()],
                ..Default::default()
            },
            &|p, _| keep(p),
            self.now(),
        )?;
        Ok(bridge)
    }

    /// A bridge by GUID or name.
    pub fn bridge(&self, identity: &str) -> EngineResult<Bridge> {
        Ok(self.store().resolve_bridge(identity)?)
    }

    pub fn bridges(&self) -> EngineResult<Vec<Bridge>> {
        Ok(self.store().bridges()?)
    }

    /// What the new online-meeting block shows for this organizer.
    pub fn meeting_coordinates(&self, identity: &str) -> EngineResult<MeetingCoordinates> {
        let mut store = self.store();
        let user = store.resolve_user(identity)?;
        let bridge = match user.bridge_id {
            Some(id) => Some(store.resolve_bridge(&id.to_string())?),
            None => None,
        };
        Ok(coordinates::derive_coordinates(&user, bridge.as_ref()))
    }

    // ---- triggers --------------------------------------------------------------------------

    fn request_for(&self, decision: &Decision, user: &User) -> Option<JobRequest> {
        match decision {
            Decision::Enqueue {
                migration_type,
                source,
                target,
                ..
            } => Some(JobRequest {
                user_id: user.object_id,
                migration_type: *migration_type,
                source: *source,
                target: *target,
                not_before: self.now() + self.queue_delay,
            }),
            Decision::NoMigration { .. } => None,
        }
    }

    /// Applies an admin change to a user, runs the trigger rules and queues (or merges into) a
    /// job, all in one transaction.
    pub fn apply_user_change(
        &self,
        identity: &str,
        change: &UserChange,
    ) -> EngineResult<ChangeOutcome> {
        let mut store = self.store();
        let before = store.resolve_user(identity)?;
        let tenant = store.tenant_migration_configuration()?;
        let dial_in = store.dial_in_settings()?;
        let after = apply_change(store.as_mut(), &before, change, &dial_in)?;
        let decision = triggers::decide_user_change(change, &before, &after, &tenant, &dial_in);
        let request = self.request_for(&decision, &after);
        let kind = after.meeting_kind;
        let outcomes = store.commit(
            &ChangeSet {
                users: vec![after.clone()],
                jobs: request.into_iter().collect(),
                ..Default::default()
            },
            &|p, r| merge(p, r, kind),
            self.now(),
        )?;
        let (job, merged) = match outcomes.into_iter().next() {
            Some(o) => (Some(o.job), o.merged),
            None => (None, false),
        };
        Ok(ChangeOutcome {
            decision,
            merged,
            job,
            user: after,
        })
    }

    /// `Unregister-CsOnlineDialInConferencingServiceNumber`: removes a number from a bridge and
    /// migrates every user whose default number it was (subject to the rules). A removed
    /// default is replaced by the bridge's next number of the same type. A default number is
    /// refused ([`EngineError::Refused`]) unless `remove_default` (`-RemoveDefaultServiceNumber`).
    pub fn unregister_service_number(
        &self,
        bridge_identity: &str,
        number: &str,
        remove_default: bool,
    ) -> EngineResult<UnregisterOutcome> {
        let number = validate::service_number(number)?;
        let mut store = self.store();
        let mut bridge = store.resolve_bridge(bridge_identity)?;
        let Some(pos) = bridge
            .service_numbers
            .iter()
            .position(|n| n.number == number)
        else {
            return Err(EngineError::NotFound(format!(
                "number {number} is not assigned to bridge '{}'",
                bridge.name
            )));
        };
        if let Some(reason) = service_numbers::default_number_removal_refusal(
            &bridge,
            &bridge.service_numbers[pos],
            remove_default,
        ) {
            return Err(EngineError::Refused(reason));
        }
        let removed = bridge.service_numbers.remove(pos);
        if removed.is_default {
            if let Some(next) = bridge
                .service_numbers
                .iter_mut()
                .find(|n| n.number_type == removed.number_type)
            {
                next.is_default = true;
            }
        }
        let tenant = store.tenant_migration_configuration()?;
        let dial_in = store.dial_in_settings()?;
        let mut users = Vec::new();
        let mut decisions = Vec::new();
        for mut u in store.users_on_bridge(bridge.identity)? {
            if !triggers::number_was_users_default(
                &u,
                bridge.identity,
                &number,
                removed.number_type,
                removed.is_default,
            ) {
                continue;
            }
            match removed.number_type {
                ServiceNumberType::Toll => u.service_number = None,
                ServiceNumberType::TollFree => u.toll_free_service_number = None,
            }
            let d = triggers::decide_number_unregistered(&u, &number, &tenant, &dial_in);
            decisions.push((u.clone(), d));
            users.push(u);
        }
        let jobs: Vec<JobRequest> = decisions
            .iter()
            .filter_map(|(u, d)| self.request_for(d, u))
            .collect();
        let kinds: std::collections::HashMap<Uuid, MeetingKind> = users
            .iter()
            .map(|u| (u.object_id, u.meeting_kind))
            .collect();
        let outcomes = store.commit(
            &ChangeSet {
                bridges: vec![bridge.clone()],
                users,
                jobs,
            },
            &|p, r| {
                let kind = kinds.get(&p.user_id).copied().unwrap_or(MeetingKind::Teams);
                merge(p, r, kind)
            },
            self.now(),
        )?;
        let mut outcomes = outcomes.into_iter();
        let affected_users = decisions
            .into_iter()
            .map(|(u, decision)| {
                let (job, merged) = if decision.is_enqueue() {
                    outcomes
                        .next()
                        .map_or((None, false), |o| (Some(o.job), o.merged))
                } else {
                    (None, false)
                };
                AffectedUser {
                    user_principal_name: u.user_principal_name,
                    user_id: u.object_id,
                    decision,
                    merged,
                    job,
                }
            })
            .collect();
        Ok(UnregisterOutcome {
            bridge,
            affected_users,
        })
    }

    /// Tenant-wide events (global policy grant, meeting-URL change): the rules' decision. They
    /// never queue anything.
    pub fn apply_tenant_event(&self, event: &TenantEvent) -> Decision {
        triggers::decide_tenant_event(event)
    }

    /// `Start-CsExMeetingMigration`: queues (or merges into) a job for the user. Honoured even
    /// when MeetingMigrationEnabled is false (see `rules::triggers`); refused with the rules'
    /// reason when migration is impossible for the user.
    pub fn start_migration(
        &self,
        identity: &str,
        source: SourceMeetingType,
        target: TargetMeetingType,
    ) -> EngineResult<MigrationJob> {
        let mut store = self.store();
        let user = store.resolve_user(identity)?;
        let decision = triggers::decide_manual_start(&user, source, target);
        let Some(request) = self.request_for(&decision, &user) else {
            return Err(EngineError::Refused(format!(
                "meeting migration refused: {}",
                decision.reason()
            )));
        };
        let kind = user.meeting_kind;
        let outcome = store
            .commit(
                &ChangeSet {
                    jobs: vec![request],
                    ..Default::default()
                },
                &|p, r| merge(p, r, kind),
                self.now(),
            )?
            .into_iter()
            .next()
            .ok_or_else(|| EngineError::Store("the queue returned no job".into()))?;
        Ok(outcome.job)
    }

    // ---- status ----------------------------------------------------------------------------

    /// Get-CsMeetingMigrationStatus without -SummaryOnly.
    pub fn migration_status(&self, filter: &StatusFilter) -> EngineResult<Vec<MigrationJob>> {
        if let (Some(s), Some(e)) = (filter.start_time, filter.end_time) {
            if s > e {
                return Err(EngineError::InvalidArgument(format!(
                    "StartTime {s} is after EndTime {e}"
                )));
            }
        }
        let mut store = self.store();
        let user_id = match filter.identity.as_deref() {
            Some(identity) => Some(store.resolve_user(identity)?.object_id),
            None => None,
        };
        Ok(store.jobs(&JobFilter {
            user_id,
            state: filter.state,
            migration_type: filter.migration_type,
            start_time: filter.start_time,
            end_time: filter.end_time,
        })?)
    }

    /// Get-CsMeetingMigrationStatus -SummaryOnly: all four states, always.
    pub fn migration_summary(&self) -> EngineResult<Vec<StateSummary>> {
        Ok(self.store().summary()?)
    }

    /// A job by CorrelationId.
    pub fn job(&self, correlation_id: Uuid) -> EngineResult<MigrationJob> {
        self.store()
            .job(correlation_id)?
            .ok_or_else(|| EngineError::NotFound(format!("no migration job {correlation_id}")))
    }

    /// Purges finished records older than 150 days; returns how many.
    pub fn purge_expired(&self) -> EngineResult<usize> {
        let cutoff = self.now() - retry::record_retention();
        Ok(self.store().purge_finished_before(cutoff)?)
    }

    // ---- worker ----------------------------------------------------------------------------

    /// Claims the next due job for `worker` with a lease of `lease`.
    pub fn claim_next_job(
        &self,
        worker: &str,
        lease: Duration,
    ) -> EngineResult<Option<ClaimedJob>> {
        Ok(self.store().claim_next_job(worker, self.now(), lease)?)
    }

    /// Records progress and extends the lease.
    pub fn record_progress(
        &self,
        claim: &ClaimedJob,
        progress: &JobProgress,
        lease: Duration,
    ) -> EngineResult<ClaimedJob> {
        Ok(self
            .store()
            .record_progress(claim, progress, self.now(), lease)?)
    }

    /// Ends a job: Succeeded when no meeting failed, else Failed (LastMessage says why).
    pub fn complete_job(
        &self,
        claim: &ClaimedJob,
        progress: &JobProgress,
    ) -> EngineResult<MigrationJob> {
        let state = if progress.failed_meeting == 0 {
            MigrationState::Succeeded
        } else {
            MigrationState::Failed
        };
        Ok(self
            .store()
            .finish_job(claim, state, progress, self.now())?)
    }

    /// A job-level failure. Transient failures are retried on the backoff schedule
    /// (`rules::retry`) until the retries are spent; permanent ones fail at once.
    pub fn fail_job(
        &self,
        claim: &ClaimedJob,
        progress: &JobProgress,
        transient: bool,
    ) -> EngineResult<MigrationJob> {
        let now = self.now();
        let next = claim.job.retry_count + 1;
        let mut store = self.store();
        match retry::retry_delay(next).filter(|_| transient) {
            Some(delay) => Ok(store.reschedule_job(claim, progress, now + delay, now)?),
            None => {
                let mut p = progress.clone();
                if transient {
                    p.last_message = format!(
                        "{} (gave up after {} retries)",
                        p.last_message,
                        retry::MAX_RETRIES
                    );
                }
                Ok(store.finish_job(claim, MigrationState::Failed, &p, now)?)
            }
        }
    }
}

fn keep(p: &MigrationJob) -> JobRequest {
    JobRequest {
        user_id: p.user_id,
        migration_type: p.migration_type,
        source: p.source_meeting_type,
        target: p.target_meeting_type,
        not_before: p.not_before,
    }
}

/// The merge rule bound to one organizer's meeting kind; the merged job becomes due at the
/// earlier of the two times.
fn merge(pending: &MigrationJob, new: &JobRequest, kind: MeetingKind) -> JobRequest {
    let (migration_type, source, target) = triggers::merge_job_requests(
        (
            pending.migration_type,
            pending.source_meeting_type,
            pending.target_meeting_type,
        ),
        (new.migration_type, new.source, new.target),
        kind,
    );
    JobRequest {
        user_id: pending.user_id,
        migration_type,
        source,
        target,
        not_before: pending.not_before.min(new.not_before),
    }
}

/// The user after `change`, validated against the store (bridges, conference-ID uniqueness).
fn apply_change(
    store: &mut dyn MigrationStore,
    before: &User,
    change: &UserChange,
    dial_in: &DialInConferencingTenantSettings,
) -> EngineResult<User> {
    let mut u = before.clone();
    let invalid = |m: String| EngineError::InvalidArgument(m);
    match change {
        UserChange::MoveToOnline => u.homing = crate::model::Homing::Online,
        UserChange::MoveToOnPremises => u.homing = crate::model::Homing::OnPremises,
        UserChange::AssignLicence => {
            u.audio_conferencing_licensed = true;
            u.audio_conferencing_enabled = true;
            if triggers::licence_replaces_acp_provider(before, change, dial_in) {
                u.provider = AudioConferencingProvider::Microsoft;
            }
            if u.provider == AudioConferencingProvider::Microsoft {
                // Provisioning gives a new Microsoft user a bridge and a conference ID.
                if u.bridge_id.is_none() {
                    u.bridge_id = store.bridges()?.first().map(|b| b.identity);
                }
                if u.conference_id.is_empty() {
                    u.conference_id = unused_conference_id(store, &u)?;
                }
            }
        }
        UserChange::RemoveLicence => {
            u.audio_conferencing_licensed = false;
            u.audio_conferencing_enabled = false;
        }
        UserChange::EnableAudioConferencing => {
            if !u.audio_conferencing_licensed {
                return Err(invalid(format!(
                    "{} has no Audio Conferencing licence; assign the licence first",
                    u.user_principal_name
                )));
            }
            u.audio_conferencing_enabled = true;
        }
        UserChange::DisableAudioConferencing => u.audio_conferencing_enabled = false,
        UserChange::SetConferenceId { conference_id } => {
            let id = conference_id.trim();
            triggers::validate_conference_id(id).map_err(invalid)?;
            if id != u.conference_id && conference_id_in_use(store, &u, id)? {
                return Err(EngineError::Conflict(format!(
                    "conference ID {id} is already being used on the user's bridge"
                )));
            }
            u.conference_id = id.to_string();
        }
        UserChange::ResetConferenceId => {
            u.conference_id = unused_conference_id(store, &u)?;
        }
        UserChange::MoveToBridge { bridge } => {
            let b = store.resolve_bridge(bridge)?;
            if u.bridge_id != Some(b.identity) {
                u.bridge_id = Some(b.identity);
                // Numbers of the old bridge do not exist on the new one.
                let keep_if_on = |n: &Option<String>| {
                    n.as_ref()
                        .filter(|n| b.service_numbers.iter().any(|s| &s.number == *n))
                        .cloned()
                };
                u.service_number = keep_if_on(&u.service_number);
                u.toll_free_service_number = keep_if_on(&u.toll_free_service_number);
                if !u.conference_id.is_empty() && conference_id_in_use(store, &u, &u.conference_id)?
                {
                    u.conference_id = unused_conference_id(store, &u)?;
                }
            }
        }
        UserChange::SetServiceNumber { number } => {
            u.service_number = number_on_bridge(store, &u, number, ServiceNumberType::Toll)?;
        }
        UserChange::SetTollFreeServiceNumber { number } => {
            u.toll_free_service_number =
                number_on_bridge(store, &u, number, ServiceNumberType::TollFree)?;
        }
        UserChange::SetSipAddress { sip_address } => {
            let sip = crate::model::strip_sip(sip_address);
            if !validate::is_mail_address(sip) {
                return Err(invalid(format!(
                    "SipAddress '{sip_address}' is not of the form sip:user@domain"
                )));
            }
            u.sip_address = sip.to_string();
        }
        UserChange::GrantTeamsUpgradePolicy { policy_name } => {
            u.teams_upgrade_policy = Some(*policy_name);
            match policy_name {
                TeamsUpgradeMode::TeamsOnly | TeamsUpgradeMode::SfBWithTeamsCollabAndMeetings => {
                    u.meeting_kind = MeetingKind::Teams
                }
                TeamsUpgradeMode::SfBOnly | TeamsUpgradeMode::SfBWithTeamsCollab => {
                    u.meeting_kind = MeetingKind::SkypeForBusiness
                }
                TeamsUpgradeMode::Islands => {}
            }
        }
        UserChange::SetMailboxLocation { mailbox_location } => {
            u.mailbox_location = *mailbox_location
        }
        UserChange::SetProvider { provider } => u.provider = *provider,
    }
    Ok(u)
}

fn number_on_bridge(
    store: &mut dyn MigrationStore,
    u: &User,
    number: &str,
    t: ServiceNumberType,
) -> EngineResult<Option<String>> {
    if number.trim().is_empty() {
        return Ok(None); // back to the bridge default
    }
    let n = validate::service_number(number)?;
    let Some(bridge_id) = u.bridge_id else {
        return Err(EngineError::InvalidArgument(format!(
            "{} has no audio conferencing bridge; move the user to a bridge first",
            u.user_principal_name
        )));
    };
    let bridge = store.resolve_bridge(&bridge_id.to_string())?;
    if bridge
        .service_numbers
        .iter()
        .any(|s| s.number == n && s.number_type == t)
    {
        Ok(Some(n))
    } else {
        Err(EngineError::InvalidArgument(format!(
            "{n} is not a {t} number on bridge '{}'",
            bridge.name
        )))
    }
}

fn conference_id_in_use(store: &mut dyn MigrationStore, u: &User, id: &str) -> EngineResult<bool> {
    let Some(bridge) = u.bridge_id else {
        return Ok(false);
    };
    Ok(store
        .users_on_bridge(bridge)?
        .iter()
        .any(|o| o.object_id != u.object_id && o.conference_id == id))
}

fn unused_conference_id(store: &mut dyn MigrationStore, u: &User) -> EngineResult<String> {
    for _ in 0..64 {
        let id = random_conference_id();
        if id != u.conference_id && !conference_id_in_use(store, u, &id)? {
            return Ok(id);
        }
    }
    Err(EngineError::Store(
        "could not find an unused conference ID".into(),
    ))
}
