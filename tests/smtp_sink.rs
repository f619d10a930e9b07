//! SmtpDelivery against a real aiosmtpd sink and against hostile fake servers.

mod support;

use mms::engine::credentials::Credentials;
use mms::engine::delivery::InviteDelivery;
use mms::engine::smtp::{SmtpConfig, SmtpDelivery};
use mms::engine::source::FailureKind;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;
use support::{SinkOptions, SmtpSink};

fn delivery(port: u16) -> SmtpDelivery {
    let mut c = SmtpConfig::new("127.0.0.1", port);
    c.timeout = Duration::from_secs(20);
    SmtpDelivery::new(c)
}

fn recipients(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// LF-only and mixed line ends, lines that begin with dots, a lone dot line: the sink must
/// receive exactly the CRLF form of it.
const TRICKY: &[u8] = b"From: Amy Shaw <ashaw@contoso.com>\n\
To: a@fabrikam.com\r\n\
Message-ID: <mms-1@contoso.com>\n\
Subject: Updated: Weekly sync\n\
\n\
.leading dot\n\
..two dots\n\
.\n\
middle . dot\n\
last line without newline.";

fn crlf(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'\r' if input.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[test]
fn three_recipients_get_one_byte_exact_message() {
    let sink = SmtpSink::start(0);
    let to = recipients(&["a@fabrikam.com", "b@fabrikam.com", "c@contoso.com"]);
    let report = delivery(sink.port)
        .send("mms-1@contoso.com", "ashaw@contoso.com", &to, TRICKY)
        .expect("delivered");
    assert_eq!(report.accepted, to);
    assert!(report.rejected.is_empty());
    let mail = sink.messages();
    assert_eq!(mail.len(), 1, "exactly one message");
    assert_eq!(mail[0].mail_from, "ashaw@contoso.com");
    assert_eq!(mail[0].rcpt_tos, to);
    assert_eq!(
        String::from_utf8_lossy(&mail[0].data),
        String::from_utf8_lossy(&crlf(TRICKY))
    );
    assert_eq!(mail[0].data, crlf(TRICKY));
}

#[test]
fn eight_bit_body_arrives_intact() {
    let sink = SmtpSink::start(0);
    let body = "Subject: Réunion\r\n\r\nCôté café – 会议\r\n".as_bytes();
    delivery(sink.port)
        .send("m@x", "o@contoso.com", &recipients(&["a@b.example"]), body)
        .expect("delivered");
    assert_eq!(sink.messages()[0].data, body);
}

#[test]
fn refusal_is_transient_then_the_retry_succeeds() {
    let sink = SmtpSink::start(1);
    let d = delivery(sink.port);
    let to = recipients(&["a@fabrikam.com"]);
    let err = d
        .send("m-2@contoso.com", "o@contoso.com", &to, TRICKY)
        .expect_err("first transaction refused");
    assert_eq!(err.kind, FailureKind::Transient, "{err}");
    assert_eq!(err.code, Some(451));
    assert!(sink.messages().is_empty());
    d.send("m-2@contoso.com", "o@contoso.com", &to, TRICKY)
        .expect("second transaction accepted");
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn one_refused_recipient_is_reported_and_the_others_get_it() {
    let sink = SmtpSink::start_with(SinkOptions {
        refuse_rcpt: vec!["gone@fabrikam.com".into()],
        ..SinkOptions::default()
    });
    let to = recipients(&["a@fabrikam.com", "gone@fabrikam.com", "c@contoso.com"]);
    let report = delivery(sink.port)
        .send("m-3@contoso.com", "o@contoso.com", &to, TRICKY)
        .expect("delivered to the others");
    assert_eq!(
        report.accepted,
        recipients(&["a@fabrikam.com", "c@contoso.com"])
    );
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].address, "gone@fabrikam.com");
    assert_eq!(report.rejected[0].code, 550);
    assert_eq!(report.rejected[0].kind, FailureKind::Permanent);
    let mail = sink.messages();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].rcpt_tos, report.accepted);
}

#[test]
fn every_recipient_refused_is_a_permanent_error() {
    let sink = SmtpSink::start_with(SinkOptions {
        refuse_rcpt: vec!["gone@fabrikam.com".into()],
        ..SinkOptions::default()
    });
    let err = delivery(sink.port)
        .send(
            "m@x",
            "o@contoso.com",
            &recipients(&["gone@fabrikam.com"]),
            TRICKY,
        )
        .expect_err("nobody accepted");
    assert_eq!(err.kind, FailureKind::Permanent);
    assert_eq!(err.rejected.len(), 1);
    assert!(sink.messages().is_empty());
}

#[test]
fn auth_plain_works_and_credentials_never_appear_in_errors() {
    const PASSWORD: &str = "S3cr3t-Pa55word!";
    let sink = SmtpSink::start_with(SinkOptions {
        auth: Some(("mailer".into(), PASSWORD.into())),
        ..SinkOptions::default()
    });
    let to = recipients(&["a@fabrikam.com"]);

    let mut good = SmtpConfig::new("127.0.0.1", sink.port);
    good.credentials = Some(Credentials::new("mailer", PASSWORD));
    SmtpDelivery::new(good.clone())
        .send("m@x", "o@contoso.com", &to, TRICKY)
        .expect("authenticated delivery");
    assert_eq!(sink.messages().len(), 1);

    let mut bad = good.clone();
    bad.credentials = Some(Credentials::new("mailer", "wrong-Pa55word"));
    let wrong = SmtpDelivery::new(bad.clone())
        .send("m@x", "o@contoso.com", &to, TRICKY)
        .expect_err("wrong password refused");
    assert_eq!(wrong.kind, FailureKind::Permanent, "{wrong}");

    let mut none = good.clone();
    none.credentials = None;
    let unauthenticated = SmtpDelivery::new(none)
        .send("m@x", "o@contoso.com", &to, TRICKY)
        .expect_err("AUTH required");

    let down = {
        let mut c = good.clone();
        c.port = support::free_port();
        SmtpDelivery::new(c)
            .send("m@x", "o@contoso.com", &to, TRICKY)
            .expect_err("nobody listening")
    };
    assert_eq!(down.kind, FailureKind::Transient, "{down}");

    let shown = [
        format!("{wrong}"),
        format!("{wrong:?}"),
        format!("{unauthenticated}"),
        format!("{unauthenticated:?}"),
        format!("{down}"),
        format!("{down:?}"),
        format!("{good:?}"),
        format!("{bad:?}"),
        format!("{:?}", SmtpDelivery::new(good.clone())),
    ];
    let secret_tokens = [
        PASSWORD.to_string(),
        "wrong-Pa55word".to_string(),
        // base64 of "\0mailer\0S3cr3t-Pa55word!", as AUTH PLAIN sends it
        mms_b64(&format!("\0mailer\0{PASSWORD}")),
    ];
    for s in &shown {
        for t in &secret_tokens {
            assert!(!s.contains(t.as_str()), "{s:?} leaks a credential");
        }
    }
    assert_eq!(sink.messages().len(), 1);
}

fn mms_b64(s: &str) -> String {
    // Basic auth of (s, "") minus the trailing ':' is not base64 of s; compute it plainly.
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A fake SMTP server that sends `script` lines in answer to each line it reads.
fn fake_server(greeting: Vec<u8>, after_each_line: Vec<u8>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.write_all(&greeting);
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let mut line = String::new();
            while r.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                if s.write_all(&after_each_line).is_err() {
                    break;
                }
                line.clear();
            }
        }
    });
    port
}

#[test]
fn hostile_servers_give_errors_not_panics() {
    let to = recipients(&["a@fabrikam.com"]);
    let mut cases: Vec<(&str, Vec<u8>, Vec<u8>, FailureKind)> = vec![
        (
            "garbage greeting",
            b"hello there\r\n".to_vec(),
            vec![],
            FailureKind::Permanent,
        ),
        (
            "554 greeting",
            b"554 go away\r\n".to_vec(),
            vec![],
            FailureKind::Permanent,
        ),
        (
            "421 greeting",
            b"421 busy\r\n".to_vec(),
            vec![],
            FailureKind::Transient,
        ),
        (
            "huge reply line",
            b"220 ok\r\n".to_vec(),
            [b"250 ".to_vec(), vec![b'x'; 100_000], b"\r\n".to_vec()].concat(),
            FailureKind::Permanent,
        ),
        (
            "endless multi-line reply",
            b"220 ok\r\n".to_vec(),
            b"250-x\r\n".repeat(10_000),
            FailureKind::Permanent,
        ),
        (
            "mixed codes",
            b"220 ok\r\n".to_vec(),
            b"250-x\r\n251 y\r\n".to_vec(),
            FailureKind::Permanent,
        ),
        (
            "closes early",
            b"220 ok\r\n".to_vec(),
            vec![],
            FailureKind::Transient,
        ),
    ];
    for (name, greeting, reply, want) in cases.drain(..) {
        let closes = name == "closes early";
        let port = if closes {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            let port = listener.local_addr().expect("addr").port();
            std::thread::spawn(move || {
                if let Ok((mut s, _)) = listener.accept() {
                    let _ = s.write_all(&greeting);
                }
            });
            port
        } else {
            fake_server(greeting, reply)
        };
        let err = delivery(port)
            .send("m@x", "o@contoso.com", &to, TRICKY)
            .expect_err(name);
        assert_eq!(err.kind, want, "{name}: {err}");
    }
}

#[test]
fn a_silent_server_times_out_as_transient() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hold = std::thread::spawn(move || {
        let conn = listener.accept();
        std::thread::sleep(Duration::from_secs(3));
        drop(conn);
    });
    let mut c = SmtpConfig::new("127.0.0.1", port);
    c.timeout = Duration::from_millis(500);
    let err = SmtpDelivery::new(c)
        .send(
            "m@x",
            "o@contoso.com",
            &recipients(&["a@b.example"]),
            TRICKY,
        )
        .expect_err("timeout");
    assert_eq!(err.kind, FailureKind::Transient, "{err}");
    let _ = hold.join();
}

#[test]
fn injected_addresses_are_refused_before_the_wire() {
    let sink = SmtpSink::start(0);
    let d = delivery(sink.port);
    let err = d
        .send(
            "m@x",
            "o@contoso.com>\r\nRSET",
            &recipients(&["a@b.example"]),
            TRICKY,
        )
        .expect_err("bad sender");
    assert_eq!(err.kind, FailureKind::Permanent);
    let report = d
        .send(
            "m@x",
            "o@contoso.com",
            &recipients(&["a@b.example", "x@y>\r\nDATA"]),
            TRICKY,
        )
        .expect("the good recipient still gets it");
    assert_eq!(report.accepted, recipients(&["a@b.example"]));
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(sink.messages()[0].rcpt_tos, recipients(&["a@b.example"]));
}

#[test]
fn recipient_limit_splits_into_transactions_and_everyone_gets_one_copy() {
    let sink = SmtpSink::start_with(SinkOptions {
        max_rcpt: 3,
        ..SinkOptions::default()
    });
    let to: Vec<String> = (1..=8).map(|i| format!("a{i}@fabrikam.com")).collect();
    let report = delivery(sink.port)
        .send("m-big@contoso.com", "o@contoso.com", &to, TRICKY)
        .expect("delivered");
    assert_eq!(report.accepted, to);
    assert!(report.rejected.is_empty());
    let mail = sink.messages();
    assert_eq!(mail.len(), 3, "8 recipients at 3 per transaction");
    let mut got: Vec<String> = mail.iter().flat_map(|m| m.rcpt_tos.clone()).collect();
    got.sort();
    let mut want = to.clone();
    want.sort();
    assert_eq!(got, want, "each recipient exactly once");
    assert!(mail.iter().all(|m| m.data == crlf(TRICKY)));
}

/// A fake server that follows a script: for each expected command prefix, the reply to send.
fn scripted_server(
    script: Vec<(&'static str, &'static str)>,
) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let Ok((mut s, _)) = listener.accept() else {
            return seen;
        };
        let _ = s.write_all(b"220 fake ESMTP\r\n");
        let mut r = BufReader::new(s.try_clone().expect("clone"));
        let mut in_data = false;
        let mut script = script.into_iter();
        let mut line = String::new();
        while r.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            let cmd = line.trim_end().to_string();
            line.clear();
            if in_data {
                if cmd == "." {
                    in_data = false;
                    let _ = s.write_all(b"250 queued\r\n");
                }
                continue;
            }
            seen.push(cmd.clone());
            let reply = match script.next() {
                Some((expect, reply)) => {
                    if !cmd.starts_with(expect) {
                        let _ = s.write_all(b"500 unexpected\r\n");
                        break;
                    }
                    reply
                }
                None => "221 bye",
            };
            if cmd == "DATA" && reply.starts_with("354") {
                in_data = true;
            }
            let _ = s.write_all(format!("{reply}\r\n").as_bytes());
        }
        seen
    });
    (port, handle)
}

#[test]
fn helo_fallback_and_auth_login() {
    // EHLO refused → HELO.
    let (port, handle) = scripted_server(vec![
        ("EHLO ", "502 command not implemented"),
        ("HELO ", "250 fake"),
        ("MAIL FROM:<o@contoso.com>", "250 ok"),
        ("RCPT TO:<a@b.example>", "250 ok"),
        ("DATA", "354 go ahead"),
        ("QUIT", "221 bye"),
    ]);
    delivery(port)
        .send(
            "m@x",
            "o@contoso.com",
            &recipients(&["a@b.example"]),
            TRICKY,
        )
        .expect("HELO session works");
    let seen = handle.join().expect("server");
    assert!(seen.iter().any(|c| c.starts_with("HELO ")), "{seen:?}");

    // AUTH LOGIN only: user and password go base64 in two steps.
    let (port, handle) = scripted_server(vec![
        ("EHLO ", "250-fake\r\n250-AUTH LOGIN\r\n250 8BITMIME"),
        ("AUTH LOGIN", "334 VXNlcm5hbWU6"),
        ("bWFpbGVy", "334 UGFzc3dvcmQ6"), // "mailer"
        ("cGFzcw==", "235 2.7.0 ok"),     // "pass"
        ("MAIL FROM:<o@contoso.com>", "250 ok"),
        ("RCPT TO:<a@b.example>", "250 ok"),
        ("DATA", "354 go ahead"),
        ("QUIT", "221 bye"),
    ]);
    let mut c = SmtpConfig::new("127.0.0.1", port);
    c.credentials = Some(Credentials::new("mailer", "pass"));
    c.timeout = Duration::from_secs(10);
    SmtpDelivery::new(c.clone())
        .send(
            "m@x",
            "o@contoso.com",
            &recipients(&["a@b.example"]),
            TRICKY,
        )
        .expect("AUTH LOGIN session works");
    handle.join().expect("server");

    // Credentials configured, server offers no AUTH: refuse rather than skip authentication.
    let (port, handle) = scripted_server(vec![("EHLO ", "250-fake\r\n250 8BITMIME")]);
    c.port = port;
    let err = SmtpDelivery::new(c)
        .send(
            "m@x",
            "o@contoso.com",
            &recipients(&["a@b.example"]),
            TRICKY,
        )
        .expect_err("no AUTH offered");
    assert_eq!(err.kind, FailureKind::Permanent);
    let seen = handle.join().expect("server");
    assert!(!seen.iter().any(|c| c.starts_with("AUTH")), "{seen:?}");
}

#[test]
fn size_limit_is_respected_and_echoed_secrets_are_scrubbed() {
    let (port, _handle) = scripted_server(vec![("EHLO ", "250-fake\r\n250 SIZE 100")]);
    let big = [TRICKY, &b"x".repeat(500)[..]].concat();
    let err = delivery(port)
        .send("m@x", "o@contoso.com", &recipients(&["a@b.example"]), &big)
        .expect_err("too big");
    assert_eq!(err.kind, FailureKind::Permanent, "{err}");

    // A server that quotes our AUTH PLAIN token back in its refusal.
    let (port, _handle) = scripted_server(vec![
        ("EHLO ", "250-fake\r\n250 AUTH PLAIN"),
        (
            "AUTH PLAIN",
            "535 5.7.8 bad credentials AG1haWxlcgBFY2hvLU1lLVNlY3JldA== Echo-Me-Secret",
        ),
    ]);
    let mut c = SmtpConfig::new("127.0.0.1", port);
    c.credentials = Some(Credentials::new("mailer", "Echo-Me-Secret"));
    let err = SmtpDelivery::new(c)
        .send(
            "m@x",
            "o@contoso.com",
            &recipients(&["a@b.example"]),
            TRICKY,
        )
        .expect_err("refused");
    assert_eq!(err.code, Some(535));
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("Echo-Me-Secret"), "{shown}");
    assert!(
        !shown.contains("AG1haWxlcgBFY2hvLU1lLVNlY3JldA=="),
        "{shown}"
    );
}

#[test]
fn sink_down_then_restarted_keeps_earlier_mail() {
    let mut sink = SmtpSink::start(0);
    let d = delivery(sink.port);
    let to = recipients(&["a@fabrikam.com"]);
    d.send("m-1@x", "o@contoso.com", &to, b"Subject: one\r\n\r\n1\r\n")
        .expect("first");
    sink.stop();
    let err = d
        .send("m-2@x", "o@contoso.com", &to, b"Subject: two\r\n\r\n2\r\n")
        .expect_err("server down");
    assert_eq!(err.kind, FailureKind::Transient, "{err}");
    sink.restart(1);
    let err = d
        .send("m-2@x", "o@contoso.com", &to, b"Subject: two\r\n\r\n2\r\n")
        .expect_err("refused once after restart");
    assert_eq!(err.code, Some(451));
    d.send("m-2@x", "o@contoso.com", &to, b"Subject: two\r\n\r\n2\r\n")
        .expect("accepted");
    let mail = sink.wait_for(2, Duration::from_secs(5));
    assert_eq!(mail.len(), 2);
    assert_eq!(mail[0].data, b"Subject: one\r\n\r\n1\r\n");
    assert_eq!(mail[1].data, b"Subject: two\r\n\r\n2\r\n");
}
