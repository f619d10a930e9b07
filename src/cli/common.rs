//! What every subcommand shares: opening the store, errors with exit codes, tables.

use crate::Cli;
use chrono::Duration;
use mms::engine::paths::resolve_store_path;
use mms::engine::{Engine, EngineError};
use std::path::PathBuf;

/// A failed command: the message for stderr and the exit code.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub code: u8,
}

pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_NOT_FOUND: u8 = 3;
pub const EXIT_REFUSED: u8 = 4;

impl CliError {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code,
        }
    }
    pub fn failure(message: impl Into<String>) -> Self {
        CliError::new(EXIT_FAILURE, message)
    }
    pub fn usage(message: impl Into<String>) -> Self {
        CliError::new(EXIT_USAGE, message)
    }
}

impl From<EngineError> for CliError {
    fn from(e: EngineError) -> Self {
        let code = match &e {
            EngineError::InvalidArgument(_) => EXIT_USAGE,
            EngineError::NotFound(_) | EngineError::Ambiguous(_) => EXIT_NOT_FOUND,
            EngineError::Refused(_) => EXIT_REFUSED,
            _ => EXIT_FAILURE,
        };
        CliError::new(code, e.to_string())
    }
}

pub type CliResult = Result<std::process::ExitCode, CliError>;

/// The store path this invocation uses.
pub fn store_path(cli: &Cli) -> Result<PathBuf, CliError> {
    resolve_store_path(cli.store.clone()).ok_or_else(|| {
        CliError::usage(
            "no store: pass --store PATH or set MMS_STORE (no home folder to default to)",
        )
    })
}

/// Opens the engine on the store (creating it and its schema if needed).
pub fn open_engine(cli: &Cli) -> Result<(Engine, PathBuf), CliError> {
    let path = store_path(cli)?;
    let delay = match cli.queue_delay {
        Some(d) => d,
        None => match std::env::var("MMS_QUEUE_DELAY") {
            Ok(v) if !v.trim().is_empty() => v.trim().parse::<u64>().map_err(|_| {
                CliError::usage(format!("MMS_QUEUE_DELAY is not a number of seconds: {v:?}"))
            })?,
            _ => 0,
        },
    };
    let engine =
        Engine::open(&path)?.with_queue_delay(Duration::seconds(delay.min(1 << 40) as i64));
    Ok((engine, path))
}

/// A connection to the store file for the calendar and outbox tables.
pub fn open_connection(path: &std::path::Path) -> Result<rusqlite::Connection, CliError> {
    mms::engine::embedded::open_connection(path).map_err(CliError::failure)
}

/// Prints rows as an aligned text table (first row: headers).
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let last = i + 1 == cells.len();
            s.push_str(c);
            if !last {
                let pad = widths[i].saturating_sub(c.chars().count()) + 2;
                s.push_str(&" ".repeat(pad));
            }
        }
        println!("{}", s.trim_end());
    };
    line(headers.to_vec());
    line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(|s| s.as_str())
            .collect(),
    );
    for r in rows {
        line(r.iter().map(|s| s.as_str()).collect());
    }
}

/// Prints a value as pretty JSON.
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::failure(e.to_string()))?;
    println!("{text}");
    Ok(())
}
