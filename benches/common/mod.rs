//! Shared by the `harness = false` bench programs: a plain timing loop (warm-up, repeated
//! samples, median) and the one-line row format `benches/run.sh` collects into the table.
//! Timings are only printed here; no test ever asserts one.
#![allow(dead_code)]

pub mod tenant;

use std::time::{Duration, Instant};

/// `BENCH_SCALE` (default 1.0) shrinks the sizes for a quick run, e.g. `BENCH_SCALE=0.1`.
pub fn scale() -> f64 {
    std::env::var("BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(1.0)
}

pub fn scaled(n: usize) -> usize {
    ((n as f64 * scale()).round() as usize).max(1)
}

/// Median time per call of `f`, in nanoseconds: `warmup` calls first, then `samples` samples of
/// `batch` calls each (batching keeps the clock's own cost out of sub-microsecond figures).
pub fn median_ns(warmup: usize, samples: usize, batch: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        f();
    }
    let mut per_call: Vec<f64> = (0..samples)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..batch {
                f();
            }
            t.elapsed().as_nanos() as f64 / batch as f64
        })
        .collect();
    per_call.sort_by(|a, b| a.total_cmp(b));
    per_call[per_call.len() / 2]
}

/// A duration in the unit that reads best.
pub fn fmt_ns(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} us", ns / 1e3)
    } else if ns < 1_000_000_000.0 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

pub fn fmt_duration(d: Duration) -> String {
    fmt_ns(d.as_nanos() as f64)
}

/// One table row: `ROW|figure|value|baseline|ratio|target|met`. `ratio` is value / baseline
/// (or the baseline's rate / the value's rate for throughput figures); `met` is yes/no.
pub fn row(figure: &str, value: &str, baseline: &str, ratio: Option<f64>, target: &str, met: bool) {
    let met = if met { "yes" } else { "NO" };
    let ratio = ratio_cell(ratio);
    println!("ROW|{figure}|{value}|{baseline}|{ratio}|{target}|{met}");
}

/// A row that gives context and has no target of its own (Met `-`), such as a lower bound.
pub fn context_row(figure: &str, value: &str, baseline: &str, ratio: f64, what_it_shows: &str) {
    let ratio = ratio_cell(Some(ratio));
    println!("ROW|{figure}|{value}|{baseline}|{ratio}|{what_it_shows}|-");
}

/// The Ratio column: `-` when there is none, more digits for the tiny ones.
fn ratio_cell(ratio: Option<f64>) -> String {
    match ratio {
        None => "-".to_string(),
        Some(r) if r < 0.1 => format!("{r:.5}x"),
        Some(r) => format!("{r:.2}x"),
    }
}

/// Peak resident set size of this process so far (VmHWM), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    status_kib("VmHWM:")
}

/// This process's resident set now, in KiB (Linux).
pub fn current_rss_kib() -> Option<u64> {
    status_kib("VmRSS:")
}

/// A `/proc/self/status` field given in kB.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Progress notes go to stderr so the table on stdout stays clean.
pub fn note(msg: &str) {
    eprintln!("[bench] {msg}");
}
