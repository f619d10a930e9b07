//! The migration worker: claims due jobs, rewrites the organizer's future meetings one by one,
//! stores each organizer copy back, sends one iMIP REQUEST per series to its attendees, and keeps
//! the job's status current.
//!
//! Crash safety (a worker may be killed at any instant):
//! - Per meeting, the outcome is committed to `job_meeting_progress` before the next meeting
//!   starts; a resumed job (same CorrelationId: the lease expired and the job is re-claimed)
//!   skips settled meetings and redoes the rest.
//! - Each update has a deterministic Message-ID (UUIDv5 of CorrelationId, UID and the new
//!   SEQUENCE) and is recorded with its exact bytes in `outbox` *before* the calendar write and
//!   the send. Sent messages are marked sent after the delivery accepted them. The only window
//!   for a duplicate is between acceptance and that mark: then the very same bytes go out again
//!   (an exact re-send receivers deduplicate by Message-ID), never a second, distinct update.
//! - A calendar object already rewritten before a crash carries the new coordinates; the
//!   calendar layer answers "already up to date" (no second SEQUENCE step), and the worker sends
//!   whatever recorded message for that UID is still unsent.
//! - Group commit: when the calendars and the outbox are the embedded ones on the journal's own
//!   connection, those steps of many meetings (a quarter-second's worth) go into one
//!   transaction. A crash rolls the whole batch back — calendar writes, recorded messages,
//!   deliveries into the mail table and progress alike — so the rules above hold for the batch
//!   as they do for one meeting. Inside a batch each meeting is also all or nothing (a
//!   savepoint): calendar write, delivery into the mail drop and the outbox record (state Sent,
//!   referencing the mail drop's copy instead of a second one) are kept together or undone
//!   together, so there is no "recorded, not yet sent" step to recover and a refused delivery
//!   leaves the meeting as it was for the retry. A remote source or delivery never joins a batch.
//! - Two workers never process one user at once: the store's claim hands out at most one job
//!   per user, under a lease that progress reports extend.

use super::delivery::{DeliveryError, DeliveryReport, InviteDelivery};
use super::embedded::WalCheckpointer;
use super::source::{CalendarObject, CalendarSource, FailureKind, PutOutcome};
use super::{Engine, EngineError};
use crate::calendar::{
    compose_imip, rewrite_calendar_object, CalendarError, RewriteOutcome, RewriteRequest,
    RewrittenMeeting, SkipReason,
};
use crate::model::{clip_quoted, MeetingCoordinates, MigrationJob, User};
use crate::store::calendars::{
    self, uid_of, MeetingOutcome, MeetingProgress, OutboxMessage, OutboxState,
};
use crate::store::{ClaimedJob, JobProgress};
use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use uuid::Uuid;

/// Namespace of the deterministic Message-IDs.
const MESSAGE_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6d6d732d_6d65_7373_6167_652d69643031);

/// The Message-ID (without angle brackets) of the update a job sends for one meeting at one
/// SEQUENCE: the same inputs always give the same id.
pub fn message_id(job: Uuid, uid: &str, sequence: u32, organizer: &str) -> String {
    let id = Uuid::new_v5(
        &MESSAGE_ID_NAMESPACE,
        format!("{job}\n{uid}\n{sequence}").as_bytes(),
    );
    let domain = organizer
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
        .unwrap_or("mms.invalid");
    format!("{}@{}", id.simple(), domain)
}

/// How often a running job's counters and lease are written to the job row. Well under any
/// sensible lease, and short enough that `Get-CsMeetingMigrationStatus` looks live.
const PROGRESS_REPORT_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);

/// Worker settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Names this worker in leases (host and pid make a good one).
    pub worker_id: String,
    /// How long a claim lasts without a progress report.
    pub lease: Duration,
    /// The mailbox that sends on the organizer's behalf (ORGANIZER;SENT-BY, Sender:).
    /// `None`: `meetingmigration@<organizer's domain>`.
    pub sender: Option<String>,
    /// Conditional writes tried per meeting before giving up on a calendar that keeps changing.
    pub max_write_attempts: u32,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            worker_id: format!("mms-worker-{}", std::process::id()),
            lease: Duration::minutes(5),
            sender: None,
            max_write_attempts: 5,
        }
    }
}

/// A failure that stops the worker itself (not one job): the store is unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerError(pub String);

impl fmt::Display for WorkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WorkerError {}

impl From<EngineError> for WorkerError {
    fn from(e: EngineError) -> Self {
        WorkerError(e.to_string())
    }
}

impl From<calendars::CalendarStoreError> for WorkerError {
    fn from(e: calendars::CalendarStoreError) -> Self {
        WorkerError(e.to_string())
    }
}

/// How one meeting went.
#[derive(Debug, Clone)]
struct MeetingResult {
    uid: String,
    outcome: MeetingOutcome,
    reason: String,
    invites: u32,
    /// For failures: can a retry help?
    kind: FailureKind,
    /// Whether the meeting counts in TotalMeeting.
    counted: bool,
}

impl MeetingResult {
    fn failed(uid: &str, kind: FailureKind, reason: String) -> Self {
        MeetingResult {
            uid: uid.to_string(),
            outcome: MeetingOutcome::Failed,
            reason,
            invites: 0,
            kind,
            counted: true,
        }
    }
}

/// The rewrite thread hands meetings over in chunks of this many: one wake-up of either
/// thread per chunk instead of per meeting (the writes are the slower side, so the queue is
/// full and every meeting taken from it used to wake the rewrite thread for the next one).
const PREPARED_CHUNK: usize = 4;
/// How many chunks may wait for the store writes: with the chunk being written and the one
/// being prepared, at most 16 meetings are in memory at once, however large the calendar.
const CHUNKS_AHEAD: usize = 2;

/// How the journal marks a skip that is out of the job's scope (not in TotalMeeting).
const NOT_COUNTED: &str = "(not counted)";

/// A job's counters as its meetings settle: the journal's rows (`progress_of`) counted as they
/// are written, so a progress report does not read the job's rows back.
#[derive(Debug, Default)]
struct JobTally {
    settled: usize,
    counts: JobProgress,
    first_failure: Option<String>,
}

impl JobTally {
    /// Counts journal rows, in the order they were settled.
    fn of<'r>(rows: impl IntoIterator<Item = &'r MeetingProgress>) -> JobTally {
        let mut tally = JobTally::default();
        for r in rows {
            tally.add(r.outcome, &r.reason, r.invites);
        }
        tally
    }

    /// Counts one settled meeting (`reason` as the journal holds it).
    fn add(&mut self, outcome: MeetingOutcome, reason: &str, invites: u32) {
        self.settled += 1;
        let c = &mut self.counts;
        match outcome {
            MeetingOutcome::Rewritten => {
                c.succeeded_meeting += 1;
                c.invites_update += invites;
                c.total_meeting += 1;
            }
            MeetingOutcome::Failed => {
                c.failed_meeting += 1;
                c.total_meeting += 1;
                if self.first_failure.is_none() {
                    self.first_failure = Some(reason.to_string());
                }
            }
            MeetingOutcome::Skipped => {
                if !reason.starts_with(NOT_COUNTED) {
                    c.total_meeting += 1;
                }
            }
        }
    }

    /// The job's progress, `unsettled` meetings still to do counted in TotalMeeting.
    fn progress(&self, unsettled: usize) -> JobProgress {
        let c = &self.counts;
        JobProgress {
            total_meeting: c.total_meeting + unsettled as u32,
            last_message: match &self.first_failure {
                Some(f) => f.clone(),
                None if unsettled > 0 => format!("{} meeting(s) processed", self.settled),
                None => format!(
                    "{} meeting(s) updated, {} invite update(s) sent",
                    c.succeeded_meeting, c.invites_update
                ),
            },
            ..c.clone()
        }
    }
}

/// The worker's end of the hand-over: meetings in the order of the job's list. Both threads
/// claim meetings from `unclaimed` (the first index nobody has claimed): the rewrite thread a
/// chunk at a time, the worker one at a time when nothing prepared is waiting for it, so the
/// worker never sits idle while the rewrite thread is kept off the CPU (two cores shared with
/// the spool's writer, the checkpointer and the kernel's writeback).
struct PreparedMeetings<'t> {
    chunks: std::sync::mpsc::Receiver<Vec<PreparedUpdate>>,
    chunk: std::vec::IntoIter<PreparedUpdate>,
    unclaimed: &'t AtomicUsize,
    /// The index of the meeting the worker asks for next.
    wanted: usize,
}

impl PreparedMeetings<'_> {
    /// The next meeting, prepared by the rewrite thread; `None` when the worker is to prepare
    /// it itself (it claimed it, or the rewrite thread has stopped).
    fn next(&mut self) -> Option<PreparedUpdate> {
        let wanted = self.wanted;
        self.wanted += 1;
        loop {
            if let Some(p) = self.chunk.next() {
                return Some(p);
            }
            // Every meeting before `wanted` was claimed and settled, so a chunk received now
            // begins at `wanted`.
            match self.chunks.try_recv() {
                Ok(chunk) => self.chunk = chunk.into_iter(),
                Err(std::sync::mpsc::TryRecvError::Disconnected) => return None,
                Err(std::sync::mpsc::TryRecvError::Empty) => {
                    let claim = self.unclaimed.compare_exchange(
                        wanted,
                        wanted + 1,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    );
                    if claim.is_ok() {
                        return None;
                    }
                    // The rewrite thread claimed it: its chunk is on the way.
                    self.chunk = self.chunks.recv().ok()?.into_iter();
                }
            }
        }
    }
}

/// A settled meeting's buffers (its rewritten copies and its update, some 40 KB), handed back
/// to the rewrite thread that allocated them, which frees them between two chunks: freeing
/// them on the worker's thread, the one that sets the pace, cost it about 5% of its time, and
/// more while the rewrite thread held its allocator arena.
struct SpentUpdate {
    _meeting: RewrittenMeeting,
    _record: OutboxMessage,
}

/// The worker's way back to the rewrite thread. Once that thread has stopped (the job's list is
/// all claimed), spent buffers are freed where they are.
struct SpentUpdates {
    back: Option<std::sync::mpsc::Sender<SpentUpdate>>,
}

impl SpentUpdates {
    fn give_back(&mut self, spent: SpentUpdate) {
        if let Some(back) = &self.back {
            if back.send(spent).is_err() {
                self.back = None;
            }
        }
    }
}

/// What the worker rewrites every meeting of a job with. Pure data: it is shared with the
/// rewrite thread, which never touches the store.
struct MeetingRewriter<'j> {
    job: &'j MigrationJob,
    organizer: &'j str,
    user: &'j User,
    coordinates: &'j MeetingCoordinates,
    sender: &'j str,
}

/// A meeting rewritten and its update composed, not yet written anywhere.
struct PreparedUpdate {
    outcome: Result<PreparedOutcome, CalendarError>,
}

enum PreparedOutcome {
    Skipped(SkipReason),
    Rewritten {
        meeting: Box<RewrittenMeeting>,
        message_id: String,
        /// The iMIP REQUEST, exactly as it will be recorded and sent.
        imip: Vec<u8>,
    },
}

impl MeetingRewriter<'_> {
    /// Rewrites one calendar object as of `now` and composes its update.
    fn prepare(&self, ics: &[u8], now: DateTime<Utc>) -> PreparedUpdate {
        let req = RewriteRequest {
            organizer: self.organizer,
            organizer_object_id: Some(self.user.object_id),
            organizer_sip_address: Some(self.user.sip_address.as_str()),
            coordinates: self.coordinates,
            source: self.job.source_meeting_type,
            target: self.job.target_meeting_type,
            now,
            sent_by: Some(self.sender),
        };
        let outcome = rewrite_calendar_object(ics, &req).map(|o| match o {
            RewriteOutcome::Skipped(reason) => PreparedOutcome::Skipped(reason),
            RewriteOutcome::Rewritten(m) => {
                let id = message_id(self.job.correlation_id, &m.uid, m.sequence, self.organizer);
                let imip = compose_imip(&m, self.organizer, Some(self.sender), &id, now);
                PreparedOutcome::Rewritten {
                    meeting: Box::new(m),
                    message_id: id,
                    imip,
                }
            }
        });
        PreparedUpdate { outcome }
    }
}

/// Whether a skipped meeting is one of the organizer's future online meetings (and so counts in
/// TotalMeeting): meetings that are past, someone else's, cancelled or have no online block are
/// not the job's business and are not counted.
fn counts_toward_total(reason: &SkipReason) -> bool {
    !matches!(
        reason,
        SkipReason::NotFuture
            | SkipReason::NotOrganizer { .. }
            | SkipReason::Cancelled
            | SkipReason::NoOnlineMeetingBlock
            | SkipReason::NoMeeting
    )
}

/// Progress events for a console (stderr) or a log.
pub trait WorkerObserver {
    fn job_started(&self, _job: &MigrationJob, _meetings: usize) {}
    fn meeting_done(&self, _job: &MigrationJob, _uid: &str, _outcome: &str, _reason: &str) {}
    fn job_finished(&self, _job: &MigrationJob) {}
}

/// Observes nothing.
pub struct QuietObserver;
impl WorkerObserver for QuietObserver {}

/// The worker over one engine, one calendar source and one delivery.
pub struct Worker<'a> {
    engine: &'a Engine,
    journal: Rc<Connection>,
    /// The source and the delivery write through `journal`: meetings are committed in batches
    /// (see [`super::embedded::embedded_worker_connection`]).
    group_commit: bool,
    /// With group commit: the WAL is checkpointed on another thread after each batch.
    checkpointer: Option<WalCheckpointer>,
    source: &'a dyn CalendarSource,
    delivery: &'a dyn InviteDelivery,
    config: WorkerConfig,
    observer: &'a dyn WorkerObserver,
}

impl<'a> Worker<'a> {
    /// `journal` is a connection to the store file (outbox and progress tables); see
    /// [`super::embedded::open_connection`]. When the embedded source and outbox share it
    /// ([`super::embedded::embedded_worker_connection`]), the worker commits meetings in
    /// batches; otherwise every step of every meeting is committed on its own, in the order
    /// the crash-safety rules above need.
    pub fn new(
        engine: &'a Engine,
        journal: impl Into<Rc<Connection>>,
        source: &'a dyn CalendarSource,
        delivery: &'a dyn InviteDelivery,
        config: WorkerConfig,
    ) -> Self {
        let journal = journal.into();
        let group_commit = source.commits_with(&journal) && delivery.commits_with(&journal);
        let checkpointer = if group_commit {
            WalCheckpointer::start(&journal)
        } else {
            None
        };
        Worker {
            engine,
            journal,
            group_commit,
            checkpointer,
            source,
            delivery,
            config,
            observer: &QuietObserver,
        }
    }

    pub fn with_observer(mut self, observer: &'a dyn WorkerObserver) -> Self {
        self.observer = observer;
        self
    }

    /// Claims and processes one due job. `None` when nothing is due.
    pub fn run_once(&mut self) -> Result<Option<MigrationJob>, WorkerError> {
        let Some(claim) = self
            .engine
            .claim_next_job(&self.config.worker_id, self.config.lease)?
        else {
            return Ok(None);
        };
        self.process(claim).map(Some)
    }

    /// Processes due jobs until none is due; returns the jobs as they ended (or were
    /// rescheduled).
    pub fn run_until_idle(&mut self) -> Result<Vec<MigrationJob>, WorkerError> {
        let mut done = Vec::new();
        while let Some(job) = self.run_once()? {
            done.push(job);
        }
        Ok(done)
    }

    fn sender_for(&self, organizer: &str) -> String {
        match &self.config.sender {
            Some(s) => s.clone(),
            None => {
                let domain = organizer.rsplit_once('@').map_or("mms.invalid", |(_, d)| d);
                format!("meetingmigration@{domain}")
            }
        }
    }

    fn process(&mut self, claim: ClaimedJob) -> Result<MigrationJob, WorkerError> {
        let ended = self.process_claimed(claim);
        if !self.journal.is_autocommit() {
            // Left early with a batch open: undo it (the resumed job redoes those meetings),
            // and release the store's write lock.
            let _ = self.journal.execute_batch("ROLLBACK");
        }
        ended
    }

    /// Opens a batch of meetings (group commit only).
    fn begin_batch(&self) -> Result<(), WorkerError> {
        if self.group_commit && self.journal.is_autocommit() {
            self.journal
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(|e| WorkerError(format!("cannot start a store transaction: {e}")))?;
        }
        Ok(())
    }

    /// Commits the open batch, if any. Every engine call (job row) comes after this: the
    /// engine writes through its own connection and must never wait for our write lock.
    fn commit_batch(&self) -> Result<(), WorkerError> {
        // SQLite may have rolled the batch back itself after an I/O error; the meetings
        // after it were then committed one statement at a time.
        if !self.journal.is_autocommit() {
            self.journal
                .execute_batch("COMMIT")
                .map_err(|e| WorkerError(format!("cannot commit to the store: {e}")))?;
            if let Some(c) = &self.checkpointer {
                c.request();
            }
        }
        Ok(())
    }

    fn process_claimed(&mut self, claim: ClaimedJob) -> Result<MigrationJob, WorkerError> {
        let job = claim.job.clone();
        let job_key = job.correlation_id.to_string();
        let user = match self.engine.user(&job.user_id.to_string()) {
            Ok(u) => u,
            Err(e) => {
                let p = JobProgress {
                    last_message: format!("cannot read the user {}: {e}", job.user_principal_name),
                    ..JobProgress::default()
                };
                return Ok(self.engine.fail_job(&claim, &p, false)?);
            }
        };
        let coordinates = match self.engine.meeting_coordinates(&user.object_id.to_string()) {
            Ok(c) => c,
            Err(e) => {
                let p = JobProgress {
                    last_message: format!("cannot derive the meeting coordinates: {e}"),
                    ..JobProgress::default()
                };
                return Ok(self.engine.fail_job(&claim, &p, false)?);
            }
        };
        let organizer = user.user_principal_name.clone();
        let now = self.engine.now();
        let objects = match self.source.future_objects_of(&organizer, now) {
            Ok(o) => o,
            Err(e) => {
                let p = JobProgress {
                    last_message: format!("cannot read the calendar of {organizer}: {e}"),
                    ..self.progress_so_far(&job_key)?
                };
                return Ok(self.engine.fail_job(&claim, &p, e.is_transient())?);
            }
        };
        self.observer.job_started(&job, objects.len());

        let settled_rows = calendars::progress_of(&self.journal, &job_key)?;
        let settled: HashMap<&str, &MeetingProgress> =
            settled_rows.iter().map(|p| (p.href.as_str(), p)).collect();
        // Meetings settled by an earlier run of this job (a resumed job) are not redone; failed
        // ones are.
        let todo: Vec<CalendarObject> = objects
            .into_iter()
            .filter(|o| {
                settled
                    .get(o.href.as_str())
                    .map_or(true, |p| p.outcome == MeetingOutcome::Failed)
            })
            .collect();
        // The job's counters start from the earlier runs' rows, but those redone now (their
        // new row replaces the old one in the journal).
        let redone: std::collections::HashSet<&str> = todo
            .iter()
            .map(|o| o.href.as_str())
            .filter(|h| settled.contains_key(h))
            .collect();
        let tally = JobTally::of(
            settled_rows
                .iter()
                .filter(|r| !redone.contains(r.href.as_str())),
        );
        let sender = self.sender_for(&organizer);
        let rewriter = MeetingRewriter {
            job: &job,
            organizer: &organizer,
            user: &user,
            coordinates: &coordinates,
            sender: &sender,
        };
        let clock = self.engine.clock();
        // Rewriting and composing (pure CPU) run one meeting ahead of the store writes on a
        // second thread; the writes, their order and the crash rules stay on this one. The
        // bounded queue keeps memory flat however large the calendar.
        let unclaimed = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            let (ahead, chunks) = std::sync::mpsc::sync_channel(CHUNKS_AHEAD);
            // Unbounded, yet short: it is emptied before every chunk, and the thread waits for
            // the worker only while CHUNKS_AHEAD chunks are unread.
            let (back, spent) = std::sync::mpsc::channel::<SpentUpdate>();
            let (rewriter, todo) = (&rewriter, &todo);
            let claims = &unclaimed;
            scope.spawn(move || loop {
                spent.try_iter().for_each(drop);
                let start = claims.fetch_add(PREPARED_CHUNK, Ordering::AcqRel);
                if start >= todo.len() {
                    return;
                }
                let objects = &todo[start..todo.len().min(start + PREPARED_CHUNK)];
                let chunk = objects
                    .iter()
                    .map(|o| rewriter.prepare(&o.data, clock()))
                    .collect();
                if ahead.send(chunk).is_err() {
                    return; // the worker stopped early (an error or a lost lease)
                }
            });
            let mut prepared = PreparedMeetings {
                chunks,
                chunk: Vec::new().into_iter(),
                unclaimed: &unclaimed,
                wanted: 0,
            };
            let mut spent = SpentUpdates { back: Some(back) };
            self.process_meetings(claim, rewriter, todo, tally, &mut prepared, &mut spent)
        })
    }

    /// Settles `todo` in order (their first rewrites arrive on `prepared`, in the same order),
    /// commits in batches, reports progress and ends the job. `tally` counts the job's meetings
    /// settled before this run.
    #[allow(clippy::too_many_arguments)]
    fn process_meetings(
        &mut self,
        mut claim: ClaimedJob,
        rewriter: &MeetingRewriter,
        todo: &[CalendarObject],
        mut tally: JobTally,
        prepared: &mut PreparedMeetings<'_>,
        spent: &mut SpentUpdates,
    ) -> Result<MigrationJob, WorkerError> {
        let job = claim.job.clone();
        let job_key = job.correlation_id.to_string();
        let mut transient_failure = false;
        let mut remaining = todo.len();
        let mut last_report = Instant::now();
        self.begin_batch()?;
        // A quarter of the lease at most, so the lease never runs out between two reports.
        let report_every = (self.config.lease / 4)
            .to_std()
            .unwrap_or_default()
            .min(PROGRESS_REPORT_INTERVAL);
        for object in todo {
            remaining -= 1;
            // After an I/O error (a full disk) SQLite may have rolled the whole batch back: its
            // meetings are unsettled again and the retry redoes them. Open a new batch, so the
            // meetings after it keep the all-or-nothing savepoint instead of committing one
            // statement at a time (where a failed "sent" mark means an exact re-send later).
            self.begin_batch()?;
            let first = prepared.next();
            let result = self.process_meeting(&job, rewriter, object, first, spent);
            if result.outcome == MeetingOutcome::Failed && result.kind.is_transient() {
                transient_failure = true;
            }
            let reason = if result.counted || result.outcome != MeetingOutcome::Skipped {
                result.reason.clone()
            } else {
                // Not counted in TotalMeeting: keep the reason, mark it as out of scope.
                format!("{NOT_COUNTED} {}", result.reason)
            };
            // (On an error the job stops here and the tally goes with it.)
            tally.add(result.outcome, &reason, result.invites);
            calendars::record_progress(
                &self.journal,
                &job_key,
                &MeetingProgress {
                    href: object.href.clone(),
                    uid: result.uid.clone(),
                    outcome: result.outcome,
                    reason,
                    invites: result.invites,
                },
                Utc::now(),
            )?;
            // After an I/O error SQLite may have rolled the batch back, and the progress rows of
            // its meetings with it (a redone meeting's old row is back): count the job again
            // from the journal, before any report.
            if self.group_commit && self.journal.is_autocommit() {
                tally = self.tally_of_journal(&job_key)?;
            }
            self.observer
                .meeting_done(&job, &result.uid, result.outcome.as_str(), &result.reason);
            // The meeting is settled in the journal above; the job row's counters (what the
            // status cmdlets show) and the lease are refreshed at most every
            // PROGRESS_REPORT_INTERVAL, not per meeting: re-counting the journal and a store
            // transaction per meeting cost more than the meeting's own writes.
            if last_report.elapsed() >= report_every {
                let progress = tally.progress(remaining);
                self.commit_batch()?;
                if let Some(c) = &self.checkpointer {
                    c.settle();
                }
                match self
                    .engine
                    .record_progress(&claim, &progress, self.config.lease)
                {
                    Ok(c) => claim = c,
                    // Another worker took the job over (our lease expired): stop, it carries on.
                    Err(EngineError::LeaseLost(m)) => return Err(WorkerError(m)),
                    Err(e) => return Err(e.into()),
                }
                last_report = Instant::now();
                self.begin_batch()?;
            }
        }
        let progress = tally.progress(0);
        self.commit_batch()?;
        let ended = if transient_failure {
            self.engine.fail_job(&claim, &progress, true)?
        } else {
            self.engine.complete_job(&claim, &progress)?
        };
        self.observer.job_finished(&ended);
        Ok(ended)
    }

    /// The job's counters from its meetings settled in the journal.
    fn progress_so_far(&self, job_key: &str) -> Result<JobProgress, WorkerError> {
        Ok(self.tally_of_journal(job_key)?.progress(0))
    }

    /// Counts the job's meetings settled in the journal, in the order they were settled.
    fn tally_of_journal(&self, job_key: &str) -> Result<JobTally, WorkerError> {
        Ok(JobTally::of(&calendars::progress_of(
            &self.journal,
            job_key,
        )?))
    }

    fn process_meeting(
        &mut self,
        job: &MigrationJob,
        rewriter: &MeetingRewriter,
        object: &CalendarObject,
        mut prepared: Option<PreparedUpdate>,
        spent: &mut SpentUpdates,
    ) -> MeetingResult {
        let sender = rewriter.sender;
        // The listed object, or the fresh copy read after a conflicting write.
        let mut fresh: Option<CalendarObject> = None;
        let attempts = self.config.max_write_attempts.max(1);
        for _ in 0..attempts {
            let current = fresh.as_ref().unwrap_or(object);
            // The first attempt was prepared ahead on the rewrite thread; a retry after a
            // conflicting write rewrites the fresh copy here.
            let update = match prepared.take() {
                Some(p) => p,
                None => rewriter.prepare(&current.data, self.engine.now()),
            };
            let (m, id, bytes) = match update.outcome {
                Err(e) => {
                    return MeetingResult::failed(
                        "",
                        FailureKind::Permanent,
                        format!("{} ({}): {e}", meeting_label("", ""), current.href),
                    )
                }
                Ok(PreparedOutcome::Skipped(SkipReason::AlreadyUpToDate)) => {
                    return self.resume_already_rewritten(job, current, sender);
                }
                Ok(PreparedOutcome::Skipped(reason)) => {
                    return MeetingResult {
                        uid: uid_of(&current.data),
                        outcome: MeetingOutcome::Skipped,
                        counted: counts_toward_total(&reason),
                        reason: reason.to_string(),
                        invites: 0,
                        kind: FailureKind::Permanent,
                    };
                }
                Ok(PreparedOutcome::Rewritten {
                    meeting,
                    message_id,
                    imip,
                }) => (*meeting, message_id, imip),
            };
            // (The update's strings move into its record: the meeting's copies are not used
            // again.)
            let mut m = m;
            let record = OutboxMessage {
                message_id: id,
                job_id: job.correlation_id.to_string(),
                uid: m.uid.clone(),
                sequence: m.sequence,
                sender: sender.to_string(),
                recipients: std::mem::take(&mut m.attendees),
                data: bytes,
                state: OutboxState::Queued,
                attempts: 0,
            };
            // Inside a group-commit batch the calendar write, the delivery into the mail drop
            // and the outbox record commit or roll back together, so the update needs no
            // separate "recorded, not yet sent" step: one savepoint makes the meeting all or
            // nothing. Otherwise (a remote source or delivery, or a batch SQLite rolled back
            // after an I/O error) the update is recorded first, as the crash rules above need.
            let in_batch =
                self.group_commit && !self.journal.is_autocommit() && !record.recipients.is_empty();
            if in_batch {
                if let Err(e) = self.begin_meeting_savepoint(&job.correlation_id, &m.uid) {
                    return MeetingResult::failed(&m.uid, FailureKind::Transient, e.to_string());
                }
            } else if record.recipients.is_empty() {
                // Nothing to send; the organizer copy is still updated.
            } else if let Err(e) =
                calendars::replace_queued_message(&self.journal, &record, Utc::now())
            {
                return MeetingResult::failed(&m.uid, FailureKind::Transient, e.to_string());
            }
            let put = self
                .source
                .put(&current.href, &m.organizer_copy, &current.etag);
            if in_batch && !matches!(put, Ok(PutOutcome::Stored { .. })) {
                self.end_meeting_savepoint(false);
            }
            match put {
                Ok(PutOutcome::Stored { .. }) => {
                    let result = if record.recipients.is_empty() {
                        MeetingResult {
                            uid: m.uid.clone(),
                            outcome: MeetingOutcome::Rewritten,
                            reason: "updated (no attendees to notify)".into(),
                            invites: 0,
                            kind: FailureKind::Permanent,
                            counted: true,
                        }
                    } else if in_batch {
                        let result = self.deliver_in_batch(&record, &m.summary);
                        self.end_meeting_savepoint(result.outcome != MeetingOutcome::Failed);
                        result
                    } else {
                        self.deliver_recorded(
                            &m.uid,
                            &record.job_id,
                            &record.message_id,
                            &m.summary,
                        )
                    };
                    spent.give_back(SpentUpdate {
                        _meeting: m,
                        _record: record,
                    });
                    return result;
                }
                Ok(PutOutcome::Conflict) => match self.source.get(&current.href) {
                    Ok(Some(f)) => fresh = Some(f),
                    Ok(None) => {
                        let _ = calendars::discard_queued(
                            &self.journal,
                            &record.job_id,
                            &record.message_id,
                        );
                        return MeetingResult {
                            uid: m.uid,
                            outcome: MeetingOutcome::Skipped,
                            reason: "deleted from the calendar while being updated".into(),
                            invites: 0,
                            kind: FailureKind::Permanent,
                            counted: false,
                        };
                    }
                    Err(e) => {
                        return MeetingResult::failed(
                            &m.uid,
                            e.kind,
                            format!("{}: {e}", meeting_label(&m.uid, &m.summary)),
                        )
                    }
                },
                Err(e) => {
                    return MeetingResult::failed(
                        &m.uid,
                        e.kind,
                        format!(
                            "{}: cannot store the updated meeting: {e}",
                            meeting_label(&m.uid, &m.summary)
                        ),
                    )
                }
            }
        }
        let current = fresh.as_ref().unwrap_or(object);
        MeetingResult::failed(
            &uid_of(&current.data),
            FailureKind::Transient,
            format!(
                "{}: the meeting kept changing while it was being updated ({attempts} attempts)",
                meeting_label(&uid_of(&current.data), "")
            ),
        )
    }

    /// The object already carries the new coordinates. If this or an earlier run of a job wrote
    /// it and then died before sending, the recorded update is still unsent: send exactly it.
    fn resume_already_rewritten(
        &mut self,
        job: &MigrationJob,
        object: &CalendarObject,
        _sender: &str,
    ) -> MeetingResult {
        let uid = uid_of(&object.data);
        let queued = match calendars::queued_for_uid(&self.journal, &uid) {
            Ok(q) => q,
            Err(e) => return MeetingResult::failed(&uid, FailureKind::Transient, e.to_string()),
        };
        if let Some(newest) = queued.first() {
            // Older unsent ones were superseded by the newest write.
            for old in &queued[1..] {
                let _ = calendars::discard_queued(&self.journal, &old.job_id, &old.message_id);
            }
            let (job_id, id) = (newest.job_id.clone(), newest.message_id.clone());
            return self.deliver_recorded(&uid, &job_id, &id, "");
        }
        let sent = calendars::messages_for(&self.journal, &job.correlation_id.to_string(), &uid)
            .unwrap_or_default();
        if sent.iter().any(|m| m.state == OutboxState::Sent) {
            // Sent by this job before a crash that came before the progress commit.
            return MeetingResult {
                uid,
                outcome: MeetingOutcome::Rewritten,
                reason: "updated".into(),
                invites: 1,
                kind: FailureKind::Permanent,
                counted: true,
            };
        }
        MeetingResult {
            uid,
            outcome: MeetingOutcome::Skipped,
            reason: SkipReason::AlreadyUpToDate.to_string(),
            invites: 0,
            kind: FailureKind::Permanent,
            counted: true,
        }
    }

    /// Opens the savepoint of one meeting inside a batch and drops the job's unsent messages for
    /// the UID (left by an attempt that never wrote the calendar).
    fn begin_meeting_savepoint(&self, job: &Uuid, uid: &str) -> Result<(), WorkerError> {
        self.journal
            .prepare_cached("SAVEPOINT meeting")
            .and_then(|mut st| st.execute([]))
            .map_err(|e| WorkerError(format!("cannot start a store savepoint: {e}")))?;
        if let Err(e) = calendars::discard_unsent(&self.journal, &job.to_string(), uid) {
            self.end_meeting_savepoint(false);
            return Err(e.into());
        }
        Ok(())
    }

    /// Keeps or undoes the meeting's writes since [`Self::begin_meeting_savepoint`].
    fn end_meeting_savepoint(&self, keep: bool) {
        // After an I/O error SQLite may have rolled the whole batch back, savepoint included:
        // then there is nothing left to keep or undo.
        // Cached statements: one meeting after another, parsing them anew cost more than
        // running them.
        let run = |sql: &str| {
            let _ = self
                .journal
                .prepare_cached(sql)
                .and_then(|mut st| st.execute([]));
        };
        if !keep {
            run("ROLLBACK TO meeting");
        }
        run("RELEASE meeting");
    }

    /// Delivers a freshly composed update through a delivery that writes in the open batch, then
    /// records it as sent (its bytes stay in the mail drop only).
    fn deliver_in_batch(&mut self, record: &OutboxMessage, summary: &str) -> MeetingResult {
        let sent = self.delivery.send(
            &record.message_id,
            &record.sender,
            &record.recipients,
            &record.data,
        );
        let recorded = match &sent {
            Ok(DeliveryReport {
                mail_drop_row: Some(row),
                ..
            }) => calendars::record_delivered(&self.journal, record, *row, Utc::now()),
            // A delivery that keeps no copy in the store: the record keeps the bytes.
            Ok(_) => calendars::record_message(
                &self.journal,
                &OutboxMessage {
                    state: OutboxState::Sent,
                    attempts: 1,
                    ..record.clone()
                },
                Utc::now(),
            ),
            Err(_) => Ok(false),
        };
        if let Err(e) = recorded {
            return MeetingResult::failed(&record.uid, FailureKind::Transient, e.to_string());
        }
        delivery_result(&record.uid, summary, sent)
    }

    /// Sends a recorded message (exactly its recorded bytes) and marks it sent.
    fn deliver_recorded(
        &mut self,
        uid: &str,
        job_id: &str,
        message_id: &str,
        summary: &str,
    ) -> MeetingResult {
        let msg = match calendars::messages_for_id(&self.journal, job_id, message_id) {
            Ok(Some(m)) => m,
            Ok(None) => {
                return MeetingResult::failed(
                    uid,
                    FailureKind::Transient,
                    format!(
                        "{}: the recorded update {message_id} is missing",
                        meeting_label(uid, summary)
                    ),
                )
            }
            Err(e) => return MeetingResult::failed(uid, FailureKind::Transient, e.to_string()),
        };
        if msg.state == OutboxState::Sent {
            return delivery_result(uid, summary, Ok(DeliveryReport::default()));
        }
        if let Err(e) = calendars::note_attempt(&self.journal, job_id, message_id) {
            return MeetingResult::failed(uid, FailureKind::Transient, e.to_string());
        }
        let sent = self
            .delivery
            .send(message_id, &msg.sender, &msg.recipients, &msg.data);
        if sent.is_ok() {
            if let Err(e) = calendars::mark_sent(&self.journal, job_id, message_id, Utc::now()) {
                return MeetingResult::failed(uid, FailureKind::Transient, e.to_string());
            }
        }
        delivery_result(uid, summary, sent)
    }
}

/// How a meeting is named in its messages.
fn meeting_label(uid: &str, summary: &str) -> String {
    // (Both come from the calendar: a hostile one may make them megabytes long.)
    if !summary.is_empty() {
        format!("meeting '{}'", clip_quoted(summary))
    } else if !uid.is_empty() {
        format!("meeting {}", clip_quoted(uid))
    } else {
        "meeting".to_string()
    }
}

/// The meeting's result once the delivery answered (the organizer copy is already written).
/// The meeting's label is made only for a message that names it (not for every meeting sent).
fn delivery_result(
    uid: &str,
    summary: &str,
    sent: Result<DeliveryReport, DeliveryError>,
) -> MeetingResult {
    let what = || meeting_label(uid, summary);
    match sent {
        Ok(report) if !report.rejected.is_empty() => {
            let who: Vec<String> = report
                .rejected
                .iter()
                .map(|r| format!("{} ({} {})", r.address, r.code, r.reply.trim()))
                .collect();
            MeetingResult {
                uid: uid.to_string(),
                outcome: MeetingOutcome::Rewritten,
                reason: format!("{}: updated; refused for {}", what(), who.join(", ")),
                invites: 1,
                kind: FailureKind::Permanent,
                counted: true,
            }
        }
        Ok(_) => MeetingResult {
            uid: uid.to_string(),
            outcome: MeetingOutcome::Rewritten,
            reason: "updated".into(),
            invites: 1,
            kind: FailureKind::Permanent,
            counted: true,
        },
        Err(e) => MeetingResult::failed(
            uid,
            e.kind,
            format!("{}: the update could not be sent: {e}", what()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_deterministic_and_distinct_per_sequence() {
        let job = Uuid::from_u128(7);
        let a = message_id(job, "uid-1", 3, "ashaw@contoso.com");
        assert_eq!(a, message_id(job, "uid-1", 3, "ashaw@contoso.com"));
        assert_ne!(a, message_id(job, "uid-1", 4, "ashaw@contoso.com"));
        assert_ne!(
            a,
            message_id(Uuid::from_u128(8), "uid-1", 3, "ashaw@contoso.com")
        );
        assert!(a.ends_with("@contoso.com"));
    }

    #[test]
    fn job_tally_counts_settled_meetings_as_the_journal_does() {
        let mut t = JobTally::default();
        t.add(MeetingOutcome::Rewritten, "", 4);
        t.add(MeetingOutcome::Skipped, "already up to date", 0);
        t.add(
            MeetingOutcome::Skipped,
            "(not counted) not the organizer",
            0,
        );
        let p = t.progress(2);
        assert_eq!(
            (
                p.total_meeting,
                p.succeeded_meeting,
                p.failed_meeting,
                p.invites_update
            ),
            (4, 1, 0, 4),
            "an out-of-scope skip is not in TotalMeeting; unsettled meetings are"
        );
        assert_eq!(p.last_message, "3 meeting(s) processed");
        assert_eq!(
            t.progress(0).last_message,
            "1 meeting(s) updated, 4 invite update(s) sent"
        );
        t.add(MeetingOutcome::Failed, "554 relay refused", 0);
        t.add(MeetingOutcome::Failed, "451 try later", 0);
        let p = t.progress(0);
        assert_eq!((p.total_meeting, p.failed_meeting), (4, 2));
        assert_eq!(
            p.last_message, "554 relay refused",
            "the first failure is shown"
        );
    }

    /// A prepared meeting tagged with its index in the job's list.
    fn tagged(i: usize) -> PreparedUpdate {
        PreparedUpdate {
            outcome: Ok(PreparedOutcome::Skipped(SkipReason::TooManyAttendees {
                count: i,
            })),
        }
    }

    fn tag_of(p: Option<PreparedUpdate>) -> Option<usize> {
        match p?.outcome {
            Ok(PreparedOutcome::Skipped(SkipReason::TooManyAttendees { count })) => Some(count),
            _ => panic!("not a tagged meeting"),
        }
    }

    #[test]
    fn the_worker_prepares_a_meeting_itself_when_nothing_prepared_waits_and_nobody_claimed_it() {
        let (ahead, chunks) = std::sync::mpsc::sync_channel(CHUNKS_AHEAD);
        let unclaimed = AtomicUsize::new(0);
        let mut prepared = PreparedMeetings {
            chunks,
            chunk: Vec::new().into_iter(),
            unclaimed: &unclaimed,
            wanted: 0,
        };
        // The rewrite thread claimed and sent 0..2.
        unclaimed.store(2, Ordering::SeqCst);
        ahead.send(vec![tagged(0), tagged(1)]).unwrap();
        assert_eq!(tag_of(prepared.next()), Some(0));
        assert_eq!(tag_of(prepared.next()), Some(1));
        // Nothing waits and nobody claimed 2: the worker takes it (None: prepare it yourself).
        assert_eq!(tag_of(prepared.next()), None);
        assert_eq!(unclaimed.load(Ordering::SeqCst), 3);
        // The rewrite thread claims 3..5; the worker waits for that chunk rather than
        // preparing 3 a second time.
        assert_eq!(unclaimed.fetch_add(2, Ordering::SeqCst), 3);
        let late = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            ahead.send(vec![tagged(3), tagged(4)]).unwrap();
        });
        assert_eq!(tag_of(prepared.next()), Some(3));
        assert_eq!(tag_of(prepared.next()), Some(4));
        late.join().unwrap();
        assert_eq!(unclaimed.load(Ordering::SeqCst), 5);
        // The rewrite thread has stopped: the worker prepares the rest.
        assert_eq!(tag_of(prepared.next()), None);
    }
}
