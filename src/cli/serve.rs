//! `mms serve`: the migration worker.

use crate::common::{open_connection, open_engine, CliError, CliResult};
use crate::Cli;
use chrono::Duration;
use mms::engine::caldav::CalDavSource;
use mms::engine::delivery::InviteDelivery;
use mms::engine::embedded::{EmbeddedCalendarSource, EmbeddedOutbox};
use mms::engine::smtp::SmtpDelivery;
use mms::engine::source::CalendarSource;
use mms::engine::worker::{Worker, WorkerConfig, WorkerObserver};
use mms::model::MigrationJob;
use rusqlite::Connection;
use std::path::Path;
use std::process::ExitCode;
use std::rc::Rc;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Process every due job, then exit (instead of polling forever).
    #[arg(long)]
    pub once: bool,
    /// Seconds between polls for due jobs.
    #[arg(long, default_value_t = 2, value_name = "SECS")]
    pub poll: u64,
    /// CalDAV server where discovery starts (else the embedded calendars). Login from
    /// MMS_CALDAV_USER / MMS_CALDAV_PASSWORD (never on the command line).
    #[arg(long, value_name = "URL")]
    pub caldav: Option<String>,
    /// SMTP relay for the updates (else the embedded outbox). Login from MMS_SMTP_USER /
    /// MMS_SMTP_PASSWORD.
    #[arg(long, value_name = "HOST:PORT")]
    pub smtp: Option<String>,
    /// Mailbox that sends on the organizers' behalf (SENT-BY). Default $MMS_SENDER, else meetingmigration@<domain>.
    #[arg(long, value_name = "ADDRESS")]
    pub sender: Option<String>,
    /// Name of this worker in job leases.
    #[arg(long)]
    pub worker_id: Option<String>,
    /// Seconds a claim lasts without progress (a dead worker's job is taken over after it).
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub lease: u64,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Progress lines on stderr.
pub struct StderrObserver {
    pub quiet: bool,
}

impl WorkerObserver for StderrObserver {
    fn job_started(&self, job: &MigrationJob, meetings: usize) {
        if !self.quiet {
            eprintln!(
                "[{}] {}: {meetings} calendar object(s) to examine (job {}, retry {})",
                chrono::Utc::now().format("%H:%M:%S"),
                job.user_principal_name,
                job.correlation_id,
                job.retry_count
            );
        }
    }
    fn meeting_done(&self, job: &MigrationJob, uid: &str, outcome: &str, reason: &str) {
        if !self.quiet {
            let short: String = uid
                .chars()
                .rev()
                .take(12)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            eprintln!(
                "    {}: …{short} {outcome}: {reason}",
                job.user_principal_name
            );
        }
    }
    fn job_finished(&self, job: &MigrationJob) {
        if !self.quiet {
            eprintln!(
                "[{}] {}: {} ({} updated, {} failed, {} invite update(s)) {}",
                chrono::Utc::now().format("%H:%M:%S"),
                job.user_principal_name,
                job.state,
                job.succeeded_meeting,
                job.failed_meeting,
                job.invites_update,
                job.last_message
            );
        }
    }
}

/// A calendar source and a delivery.
pub type Transports = (Box<dyn CalendarSource>, Box<dyn InviteDelivery>);

/// The calendar source and the delivery this invocation uses. The embedded ones use `journal`
/// when given (the worker's own connection: it then commits meetings in batches).
pub fn transports(
    path: &Path,
    journal: Option<&Rc<Connection>>,
    caldav: Option<&str>,
    smtp: Option<&str>,
) -> Result<Transports, CliError> {
    let source: Box<dyn CalendarSource> = match (caldav, journal) {
        (None, Some(j)) => Box::new(EmbeddedCalendarSource::sharing(j.clone())),
        (None, None) => Box::new(EmbeddedCalendarSource::open(path).map_err(CliError::failure)?),
        (Some(url), _) => external_source(url)?,
    };
    let delivery: Box<dyn InviteDelivery> = match (smtp, journal) {
        (None, Some(j)) => Box::new(EmbeddedOutbox::sharing(j.clone())),
        (None, None) => Box::new(EmbeddedOutbox::open(path).map_err(CliError::failure)?),
        (Some(hostport), _) => external_delivery(hostport)?,
    };
    Ok((source, delivery))
}

fn external_source(url: &str) -> Result<Box<dyn CalendarSource>, CliError> {
    // The URL from the command line; login and the rest from MMS_CALDAV_* (never argv).
    std::env::set_var("MMS_CALDAV_URL", url);
    match CalDavSource::from_env() {
        Ok(Some(s)) => Ok(Box::new(s)),
        Ok(None) => Err(CliError::usage("CalDAV is not configured")),
        Err(e) => Err(CliError::usage(format!("CalDAV configuration: {e}"))),
    }
}

fn external_delivery(hostport: &str) -> Result<Box<dyn InviteDelivery>, CliError> {
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| CliError::usage(format!("--smtp {hostport}: bad port")))?,
        ),
        None => (hostport, 25),
    };
    std::env::set_var("MMS_SMTP_HOST", host);
    std::env::set_var("MMS_SMTP_PORT", port.to_string());
    match SmtpDelivery::from_env() {
        Ok(Some(d)) => Ok(Box::new(d)),
        Ok(None) => Err(CliError::usage("SMTP is not configured")),
        Err(e) => Err(CliError::usage(format!("SMTP configuration: {e}"))),
    }
}

/// `--caldav`, else `MMS_CALDAV_URL`; `--smtp`, else `MMS_SMTP_HOST[:MMS_SMTP_PORT]`.
pub fn transport_choice(
    caldav: Option<&str>,
    smtp: Option<&str>,
) -> (Option<String>, Option<String>) {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let caldav = caldav.map(str::to_string).or_else(|| env("MMS_CALDAV_URL"));
    let smtp = smtp.map(str::to_string).or_else(|| {
        env("MMS_SMTP_HOST").map(|h| match env("MMS_SMTP_PORT") {
            Some(p) => format!("{h}:{p}"),
            None => h,
        })
    });
    (caldav, smtp)
}

pub fn run(cli: &Cli, a: &Args) -> CliResult {
    let (engine, path) = open_engine(cli)?;
    let (caldav, smtp) = transport_choice(a.caldav.as_deref(), a.smtp.as_deref());
    let journal = Rc::new(open_connection(&path)?);
    let (source, delivery) = transports(&path, Some(&journal), caldav.as_deref(), smtp.as_deref())?;
    let observer = StderrObserver { quiet: a.quiet };
    let mut config = WorkerConfig {
        lease: Duration::seconds(a.lease.clamp(1, 86_400) as i64),
        sender: a
            .sender
            .clone()
            .or_else(|| std::env::var("MMS_SENDER").ok().filter(|s| !s.is_empty())),
        ..WorkerConfig::default()
    };
    if let Some(id) = &a.worker_id {
        config.worker_id = id.clone();
    }
    let mut worker = Worker::new(&engine, journal, source.as_ref(), delivery.as_ref(), config)
        .with_observer(&observer);
    loop {
        match worker.run_until_idle() {
            Ok(_) => {}
            Err(e) if a.once => return Err(CliError::failure(e.to_string())),
            Err(e) => eprintln!("mms serve: {e}"),
        }
        if a.once {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(std::time::Duration::from_secs(a.poll.max(1)));
    }
}
