//! `mms user`: the directory and the admin changes that trigger migrations (or do not).

use crate::common::{open_engine, print_json, print_table, CliError, CliResult};
use crate::Cli;
use mms::model::User;
use mms::rules::triggers::{Decision, TenantEvent, UserChange};
use std::io::Read;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one user (UPN, SIP address, ObjectId or display name).
    Show {
        identity: String,
        #[arg(long)]
        json: bool,
    },
    /// Create or replace users from a JSON file (one User record or an array; `-` = stdin).
    /// Provisioning never triggers a migration.
    Upsert { file: String },
    /// Apply an admin change and run the trigger rules. CHANGE is one of: MoveToOnline,
    /// MoveToOnPremises, AssignLicence, RemoveLicence, EnableAudioConferencing,
    /// DisableAudioConferencing, SetConferenceId ID, ResetConferenceId, MoveToBridge BRIDGE,
    /// SetServiceNumber NUMBER, SetTollFreeServiceNumber NUMBER, SetSipAddress SIP,
    /// GrantTeamsUpgradePolicy MODE, SetMailboxLocation ExchangeOnline|OnPremises,
    /// SetProvider Microsoft|ThirdParty.
    Change {
        identity: String,
        change: String,
        value: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// A tenant-wide event: UpdateTenantMeetingUrl, or GrantTeamsUpgradePolicyGlobal MODE.
    /// These never queue a migration; the command prints the rules' reason.
    TenantEvent {
        event: String,
        value: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Unregister a service number from a bridge; migrates every user whose default it was.
    UnregisterNumber {
        bridge: String,
        number: String,
        /// Also unregister the number when it is the bridge's default number
        /// (-RemoveDefaultServiceNumber).
        #[arg(long)]
        remove_default: bool,
        #[arg(long)]
        json: bool,
    },
}

/// The JSON field a change's value goes in.
fn value_field(change: &str) -> Option<&'static str> {
    let c = change.to_ascii_lowercase();
    Some(match c.as_str() {
        "setconferenceid" => "ConferenceId",
        "movetobridge" => "Bridge",
        "setservicenumber" | "settollfreeservicenumber" => "Number",
        "setsipaddress" => "SipAddress",
        "grantteamsupgradepolicy" | "grantteamsupgradepolicyglobal" => "PolicyName",
        "setmailboxlocation" => "MailboxLocation",
        "setprovider" => "Provider",
        _ => return None,
    })
}

const CHANGES: &[&str] = &[
    "MoveToOnline",
    "MoveToOnPremises",
    "AssignLicence",
    "RemoveLicence",
    "EnableAudioConferencing",
    "DisableAudioConferencing",
    "SetConferenceId",
    "ResetConferenceId",
    "MoveToBridge",
    "SetServiceNumber",
    "SetTollFreeServiceNumber",
    "SetSipAddress",
    "GrantTeamsUpgradePolicy",
    "SetMailboxLocation",
    "SetProvider",
];

/// Builds a [`UserChange`] from its name and optional value.
pub fn parse_change(change: &str, value: Option<&str>) -> Result<UserChange, CliError> {
    let name = CHANGES
        .iter()
        .find(|c| c.eq_ignore_ascii_case(change))
        .ok_or_else(|| {
            CliError::usage(format!(
                "unknown change '{change}'; expected one of: {}",
                CHANGES.join(", ")
            ))
        })?;
    let mut obj = serde_json::Map::new();
    obj.insert("Change".into(), serde_json::Value::String(name.to_string()));
    match (value_field(name), value) {
        (Some(f), Some(v)) => {
            obj.insert(f.into(), serde_json::Value::String(v.to_string()));
        }
        (Some(f), None) => return Err(CliError::usage(format!("{name} needs a value ({f})"))),
        (None, Some(v)) => {
            return Err(CliError::usage(format!(
                "{name} takes no value (got '{v}')"
            )))
        }
        (None, None) => {}
    }
    serde_json::from_value(serde_json::Value::Object(obj))
        .map_err(|e| CliError::usage(e.to_string()))
}

fn print_decision(d: &Decision) {
    match d {
        Decision::Enqueue { migration_type, .. } => {
            println!("migration queued ({migration_type}): {}", d.reason())
        }
        Decision::NoMigration { reason } => println!("no migration: {reason}"),
    }
}

pub fn user_row(u: &User) -> Vec<String> {
    vec![
        u.user_principal_name.clone(),
        u.display_name.clone(),
        u.meeting_kind.to_string(),
        u.homing.to_string(),
        u.mailbox_location.to_string(),
        u.provider.to_string(),
        u.conference_id.clone(),
    ]
}

pub const USER_HEADERS: &[&str] = &[
    "UserPrincipalName",
    "DisplayName",
    "Meetings",
    "Homing",
    "Mailbox",
    "Provider",
    "ConferenceId",
];

pub fn run(cli: &Cli, c: &Command) -> CliResult {
    let (engine, _) = open_engine(cli)?;
    match c {
        Command::List { json } => {
            let users = engine.users()?;
            if *json {
                print_json(&users)?;
            } else {
                print_table(
                    USER_HEADERS,
                    &users.iter().map(user_row).collect::<Vec<_>>(),
                );
            }
        }
        Command::Show { identity, json } => {
            let u = engine.user(identity)?;
            if *json {
                print_json(&u)?;
            } else {
                print_table(USER_HEADERS, &[user_row(&u)]);
            }
        }
        Command::Upsert { file } => {
            let mut text = String::new();
            if file == "-" {
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|e| CliError::failure(e.to_string()))?;
            } else {
                text = std::fs::read_to_string(file)
                    .map_err(|e| CliError::usage(format!("cannot read {file}: {e}")))?;
            }
            let value: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| CliError::usage(format!("{file}: {e}")))?;
            let users: Vec<User> = if value.is_array() {
                serde_json::from_value(value)
            } else {
                serde_json::from_value(value).map(|u| vec![u])
            }
            .map_err(|e| CliError::usage(format!("{file}: {e}")))?;
            for u in users {
                let u = engine.upsert_user(u)?;
                println!("upserted {}", u.user_principal_name);
            }
        }
        Command::Change {
            identity,
            change,
            value,
            json,
        } => {
            let change = parse_change(change, value.as_deref())?;
            let outcome = engine.apply_user_change(identity, &change)?;
            if *json {
                print_json(&outcome)?;
            } else {
                print_decision(&outcome.decision);
                if let Some(j) = &outcome.job {
                    println!(
                        "job {} {} for {}",
                        j.correlation_id,
                        if outcome.merged {
                            "(merged into the pending job)"
                        } else {
                            "queued"
                        },
                        j.user_principal_name
                    );
                }
            }
        }
        Command::TenantEvent { event, value, json } => {
            let mut obj = serde_json::Map::new();
            obj.insert("Event".into(), serde_json::Value::String(event.clone()));
            if let Some(v) = value {
                obj.insert("PolicyName".into(), serde_json::Value::String(v.clone()));
            }
            let ev: TenantEvent = serde_json::from_value(serde_json::Value::Object(obj))
                .map_err(|e| CliError::usage(format!("bad tenant event: {e}")))?;
            let d = engine.apply_tenant_event(&ev);
            if *json {
                print_json(&d)?;
            } else {
                print_decision(&d);
            }
        }
        Command::UnregisterNumber {
            bridge,
            number,
            remove_default,
            json,
        } => {
            let outcome = engine.unregister_service_number(bridge, number, *remove_default)?;
            if *json {
                print_json(&outcome)?;
            } else {
                println!("{number} removed from {}", outcome.bridge.name);
                for a in &outcome.affected_users {
                    print!("{}: ", a.user_principal_name);
                    print_decision(&a.decision);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
