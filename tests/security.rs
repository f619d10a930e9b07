//! Security (issue 8):
//! - SQL only with bound parameters: every SQL text in src/ that is built with `format!` only
//!   interpolates our own constants (column lists, a column name chosen from literals, the
//!   schema version number), and no SQL text is concatenated;
//! - credentials only from the environment, never in `mms serve`'s output, in a job's
//!   LastMessage, in `mms status`, in the store file or in the mail: `mms serve` against a
//!   Radicale and an SMTP sink that both require a login, with wrong and then right passwords;
//! - user-controlled fields rendered into the HTML block are escaped, hostile URLs refused.
//!
//! (The store file's mode 0600 is checked by tests/store.rs.)

mod support;
mod worker_support;

use chrono::Utc;
use mms::calendar::render::{html_escape, render_html};
use mms::calendar::{rewrite_calendar_object, RewriteRequest};
use mms::engine::credentials::Credentials;
use mms::engine::embedded::open_connection;
use mms::engine::sample::seed;
use mms::engine::{Engine, StatusFilter};
use mms::model::{
    DialInNumber, MeetingCoordinates, MeetingKind, MigrationState, SourceMeetingType,
    TargetMeetingType,
};
use mms::rules::triggers::UserChange;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{RadicaleServer, SinkOptions, SmtpSink};
use worker_support::kill::{localpart, SENDER};

const SQL_START: [&str; 10] = [
    "SELECT", "INSERT", "UPDATE", "DELETE", "PRAGMA", "CREATE", "ALTER", "DROP", "REPLACE", "WITH",
];

/// Rust files below `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The string literal that starts at `text`: `"..."`, `r"..."` or `r#"..."#`; its content
/// (escapes dropped) and its length in `text`. `None` when no literal starts there.
fn literal_at(text: &str) -> Option<(String, usize)> {
    if let Some(rest) = text.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => return Some((out, i + 2)),
                _ => out.push(c),
            }
        }
        return None;
    }
    let rest = text.strip_prefix('r')?;
    let hashes = rest.chars().take_while(|c| *c == '#').count();
    let body = rest[hashes..].strip_prefix('"')?;
    let close = format!("\"{}", "#".repeat(hashes));
    body.find(&close)
        .map(|i| (body[..i].to_string(), 1 + hashes + 1 + i + close.len()))
}

fn is_sql(s: &str) -> bool {
    let head = s.trim_start().to_ascii_uppercase();
    SQL_START
        .iter()
        .any(|k| head.starts_with(k) && head[k.len()..].starts_with([' ', '\n', '\t']))
}

/// `{name}` / `{name:?}` placeholders of a format string (escaped braces skipped).
fn placeholders(fmt: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = fmt.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' if b.get(i + 1) == Some(&b'{') => i += 2,
            b'{' => {
                let end = fmt[i..].find('}').map_or(fmt.len(), |e| i + e);
                let inner = &fmt[i + 1..end];
                out.push(inner.split(':').next().unwrap_or("").trim().to_string());
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    out
}

#[test]
fn sql_is_built_only_from_constants_and_bound_parameters() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 20, "src/ not found");
    let mut formatted = 0;
    let mut literals = 0;
    let mut problems = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let name = f
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap()
            .display()
            .to_string();
        // Every string literal that is SQL, and what comes right before and after it.
        let mut at = 0;
        while at < text.len() {
            let Some(q) = text[at..].find(['"', 'r']).map(|q| at + q) else {
                break;
            };
            // `r` only when it opens a raw string (not inside an identifier).
            let ident_before = q > 0
                && (text.as_bytes()[q - 1].is_ascii_alphanumeric()
                    || text.as_bytes()[q - 1] == b'_');
            let char_literal = q > 0
                && text.as_bytes()[q - 1] == b'\''
                && text.as_bytes().get(q + 1) == Some(&b'\'');
            let parsed = if (text.as_bytes()[q] == b'r' && ident_before) || char_literal {
                None
            } else {
                literal_at(&text[q..])
            };
            let Some((lit, len)) = parsed else {
                at = q + 1;
                continue;
            };
            let (start, end) = (q, q + len);
            at = end;
            if !is_sql(&lit) {
                continue;
            }
            literals += 1;
            let before = text[..start].trim_end();
            let after = text[end..].trim_start();
            let line = text[..start].lines().count();
            if before.ends_with("format!(") {
                formatted += 1;
                for p in placeholders(&lit) {
                    let constant = !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit());
                    // `column`: users_where / upsert_user pick it from string literals (checked
                    // below); `newest`: the schema version, an integer from MIGRATIONS.
                    // `where_sql`: " WHERE " + clauses that are literals with `?` (below).
                    if !(constant || matches!(p.as_str(), "column" | "newest" | "where_sql")) {
                        problems.push(format!("{name}:{line}: SQL interpolates {{{p}}}"));
                    }
                }
            } else if !lit.contains('?') && lit.contains(['{', '}']) {
                problems.push(format!("{name}:{line}: SQL template outside format!"));
            }
            if after.starts_with('+') || before.ends_with('+') || before.ends_with("push_str(") {
                problems.push(format!("{name}:{line}: SQL built by concatenation"));
            }
        }
        // Where the interpolated names come from: only ever literals.
        for (i, _) in text.match_indices("users_where(") {
            let arg = text[i..].split(',').nth(1).unwrap_or("").trim();
            if !(arg.starts_with('"') || arg == "column" || text[..i].ends_with("fn ")) {
                problems.push(format!("{name}: users_where called with column {arg:?}"));
            }
        }
        for pattern in ["for column in ", "for (column, "] {
            for (i, _) in text.match_indices(pattern) {
                let binding = text[i + pattern.len()..]
                    .split_once(" in ")
                    .map_or(&text[i + pattern.len()..], |x| x.1);
                let list = binding.trim_start();
                let list = if pattern == "for column in " {
                    &text[i + pattern.len()..]
                } else {
                    list
                };
                let first = list.trim_start().trim_start_matches(['[', '(', ' ', '\n']);
                if !first.starts_with('"') {
                    problems.push(format!("{name}: `column` bound to a non-literal list"));
                }
            }
        }
        for (i, m) in text.match_indices("clauses.push(") {
            let arg = text[i + m.len()..].trim_start();
            let ok = literal_at(arg).is_some_and(|(l, _)| l.ends_with('?'));
            if !ok {
                problems.push(format!(
                    "{name}: a WHERE clause that is not a literal with `?`"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(
        literals > 30 && formatted > 5,
        "{literals} SQL literals, {formatted} formatted: scanner broken?"
    );
    println!("security: {literals} SQL texts in src/, {formatted} built with format! from constants only, concatenations: 0");
}

#[test]
fn the_sql_scanner_catches_what_it_must() {
    assert_eq!(
        placeholders("SELECT {COLS} FROM t WHERE a = ?1 AND b = '{user}' {{x}}"),
        ["COLS", "user"]
    );
    assert!(is_sql("SELECT 1") && is_sql("\n  delete from x") && !is_sql("Selected items"));
    assert_eq!(
        literal_at(r##"r#"SELECT "a""#, x"##),
        Some(("SELECT \"a\"".to_string(), 15))
    );
    assert_eq!(
        literal_at(r#""SELECT \"q\" x", y"#),
        Some(("SELECT q x".to_string(), 16))
    );
}

const CALDAV_SECRET: &str = "caldav-Secret-7f3a";
const SMTP_SECRET: &str = "smtp-Secret-91bc";

/// `mms serve --once` with the given passwords; returns its stdout + stderr.
fn serve(
    path: &Path,
    radicale: &RadicaleServer,
    sink: &SmtpSink,
    caldav: &str,
    smtp: &str,
) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mms"))
        .arg("--store")
        .arg(path)
        .args(["serve", "--once", "--lease", "1", "--caldav", &radicale.url])
        .arg("--smtp")
        .arg(format!("127.0.0.1:{}", sink.port))
        .env("MMS_SENDER", SENDER)
        .env("MMS_CALDAV_USER", localpart("ashaw@contoso.com"))
        .env("MMS_CALDAV_PASSWORD", caldav)
        .env("MMS_SMTP_USER", "mailer")
        .env("MMS_SMTP_PASSWORD", smtp)
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_no_secret(what: &str, text: &[u8]) {
    let text = String::from_utf8_lossy(text);
    for secret in [CALDAV_SECRET, SMTP_SECRET] {
        assert!(!text.contains(secret), "{what} holds a password");
        for user in ["ashaw", "mailer"] {
            for password in [secret.to_string(), format!("{secret}-wrong")] {
                let token = Credentials::new(user, password).basic_authorization();
                let token = token.trim_start_matches("Basic ");
                assert!(!text.contains(token), "{what} holds a Basic token");
            }
        }
    }
    assert!(!text.contains("-wrong"), "{what} holds a (wrong) password");
}

#[test]
fn credentials_never_reach_output_status_store_or_mail() {
    let radicale = RadicaleServer::start_with_auth("ashaw", CALDAV_SECRET);
    let sink = SmtpSink::start_with(SinkOptions {
        auth: Some(("mailer".into(), SMTP_SECRET.into())),
        ..SinkOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mms.db");
    let engine = Engine::open(&path).unwrap();
    let seeded = seed(&engine, &open_connection(&path).unwrap(), Utc::now()).unwrap();
    let (_, meetings) = seeded
        .calendars
        .iter()
        .find(|(u, _)| u == "ashaw@contoso.com")
        .unwrap();
    let objects: Vec<(&str, &[u8])> = meetings
        .iter()
        .map(|m| (m.file_name.as_str(), m.data.as_slice()))
        .collect();
    radicale.replace_calendar("ashaw", "calendar", &objects);
    let job = |engine: &Engine| {
        engine
            .migration_status(&StatusFilter::default())
            .unwrap()
            .into_iter()
            .rev()
            .find(|j| j.user_principal_name == "ashaw@contoso.com")
            .unwrap()
    };
    let mut outputs = Vec::new();

    // Wrong CalDAV password: the job fails with a readable reason.
    engine
        .apply_user_change("ashaw@contoso.com", &UserChange::ResetConferenceId)
        .unwrap();
    let wrong = format!("{CALDAV_SECRET}-wrong");
    outputs.push(serve(&path, &radicale, &sink, &wrong, SMTP_SECRET));
    let failed = job(&engine);
    assert_eq!(failed.state, MigrationState::Failed, "{failed:?}");
    assert!(
        failed.last_message.contains("401"),
        "{}",
        failed.last_message
    );

    // Wrong SMTP password: the updates cannot be sent; readable, no secret.
    engine
        .apply_user_change("ashaw@contoso.com", &UserChange::ResetConferenceId)
        .unwrap();
    outputs.push(serve(
        &path,
        &radicale,
        &sink,
        CALDAV_SECRET,
        &format!("{SMTP_SECRET}-wrong"),
    ));
    let refused = job(&engine);
    assert!(refused.failed_meeting > 0, "{refused:?}");
    assert!(!refused.last_message.is_empty() && refused.last_message.len() < 500);

    // Both right: the job finishes (the meetings the SMTP refusal left are sent now).
    let mut last = refused;
    for _ in 0..3 {
        if last.state == MigrationState::Succeeded {
            break;
        }
        engine
            .start_migration(
                "ashaw@contoso.com",
                SourceMeetingType::All,
                TargetMeetingType::Current,
            )
            .unwrap();
        outputs.push(serve(&path, &radicale, &sink, CALDAV_SECRET, SMTP_SECRET));
        last = job(&engine);
    }
    assert_eq!(last.state, MigrationState::Succeeded, "{last:?}");
    assert!(!sink.messages().is_empty());

    for (i, o) in outputs.iter().enumerate() {
        assert_no_secret(&format!("mms serve output {i}"), o.as_bytes());
    }
    for j in engine.migration_status(&StatusFilter::default()).unwrap() {
        assert_no_secret("a LastMessage", j.last_message.as_bytes());
    }
    let status = Command::new(env!("CARGO_BIN_EXE_mms"))
        .arg("--store")
        .arg(&path)
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(status.status.success());
    assert_no_secret("mms status --json", &status.stdout);
    drop(engine);
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let f = f.unwrap().path();
        assert_no_secret(&f.display().to_string(), &std::fs::read(&f).unwrap());
    }
    for m in sink.messages() {
        assert_no_secret("a sent update", &m.data);
    }
    println!("security: credentials checked in {} serve outputs, the job records, mms status, the store files and {} mails: none found", outputs.len(), sink.messages().len());
}

const PAYLOAD: &str = "\"><script>alert('x')</script><img src=x onerror=alert(1)>&amp;";

fn hostile_coordinates(kind: MeetingKind) -> MeetingCoordinates {
    MeetingCoordinates {
        meeting_kind: kind,
        join_url: "https://teams.microsoft.com/l/meetup-join/19%3ameeting_X%40thread.v2/0".into(),
        conference_id: "123456789".into(),
        toll_numbers: vec![DialInNumber {
            number: "+1 323-555-0166".into(),
            city: format!("Los Angeles {PAYLOAD}"),
        }],
        toll_free_numbers: vec![DialInNumber {
            number: "+1 800-555-0100".into(),
            city: PAYLOAD.into(),
        }],
        find_local_number_url: Some("https://dialin.teams.microsoft.com/x?a=1&b=2".into()),
        meeting_options_url: Some("https://teams.microsoft.com/meetingOptions/?a=1&b=2".into()),
    }
}

#[test]
fn user_controlled_text_in_the_html_block_is_escaped() {
    for kind in [MeetingKind::Teams, MeetingKind::SkypeForBusiness] {
        let mut c = hostile_coordinates(kind);
        if kind == MeetingKind::SkypeForBusiness {
            c.join_url = "https://meet.lync.com/contoso/ashaw/ABCDEFGH".into();
        }
        let h = render_html(&c, "\r\n");
        assert!(
            !h.contains("<script") && !h.contains("<img") && !h.contains("'x'"),
            "{kind:?}: {h}"
        );
        assert!(
            h.contains(&html_escape(PAYLOAD)),
            "{kind:?}: the city shown, escaped"
        );
        assert!(
            h.contains("a=1&amp;b=2"),
            "{kind:?}: URLs escaped in attributes"
        );
    }

    // Hostile URLs never reach the block: the rewrite refuses the coordinates.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mms.db");
    let engine = Engine::open(&path).unwrap();
    let seeded = seed(&engine, &open_connection(&path).unwrap(), Utc::now()).unwrap();
    let user = engine.user("ashaw@contoso.com").unwrap();
    let meeting = &seeded
        .calendars
        .iter()
        .find(|(u, _)| u == "ashaw@contoso.com")
        .unwrap()
        .1[1];
    for url in [
        "javascript:alert(1)",
        "https://teams.microsoft.com/l/meetup-join/x\"><script>",
        "https://teams.microsoft.com/l/meetup-join/x onmouseover=alert(1)",
        "https://teams.microsoft.com/l/meetup-join/<x>",
    ] {
        for field in 0..3 {
            let mut c = hostile_coordinates(MeetingKind::Teams);
            match field {
                0 => c.join_url = url.into(),
                1 => c.find_local_number_url = Some(url.into()),
                _ => c.meeting_options_url = Some(url.into()),
            }
            let req = RewriteRequest {
                organizer: "ashaw@contoso.com",
                organizer_object_id: Some(user.object_id),
                organizer_sip_address: Some(user.sip_address.as_str()),
                coordinates: &c,
                source: SourceMeetingType::All,
                target: TargetMeetingType::Current,
                now: Utc::now(),
                sent_by: Some(SENDER),
            };
            let err = rewrite_calendar_object(&meeting.data, &req).expect_err(url);
            assert!(
                err.to_string().starts_with("invalid coordinates"),
                "{url}: {err}"
            );
        }
    }
}
