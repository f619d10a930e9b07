//! `mms import` / `mms export`: a folder of .ics files in and out of a user's embedded calendar.

use crate::common::{open_connection, open_engine, CliError, CliResult};
use crate::Cli;
use chrono::Utc;
use mms::store::calendars;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The calendar's owner: UPN, SIP address, ObjectId or display name.
    #[arg(long)]
    pub user: String,
    /// Calendar (collection) name inside the user's calendars.
    #[arg(long, default_value = "calendar")]
    pub calendar: String,
    /// Folder of .ics files (one calendar object each).
    pub folder: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    #[arg(long)]
    pub user: String,
    /// Also write every update sent to or on behalf of the user as .eml files under FOLDER/mail.
    #[arg(long)]
    pub mail: bool,
    pub folder: PathBuf,
}

pub fn run_import(cli: &Cli, a: &ImportArgs) -> CliResult {
    let (engine, path) = open_engine(cli)?;
    let user = engine.user(&a.user)?;
    let conn = open_connection(&path)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&a.folder)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", a.folder.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("ics")))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(CliError::usage(format!(
            "no .ics files in {}",
            a.folder.display()
        )));
    }
    let mut imported = 0;
    for f in &files {
        let data = std::fs::read(f)
            .map_err(|e| CliError::failure(format!("cannot read {}: {e}", f.display())))?;
        let uid = calendars::uid_of(&data);
        if uid.is_empty() {
            eprintln!("skipped {}: no UID", f.display());
            continue;
        }
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        calendars::import_object(
            &conn,
            &user.user_principal_name,
            &a.calendar,
            &name,
            &uid,
            &data,
            Utc::now(),
        )
        .map_err(|e| CliError::failure(e.to_string()))?;
        imported += 1;
    }
    println!(
        "imported {imported} calendar object(s) into {}'s calendar '{}'",
        user.user_principal_name, a.calendar
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run_export(cli: &Cli, a: &ExportArgs) -> CliResult {
    let (engine, path) = open_engine(cli)?;
    let user = engine.user(&a.user)?;
    let conn = open_connection(&path)?;
    std::fs::create_dir_all(&a.folder)
        .map_err(|e| CliError::failure(format!("cannot create {}: {e}", a.folder.display())))?;
    let objects = calendars::all_objects_of(&conn, &user.user_principal_name)
        .map_err(|e| CliError::failure(e.to_string()))?;
    for o in &objects {
        let name = o.href.rsplit('/').next().unwrap_or("object.ics");
        let dir = a.folder.join(&o.calendar);
        std::fs::create_dir_all(&dir).map_err(|e| CliError::failure(e.to_string()))?;
        std::fs::write(dir.join(name), &o.data).map_err(|e| CliError::failure(e.to_string()))?;
    }
    let mut mails = 0;
    if a.mail {
        let uids: std::collections::HashSet<&str> =
            objects.iter().map(|o| o.uid.as_str()).collect();
        let dir = a.folder.join("mail");
        std::fs::create_dir_all(&dir).map_err(|e| CliError::failure(e.to_string()))?;
        for m in calendars::all_messages(&conn).map_err(|e| CliError::failure(e.to_string()))? {
            if uids.contains(m.uid.as_str()) {
                let file: String = m
                    .message_id
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '@' || c == '.' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                std::fs::write(dir.join(format!("{file}.eml")), &m.data)
                    .map_err(|e| CliError::failure(e.to_string()))?;
                mails += 1;
            }
        }
    }
    println!(
        "exported {} calendar object(s){} to {}",
        objects.len(),
        if a.mail {
            format!(" and {mails} update(s)")
        } else {
            String::new()
        },
        a.folder.display()
    );
    Ok(ExitCode::SUCCESS)
}
