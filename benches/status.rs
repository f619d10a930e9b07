//! Figures (a) and (b) of `make bench`: Get-CsMeetingMigrationStatus -SummaryOnly and a
//! single-user status query over 100,000 jobs through the C ABI, and one C ABI round trip.
//!
//! Setup: 10,000 users through the Engine API; one job's full life (start, claim, complete)
//! through the Engine API gives a genuine row, which is then replicated to 100,000 rows
//! (10 per user, mostly Succeeded, some Pending/Failed/InProgress) in one SQL transaction, because
//! 300,000 single-job transactions would make the setup, not the figure, dominate the run.
//!
//! `BENCH_STATUS_STORE=PATH` builds the store at PATH (replacing any file there) and leaves it
//! there: `benches/run.sh` hands it to the PowerShell bench (`benches/powershell`), and it can be
//! queried by hand with the sqlite3 CLI. With `--store-only` the program only builds it.

mod common;

use chrono::{Duration, Utc};
use common::*;
use mms::engine::sample::sample_tenant;
use mms::engine::Engine;
use mms::ffi::*;
use mms::model::{SourceMeetingType, TargetMeetingType};
use rusqlite::{params, Connection};
use std::ffi::{CStr, CString};
use std::hint::black_box;
use std::os::raw::c_char;
use uuid::Uuid;

const JOBS_PER_USER: usize = 10;

fn upn(i: usize) -> String {
    format!("user{i:05}@contoso.com")
}

fn build_store(path: &std::path::Path, users: usize) {
    let engine = Engine::open(path).expect("open store");
    let tenant = sample_tenant();
    for b in &tenant.bridges {
        let mut b = b.clone();
        for n in &mut b.service_numbers {
            // The engine stores numbers in E.164 form.
            n.number.retain(|c| c == '+' || c.is_ascii_digit());
        }
        engine.upsert_bridge(b).expect("bridge");
    }
    let template = tenant.users[0].clone();
    for i in 0..users {
        let mut u = template.clone();
        u.object_id = Uuid::from_u128(0xbe_0000_0000 + i as u128);
        u.user_principal_name = upn(i);
        u.sip_address = upn(i);
        u.display_name = format!("Bench User {i:05}");
        engine.upsert_user(u).expect("user");
    }
    // One genuine job row, produced by the engine itself.
    let job = engine
        .start_migration(&upn(0), SourceMeetingType::All, TargetMeetingType::Teams)
        .expect("start");
    let claim = engine
        .claim_next_job("bench", Duration::minutes(5))
        .expect("claim")
        .expect("a due job");
    let progress = mms::store::JobProgress {
        total_meeting: 100,
        succeeded_meeting: 100,
        failed_meeting: 0,
        invites_update: 100,
        last_message: String::new(),
    };
    engine.complete_job(&claim, &progress).expect("complete");
    drop(engine);

    let mut conn = Connection::open(path).expect("sqlite");
    let (mtype, src, tgt): (String, String, String) = conn
        .query_row(
            "SELECT migration_type, source_meeting_type, target_meeting_type FROM migration_jobs WHERE correlation_id = ?1",
            params![job.correlation_id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("template row");
    let tx = conn.transaction().expect("tx");
    tx.execute("DELETE FROM migration_jobs", [])
        .expect("delete");
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO migration_jobs (correlation_id, user_id, user_principal_name, state,
                   migration_type, source_meeting_type, target_meeting_type, create_date,
                   modified_date, not_before, retry_count, total_meeting, succeeded_meeting,
                   failed_meeting, invites_update, last_message, lease_owner, lease_token,
                   lease_expires)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19)",
            )
            .expect("prepare");
        let base = Utc::now().timestamp_micros() - 90 * 86_400_000_000;
        for i in 0..users {
            let uid = Uuid::from_u128(0xbe_0000_0000 + i as u128).to_string();
            for j in 0..JOBS_PER_USER {
                let last = j == JOBS_PER_USER - 1;
                let state = match (last, i % 10) {
                    (true, 0) => "Pending",
                    (true, 1) => "Failed",
                    (true, 2) => "InProgress",
                    _ => "Succeeded",
                };
                let created = base + ((j * users + i) as i64) * 60_000_000;
                let (failed, msg) = if state == "Failed" {
                    (
                        3,
                        "3 meetings could not be updated: the calendar server refused the change",
                    )
                } else {
                    (0, "")
                };
                let lease = (state == "InProgress")
                    .then(|| ("bench", Uuid::new_v4().to_string(), created + 300_000_000));
                insert
                    .execute(params![
                        Uuid::new_v4().to_string(),
                        uid,
                        upn(i),
                        state,
                        mtype,
                        src,
                        tgt,
                        created,
                        created + 5_000_000,
                        created,
                        0,
                        100,
                        100 - failed,
                        failed,
                        100 - failed,
                        msg,
                        lease.as_ref().map(|l| l.0),
                        lease.as_ref().map(|l| l.1.clone()),
                        lease.as_ref().map(|l| l.2),
                    ])
                    .expect("insert");
            }
        }
    }
    tx.commit().expect("commit");
    conn.execute_batch("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")
        .expect("analyze");
}

fn cstr(s: &str) -> CString {
    CString::new(s).expect("no NUL")
}

/// Where the store is built: `BENCH_STATUS_STORE`, else a temporary directory (removed at exit).
fn store_path() -> (std::path::PathBuf, Option<tempfile::TempDir>) {
    match std::env::var_os("BENCH_STATUS_STORE") {
        Some(p) => {
            let path = std::path::PathBuf::from(p);
            for suffix in mms::store::STORE_FILE_SUFFIXES {
                let mut f = path.clone().into_os_string();
                f.push(suffix);
                let _ = std::fs::remove_file(f);
            }
            (path, None)
        }
        None => {
            let dir = tempfile::tempdir().expect("tempdir");
            (dir.path().join("mms.db"), Some(dir))
        }
    }
}

fn main() {
    let users = scaled(10_000);
    let jobs = users * JOBS_PER_USER;
    let (path, _dir) = store_path();
    let t = std::time::Instant::now();
    build_store(&path, users);
    note(&format!(
        "status store: {users} users, {jobs} jobs in {:?} ({})",
        t.elapsed(),
        path.display()
    ));
    if std::env::args().any(|a| a == "--store-only") {
        return;
    }

    let mut engine: *mut MmsEngine = std::ptr::null_mut();
    let cpath = cstr(path.to_str().expect("utf-8 path"));
    unsafe {
        assert_eq!(mms_engine_open(cpath.as_ptr(), &mut engine), MmsResult::Ok);
    }

    // Baseline connection: SQL straight through rusqlite. For the summary the baseline is the
    // COUNT(DISTINCT) scan the store ran before schema migration 3 (the "before" figure).
    let conn = Connection::open(&path).expect("sqlite");
    let summary_sql = "SELECT state, COUNT(DISTINCT user_id) FROM migration_jobs GROUP BY state";
    let user_sql = "SELECT correlation_id, user_id, user_principal_name, state, migration_type, \
     source_meeting_type, target_meeting_type, create_date, modified_date, not_before, \
     retry_count, total_meeting, succeeded_meeting, failed_meeting, invites_update, last_message \
     FROM migration_jobs WHERE user_id = ?1 ORDER BY create_date, correlation_id";

    // (a1) -SummaryOnly.
    let mut out: *mut c_char = std::ptr::null_mut();
    let summary_ns = median_ns(5, 31, 1, || unsafe {
        let rc = mms_status_summary(engine, &mut out);
        assert_eq!(rc, MmsResult::Ok);
        black_box(CStr::from_ptr(out).to_bytes().len());
        mms_string_free(out);
    });
    unsafe {
        mms_status_summary(engine, &mut out);
        note(&format!(
            "summary: {}",
            CStr::from_ptr(out).to_string_lossy()
        ));
        mms_string_free(out);
    }
    let summary_base_ns = median_ns(5, 31, 1, || {
        let mut stmt = conn.prepare_cached(summary_sql).expect("prepare");
        let rows: Vec<(String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        black_box(rows);
    });
    row(
        &format!("SummaryOnly status, {jobs} jobs, C ABI"),
        &fmt_ns(summary_ns),
        &format!(
            "{} (COUNT(DISTINCT) scan, rusqlite)",
            fmt_ns(summary_base_ns)
        ),
        Some(summary_ns / summary_base_ns),
        "< 5 ms",
        summary_ns < 5e6,
    );

    // (a2) One user's jobs by UPN.
    let who = upn(users / 2);
    let filter = cstr(&format!("{{\"Identity\":\"{who}\"}}"));
    let user_ns = median_ns(20, 201, 1, || unsafe {
        let rc = mms_status_query(engine, filter.as_ptr(), &mut out);
        assert_eq!(rc, MmsResult::Ok);
        black_box(CStr::from_ptr(out).to_bytes().len());
        mms_string_free(out);
    });
    let uid = Uuid::from_u128(0xbe_0000_0000 + (users / 2) as u128).to_string();
    let user_base_ns = median_ns(20, 201, 1, || {
        let mut stmt = conn.prepare_cached(user_sql).expect("prepare");
        let rows: Vec<(String, String)> = stmt
            .query_map(params![uid], |r| Ok((r.get(0)?, r.get(3)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(rows.len(), JOBS_PER_USER);
        black_box(rows);
    });
    row(
        &format!("Single-user status (-Identity), {jobs} jobs, C ABI"),
        &fmt_ns(user_ns),
        &format!("{} (same SQL, rusqlite)", fmt_ns(user_base_ns)),
        Some(user_ns / user_base_ns),
        "< 1 ms",
        user_ns < 1e6,
    );

    // (b) One C ABI round trip: handle lookup, JSON in, rules decision, JSON out, free.
    let event = cstr("{\"Event\":\"UpdateTenantMeetingUrl\"}");
    let call_ns = median_ns(10_000, 101, 2_000, || unsafe {
        let rc = mms_tenant_event(engine, event.as_ptr(), &mut out);
        black_box(rc);
        mms_string_free(out);
    });
    // Baseline: the same rules decision as a plain Rust call (no boundary, no JSON).
    let ev: mms::rules::triggers::TenantEvent =
        serde_json::from_str("{\"Event\":\"UpdateTenantMeetingUrl\"}").expect("event");
    let rust_engine = Engine::open(&path).expect("engine");
    let direct: fn(&Engine, &mms::rules::triggers::TenantEvent) -> _ = Engine::apply_tenant_event;
    let direct = black_box(direct);
    let call_base_ns = median_ns(10_000, 101, 2_000, || {
        black_box(direct(black_box(&rust_engine), black_box(&ev)));
    });
    row(
        "C ABI round trip (mms_tenant_event: handle, JSON in/out, free)",
        &fmt_ns(call_ns),
        &format!("{} (same decision, Rust fn pointer)", fmt_ns(call_base_ns)),
        Some(call_ns / call_base_ns.max(0.5)),
        "< 2 us",
        call_ns < 2_000.0,
    );
    let trivial_ns = median_ns(10_000, 101, 10_000, || {
        black_box(mms_version());
    });
    note(&format!("mms_version() call: {}", fmt_ns(trivial_ns)));

    unsafe {
        mms_engine_close(engine);
    }
}
