//! `make bench`: CalDAV end to end against a real Radicale on 127.0.0.1. 20 organizers x 100
//! future meetings (2,000) on the server are migrated by the worker (`CalDavSource`: discovery,
//! one calendar-query REPORT per calendar, one conditional PUT per meeting; updates into the
//! embedded outbox), against a raw replay of the same items in the same run: one GET and one
//! PUT of the unchanged bytes per item over one keep-alive connection, nothing else.

#[path = "../tests/support/mod.rs"]
mod support;

mod common;

use chrono::Utc;
use common::tenant::*;
use common::*;
use mms::engine::caldav::{CalDavConfig, CalDavSource};
use mms::engine::credentials::Credentials;
use mms::engine::embedded::{open_connection, EmbeddedOutbox};
use mms::engine::worker::{Worker, WorkerConfig};
use mms::engine::Engine;
use std::time::{Duration, Instant};
use support::RadicaleServer;

const MEETINGS_PER_USER: usize = 100;

fn localpart(upn: &str) -> &str {
    upn.split('@').next().unwrap_or(upn)
}

/// GET then PUT (If-Match, same bytes) of every item; returns the wall time.
fn replay(radicale: &RadicaleServer, items: &[(String, String)]) -> Duration {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let t = Instant::now();
    for (user, path) in items {
        let url = format!("{}{}", radicale.url.trim_end_matches('/'), path);
        let auth = radicale.authorization(user);
        let got = agent
            .get(&url)
            .set("Authorization", &auth)
            .call()
            .expect("GET");
        let etag = got.header("ETag").expect("ETag").to_string();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut got.into_reader(), &mut body).expect("body");
        let put = agent
            .put(&url)
            .set("Authorization", &auth)
            .set("Content-Type", "text/calendar; charset=utf-8")
            .set("If-Match", &etag)
            .send_bytes(&body)
            .expect("PUT");
        assert!(matches!(put.status(), 200 | 201 | 204), "PUT {path}");
    }
    t.elapsed()
}

fn main() {
    let users = scaled(20);
    let total = users * MEETINGS_PER_USER;
    let radicale = RadicaleServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("mms.db");
    let engine = Engine::open(&path).expect("store");
    let (tenant, people) = bench_tenant(users);
    provision(&engine, &tenant, &people);
    let now = Utc::now();
    let mut items = Vec::with_capacity(total);
    let mut bytes = 0usize;
    for u in &people {
        let user = localpart(&u.user_principal_name);
        radicale.mkcalendar(user, "calendar", &[]);
        for m in invitations(u, &tenant, MEETINGS_PER_USER, now) {
            let href = format!("/{user}/calendar/{}", m.file_name);
            radicale.put_ics(user, &href, &m.data);
            bytes += m.data.len();
            items.push((user.to_string(), href));
        }
    }
    note(&format!(
        "{total} invitations ({users} users x {MEETINGS_PER_USER}, {:.0} B on average) on Radicale",
        bytes as f64 / total as f64
    ));

    let baseline = replay(&radicale, &items);

    start_migrations(&engine, &people);
    let mut caldav = CalDavConfig::new(radicale.url.clone());
    caldav.credentials = Some(Credentials::new("{localpart}", "unused"));
    let source = CalDavSource::new(caldav).expect("caldav");
    let outbox = EmbeddedOutbox::open(&path).expect("outbox");
    let mut worker = Worker::new(
        &engine,
        open_connection(&path).expect("journal"),
        &source,
        &outbox,
        WorkerConfig::default(),
    );
    let t = Instant::now();
    let jobs = worker.run_until_idle().expect("worker");
    let wall = t.elapsed();
    let updated: u32 = jobs.iter().map(|j| j.succeeded_meeting).sum();
    note(&format!(
        "worker: {} jobs, {updated} meetings updated in {}; replay {}",
        jobs.len(),
        fmt_duration(wall),
        fmt_duration(baseline)
    ));
    assert_eq!(updated as usize, total, "not every meeting was updated");

    let ratio = wall.as_secs_f64() / baseline.as_secs_f64();
    row(
        &format!("CalDAV end to end (Radicale, loopback): {total} meetings"),
        &format!(
            "{} ({:.0}/s)",
            fmt_duration(wall),
            total as f64 / wall.as_secs_f64()
        ),
        &format!(
            "GET+PUT replay {} ({:.0}/s)",
            fmt_duration(baseline),
            total as f64 / baseline.as_secs_f64()
        ),
        Some(ratio),
        "<= 1.2x replay",
        ratio <= 1.2,
    );
}
