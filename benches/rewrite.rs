//! Figure (c) of `make bench`: detect + replace + compose (rewrite_calendar_object + compose_imip)
//! on realistic Teams/Skype invitations, single-threaded, against a memcpy of the same bytes.
//!
//! The invitations come from `mms::engine::sample` (Outlook-shaped: folded lines, HTML
//! X-ALT-DESC next to DESCRIPTION, VTIMEZONE, accents and emoji); the organizer's conference ID
//! is changed so that every one of them really is rewritten, never "already up to date".
//!
//! Two orders. "Organizer changes every meeting": the 6 organizers' invitations in turn, so the
//! new block is validated and rendered again for every meeting (the worst case). "Jobs": as the
//! worker meets them, each organizer's future single meetings one after another (one job), the
//! block rendered once per job; each organizer has `JOB_MEETINGS` distinct invitations (the
//! sample calendar generated for as many different days, each with its own UID).

mod common;

use chrono::Utc;
use common::*;
use mms::calendar::{compose_imip, rewrite_calendar_object, RewriteOutcome, RewriteRequest};
use mms::engine::coordinates::derive_coordinates;
use mms::engine::sample::{sample_calendar, sample_tenant, SampleKind, SampleTenant};
use mms::model::{SourceMeetingType, TargetMeetingType, User};
use std::hint::black_box;

/// Single meetings per organizer in the "jobs" order.
const JOB_MEETINGS: usize = 20;

struct Case {
    single: bool,
    user: User,
    coordinates: mms::model::MeetingCoordinates,
    data: Vec<u8>,
}

/// User `i`'s colleagues, the user with a new conference ID, and the coordinates it gives.
fn moved_organizer(
    tenant: &SampleTenant,
    i: usize,
) -> (Vec<&User>, User, mms::model::MeetingCoordinates) {
    let others: Vec<&User> = (1..tenant.users.len())
        .map(|k| &tenant.users[(i + k) % tenant.users.len()])
        .collect();
    let mut moved = tenant.users[i].clone();
    moved.conference_id = format!("{:09}", 700_000_000 + i);
    let bridge = moved
        .bridge_id
        .and_then(|b| tenant.bridges.iter().find(|x| x.identity == b));
    let coordinates = derive_coordinates(&moved, bridge);
    (others, moved, coordinates)
}

fn cases() -> Vec<Case> {
    let tenant = sample_tenant();
    let now = Utc::now();
    let mut out = Vec::new();
    for (i, u) in tenant.users.iter().enumerate() {
        let (others, moved, coordinates) = moved_organizer(&tenant, i);
        for m in sample_calendar(u, &tenant, &others, now) {
            // Single meetings and series with an override: the 5-15 KB invitations most
            // calendars hold (the 200-attendee ones are a different figure).
            if matches!(
                m.kind,
                SampleKind::FutureSingle | SampleKind::RecurringWithOverride
            ) {
                out.push(Case {
                    single: m.kind == SampleKind::FutureSingle,
                    user: moved.clone(),
                    coordinates: coordinates.clone(),
                    data: m.data,
                });
            }
        }
    }
    out
}

/// Each organizer's `JOB_MEETINGS` future single meetings, one organizer after another.
fn job_cases(now: chrono::DateTime<Utc>) -> Vec<Case> {
    let tenant = sample_tenant();
    let mut out = Vec::new();
    for (i, u) in tenant.users.iter().enumerate() {
        let (others, moved, coordinates) = moved_organizer(&tenant, i);
        for day in 0..JOB_MEETINGS {
            let when = now + chrono::Duration::days(day as i64);
            for m in sample_calendar(u, &tenant, &others, when) {
                if m.kind != SampleKind::FutureSingle {
                    continue;
                }
                // Same length as the sample's UID (so the folding is the same), its own per day.
                let uid = format!("{}{:08X}", &m.uid[..m.uid.len() - 8], day);
                let data = String::from_utf8_lossy(&m.data).replace(&m.uid, &uid);
                out.push(Case {
                    single: true,
                    user: moved.clone(),
                    coordinates: coordinates.clone(),
                    data: data.into_bytes(),
                });
            }
        }
    }
    out
}

fn migrate_one(c: &Case, now: chrono::DateTime<Utc>) -> usize {
    let req = RewriteRequest {
        organizer: &c.user.user_principal_name,
        organizer_object_id: Some(c.user.object_id),
        organizer_sip_address: Some(&c.user.sip_address),
        coordinates: &c.coordinates,
        source: SourceMeetingType::All,
        target: TargetMeetingType::Current,
        now,
        sent_by: Some("meetingmigration@contoso.com"),
    };
    match rewrite_calendar_object(&c.data, &req) {
        Ok(RewriteOutcome::Rewritten(m)) => {
            let mail = compose_imip(
                &m,
                "meetingmigration@contoso.com",
                Some("meetingmigration@contoso.com"),
                "<bench@contoso.com>",
                now,
            );
            m.organizer_copy.len() + mail.len()
        }
        Ok(RewriteOutcome::Skipped(r)) => panic!("bench invitation skipped: {r}"),
        Err(e) => panic!("bench invitation refused: {e}"),
    }
}

/// Runs of each measurement, taken in turns (see [`measure`]).
const RUNS: usize = 7;

/// Times rewrite+compose and a memcpy over `cases`; prints the two rows for `what`.
///
/// This host's speed drifts in spells of seconds (memcpy itself measures 130-280 ns over a
/// day). So the rewrite and the memcpy are measured in turns, `RUNS` times each, and each
/// figure is the median of its fastest run: both sides of the ratio get the same treatment,
/// and every run's median is printed on stderr.
fn measure(what: &str, cases: &[&Case], now: chrono::DateTime<Utc>) {
    let total: usize = cases.iter().map(|c| c.data.len()).sum();
    let avg = total / cases.len().max(1);
    // One sample = one pass over every invitation (2-5 ms): a run of the rewrite lasts about a
    // second, so the runs are spread over some 10 s.
    let samples = scaled(300).max(5);
    let mut rewrite_runs = Vec::with_capacity(RUNS);
    let mut memcpy_runs = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        rewrite_runs.push(median_ns(2, samples, 1, || {
            for c in cases {
                black_box(migrate_one(black_box(c), now));
            }
        }));
        // Baseline: copying the same bytes (one fresh allocation per invitation, like the
        // rewrite's output buffer).
        memcpy_runs.push(median_ns(2, samples, 1, || {
            for c in cases {
                let v: Vec<u8> = black_box(&c.data).clone();
                black_box(v);
            }
        }));
    }
    let per_meeting =
        |runs: &[f64]| -> Vec<f64> { runs.iter().map(|ns| ns / cases.len() as f64).collect() };
    let (rewrite_runs, memcpy_runs) = (per_meeting(&rewrite_runs), per_meeting(&memcpy_runs));
    let fastest = |runs: &[f64]| runs.iter().copied().fold(f64::INFINITY, f64::min);
    let slowest = |runs: &[f64]| runs.iter().copied().fold(0.0, f64::max);
    let listed = |runs: &[f64]| {
        let each: Vec<String> = runs.iter().map(|&ns| fmt_ns(ns)).collect();
        format!("{} (slowest {})", each.join(", "), fmt_ns(slowest(runs)))
    };
    note(&format!(
        "{what}: rewrite+compose medians of {RUNS} runs {}, memcpy {}",
        listed(&rewrite_runs),
        listed(&memcpy_runs),
    ));
    let per_meeting_ns = fastest(&rewrite_runs);
    let meetings_per_s = 1e9 / per_meeting_ns;
    let memcpy_per_meeting_ns = fastest(&memcpy_runs);
    let memcpy_per_s = 1e9 / memcpy_per_meeting_ns;
    let ratio = per_meeting_ns / memcpy_per_meeting_ns;

    row(
        &format!("Rewrite+compose, {what} ({avg} B): meetings/s per core"),
        &format!("{meetings_per_s:.0}/s ({})", fmt_ns(per_meeting_ns)),
        &format!(
            "memcpy {memcpy_per_s:.0}/s ({})",
            fmt_ns(memcpy_per_meeting_ns)
        ),
        Some(memcpy_per_s / meetings_per_s),
        ">= 50,000/s",
        meetings_per_s >= 50_000.0,
    );
    row(
        &format!("Rewrite+compose time vs memcpy, {what}"),
        &fmt_ns(per_meeting_ns),
        &fmt_ns(memcpy_per_meeting_ns),
        Some(ratio),
        "<= 10x memcpy",
        ratio <= 10.0,
    );
}

fn main() {
    let cases = cases();
    let now = Utc::now();
    let total: usize = cases.iter().map(|c| c.data.len()).sum();
    let avg = total / cases.len().max(1);
    let non_ascii = cases
        .iter()
        .filter(|c| c.data.iter().any(|b| *b >= 0x80))
        .count();
    note(&format!(
        "rewrite: {} invitations, average {avg} bytes, {non_ascii} with non-ASCII text",
        cases.len()
    ));
    for c in &cases {
        migrate_one(c, now); // every case must really be rewritten (panics otherwise)
    }
    // The figure: single meetings of about 8 KB; then every invitation, series with
    // an override (two VEVENTs, twice the body) included.
    let jobs = job_cases(now);
    for c in &jobs {
        migrate_one(c, now);
    }
    let in_jobs: Vec<&Case> = jobs.iter().collect();
    measure(
        &format!("8 KB single meetings in jobs of {JOB_MEETINGS}"),
        &in_jobs,
        now,
    );
    let singles: Vec<&Case> = cases.iter().filter(|c| c.single).collect();
    measure(
        "8 KB single meetings, organizer changes every meeting",
        &singles,
        now,
    );
    let all: Vec<&Case> = cases.iter().collect();
    measure(
        "single meetings and series, organizer changes every meeting",
        &all,
        now,
    );
}
