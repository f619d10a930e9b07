//! `mms config`: Get-/Set-CsTenantMigrationConfiguration and
//! Get-/Set-CsOnlineDialInConferencingTenantSettings.

use crate::common::{open_engine, print_json, CliError, CliResult};
use crate::Cli;
use serde_json::{Map, Value};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Show both settings objects.
    Get {
        #[arg(long)]
        json: bool,
    },
    /// Set properties, e.g. `MeetingMigrationEnabled=false AutomaticallyMigrateUserMeetings=true`.
    /// Each property goes to whichever settings object has it.
    Set {
        #[arg(value_name = "PROPERTY=VALUE", required = true)]
        assignments: Vec<String>,
        #[arg(long)]
        json: bool,
    },
}

fn keys_of(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

pub fn run(cli: &Cli, c: &Command) -> CliResult {
    let (engine, _) = open_engine(cli)?;
    let show = |json: bool| -> Result<(), CliError> {
        let t = engine.tenant_migration_configuration()?;
        let d = engine.dial_in_settings()?;
        if json {
            print_json(&serde_json::json!({
                "TenantMigrationConfiguration": t,
                "OnlineDialInConferencingTenantSettings": d,
            }))
        } else {
            println!("TenantMigrationConfiguration");
            for (k, v) in serde_json::to_value(&t)
                .unwrap_or_default()
                .as_object()
                .into_iter()
                .flatten()
            {
                println!("  {k} : {v}");
            }
            println!("OnlineDialInConferencingTenantSettings");
            for (k, v) in serde_json::to_value(&d)
                .unwrap_or_default()
                .as_object()
                .into_iter()
                .flatten()
            {
                println!("  {k} : {v}");
            }
            Ok(())
        }
    };
    match c {
        Command::Get { json } => show(*json)?,
        Command::Set { assignments, json } => {
            let tenant_keys = keys_of(
                &serde_json::to_value(engine.tenant_migration_configuration()?).unwrap_or_default(),
            );
            let dial_keys =
                keys_of(&serde_json::to_value(engine.dial_in_settings()?).unwrap_or_default());
            let mut tenant_patch = Map::new();
            let mut dial_patch = Map::new();
            for a in assignments {
                let (k, v) = a
                    .split_once('=')
                    .ok_or_else(|| CliError::usage(format!("'{a}' is not PROPERTY=VALUE")))?;
                let value = serde_json::from_str::<Value>(v.trim())
                    .unwrap_or_else(|_| Value::String(v.to_string()));
                let find = |keys: &[String]| {
                    keys.iter()
                        .find(|x| x.eq_ignore_ascii_case(k.trim()))
                        .cloned()
                };
                if let Some(key) = find(&tenant_keys).filter(|k| k != "Identity") {
                    tenant_patch.insert(key, value);
                } else if let Some(key) = find(&dial_keys).filter(|k| k != "Identity") {
                    dial_patch.insert(key, value);
                } else {
                    return Err(CliError::usage(format!("unknown setting '{k}'")));
                }
            }
            if !tenant_patch.is_empty() {
                engine.patch_tenant_migration_configuration(&Value::Object(tenant_patch))?;
            }
            if !dial_patch.is_empty() {
                engine.patch_dial_in_settings(&Value::Object(dial_patch))?;
            }
            show(*json)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
