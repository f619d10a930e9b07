//! The `mms` command as a script sees it: exit codes, `--json` shapes, `--help` everywhere.

use std::process::{Command, Output};

fn mms(store: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mms"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env_remove("MMS_STORE")
        .env_remove("MMS_QUEUE_DELAY")
        .output()
        .unwrap()
}

#[test]
fn demo_then_status_commands_print_what_scripts_parse() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("mms.db");
    let demo = mms(&store, &["demo", "--quiet"]);
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let text = String::from_utf8_lossy(&demo.stdout);
    assert!(
        text.contains("Get-CsMeetingMigrationStatus -SummaryOnly"),
        "{text}"
    );
    assert!(
        text.contains("+++ b/DESCRIPTION"),
        "a before/after diff:\n{text}"
    );

    // A second demo on the same store is refused (it needs a fresh one).
    assert_eq!(mms(&store, &["demo"]).status.code(), Some(2));

    let summary = mms(&store, &["status", "--summary", "--json"]);
    assert!(summary.status.success());
    let v: serde_json::Value = serde_json::from_slice(&summary.stdout).unwrap();
    let pairs: Vec<(String, u64)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["State"].as_str().unwrap().to_string(),
                p["UserCount"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        vec![
            ("Pending".to_string(), 0),
            ("InProgress".to_string(), 0),
            ("Failed".to_string(), 0),
            ("Succeeded".to_string(), 3)
        ]
    );

    let records = mms(&store, &["status", "--user", "ashaw@contoso.com", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&records.stdout).unwrap();
    let r = &v.as_array().unwrap()[0];
    for key in [
        "CorrelationId",
        "CreateDate",
        "FailedMeeting",
        "InvitesUpdate",
        "LastMessage",
        "MigrationType",
        "ModifiedDate",
        "RetryCount",
        "State",
        "SucceededMeeting",
        "TotalMeeting",
        "UserId",
        "UserPrincipalName",
    ] {
        assert!(r.get(key).is_some(), "{key} missing in {r}");
    }
    assert_eq!(r["State"], "Succeeded");

    // Exit codes: unknown identity 3, bad enum value 2, refused by the rules 4.
    assert_eq!(
        mms(&store, &["start", "nobody@contoso.com"]).status.code(),
        Some(3)
    );
    assert_eq!(
        mms(&store, &["status", "--state", "Done"]).status.code(),
        Some(2)
    );
    assert_eq!(
        mms(&store, &["start", "dlee@contoso.com"]).status.code(),
        Some(4)
    );
    let no = mms(
        &store,
        &[
            "user",
            "change",
            "ekim@contoso.com",
            "SetSipAddress",
            "e@contoso.com",
            "--json",
        ],
    );
    assert!(no.status.success());
    let v: serde_json::Value = serde_json::from_slice(&no.stdout).unwrap();
    assert_eq!(v["Decision"], "NoMigration");

    // `export --mail` writes each update that was sent, whole (the demo's worker records them
    // pointing at the mail drop's copy).
    let out = dir.path().join("export");
    let export = mms(
        &store,
        &[
            "export",
            "--user",
            "ashaw@contoso.com",
            "--mail",
            out.to_str().unwrap(),
        ],
    );
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let mails: Vec<Vec<u8>> = std::fs::read_dir(out.join("mail"))
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert!(!mails.is_empty());
    for m in &mails {
        let text = String::from_utf8_lossy(m);
        assert!(text.starts_with("From: "), "{text}");
        assert!(text.contains("\r\nMessage-ID: <"), "{text}");
        assert!(text.contains("text/calendar; charset=UTF-8; method=REQUEST"));
        assert!(text.trim_end().ends_with("--"), "a whole message: {text}");
    }
}

#[test]
fn every_subcommand_has_help() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("mms.db");
    for sub in [
        vec!["--help"],
        vec!["demo", "--help"],
        vec!["serve", "--help"],
        vec!["status", "--help"],
        vec!["start", "--help"],
        vec!["config", "--help"],
        vec!["config", "set", "--help"],
        vec!["user", "--help"],
        vec!["user", "change", "--help"],
        vec!["import", "--help"],
        vec!["export", "--help"],
        vec!["dry-run", "--help"],
        vec!["rewrite", "--help"],
    ] {
        let o = mms(&store, &sub);
        assert!(o.status.success(), "{sub:?}");
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Usage"),
            "{sub:?}"
        );
    }
}
