//! CalDavSource against a real Radicale started by the test, and against hostile fake servers.

mod support;

use chrono::{Datelike, Utc};
use mms::engine::caldav::{CalDavConfig, CalDavSource};
use mms::engine::credentials::Credentials;
use mms::engine::source::{CalendarRef, CalendarSource, FailureKind, PutOutcome, SourceError};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;
use support::RadicaleServer;

const PASSWORD: &str = "Radicale-Pa55-do-not-leak";

fn event(uid: &str, dtstart: &str, dtend: &str, rrule: Option<&str>, summary: &str) -> String {
    let rrule = rrule.map(|r| format!("RRULE:{r}\r\n")).unwrap_or_default();
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//mms tests//EN\r\nBEGIN:VEVENT\r\n\
         UID:{uid}\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:{dtstart}\r\nDTEND:{dtend}\r\n{rrule}\
         SUMMARY:{summary}\r\nORGANIZER;CN=Alice:mailto:alice@contoso.com\r\n\
         ATTENDEE;CN=Bob:mailto:bob@fabrikam.com\r\nSEQUENCE:0\r\n\
         DESCRIPTION:Join: https://meet.lync.com/contoso/alice/ABC123\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

struct Fixture {
    server: RadicaleServer,
    source: CalDavSource,
}

/// Alice has a work calendar (series from last year that continues, a past meeting, a
/// far-future meeting), a tasks-only calendar and an address book.
fn fixture() -> Fixture {
    let server = RadicaleServer::start();
    server.mkcalendar("alice", "work", &[]);
    server.mkcalendar("alice", "tasks", &["VTODO"]);
    // An address book: a collection, but not a calendar.
    let mkcol = "<?xml version=\"1.0\"?><D:mkcol xmlns:D=\"DAV:\" \
                 xmlns:CR=\"urn:ietf:params:xml:ns:carddav\"><D:set><D:prop><D:resourcetype>\
                 <D:collection/><CR:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>";
    let (status, _, text) = server.http(
        "alice",
        "MKCOL",
        "/alice/contacts/",
        &[("Content-Type", "application/xml")],
        Some(mkcol.as_bytes()),
    );
    assert_eq!(status, 201, "{text}");
    let last_year = Utc::now().year() - 1;
    let series = event(
        "series-1",
        &format!("{last_year}0105T090000Z"),
        &format!("{last_year}0105T093000Z"),
        Some("FREQ=WEEKLY;BYDAY=MO"),
        "Weekly sync",
    );
    server.put_ics("alice", "/alice/work/series.ics", series.as_bytes());
    // A series with an override, both in one resource.
    let override_year = Utc::now().year() + 1;
    let with_override = event(
        "series-2",
        &format!("{last_year}0107T140000Z"),
        &format!("{last_year}0107T150000Z"),
        Some("FREQ=WEEKLY;BYDAY=WE"),
        "Design review",
    )
    .replace(
        "END:VEVENT\r\nEND:VCALENDAR",
        &format!(
            "END:VEVENT\r\nBEGIN:VEVENT\r\nUID:series-2\r\nDTSTAMP:20240101T000000Z\r\n\
             RECURRENCE-ID:{override_year}0106T140000Z\r\nDTSTART:{override_year}0106T160000Z\r\n\
             DTEND:{override_year}0106T170000Z\r\nSUMMARY:Design review (moved)\r\n\
             ORGANIZER:mailto:alice@contoso.com\r\nSEQUENCE:1\r\nEND:VEVENT\r\nEND:VCALENDAR"
        ),
    );
    server.put_ics(
        "alice",
        "/alice/work/override.ics",
        with_override.as_bytes(),
    );
    // A series that ended last year.
    let ended = event(
        "ended-1",
        &format!("{last_year}0102T080000Z"),
        &format!("{last_year}0102T083000Z"),
        Some(&format!("FREQ=DAILY;UNTIL={last_year}0301T000000Z")),
        "Ended standup",
    );
    server.put_ics("alice", "/alice/work/ended.ics", ended.as_bytes());
    let past = event(
        "past-1",
        "20200302T100000Z",
        "20200302T110000Z",
        None,
        "Old review",
    );
    server.put_ics("alice", "/alice/work/past.ics", past.as_bytes());
    let future = event(
        "future-1",
        "20990601T150000Z",
        "20990601T160000Z",
        None,
        "Far future",
    );
    server.put_ics("alice", "/alice/work/future.ics", future.as_bytes());

    let mut config = CalDavConfig::new(server.url.clone());
    config.credentials = Some(Credentials::new("alice", PASSWORD));
    config.timeout = Duration::from_secs(20);
    let source = CalDavSource::new(config).expect("config");
    Fixture { server, source }
}

fn work(f: &Fixture) -> CalendarRef {
    let cals = f.source.calendars("alice@contoso.com").expect("discovery");
    cals.into_iter()
        .find(|c| c.id == "/alice/work/")
        .expect("work calendar")
}

#[test]
fn discovery_finds_event_calendars_only() {
    let f = fixture();
    let cals = f.source.calendars("alice@contoso.com").expect("discovery");
    let ids: Vec<&str> = cals.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, vec!["/alice/work/"], "{cals:?}");
}

#[test]
fn time_range_report_returns_continuing_series_and_future_but_not_past() {
    let f = fixture();
    let objects = f
        .source
        .list_future_objects(&work(&f), Utc::now())
        .expect("REPORT");
    let mut hrefs: Vec<&str> = objects.iter().map(|o| o.href.as_str()).collect();
    hrefs.sort();
    assert_eq!(
        hrefs,
        vec![
            "/alice/work/future.ics",
            "/alice/work/override.ics",
            "/alice/work/series.ics"
        ]
    );
    for o in &objects {
        let text = String::from_utf8_lossy(&o.data);
        assert!(text.contains("BEGIN:VEVENT"), "{text}");
        // Whole resource, not expanded: the RRULE is still there.
        if o.href.ends_with("series.ics") {
            assert!(text.contains("RRULE:FREQ=WEEKLY"), "{text}");
            assert!(text.contains("UID:series-1"), "{text}");
        }
        if o.href.ends_with("override.ics") {
            assert_eq!(text.matches("BEGIN:VEVENT").count(), 2, "{text}");
            assert!(text.contains("RECURRENCE-ID"), "{text}");
        }
        assert!(o.etag.starts_with('"'), "{:?}", o.etag);
    }
    // The convenience method agrees.
    let all = f
        .source
        .future_objects_of("alice@contoso.com", Utc::now())
        .expect("future objects");
    let again: Vec<&str> = all.iter().map(|o| o.href.as_str()).collect();
    assert_eq!(all.len(), 3, "{again:?}");
}

#[test]
fn get_put_if_match_and_stale_etag_conflict() {
    let f = fixture();
    let listed = f
        .source
        .list_future_objects(&work(&f), Utc::now())
        .expect("REPORT");
    let future = listed
        .iter()
        .find(|o| o.href.ends_with("future.ics"))
        .expect("future");
    let got = f.source.get(&future.href).expect("GET").expect("exists");
    assert_eq!(got.etag, future.etag);
    assert_eq!(got.data, future.data);

    let text = String::from_utf8_lossy(&got.data).replace(
        "https://meet.lync.com/contoso/alice/ABC123",
        "https://teams.microsoft.com/l/meetup-join/NEW",
    );
    let outcome = f
        .source
        .put(&got.href, text.as_bytes(), &got.etag)
        .expect("PUT");
    let PutOutcome::Stored { etag: new_etag } = outcome else {
        panic!("expected Stored, got {outcome:?}");
    };
    assert_ne!(new_etag, got.etag);
    let again = f.source.get(&got.href).expect("GET").expect("exists");
    assert_eq!(again.etag, new_etag);
    assert!(String::from_utf8_lossy(&again.data).contains("meetup-join/NEW"));

    // The old ETag is stale now: a distinct Conflict outcome, nothing written.
    let stale = f
        .source
        .put(&got.href, future.data.as_slice(), &future.etag)
        .expect("PUT answered");
    assert_eq!(stale, PutOutcome::Conflict);
    let after = f.source.get(&got.href).expect("GET").expect("exists");
    assert_eq!(after.etag, new_etag);

    // A vanished object: GET says None, PUT with If-Match is a conflict.
    assert_eq!(f.source.get("/alice/work/nope.ics").expect("GET"), None);
    assert_eq!(
        f.source
            .put("/alice/work/nope.ics", future.data.as_slice(), &future.etag)
            .expect("PUT answered"),
        PutOutcome::Conflict
    );
}

#[test]
fn concurrent_edit_is_a_conflict_and_survives() {
    let f = fixture();
    let mine = f
        .source
        .get("/alice/work/series.ics")
        .expect("GET")
        .expect("exists");
    // The user edits the meeting on the server meanwhile.
    let edited = String::from_utf8_lossy(&mine.data).replace("Weekly sync", "Weekly sync (moved)");
    let (status, _, _) = f.server.http(
        "alice",
        "PUT",
        "/alice/work/series.ics",
        &[("Content-Type", "text/calendar"), ("If-Match", &mine.etag)],
        Some(edited.as_bytes()),
    );
    assert!(matches!(status, 201 | 204), "{status}");
    assert_eq!(
        f.source
            .put(&mine.href, &mine.data, &mine.etag)
            .expect("PUT answered"),
        PutOutcome::Conflict
    );
    let now = f.source.get(&mine.href).expect("GET").expect("exists");
    assert!(String::from_utf8_lossy(&now.data).contains("Weekly sync (moved)"));
}

#[test]
fn stopped_server_is_transient_and_restart_recovers() {
    let mut f = fixture();
    let cal = work(&f);
    f.server.stop();
    let errors = [
        f.source.calendars("alice@contoso.com").expect_err("down"),
        f.source
            .list_future_objects(&cal, Utc::now())
            .expect_err("down"),
        f.source.get("/alice/work/future.ics").expect_err("down"),
        f.source
            .put("/alice/work/future.ics", b"x", "\"e\"")
            .expect_err("down"),
    ];
    for e in &errors {
        assert_eq!(e.kind, FailureKind::Transient, "{e}");
        assert!(!e.to_string().contains(PASSWORD));
    }
    f.server.restart();
    let objects = f
        .source
        .list_future_objects(&cal, Utc::now())
        .expect("works again");
    assert_eq!(objects.len(), 3);
}

#[test]
fn htpasswd_auth_and_credentials_never_leak() {
    let server = RadicaleServer::start_with_auth("carol", PASSWORD);
    server.mkcalendar("carol", "cal", &[]);
    let future = event("f-2", "20990101T100000Z", "20990101T110000Z", None, "X");
    server.put_ics("carol", "/carol/cal/f.ics", future.as_bytes());

    let mut good = CalDavConfig::new(server.url.clone());
    good.credentials = Some(Credentials::new("carol", PASSWORD));
    let source = CalDavSource::new(good.clone()).expect("config");
    let cals = source
        .calendars("carol@contoso.com")
        .expect("authenticated");
    assert_eq!(cals.len(), 1);
    let objects = source
        .list_future_objects(&cals[0], Utc::now())
        .expect("REPORT");
    assert_eq!(objects.len(), 1);

    let mut bad = good.clone();
    bad.credentials = Some(Credentials::new("carol", format!("{PASSWORD}-wrong")));
    let bad_source = CalDavSource::new(bad.clone()).expect("config");
    let refused = bad_source
        .calendars("carol@contoso.com")
        .expect_err("wrong password");
    assert_eq!(refused.kind, FailureKind::Permanent, "{refused}");
    assert_eq!(refused.status, Some(401));
    let refused_get = bad_source
        .get("/carol/cal/f.ics")
        .expect_err("wrong password");

    let mut shown = vec![
        format!("{good:?}"),
        format!("{bad:?}"),
        format!("{source:?}"),
        format!("{bad_source:?}"),
        format!("{refused}"),
        format!("{refused:?}"),
        format!("{refused_get}"),
        format!("{refused_get:?}"),
        format!("{objects:?}"),
    ];
    // A URL with user info is refused without echoing it.
    let with_userinfo = CalDavSource::new(CalDavConfig::new(format!(
        "http://carol:{PASSWORD}@127.0.0.1:{}/",
        server.port
    )))
    .expect_err("user info in URL");
    shown.push(format!("{with_userinfo} {with_userinfo:?}"));
    let token = Credentials::new("carol", PASSWORD).basic_authorization();
    let token = token.trim_start_matches("Basic ");
    for s in &shown {
        assert!(!s.contains(PASSWORD), "leak: {s}");
        assert!(!s.contains(token), "leak: {s}");
    }
}

#[test]
fn per_user_login_placeholder_and_home_template() {
    let server = RadicaleServer::start();
    for user in ["dave", "erin"] {
        server.mkcalendar(user, "cal", &[]);
        let ics = event(
            &format!("{user}-1"),
            "20990101T100000Z",
            "20990101T110000Z",
            None,
            user,
        );
        server.put_ics(user, &format!("/{user}/cal/a.ics"), ics.as_bytes());
    }
    // Log in as each organizer.
    let mut config = CalDavConfig::new(server.url.clone());
    config.credentials = Some(Credentials::new("{localpart}", PASSWORD));
    let source = CalDavSource::new(config).expect("config");
    for user in ["dave", "erin"] {
        let objects = source
            .future_objects_of(&format!("{user}@contoso.com"), Utc::now())
            .expect("per-user discovery");
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].href, format!("/{user}/cal/a.ics"));
        // get/put on that href authenticate as the same user (owner_only rights).
        let got = source.get(&objects[0].href).expect("GET").expect("exists");
        assert!(matches!(
            source.put(&got.href, &got.data, &got.etag).expect("PUT"),
            PutOutcome::Stored { .. }
        ));
    }
    // An href under no discovered home cannot pick a login.
    assert!(source.get("/zoe/cal/a.ics").is_err());

    // A home template skips principal discovery.
    let mut config = CalDavConfig::new(server.url.clone());
    config.credentials = Some(Credentials::new("{localpart}", PASSWORD));
    config.home_template = Some(format!("{}{{localpart}}/", server.url));
    let source = CalDavSource::new(config).expect("config");
    let cals = source.calendars("erin@contoso.com").expect("template");
    assert_eq!(cals.len(), 1);
    assert_eq!(cals[0].id, "/erin/cal/");
}

/// Reads one whole HTTP request (headers and Content-Length body), so that closing the socket
/// afterwards cannot reset the connection under the response. Returns the request bytes.
fn read_request(s: &mut std::net::TcpStream) -> Vec<u8> {
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut req = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(end) = req.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&req[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if req.len() >= end + 4 + len {
                return req;
            }
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return req,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
}

/// Writes the response, then lets the client finish reading before the socket closes.
fn answer(mut s: std::net::TcpStream, response: &[u8]) {
    let _ = s.write_all(response);
    let _ = s.flush();
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut sink = [0u8; 1024];
    while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
}

/// A fake HTTP server answering every connection with `response` (after reading the request).
fn fake_http(response: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { break };
            read_request(&mut s);
            answer(s, &response);
        }
    });
    format!("http://127.0.0.1:{port}/")
}

fn multistatus_response(body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 207 Multi-Status\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn fake_source(url: String) -> CalDavSource {
    let mut config = CalDavConfig::new(url);
    config.credentials = Some(Credentials::new("alice", PASSWORD));
    config.timeout = Duration::from_secs(2);
    config.max_multistatus_bytes = 1024 * 1024;
    config.max_object_bytes = 256 * 1024;
    CalDavSource::new(config).expect("config")
}

fn list(source: &CalDavSource) -> Result<usize, SourceError> {
    let cal = CalendarRef {
        id: "/alice/cal/".into(),
        display_name: None,
    };
    source
        .list_future_objects(&cal, Utc::now())
        .map(|v| v.len())
}

#[test]
fn malformed_and_huge_multistatus_are_errors_not_panics() {
    let huge_data = "X".repeat(2 * 1024 * 1024);
    let big_object = format!(
        "<d:multistatus xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\"><d:response>\
         <d:href>/alice/cal/a.ics</d:href><d:propstat><d:prop><d:getetag>\"1\"</d:getetag>\
         <c:calendar-data>{}</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status>\
         </d:propstat></d:response></d:multistatus>",
        "Y".repeat(300 * 1024)
    );
    let deep = format!(
        "<d:multistatus xmlns:d=\"DAV:\">{}{}</d:multistatus>",
        "<d:x>".repeat(100_000),
        "</d:x>".repeat(100_000)
    );
    let cases: Vec<(&str, Vec<u8>, FailureKind)> = vec![
        ("not xml", multistatus_response(b"this is not xml"), FailureKind::Permanent),
        (
            "truncated",
            multistatus_response(b"<d:multistatus xmlns:d=\"DAV:\"><d:response><d:href>/a"),
            FailureKind::Permanent,
        ),
        (
            "wrong root",
            multistatus_response(b"<html><body>proxy error</body></html>"),
            FailureKind::Permanent,
        ),
        ("invalid utf-8", multistatus_response(b"<d:multistatus xmlns:d=\"DAV:\">\xff\xfe</d:multistatus>"), FailureKind::Permanent),
        ("huge body", multistatus_response(huge_data.as_bytes()), FailureKind::Permanent),
        (
            "huge body, no length",
            [
                b"HTTP/1.1 207 Multi-Status\r\nConnection: close\r\n\r\n".to_vec(),
                huge_data.clone().into_bytes(),
            ]
            .concat(),
            FailureKind::Permanent,
        ),
        ("huge object", multistatus_response(big_object.as_bytes()), FailureKind::Permanent),
        ("deep nesting", multistatus_response(deep.as_bytes()), FailureKind::Permanent),
        ("garbage status line", b"SPDY/9 what\r\n\r\n".to_vec(), FailureKind::Permanent),
        (
            "503",
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy"
                .to_vec(),
            FailureKind::Transient,
        ),
        (
            "429",
            b"HTTP/1.1 429 Too Many\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
            FailureKind::Transient,
        ),
        (
            "403",
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
            FailureKind::Permanent,
        ),
        (
            "redirect",
            b"HTTP/1.1 301 Moved\r\nLocation: http://evil.example/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .to_vec(),
            FailureKind::Permanent,
        ),
        ("closed without answer", Vec::new(), FailureKind::Transient),
    ];
    for (name, response, want) in cases {
        let source = fake_source(fake_http(response));
        let err = list(&source).expect_err(name);
        assert_eq!(err.kind, want, "{name}: {err}");
        assert!(!err.to_string().contains(PASSWORD), "{name}: {err}");
        assert!(err.to_string().len() < 2000, "{name}: message too long");
    }
}

#[test]
fn a_server_that_never_answers_times_out_as_transient() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hold = std::thread::spawn(move || {
        let conn = listener.accept();
        std::thread::sleep(Duration::from_secs(4));
        drop(conn);
    });
    let source = fake_source(format!("http://127.0.0.1:{port}/"));
    let err = list(&source).expect_err("timeout");
    assert_eq!(err.kind, FailureKind::Transient, "{err}");
    let _ = hold.join();
}

#[test]
fn put_without_etag_in_answer_refetches() {
    // Answers PUT with 204 and no ETag, then GET with the object and an ETag.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { break };
            let request = read_request(&mut s);
            let response: &[u8] = if request.starts_with(b"PUT") {
                b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
            } else {
                b"HTTP/1.1 200 OK\r\nETag: \"server-changed\"\r\nContent-Length: 15\r\nConnection: close\r\n\r\nBEGIN:VCALENDAR"
            };
            answer(s, response);
        }
    });
    let source = fake_source(format!("http://127.0.0.1:{port}/"));
    let outcome = source
        .put("/alice/cal/a.ics", b"BEGIN:VCALENDAR", "\"old\"")
        .expect("PUT");
    assert_eq!(
        outcome,
        PutOutcome::Stored {
            etag: "\"server-changed\"".into()
        }
    );
}
