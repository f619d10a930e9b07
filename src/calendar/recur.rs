//! Recurrence expansion (RFC 5545 §3.3.10 RRULE, §3.8.5 RDATE/EXDATE) and the "future only"
//! question the eligibility rule asks: does any instance of this meeting end after now?
//!
//! # Model
//! - An [`RRule`] expands in the *local wall-clock time* of DTSTART's zone (naive date-times),
//!   as RFC 5545 requires; each local start is then turned into UTC through the zone
//!   (see [`super::tz`]). Invalid dates (Feb 30, BYMONTHDAY=31 in April) are skipped and not
//!   counted. Local times that do not exist (spring-forward gap) or occur twice (fall-back) are
//!   interpreted as RFC 5545 §3.3.5 says: a gap time uses the offset before the gap (so it lands
//!   one gap later), a repeated time means its first occurrence. Such instances are never dropped:
//!   a meeting at 02:30 on the DST day is still a meeting.
//! - The recurrence set is {DTSTART} ∪ RRULE instances ∪ RDATEs, minus EXDATEs. DTSTART is always
//!   an instance (RFC 5545 §3.8.5.3, libical and Outlook behave so), even if it does not match the
//!   rule; COUNT counts rule instances only (as python-dateutil does), so a DTSTART that does
//!   not match the rule is one extra instance.
//! - Instance end: DTEND gives an exact duration (UTC difference), DURATION a nominal one (days
//!   and weeks in local time, the rest exact); default 1 day for DATE, 0 for DATE-TIME.
//! - Floating times and DATE values are read in UTC ([`super::tz::DEFAULT_FLOATING_ZONE`]).
//!
//! # Bounded work on hostile input
//! - The calendar repeats every 400 years, so a YEARLY/MONTHLY/WEEKLY/DAILY rule with no candidate
//!   in one full Gregorian cycle of consecutive periods (400 years, 4,800 months, 20,871 weeks,
//!   146,097 days) can never produce another instance: iteration stops (a result, not an error).
//! - Sub-daily rules skip filtered days/hours/minutes in one step; after
//!   [`SUBDAILY_EMPTY_PERIOD_CAP`] consecutive empty periods they stop with
//!   [`RecurrenceError::NoProgress`].
//! - Every expansion has a step budget ([`DEFAULT_STEP_BUDGET`] candidates and periods);
//!   exhausting it is [`RecurrenceError::TooComplex`]. Without COUNT, the future check jumps
//!   straight to the period containing "now", so a series that began in 1990 costs nothing; with
//!   COUNT it must count from the start (COUNT=1000000000 on a DAILY rule answers quickly because
//!   it reaches "now" after a few thousand instances).
//! - Years beyond 9999 are not expanded (python-dateutil stops there too).
//!
//! # Known, deliberate divergences from python-dateutil 2.8.2 (the differential judge)
//! - BYDAY mixing plain and ordinal days (`BYDAY=MO,-1FR`): RFC 5545 means the union; dateutil
//!   intersects them (and yields nothing). We follow the RFC.
//! - UNTIL given as DATE for a DATE-TIME DTSTART (invalid per RFC, seen in the wild): we include
//!   the whole UNTIL day; dateutil stops at its midnight.
//! - DTSTART not matching the rule is still an instance here (see above); the judge compares the
//!   rule expansion only, where we agree with dateutil.

use std::fmt;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
    Weekday,
};

use super::tz::{ResolvedZone, TimeZoneTable};

/// 00:00:00 (chrono 0.4.23 keeps `NaiveTime::MIN` private).
pub(crate) fn midnight() -> NaiveTime {
    NaiveTime::default()
}

/// Largest year expanded (python-dateutil's `datetime.MAXYEAR`).
pub const MAX_YEAR: i32 = 9999;
/// Consecutive empty periods after which a sub-daily rule is abandoned with an error.
pub const SUBDAILY_EMPTY_PERIOD_CAP: u64 = 2_000_000;
/// Candidates plus periods one expansion may examine before giving up with an error.
pub const DEFAULT_STEP_BUDGET: u64 = 5_000_000;
/// Most RDATE/EXDATE values read from one meeting (more is a readable error).
pub const MAX_DATE_LIST: usize = 100_000;

/// Why a recurrence could not be evaluated. `Display` is admin-readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecurrenceError {
    /// The RRULE text is malformed (the message says which part and why).
    InvalidRule(String),
    /// A DTSTART/DTEND/RDATE/EXDATE/DURATION value is malformed.
    InvalidDate(String),
    /// The rule needs more work than the budget allows before it can answer.
    TooComplex(String),
    /// A sub-daily rule produced nothing in too many consecutive periods.
    NoProgress(String),
}

impl fmt::Display for RecurrenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecurrenceError::InvalidRule(m) => write!(f, "invalid RRULE: {m}"),
            RecurrenceError::InvalidDate(m) => write!(f, "invalid date value: {m}"),
            RecurrenceError::TooComplex(m) => write!(f, "recurrence too complex to evaluate: {m}"),
            RecurrenceError::NoProgress(m) => write!(f, "recurrence produces no instances: {m}"),
        }
    }
}

impl std::error::Error for RecurrenceError {}

fn rule_err(m: impl Into<String>) -> RecurrenceError {
    RecurrenceError::InvalidRule(m.into())
}

fn date_err(m: impl Into<String>) -> RecurrenceError {
    RecurrenceError::InvalidDate(m.into())
}

// ---------------------------------------------------------------------------------------------
// RRULE value
// ---------------------------------------------------------------------------------------------

/// RFC 5545 FREQ. Ordered from the finest to the coarsest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Frequency {
    Secondly,
    Minutely,
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

/// One BYDAY entry: a weekday with an optional ordinal (`-1FR` = last Friday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WeekdayNum {
    pub ordinal: Option<i32>,
    pub weekday: Weekday,
}

/// The UNTIL rule part as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Until {
    /// Midnight for a DATE value.
    pub value: NaiveDateTime,
    /// Written with a trailing `Z`.
    pub is_utc: bool,
    /// Written as a DATE (no time part).
    pub is_date: bool,
}

/// A parsed RRULE (RFC 5545 §3.3.10). BY* lists are sorted and deduplicated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RRule {
    pub freq: Frequency,
    pub interval: u32,
    pub count: Option<u64>,
    pub until: Option<Until>,
    pub by_second: Vec<u32>,
    pub by_minute: Vec<u32>,
    pub by_hour: Vec<u32>,
    pub by_day: Vec<WeekdayNum>,
    pub by_month_day: Vec<i32>,
    pub by_year_day: Vec<i32>,
    pub by_week_no: Vec<i32>,
    pub by_month: Vec<u32>,
    pub by_set_pos: Vec<i32>,
    pub wkst: Weekday,
}

fn parse_weekday(s: &str) -> Option<Weekday> {
    Some(match s {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

fn parse_int_list(
    name: &str,
    v: &str,
    lo: i64,
    hi: i64,
    allow_neg: bool,
) -> Result<Vec<i64>, RecurrenceError> {
    let mut out = Vec::new();
    for item in v.split(',') {
        let item = item.trim();
        let n: i64 = item
            .parse()
            .map_err(|_| rule_err(format!("{name} value {item:?} is not a number")))?;
        let a = n.abs();
        if (n < 0 && !allow_neg) || n == 0 && lo > 0 || a < lo || a > hi {
            return Err(rule_err(format!("{name} value {n} is out of range")));
        }
        out.push(n);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Parse a DATE or DATE-TIME text (`20250101`, `20250101T090000`, `20250101T090000Z`).
/// Returns (local date-time, is_utc, is_date).
pub fn parse_date_or_datetime(s: &str) -> Result<(NaiveDateTime, bool, bool), RecurrenceError> {
    let s = s.trim();
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        if part.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(part).ok()?.parse().ok()
        } else {
            None
        }
    };
    let bad = || date_err(format!("{s:?} is not an RFC 5545 DATE or DATE-TIME"));
    let year = digits(0..4).ok_or_else(bad)?;
    let month = digits(4..6).ok_or_else(bad)?;
    let day = digits(6..8).ok_or_else(bad)?;
    let date = NaiveDate::from_ymd_opt(year as i32, month, day).ok_or_else(bad)?;
    if b.len() == 8 {
        return Ok((date.and_time(midnight()), false, true));
    }
    if !matches!(b.get(8), Some(b'T') | Some(b't')) {
        return Err(bad());
    }
    let h = digits(9..11).ok_or_else(bad)?;
    let mi = digits(11..13).ok_or_else(bad)?;
    let sec = digits(13..15).ok_or_else(bad)?;
    let is_utc = match &b[15..] {
        b"" => false,
        b"Z" | b"z" => true,
        _ => return Err(bad()),
    };
    // A leap second (60) is read as 59: chrono has no :60 and the difference is irrelevant here.
    let time = NaiveTime::from_hms_opt(h, mi, sec.min(59)).ok_or_else(bad)?;
    Ok((date.and_time(time), is_utc, false))
}

impl RRule {
    /// Parse an RRULE value (with or without a leading `RRULE:`). Part names are
    /// case-insensitive; `X-` parts are ignored; unknown parts, missing FREQ and out-of-range
    /// values are errors. COUNT together with UNTIL is accepted (whichever ends first wins).
    pub fn parse(text: &str) -> Result<RRule, RecurrenceError> {
        let t = text.trim();
        let t = crate::model::strip_prefix_ignore_ascii_case(t, "RRULE:").unwrap_or(t);
        if t.len() > 4096 {
            return Err(rule_err("longer than 4096 characters"));
        }
        let mut freq = None;
        let mut rule = RRule {
            freq: Frequency::Yearly,
            interval: 1,
            count: None,
            until: None,
            by_second: vec![],
            by_minute: vec![],
            by_hour: vec![],
            by_day: vec![],
            by_month_day: vec![],
            by_year_day: vec![],
            by_week_no: vec![],
            by_month: vec![],
            by_set_pos: vec![],
            wkst: Weekday::Mon,
        };
        let mut seen: Vec<String> = Vec::new();
        for part in t.split(';') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| rule_err(format!("part {part:?} has no '='")))?;
            let name = name.trim().to_ascii_uppercase();
            let value = value.trim().to_ascii_uppercase();
            if name.starts_with("X-") {
                continue;
            }
            if seen.contains(&name) {
                return Err(rule_err(format!("{name} appears twice")));
            }
            seen.push(name.clone());
            let ints = |lo, hi, neg| parse_int_list(&name, &value, lo, hi, neg);
            match name.as_str() {
                "FREQ" => {
                    freq = Some(match value.as_str() {
                        "SECONDLY" => Frequency::Secondly,
                        "MINUTELY" => Frequency::Minutely,
                        "HOURLY" => Frequency::Hourly,
                        "DAILY" => Frequency::Daily,
                        "WEEKLY" => Frequency::Weekly,
                        "MONTHLY" => Frequency::Monthly,
                        "YEARLY" => Frequency::Yearly,
                        _ => return Err(rule_err(format!("unknown FREQ {value:?}"))),
                    })
                }
                "INTERVAL" => {
                    let n: u64 = value
                        .parse()
                        .map_err(|_| rule_err(format!("INTERVAL {value:?} is not a number")))?;
                    if n == 0 || n > 1_000_000 {
                        return Err(rule_err(format!("INTERVAL {n} is out of range 1..1000000")));
                    }
                    rule.interval = n as u32;
                }
                "COUNT" => {
                    let n: u64 = value
                        .parse()
                        .map_err(|_| rule_err(format!("COUNT {value:?} is not a number")))?;
                    if n == 0 {
                        return Err(rule_err("COUNT must be at least 1"));
                    }
                    rule.count = Some(n);
                }
                "UNTIL" => {
                    let (value, is_utc, is_date) =
                        parse_date_or_datetime(&value).map_err(|_| {
                            rule_err(format!("UNTIL {value:?} is not a DATE or DATE-TIME"))
                        })?;
                    rule.until = Some(Until {
                        value,
                        is_utc,
                        is_date,
                    });
                }
                "BYSECOND" => {
                    rule.by_second = ints(0, 60, false)?.into_iter().map(|n| n as u32).collect()
                }
                "BYMINUTE" => {
                    rule.by_minute = ints(0, 59, false)?.into_iter().map(|n| n as u32).collect()
                }
                "BYHOUR" => {
                    rule.by_hour = ints(0, 23, false)?.into_iter().map(|n| n as u32).collect()
                }
                "BYMONTHDAY" => {
                    rule.by_month_day = ints(1, 31, true)?.into_iter().map(|n| n as i32).collect()
                }
                "BYYEARDAY" => {
                    rule.by_year_day = ints(1, 366, true)?.into_iter().map(|n| n as i32).collect()
                }
                "BYWEEKNO" => {
                    rule.by_week_no = ints(1, 53, true)?.into_iter().map(|n| n as i32).collect()
                }
                "BYMONTH" => {
                    rule.by_month = ints(1, 12, false)?.into_iter().map(|n| n as u32).collect()
                }
                "BYSETPOS" => {
                    rule.by_set_pos = ints(1, 366, true)?.into_iter().map(|n| n as i32).collect()
                }
                "BYDAY" => {
                    let mut days = Vec::new();
                    for item in value.split(',') {
                        let item = item.trim();
                        if item.len() < 2 || !item.is_char_boundary(item.len() - 2) {
                            return Err(rule_err(format!("BYDAY value {item:?} is not a weekday")));
                        }
                        let (num, wd) = item.split_at(item.len() - 2);
                        let weekday = parse_weekday(wd).ok_or_else(|| {
                            rule_err(format!("BYDAY value {item:?} is not a weekday"))
                        })?;
                        let ordinal = if num.is_empty() {
                            None
                        } else {
                            let n: i32 = num.parse().map_err(|_| {
                                rule_err(format!("BYDAY ordinal in {item:?} is not a number"))
                            })?;
                            if n == 0 || n.abs() > 53 {
                                return Err(rule_err(format!("BYDAY ordinal {n} is out of range")));
                            }
                            Some(n)
                        };
                        let w = WeekdayNum { ordinal, weekday };
                        if !days.contains(&w) {
                            days.push(w);
                        }
                    }
                    rule.by_day = days;
                }
                "WKST" => {
                    rule.wkst = parse_weekday(&value)
                        .ok_or_else(|| rule_err(format!("WKST {value:?} is not a weekday")))?
                }
                _ => return Err(rule_err(format!("unknown rule part {name}"))),
            }
        }
        rule.freq = freq.ok_or_else(|| rule_err("FREQ is missing"))?;
        Ok(rule)
    }
}

// ---------------------------------------------------------------------------------------------
// Expansion
// ---------------------------------------------------------------------------------------------

fn days_in_month(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    match (
        NaiveDate::from_ymd_opt(ny, nm, 1),
        NaiveDate::from_ymd_opt(year, month, 1),
    ) {
        (Some(a), Some(b)) => (a - b).num_days() as u32,
        _ => 30,
    }
}

fn days_in_year(year: i32) -> i32 {
    if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
        366
    } else {
        365
    }
}

/// First day of week 1 of `year` with weeks starting on `wkst`: week 1 is the first week with
/// at least four days in the year (RFC 5545 BYWEEKNO, ISO 8601 when WKST=MO).
fn week1_start(year: i32, wkst: Weekday) -> Option<NaiveDate> {
    let jan1 = NaiveDate::from_ymd_opt(year, 1, 1)?;
    let offset =
        (jan1.weekday().num_days_from_monday() as i64 - wkst.num_days_from_monday() as i64 + 7) % 7;
    let week_start = jan1 - Duration::days(offset);
    Some(if offset <= 3 {
        week_start
    } else {
        week_start + Duration::days(7)
    })
}

/// (week number, number of weeks in that week-year) of `d`.
fn week_number(d: NaiveDate, wkst: Weekday) -> Option<(i32, i32)> {
    let mut y = d.year();
    let mut start = week1_start(y, wkst)?;
    if d < start {
        y -= 1;
        start = week1_start(y, wkst)?;
    } else {
        let next = week1_start(y + 1, wkst)?;
        if d >= next {
            y += 1;
            start = next;
        }
    }
    let next = week1_start(y + 1, wkst)?;
    let n = ((d - start).num_days() / 7 + 1) as i32;
    let total = ((next - start).num_days() / 7) as i32;
    Some((n, total))
}

fn matches_signed(list: &[i32], value: i32, len: i32) -> bool {
    list.iter().any(|&v| v == value || v == value - len - 1)
}

/// The rule with DTSTART-derived defaults filled in, ready to expand.
#[derive(Debug, Clone)]
struct Plan {
    rule: RRule,
    by_day_plain: Vec<Weekday>,
    by_day_nth: Vec<(Weekday, i32)>,
    /// Sorted times of day used by DAILY and coarser frequencies.
    day_times: Vec<NaiveTime>,
    by_minute_eff: Vec<u32>,
    by_second_eff: Vec<u32>,
}

impl Plan {
    fn new(rule: &RRule, dtstart: NaiveDateTime) -> Plan {
        let mut rule = rule.clone();
        let f = rule.freq;
        if rule.by_week_no.is_empty()
            && rule.by_year_day.is_empty()
            && rule.by_month_day.is_empty()
            && rule.by_day.is_empty()
        {
            match f {
                Frequency::Yearly => {
                    if rule.by_month.is_empty() {
                        rule.by_month = vec![dtstart.month()];
                    }
                    rule.by_month_day = vec![dtstart.day() as i32];
                }
                Frequency::Monthly => rule.by_month_day = vec![dtstart.day() as i32],
                Frequency::Weekly => {
                    rule.by_day = vec![WeekdayNum {
                        ordinal: None,
                        weekday: dtstart.weekday(),
                    }]
                }
                _ => {}
            }
        }
        if rule.by_hour.is_empty() && f > Frequency::Hourly {
            rule.by_hour = vec![dtstart.hour()];
        }
        if rule.by_minute.is_empty() && f > Frequency::Minutely {
            rule.by_minute = vec![dtstart.minute()];
        }
        if rule.by_second.is_empty() && f > Frequency::Secondly {
            rule.by_second = vec![dtstart.second()];
        }
        // Ordinals mean something only for MONTHLY and YEARLY; elsewhere they are plain days.
        let ordinals_apply = f >= Frequency::Monthly;
        let mut by_day_plain = Vec::new();
        let mut by_day_nth = Vec::new();
        for w in &rule.by_day {
            match w.ordinal {
                Some(n) if ordinals_apply => by_day_nth.push((w.weekday, n)),
                _ => {
                    if !by_day_plain.contains(&w.weekday) {
                        by_day_plain.push(w.weekday)
                    }
                }
            }
        }
        let by_minute_eff = if rule.by_minute.is_empty() {
            vec![dtstart.minute()]
        } else {
            rule.by_minute.clone()
        };
        let by_second_eff = if rule.by_second.is_empty() {
            vec![dtstart.second()]
        } else {
            rule.by_second.clone()
        };
        let mut day_times = Vec::new();
        if f >= Frequency::Daily {
            for &h in &rule.by_hour {
                for &m in &rule.by_minute {
                    for &s in &rule.by_second {
                        if let Some(t) = NaiveTime::from_hms_opt(h, m, s) {
                            day_times.push(t);
                        }
                    }
                }
            }
            day_times.sort_unstable();
        }
        Plan {
            rule,
            by_day_plain,
            by_day_nth,
            day_times,
            by_minute_eff,
            by_second_eff,
        }
    }

    fn day_ok(&self, d: NaiveDate) -> bool {
        let r = &self.rule;
        if !r.by_month.is_empty() && !r.by_month.contains(&d.month()) {
            return false;
        }
        if !r.by_week_no.is_empty() {
            match week_number(d, r.wkst) {
                Some((n, total)) if matches_signed(&r.by_week_no, n, total) => {}
                _ => return false,
            }
        }
        if !r.by_year_day.is_empty()
            && !matches_signed(&r.by_year_day, d.ordinal() as i32, days_in_year(d.year()))
        {
            return false;
        }
        if !r.by_month_day.is_empty()
            && !matches_signed(
                &r.by_month_day,
                d.day() as i32,
                days_in_month(d.year(), d.month()) as i32,
            )
        {
            return false;
        }
        if !r.by_day.is_empty() {
            let wd = d.weekday();
            if self.by_day_plain.contains(&wd) {
                return true;
            }
            let mut hit = false;
            for &(w, n) in &self.by_day_nth {
                if w != wd {
                    continue;
                }
                let (first, last) = self.ordinal_range(d);
                let pos = ((d - first).num_days() / 7 + 1) as i32;
                let neg = -(((last - d).num_days() / 7 + 1) as i32);
                if n == pos || n == neg {
                    hit = true;
                    break;
                }
            }
            return hit;
        }
        true
    }

    /// The span a BYDAY ordinal counts in: the month (MONTHLY, or YEARLY with BYMONTH) or the year.
    fn ordinal_range(&self, d: NaiveDate) -> (NaiveDate, NaiveDate) {
        let in_month = self.rule.freq == Frequency::Monthly || !self.rule.by_month.is_empty();
        if in_month {
            let first = d.with_day(1).unwrap_or(d);
            let last = d.with_day(days_in_month(d.year(), d.month())).unwrap_or(d);
            (first, last)
        } else {
            let first = NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap_or(d);
            let last = NaiveDate::from_ymd_opt(d.year(), 12, 31).unwrap_or(d);
            (first, last)
        }
    }
}

/// Period index units: years, months, days (WEEKLY/DAILY) or seconds (sub-daily).
fn period_of(freq: Frequency, dt: NaiveDateTime, wkst: Weekday) -> i64 {
    let d = dt.date();
    match freq {
        Frequency::Yearly => d.year() as i64,
        Frequency::Monthly => d.year() as i64 * 12 + d.month0() as i64,
        Frequency::Weekly => {
            let back = (d.weekday().num_days_from_monday() as i64
                - wkst.num_days_from_monday() as i64
                + 7)
                % 7;
            d.num_days_from_ce() as i64 - back
        }
        Frequency::Daily => d.num_days_from_ce() as i64,
        Frequency::Hourly => dt.timestamp().div_euclid(3600) * 3600,
        Frequency::Minutely => dt.timestamp().div_euclid(60) * 60,
        Frequency::Secondly => dt.timestamp(),
    }
}

fn unit_step(freq: Frequency) -> i64 {
    match freq {
        Frequency::Weekly => 7,
        Frequency::Hourly => 3600,
        Frequency::Minutely => 60,
        _ => 1,
    }
}

fn date_from_days(days: i64) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(days).ok()?)
}

fn datetime_from_ts(ts: i64) -> Option<NaiveDateTime> {
    NaiveDateTime::from_timestamp_opt(ts, 0)
}

/// One period's candidates: sorted days × sorted times, or an explicit BYSETPOS selection.
#[derive(Debug, Default)]
struct PeriodSet {
    days: Vec<NaiveDate>,
    times: Vec<NaiveTime>,
    selected: Option<Vec<NaiveDateTime>>,
    day_i: usize,
    time_i: usize,
}

impl PeriodSet {
    fn next(&mut self) -> Option<NaiveDateTime> {
        if let Some(sel) = &self.selected {
            let c = sel.get(self.day_i).copied();
            self.day_i += 1;
            return c;
        }
        if self.times.is_empty() {
            return None;
        }
        let d = *self.days.get(self.day_i)?;
        let t = self.times[self.time_i];
        self.time_i += 1;
        if self.time_i >= self.times.len() {
            self.time_i = 0;
            self.day_i += 1;
        }
        Some(d.and_time(t))
    }

    /// Skip candidates before `lower` without visiting them one by one.
    fn seek(&mut self, lower: NaiveDateTime) {
        if let Some(sel) = &self.selected {
            self.day_i = sel.partition_point(|c| *c < lower);
            return;
        }
        self.day_i = self.days.partition_point(|d| *d < lower.date());
        self.time_i = 0;
        if self.days.get(self.day_i) == Some(&lower.date()) {
            self.time_i = self.times.partition_point(|t| *t < lower.time());
            if self.time_i >= self.times.len() {
                self.time_i = 0;
                self.day_i += 1;
            }
        }
    }
}

/// Lazy expansion of one RRULE from a local DTSTART, in local wall-clock time, ascending.
/// Yields `Err` once (then ends) when the budget or the sub-daily empty-period cap is hit.
#[derive(Debug)]
pub struct RRuleIter {
    plan: Plan,
    dtstart: NaiveDateTime,
    until: Option<NaiveDateTime>,
    /// Candidates before this are skipped (DTSTART, or a seek target when COUNT is absent).
    lower: NaiveDateTime,
    period: i64,
    started: bool,
    current: PeriodSet,
    emitted: u64,
    empty_periods: u64,
    steps: u64,
    budget: u64,
    done: bool,
}

impl RRuleIter {
    /// `until_local` is UNTIL already converted to DTSTART's local time (see
    /// [`local_until`]); `None` means no UNTIL.
    pub fn new(
        rule: &RRule,
        dtstart: NaiveDateTime,
        until_local: Option<NaiveDateTime>,
    ) -> RRuleIter {
        let plan = Plan::new(rule, dtstart);
        let period = period_of(rule.freq, dtstart, rule.wkst);
        RRuleIter {
            plan,
            dtstart,
            until: until_local,
            lower: dtstart,
            period,
            started: false,
            current: PeriodSet::default(),
            emitted: 0,
            empty_periods: 0,
            steps: 0,
            budget: DEFAULT_STEP_BUDGET,
            done: false,
        }
    }

    /// Change the step budget (candidates plus periods examined).
    pub fn with_budget(mut self, budget: u64) -> RRuleIter {
        self.budget = budget;
        self
    }

    /// Jump so that the next instance yielded is the first one at or after `target`.
    /// Only possible before iteration starts and when the rule has no COUNT (COUNT needs every
    /// earlier instance counted); returns whether it jumped.
    pub fn seek(&mut self, target: NaiveDateTime) -> bool {
        if self.started || self.plan.rule.count.is_some() || target <= self.dtstart {
            return false;
        }
        let freq = self.plan.rule.freq;
        let step = self.plan.rule.interval as i64 * unit_step(freq);
        let tp = period_of(freq, target, self.plan.rule.wkst);
        if tp > self.period {
            let k = (tp - self.period) / step;
            self.period += k * step;
        }
        self.lower = target;
        true
    }

    fn period_start_year(&self) -> i64 {
        match self.plan.rule.freq {
            Frequency::Yearly => self.period,
            Frequency::Monthly => self.period.div_euclid(12),
            Frequency::Weekly | Frequency::Daily => {
                date_from_days(self.period).map_or(i64::MAX, |d| d.year() as i64)
            }
            _ => datetime_from_ts(self.period).map_or(i64::MAX, |d| d.year() as i64),
        }
    }

    /// Build the candidate set of the current period.
    fn load_period(&mut self) -> PeriodSet {
        let plan = &self.plan;
        let r = &plan.rule;
        let mut set = PeriodSet::default();
        match r.freq {
            Frequency::Yearly => {
                let y = self.period as i32;
                let months: Vec<u32> = if r.by_month.is_empty() {
                    (1..=12).collect()
                } else {
                    r.by_month.clone()
                };
                for m in months {
                    for d in 1..=days_in_month(y, m) {
                        if let Some(date) = NaiveDate::from_ymd_opt(y, m, d) {
                            if plan.day_ok(date) {
                                set.days.push(date);
                            }
                        }
                    }
                }
                set.times = plan.day_times.clone();
            }
            Frequency::Monthly => {
                let y = self.period.div_euclid(12) as i32;
                let m = self.period.rem_euclid(12) as u32 + 1;
                for d in 1..=days_in_month(y, m) {
                    if let Some(date) = NaiveDate::from_ymd_opt(y, m, d) {
                        if plan.day_ok(date) {
                            set.days.push(date);
                        }
                    }
                }
                set.times = plan.day_times.clone();
            }
            Frequency::Weekly => {
                for i in 0..7 {
                    if let Some(date) = date_from_days(self.period + i) {
                        if plan.day_ok(date) {
                            set.days.push(date);
                        }
                    }
                }
                set.times = plan.day_times.clone();
            }
            Frequency::Daily => {
                if let Some(date) = date_from_days(self.period) {
                    if plan.day_ok(date) {
                        set.days.push(date);
                    }
                }
                set.times = plan.day_times.clone();
            }
            Frequency::Hourly | Frequency::Minutely | Frequency::Secondly => {
                if let Some(dt) = datetime_from_ts(self.period) {
                    // The caller has already checked day, hour and minute filters.
                    set.days.push(dt.date());
                    let (h, mi, s) = (dt.hour(), dt.minute(), dt.second());
                    match r.freq {
                        Frequency::Hourly => {
                            for &m in &plan.by_minute_eff {
                                for &sec in &plan.by_second_eff {
                                    if let Some(t) = NaiveTime::from_hms_opt(h, m, sec) {
                                        set.times.push(t);
                                    }
                                }
                            }
                        }
                        Frequency::Minutely => {
                            for &sec in &plan.by_second_eff {
                                if let Some(t) = NaiveTime::from_hms_opt(h, mi, sec) {
                                    set.times.push(t);
                                }
                            }
                        }
                        _ => {
                            if r.by_second.is_empty() || r.by_second.contains(&s) {
                                set.times.push(dt.time());
                            }
                        }
                    }
                    set.times.sort_unstable();
                }
            }
        }
        if set.days.is_empty() || set.times.is_empty() {
            return PeriodSet::default();
        }
        if !r.by_set_pos.is_empty() {
            let nt = set.times.len() as i64;
            let total = set.days.len() as i64 * nt;
            let mut sel = Vec::with_capacity(r.by_set_pos.len());
            for &p in &r.by_set_pos {
                let idx = if p > 0 {
                    p as i64 - 1
                } else {
                    total + p as i64
                };
                if (0..total).contains(&idx) {
                    let d = set.days[(idx / nt) as usize];
                    let t = set.times[(idx % nt) as usize];
                    sel.push(d.and_time(t));
                }
            }
            sel.sort_unstable();
            sel.dedup();
            set.selected = Some(sel);
        }
        set
    }

    /// For sub-daily rules: if the current period's day/hour/minute is filtered out, return the
    /// instant of the next boundary worth visiting.
    fn subdaily_skip_target(&self) -> Option<NaiveDateTime> {
        let dt = datetime_from_ts(self.period)?;
        let r = &self.plan.rule;
        let next_day = (dt.date() + Duration::days(1)).and_time(midnight());
        if !self.plan.day_ok(dt.date()) {
            return Some(next_day);
        }
        let next_hour = dt.date().and_hms_opt(dt.hour(), 0, 0)? + Duration::hours(1);
        if !r.by_hour.is_empty() && !r.by_hour.contains(&dt.hour()) {
            return Some(next_hour);
        }
        if r.freq <= Frequency::Minutely
            && !r.by_minute.is_empty()
            && !r.by_minute.contains(&dt.minute())
        {
            return Some(dt.date().and_hms_opt(dt.hour(), dt.minute(), 0)? + Duration::minutes(1));
        }
        None
    }

    fn advance(&mut self) {
        let step = self.plan.rule.interval as i64 * unit_step(self.plan.rule.freq);
        self.period = self.period.saturating_add(step);
    }

    fn empty_cap(&self) -> u64 {
        match self.plan.rule.freq {
            Frequency::Yearly => 400,
            Frequency::Monthly => 4_800,
            Frequency::Weekly => 20_872,
            Frequency::Daily => 146_098,
            _ => SUBDAILY_EMPTY_PERIOD_CAP,
        }
    }

    fn fail(&mut self, e: RecurrenceError) -> Option<Result<NaiveDateTime, RecurrenceError>> {
        self.done = true;
        Some(Err(e))
    }
}

impl Iterator for RRuleIter {
    type Item = Result<NaiveDateTime, RecurrenceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done {
                return None;
            }
            self.steps += 1;
            if self.steps > self.budget {
                let b = self.budget;
                return self.fail(RecurrenceError::TooComplex(format!(
                    "more than {b} expansion steps (COUNT too large for this frequency?)"
                )));
            }
            if let Some(c) = self.current.next() {
                if c < self.lower {
                    continue;
                }
                if let Some(u) = self.until {
                    if c > u {
                        self.done = true;
                        return None;
                    }
                }
                self.emitted += 1;
                if let Some(n) = self.plan.rule.count {
                    if self.emitted >= n {
                        self.done = true;
                    }
                }
                return Some(Ok(c));
            }
            // Next period.
            if self.started {
                self.advance();
            }
            self.started = true;
            if self.period_start_year() > MAX_YEAR as i64 {
                self.done = true;
                return None;
            }
            if let Some(u) = self.until {
                // A period starting after UNTIL cannot hold an instance.
                let start = match self.plan.rule.freq {
                    Frequency::Yearly => NaiveDate::from_ymd_opt(self.period as i32, 1, 1)
                        .map(|d| d.and_time(midnight())),
                    Frequency::Monthly => NaiveDate::from_ymd_opt(
                        self.period.div_euclid(12) as i32,
                        self.period.rem_euclid(12) as u32 + 1,
                        1,
                    )
                    .map(|d| d.and_time(midnight())),
                    Frequency::Weekly | Frequency::Daily => {
                        date_from_days(self.period).map(|d| d.and_time(midnight()))
                    }
                    _ => datetime_from_ts(self.period),
                };
                if start.map_or(true, |s| s > u) {
                    self.done = true;
                    return None;
                }
            }
            if self.plan.rule.freq <= Frequency::Hourly {
                if let Some(target) = self.subdaily_skip_target() {
                    let step = self.plan.rule.interval as i64 * unit_step(self.plan.rule.freq);
                    let gap = target.timestamp() - self.period;
                    let k = ((gap + step - 1) / step).max(1);
                    // Land on the last period before the target; the loop's advance steps over it.
                    self.period += (k - 1) * step;
                    self.current = PeriodSet::default();
                    self.empty_periods += 1;
                    if self.empty_periods > SUBDAILY_EMPTY_PERIOD_CAP {
                        return self.fail(RecurrenceError::NoProgress(format!(
                            "no instance in {SUBDAILY_EMPTY_PERIOD_CAP} consecutive periods"
                        )));
                    }
                    continue;
                }
            }
            self.current = self.load_period();
            let empty = match &self.current.selected {
                Some(s) => s.is_empty(),
                None => self.current.days.is_empty(),
            };
            if empty {
                self.empty_periods += 1;
                if self.empty_periods > self.empty_cap() {
                    if self.plan.rule.freq <= Frequency::Hourly {
                        return self.fail(RecurrenceError::NoProgress(format!(
                            "no instance in {SUBDAILY_EMPTY_PERIOD_CAP} consecutive periods"
                        )));
                    }
                    // A full Gregorian cycle without a candidate: the rule is exhausted.
                    self.done = true;
                    return None;
                }
            } else {
                self.empty_periods = 0;
                self.current.seek(self.lower);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Meeting-level recurrence set
// ---------------------------------------------------------------------------------------------

/// A DTSTART/DTEND/RDATE/EXDATE property as the calendar layer found it (value unescaped,
/// parameters already split; quotes around TZID removed or not, both work).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawDateProp {
    /// e.g. `20250101T090000`, `20250101`, `20250101T090000Z`; RDATE/EXDATE may hold a
    /// comma-separated list; PERIOD values are `start/end` or `start/duration`.
    pub value: String,
    pub tzid: Option<String>,
    /// `DATE`, `DATE-TIME` or `PERIOD` (the VALUE parameter); inferred when absent.
    pub value_type: Option<String>,
}

impl RawDateProp {
    pub fn new(value: &str, tzid: Option<&str>, value_type: Option<&str>) -> RawDateProp {
        RawDateProp {
            value: value.to_string(),
            tzid: tzid.map(str::to_string),
            value_type: value_type.map(str::to_string),
        }
    }
}

/// The recurrence-relevant properties of one VEVENT master.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecurrenceInput {
    pub dtstart: RawDateProp,
    pub dtend: Option<RawDateProp>,
    /// DURATION value, e.g. `PT1H30M`.
    pub duration: Option<String>,
    /// RRULE values (without the `RRULE:` name; tolerated if present).
    pub rrules: Vec<String>,
    pub rdates: Vec<RawDateProp>,
    pub exdates: Vec<RawDateProp>,
}

/// Split `NAME;P1=V1;P2="V;2"` into the upper-cased name and its parameters.
fn split_name_params(name: &str) -> (String, Vec<(String, String)>) {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for ch in name.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                cur.push(ch);
            }
            ';' if !quoted => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(ch),
        }
    }
    parts.push(cur);
    let prop = parts
        .first()
        .map(|s| s.trim().to_ascii_uppercase())
        .unwrap_or_default();
    let params = parts
        .iter()
        .skip(1)
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            Some((k.trim().to_ascii_uppercase(), v.to_string()))
        })
        .collect();
    (prop, params)
}

fn raw_prop(params: &[(String, String)], value: &str) -> RawDateProp {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    RawDateProp {
        value: value.trim().to_string(),
        tzid: get("TZID"),
        value_type: get("VALUE"),
    }
}

impl RecurrenceInput {
    /// Collect the recurrence properties from a VEVENT's unfolded content lines given as
    /// (name including parameters, value) pairs, e.g. `("DTSTART;TZID=\"Central Standard Time\"",
    /// "20220413T160000")`. Other properties are ignored. Missing DTSTART is an error.
    pub fn from_properties<S: AsRef<str>, V: AsRef<str>>(
        props: &[(S, V)],
    ) -> Result<RecurrenceInput, RecurrenceError> {
        let mut input = RecurrenceInput::default();
        let mut have_start = false;
        for (name, value) in props {
            let (prop, params) = split_name_params(name.as_ref());
            let value = value.as_ref();
            match prop.as_str() {
                "DTSTART" => {
                    input.dtstart = raw_prop(&params, value);
                    have_start = true;
                }
                "DTEND" => input.dtend = Some(raw_prop(&params, value)),
                "DURATION" => input.duration = Some(value.trim().to_string()),
                "RRULE" => input.rrules.push(value.trim().to_string()),
                "RDATE" => input.rdates.push(raw_prop(&params, value)),
                "EXDATE" => input.exdates.push(raw_prop(&params, value)),
                _ => {}
            }
        }
        if !have_start {
            return Err(date_err("DTSTART is missing"));
        }
        Ok(input)
    }
}

/// One instance of a meeting, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instance {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// How long each instance lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InstanceLength {
    /// DTEND - DTSTART in absolute time.
    Exact(Duration),
    /// DURATION (or DATE DTEND): whole days in local time, then exact seconds.
    Nominal { days: i64, seconds: i64 },
}

/// Parse an RFC 5545 DURATION (`P1W`, `PT1H30M`, `-P2D`, `P1DT12H`). Returns (days, seconds),
/// both carrying the sign.
pub fn parse_duration(text: &str) -> Result<(i64, i64), RecurrenceError> {
    let t = text.trim().to_ascii_uppercase();
    let bad = || date_err(format!("{text:?} is not an RFC 5545 DURATION"));
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, &t[..]),
    };
    let rest = rest.strip_prefix('P').ok_or_else(bad)?;
    let (mut days, mut secs) = (0i64, 0i64);
    let mut in_time = false;
    let mut num = String::new();
    let mut any = false;
    for ch in rest.chars() {
        match ch {
            '0'..='9' => num.push(ch),
            'T' if !in_time && num.is_empty() => in_time = true,
            'W' | 'D' | 'H' | 'M' | 'S' => {
                let n: i64 = num.parse().map_err(|_| bad())?;
                if n > 10_000_000 {
                    return Err(bad());
                }
                num.clear();
                any = true;
                match (ch, in_time) {
                    ('W', false) => days += n * 7,
                    ('D', false) => days += n,
                    ('H', true) => secs += n * 3600,
                    ('M', true) => secs += n * 60,
                    ('S', true) => secs += n,
                    _ => return Err(bad()),
                }
            }
            _ => return Err(bad()),
        }
    }
    if !any || !num.is_empty() {
        return Err(bad());
    }
    Ok(if neg { (-days, -secs) } else { (days, secs) })
}

/// A date value resolved against the zone table.
#[derive(Debug, Clone, Copy)]
struct ZonedValue {
    local: NaiveDateTime,
    is_date: bool,
    is_utc: bool,
}

fn value_kind(p: &RawDateProp) -> Option<String> {
    p.value_type.as_ref().map(|v| v.trim().to_ascii_uppercase())
}

/// Everything derived once per meeting before instances are produced.
struct Series<'a> {
    zone: ResolvedZone<'a>,
    start: ZonedValue,
    length: InstanceLength,
    exdates: Vec<ZonedExdate>,
    unresolved: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ZonedExdate {
    Instant(DateTime<Utc>),
    /// An EXDATE;VALUE=DATE on a DATE-TIME series removes every instance on that local day.
    Day(NaiveDate),
}

impl<'a> Series<'a> {
    fn new(input: &RecurrenceInput, tz: &'a TimeZoneTable) -> Result<Series<'a>, RecurrenceError> {
        let mut unresolved = Vec::new();
        let (zone, start) =
            resolve_value(&input.dtstart, &input.dtstart.value, tz, &mut unresolved)?;
        let start_utc = zone.local_to_utc(start.local);
        let length = if let Some(end) = &input.dtend {
            let (ez, ev) = resolve_value(end, &end.value, tz, &mut unresolved)?;
            if start.is_date && ev.is_date {
                InstanceLength::Nominal {
                    days: (ev.local.date() - start.local.date()).num_days().max(0),
                    seconds: 0,
                }
            } else {
                let end_utc = if ev.is_utc {
                    ev.local
                } else {
                    ez.local_to_utc(ev.local)
                };
                let start_abs = if start.is_utc { start.local } else { start_utc };
                InstanceLength::Exact((end_utc - start_abs).max(Duration::zero()))
            }
        } else if let Some(d) = &input.duration {
            let (days, seconds) = parse_duration(d)?;
            InstanceLength::Nominal {
                days: days.max(0),
                seconds: seconds.max(-days.max(0) * 86_400),
            }
        } else if start.is_date {
            InstanceLength::Nominal {
                days: 1,
                seconds: 0,
            }
        } else {
            InstanceLength::Exact(Duration::zero())
        };
        let mut exdates = Vec::new();
        for ex in &input.exdates {
            for item in ex.value.split(',').filter(|s| !s.trim().is_empty()) {
                if exdates.len() >= MAX_DATE_LIST {
                    return Err(date_err(format!("more than {MAX_DATE_LIST} EXDATE values")));
                }
                let (z, v) = resolve_value(ex, item, tz, &mut unresolved)?;
                if v.is_date && !start.is_date {
                    exdates.push(ZonedExdate::Day(v.local.date()));
                } else {
                    exdates.push(ZonedExdate::Instant(Utc.from_utc_datetime(&to_utc(&z, &v))));
                }
            }
        }
        Ok(Series {
            zone,
            start,
            length,
            exdates,
            unresolved,
        })
    }

    fn instance_at_local(&self, local: NaiveDateTime) -> Instance {
        let start = Utc.from_utc_datetime(&self.zone.local_to_utc(local));
        let end = match self.length {
            InstanceLength::Exact(d) => start + d,
            InstanceLength::Nominal { days, seconds } => {
                let end_local = local + Duration::days(days);
                Utc.from_utc_datetime(&self.zone.local_to_utc(end_local))
                    + Duration::seconds(seconds)
            }
        };
        Instance {
            start,
            end: end.max(start),
        }
    }

    fn excluded(&self, inst: &Instance) -> bool {
        self.exdates.iter().any(|e| match e {
            ZonedExdate::Instant(t) => *t == inst.start,
            ZonedExdate::Day(d) => self.zone.utc_to_local(inst.start.naive_utc()).date() == *d,
        })
    }

    /// The DTSTART instance.
    fn first(&self) -> Instance {
        if self.start.is_utc {
            let start = Utc.from_utc_datetime(&self.start.local);
            let local = self.zone.utc_to_local(self.start.local);
            let mut inst = self.instance_at_local(local);
            let len = inst.end - inst.start;
            inst.start = start;
            inst.end = start + len;
            inst
        } else {
            self.instance_at_local(self.start.local)
        }
    }

    /// DTSTART in the local time the rules expand in.
    fn local_start(&self) -> NaiveDateTime {
        if self.start.is_utc {
            self.zone.utc_to_local(self.start.local)
        } else {
            self.start.local
        }
    }

    fn rrule_iter(&self, rule: &RRule) -> RRuleIter {
        let until = rule.until.map(|u| local_until(&u, &self.zone));
        RRuleIter::new(rule, self.local_start(), until)
    }

    fn rdate_instances(
        &self,
        input: &RecurrenceInput,
        tz: &TimeZoneTable,
    ) -> Result<Vec<Instance>, RecurrenceError> {
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        for rd in &input.rdates {
            let is_period = value_kind(rd).as_deref() == Some("PERIOD");
            for item in rd.value.split(',').filter(|s| !s.trim().is_empty()) {
                if out.len() >= MAX_DATE_LIST {
                    return Err(date_err(format!("more than {MAX_DATE_LIST} RDATE values")));
                }
                if is_period || item.contains('/') {
                    let (a, b) = item
                        .split_once('/')
                        .ok_or_else(|| date_err(format!("RDATE PERIOD {item:?} has no '/'")))?;
                    let (z, v) = resolve_value(rd, a, tz, &mut scratch)?;
                    let start = Utc.from_utc_datetime(&to_utc(&z, &v));
                    let end = if b.trim_start().starts_with(['P', 'p', '+', '-']) {
                        let (days, secs) = parse_duration(b)?;
                        start + Duration::days(days) + Duration::seconds(secs)
                    } else {
                        let (z2, v2) = resolve_value(rd, b, tz, &mut scratch)?;
                        Utc.from_utc_datetime(&to_utc(&z2, &v2))
                    };
                    out.push(Instance {
                        start,
                        end: end.max(start),
                    });
                } else {
                    let (z, v) = resolve_value(rd, item, tz, &mut scratch)?;
                    let local = if v.is_utc {
                        z.utc_to_local(v.local)
                    } else {
                        v.local
                    };
                    // The RDATE is read in its own zone; the series' length applies.
                    let start = Utc.from_utc_datetime(&to_utc(&z, &v));
                    let mut inst = Series {
                        zone: z,
                        ..self.shallow()
                    }
                    .instance_at_local(local);
                    let len = inst.end - inst.start;
                    inst.start = start;
                    inst.end = start + len;
                    out.push(inst);
                }
            }
        }
        Ok(out)
    }

    fn shallow(&self) -> Series<'a> {
        Series {
            zone: self.zone,
            start: self.start,
            length: self.length,
            exdates: Vec::new(),
            unresolved: Vec::new(),
        }
    }
}

fn to_utc(zone: &ResolvedZone, v: &ZonedValue) -> NaiveDateTime {
    if v.is_utc {
        v.local
    } else {
        zone.local_to_utc(v.local)
    }
}

/// UNTIL in the local time of DTSTART's zone: a UTC UNTIL is converted; a floating one is taken
/// as written; a DATE UNTIL includes its whole day.
pub fn local_until(u: &Until, zone: &ResolvedZone) -> NaiveDateTime {
    if u.is_date {
        u.value.date().and_hms_opt(23, 59, 59).unwrap_or(u.value)
    } else if u.is_utc {
        zone.utc_to_local(u.value)
    } else {
        u.value
    }
}

fn resolve_value<'a>(
    prop: &RawDateProp,
    text: &str,
    tz: &'a TimeZoneTable,
    unresolved: &mut Vec<String>,
) -> Result<(ResolvedZone<'a>, ZonedValue), RecurrenceError> {
    let (local, is_utc, is_date) = parse_date_or_datetime(text)?;
    if let Some(kind) = value_kind(prop) {
        if kind == "DATE" && !is_date {
            return Err(date_err(format!(
                "{text:?} is not a DATE although VALUE=DATE"
            )));
        }
    }
    let zone = if is_utc || is_date {
        // DATE values float; a UTC value needs no zone (the series zone is used for expansion).
        if is_utc {
            ResolvedZone::utc()
        } else {
            tz.floating_zone()
        }
    } else {
        match &prop.tzid {
            Some(id) => {
                let r = tz.resolve(id);
                if r.is_fallback() && !unresolved.contains(id) {
                    unresolved.push(id.clone());
                }
                r
            }
            None => tz.floating_zone(),
        }
    };
    Ok((
        zone,
        ZonedValue {
            local,
            is_date,
            is_utc,
        },
    ))
}

/// The answer to "is this meeting in the future", with what had to be guessed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FutureCheck {
    /// Some instance (RRULE/RDATE expansion plus DTSTART, minus EXDATE) ends after `now`.
    pub has_future_instance: bool,
    /// TZIDs that matched no VTIMEZONE, IANA or Windows name and were read as UTC.
    pub unresolved_tzids: Vec<String>,
}

/// Does any instance (after RRULE/RDATE expansion minus EXDATE) end after `now`?
pub fn has_instance_ending_after(
    input: &RecurrenceInput,
    tz: &TimeZoneTable,
    now: DateTime<Utc>,
) -> Result<bool, RecurrenceError> {
    if single_starts_clearly_after(input, now) {
        return Ok(true);
    }
    check_future(input, tz, now).map(|c| c.has_future_instance)
}

/// A single meeting (no RRULE, RDATE, EXDATE or DURATION) whose DTSTART and DTEND, read as
/// local times, are both more than the largest UTC offset after `now`: it ends after `now` in
/// whatever zone it is, so the zone need not be resolved (most meetings a migration finds). Any
/// value that does not parse is left to the full check, which reports it.
fn single_starts_clearly_after(input: &RecurrenceInput, now: DateTime<Utc>) -> bool {
    if !(input.rrules.is_empty() && input.rdates.is_empty() && input.exdates.is_empty())
        || input.duration.is_some()
    {
        return false;
    }
    let Some(end) = &input.dtend else {
        return false;
    };
    let parsed = |p: &RawDateProp| parse_date_or_datetime(&p.value).ok().map(|(t, _, _)| t);
    let (Some(start), Some(end)) = (parsed(&input.dtstart), parsed(end)) else {
        return false;
    };
    // (An hour more than the offset bound: a DST gap only moves a time later.)
    let margin = Duration::seconds(i64::from(super::tz::MAX_OFFSET_SECS) + 3600);
    start.min(end) - margin > now.naive_utc()
}

/// [`has_instance_ending_after`] plus the TZIDs that fell back to UTC. Stops at the first
/// instance ending after `now`; rules without COUNT jump straight to the period around `now`.
pub fn check_future(
    input: &RecurrenceInput,
    tz: &TimeZoneTable,
    now: DateTime<Utc>,
) -> Result<FutureCheck, RecurrenceError> {
    let series = Series::new(input, tz)?;
    let rules = input
        .rrules
        .iter()
        .map(|r| RRule::parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    let mut unresolved = series.unresolved.clone();
    let done = |found: bool, unresolved: Vec<String>| {
        Ok(FutureCheck {
            has_future_instance: found,
            unresolved_tzids: unresolved,
        })
    };

    let first = series.first();
    if first.end > now && !series.excluded(&first) {
        return done(true, unresolved);
    }
    let rdates = series.rdate_instances(input, tz)?;
    if rdates.iter().any(|i| i.end > now && !series.excluded(i)) {
        return done(true, unresolved);
    }
    // Longest possible instance length bounds how far before `now` a still-running one starts.
    let probe = series.instance_at_local(series.local_start());
    let span = (probe.end - probe.start).max(Duration::zero());
    let now_local = series.zone.utc_to_local(now.naive_utc());
    let seek_to = now_local
        .checked_sub_signed(span + Duration::days(2))
        .unwrap_or(now_local);
    for rule in &rules {
        let mut it = series.rrule_iter(rule);
        it.seek(seek_to);
        for local in it {
            let inst = series.instance_at_local(local?);
            if inst.end > now && !series.excluded(&inst) {
                return done(true, unresolved);
            }
        }
    }
    for id in std::mem::take(&mut unresolved) {
        if !unresolved.contains(&id) {
            unresolved.push(id);
        }
    }
    done(false, unresolved)
}

/// The first `limit` instances of the recurrence set in ascending start order (DTSTART, RRULE
/// instances and RDATEs merged, duplicates removed, EXDATEs removed). For tests and diagnostics.
pub fn instances(
    input: &RecurrenceInput,
    tz: &TimeZoneTable,
    limit: usize,
) -> Result<Vec<Instance>, RecurrenceError> {
    let series = Series::new(input, tz)?;
    let rules = input
        .rrules
        .iter()
        .map(|r| RRule::parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    let mut all = vec![series.first()];
    all.extend(series.rdate_instances(input, tz)?);
    for rule in &rules {
        // Each rule contributes at most `limit` (+ EXDATE count) instances to the first `limit`.
        let take = limit.saturating_add(series.exdates.len()).saturating_add(1);
        for local in series.rrule_iter(rule).take(take) {
            all.push(series.instance_at_local(local?));
        }
    }
    all.sort();
    all.dedup_by(|a, b| a.start == b.start);
    all.retain(|i| !series.excluded(i));
    all.truncate(limit);
    Ok(all)
}

/// Expand a bare RRULE from a floating DTSTART (UNTIL compared as written): the first `limit`
/// local instances. This is what the python-dateutil differential test compares.
pub fn expand_rrule(
    rule: &str,
    dtstart: NaiveDateTime,
    limit: usize,
) -> Result<Vec<NaiveDateTime>, RecurrenceError> {
    let rule = RRule::parse(rule)?;
    let until = rule.until.map(|u| {
        if u.is_date && dtstart.time() != midnight() {
            local_until(&u, &ResolvedZone::utc())
        } else {
            u.value
        }
    });
    RRuleIter::new(&rule, dtstart, until).take(limit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_text_with_a_multi_byte_character_near_the_prefix_is_an_error_not_a_panic() {
        assert!(RRule::parse("RRULE\u{e9}FREQ=DAILY").is_err());
        assert!(RRule::parse("\u{fffd}\u{fffd}FREQ=DAILY").is_err());
        assert!(RRule::parse("rrule:FREQ=DAILY").is_ok());
    }

    fn dt(s: &str) -> NaiveDateTime {
        parse_date_or_datetime(s).map(|v| v.0).expect("test date")
    }

    fn utc(s: &str) -> DateTime<Utc> {
        Utc.from_utc_datetime(&dt(s))
    }

    fn expand(rule: &str, start: &str, n: usize) -> Vec<String> {
        expand_rrule(rule, dt(start), n)
            .expect("expands")
            .into_iter()
            .map(|d| d.format("%Y%m%dT%H%M%S").to_string())
            .collect()
    }

    const CST: &str = "BEGIN:VTIMEZONE\r\nTZID:Central Standard Time\r\nBEGIN:STANDARD\r\nDTSTART:16011104T020000\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0600\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010311T020000\r\nRRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\nTZOFFSETFROM:-0600\r\nTZOFFSETTO:-0500\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n";

    fn sample_series() -> RecurrenceInput {
        RecurrenceInput {
            dtstart: RawDateProp::new("20220413T160000", Some("Central Standard Time"), None),
            dtend: Some(RawDateProp::new(
                "20220413T163000",
                Some("Central Standard Time"),
                None,
            )),
            rrules: vec!["FREQ=MONTHLY;COUNT=22;BYDAY=WE;BYSETPOS=2".into()],
            ..Default::default()
        }
    }

    #[test]
    fn a_single_meeting_judged_future_without_its_zone_is_future_in_every_zone() {
        let now = utc("20261101T120000Z");
        let tables = [TimeZoneTable::new(), TimeZoneTable::from_ics(CST)];
        let zones = [
            None,
            Some("Central Standard Time"),
            Some("Pacific/Kiritimati"),
            Some("Etc/GMT+12"),
            Some("Tokyo Standard Time"),
            Some("No/Such_Zone"),
        ];
        let mut fast = 0;
        for hours in -60i64..=60 {
            let start = now.naive_utc() + Duration::hours(hours);
            for length in [0i64, 1, 30] {
                let end = start + Duration::minutes(length * 30);
                for tzid in zones {
                    for form in ["%Y%m%dT%H%M%S", "%Y%m%dT%H%M%SZ", "%Y%m%d"] {
                        let input = RecurrenceInput {
                            dtstart: RawDateProp::new(&start.format(form).to_string(), tzid, None),
                            dtend: Some(RawDateProp::new(
                                &end.format(form).to_string(),
                                tzid,
                                None,
                            )),
                            ..Default::default()
                        };
                        if single_starts_clearly_after(&input, now) {
                            fast += 1;
                            for t in &tables {
                                assert!(
                                    check_future(&input, t, now).unwrap().has_future_instance,
                                    "{input:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
        assert!(
            fast > 1000,
            "the short cut is taken for clearly future meetings: {fast}"
        );
        // Never for a series, exceptions, DURATION or values that do not parse.
        let mut series = sample_series();
        series.dtstart.value = "20991231T000000".into();
        assert!(!single_starts_clearly_after(&series, now));
        let bad = RecurrenceInput {
            dtstart: RawDateProp::new("2099-12-31", None, None),
            dtend: Some(RawDateProp::new("20991231T010000", None, None)),
            ..Default::default()
        };
        assert!(!single_starts_clearly_after(&bad, now));
        assert!(has_instance_ending_after(&bad, &TimeZoneTable::new(), now).is_err());
    }

    #[test]
    fn monthly_last_friday() {
        assert_eq!(
            expand("FREQ=MONTHLY;BYDAY=-1FR;COUNT=4", "20250101T090000", 10),
            [
                "20250131T090000",
                "20250228T090000",
                "20250328T090000",
                "20250425T090000"
            ]
        );
    }

    #[test]
    fn monthly_second_wednesday_by_setpos_sample_in_windows_zone() {
        let tz = TimeZoneTable::from_ics(CST);
        let all = instances(&sample_series(), &tz, 100).expect("expands");
        assert_eq!(all.len(), 22);
        // 2022-04-13 16:00 CDT = 21:00Z; 2023-12-13 16:00 CST = 22:00Z (last of 22).
        assert_eq!(all[0].start, utc("20220413T210000Z"));
        assert_eq!(all[0].end, utc("20220413T213000Z"));
        assert_eq!(all[21].start, utc("20240110T220000Z"));
        assert_eq!(
            all[7].start,
            utc("20221109T220000Z"),
            "after the November DST change"
        );
        let tz_ = &tz;
        assert!(has_instance_ending_after(&sample_series(), tz_, utc("20240110T212959Z")).unwrap());
        assert!(has_instance_ending_after(&sample_series(), tz_, utc("20240110T222959Z")).unwrap());
        assert!(
            !has_instance_ending_after(&sample_series(), tz_, utc("20240110T223000Z")).unwrap()
        );
    }

    #[test]
    fn yearly_byweekno_depends_on_wkst() {
        // 2025-01-01 is a Wednesday. WKST=MO: week 1 starts Mon 2024-12-30.
        // WKST=SU: week 1 of 2025 starts Sun 2024-12-29 (before DTSTART); 2026-01-01 is a
        // Thursday, so week 1 of 2026 starts Sun 2026-01-04 (python-dateutil agrees).
        assert_eq!(
            expand(
                "FREQ=YEARLY;BYWEEKNO=1;BYDAY=SU,MO;WKST=MO;COUNT=2",
                "20250101T000000",
                5
            ),
            ["20250105T000000", "20251229T000000"]
        );
        assert_eq!(
            expand(
                "FREQ=YEARLY;BYWEEKNO=1;BYDAY=SU,MO;WKST=SU;COUNT=2",
                "20250101T000000",
                5
            ),
            ["20260104T000000", "20260105T000000"]
        );
    }

    #[test]
    fn leap_day_yearly_skips_non_leap_years() {
        assert_eq!(
            expand("FREQ=YEARLY;COUNT=3", "20240229T100000", 5),
            ["20240229T100000", "20280229T100000", "20320229T100000"]
        );
        assert_eq!(
            expand(
                "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=2",
                "20960301T000000",
                5
            ),
            ["21040229T000000", "21080229T000000"]
        );
    }

    #[test]
    fn monthly_31st_skips_short_months_and_negative_monthday() {
        assert_eq!(
            expand("FREQ=MONTHLY;COUNT=3", "20250131T090000", 5),
            ["20250131T090000", "20250331T090000", "20250531T090000"]
        );
        assert_eq!(
            expand("FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3", "20250101T090000", 5),
            ["20250131T090000", "20250228T090000", "20250331T090000"]
        );
    }

    #[test]
    fn never_matching_rule_terminates_empty() {
        assert!(expand("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "20250101T000000", 5).is_empty());
        assert!(expand(
            "FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=4,6,9,11",
            "20250101T000000",
            5
        )
        .is_empty());
        assert!(expand("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "20250101T000000", 5).is_empty());
        assert!(expand(
            "FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29",
            "20250101T000000",
            5
        )
        .is_empty());
    }

    #[test]
    fn subdaily_never_matching_rule_errors_readably() {
        let r = expand_rrule(
            "FREQ=SECONDLY;INTERVAL=60;BYSECOND=30",
            dt("20250101T000000"),
            5,
        );
        let e = r.expect_err("cannot progress");
        assert!(
            e.to_string().contains("no instance") || e.to_string().contains("too complex"),
            "{e}"
        );
    }

    #[test]
    fn huge_count_and_absurd_setpos_are_fast() {
        let input = RecurrenceInput {
            dtstart: RawDateProp::new("20200101T090000", None, None),
            rrules: vec!["FREQ=DAILY;COUNT=1000000000".into()],
            ..Default::default()
        };
        assert!(
            has_instance_ending_after(&input, &TimeZoneTable::new(), utc("20260101T000000Z"))
                .unwrap()
        );
        let input = RecurrenceInput {
            dtstart: RawDateProp::new("20200101T090000", None, None),
            rrules: vec!["FREQ=MONTHLY;BYDAY=MO;BYSETPOS=366,-366,300".into()],
            ..Default::default()
        };
        assert!(
            !has_instance_ending_after(&input, &TimeZoneTable::new(), utc("20260101T000000Z"))
                .unwrap()
        );
        let input = RecurrenceInput {
            dtstart: RawDateProp::new("19900101T000000", None, None),
            rrules: vec!["FREQ=SECONDLY;COUNT=1000000000".into()],
            ..Default::default()
        };
        assert!(matches!(
            has_instance_ending_after(&input, &TimeZoneTable::new(), utc("20260101T000000Z")),
            Err(RecurrenceError::TooComplex(_))
        ));
        let input = RecurrenceInput {
            dtstart: RawDateProp::new("19900101T000000", None, None),
            rrules: vec!["FREQ=SECONDLY".into()],
            ..Default::default()
        };
        assert!(
            has_instance_ending_after(&input, &TimeZoneTable::new(), utc("20260101T000000Z"))
                .unwrap()
        );
        let input = RecurrenceInput {
            dtstart: RawDateProp::new("19900101T000000", None, None),
            rrules: vec!["FREQ=YEARLY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59;BYYEARDAY=1,-1;UNTIL=20251231T000000Z".into()],
            ..Default::default()
        };
        assert!(
            !has_instance_ending_after(&input, &TimeZoneTable::new(), utc("20260101T000000Z"))
                .unwrap()
        );
    }

    #[test]
    fn until_utc_with_zoned_dtstart() {
        let tz = TimeZoneTable::from_ics(CST);
        // 09:00 CST = 15:00Z. UNTIL 2025-01-03T15:00Z includes the 3rd, excludes the 4th.
        let input = RecurrenceInput {
            dtstart: RawDateProp::new("20250101T090000", Some("Central Standard Time"), None),
            rrules: vec!["FREQ=DAILY;UNTIL=20250103T150000Z".into()],
            ..Default::default()
        };
        let all = instances(&input, &tz, 10).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[2].start, utc("20250103T150000Z"));
        assert!(!has_instance_ending_after(&input, &tz, utc("20250103T150000Z")).unwrap());
        assert!(has_instance_ending_after(&input, &tz, utc("20250103T145959Z")).unwrap());
    }

    #[test]
    fn exdate_removes_the_only_future_instance() {
        let tz = TimeZoneTable::from_ics(CST);
        let mut input = RecurrenceInput {
            dtstart: RawDateProp::new("20250101T090000", Some("Central Standard Time"), None),
            duration: Some("PT1H".into()),
            rrules: vec!["FREQ=WEEKLY;COUNT=3".into()],
            ..Default::default()
        };
        let now = utc("20250110T000000Z");
        assert!(has_instance_ending_after(&input, &tz, now).unwrap());
        input.exdates.push(RawDateProp::new(
            "20250115T090000",
            Some("Central Standard Time"),
            None,
        ));
        assert!(!has_instance_ending_after(&input, &tz, now).unwrap());
        // The same instant written in UTC removes it too.
        input.exdates = vec![RawDateProp::new("20250115T150000Z", None, None)];
        assert!(!has_instance_ending_after(&input, &tz, now).unwrap());
        // A DATE EXDATE removes the day.
        input.exdates = vec![RawDateProp::new("20250115", None, Some("DATE"))];
        assert!(!has_instance_ending_after(&input, &tz, now).unwrap());
    }

    #[test]
    fn rdate_adds_a_future_instance_to_a_past_series() {
        let tz = TimeZoneTable::new();
        let mut input = RecurrenceInput {
            dtstart: RawDateProp::new("20200101T090000", Some("Europe/Paris"), None),
            dtend: Some(RawDateProp::new(
                "20200101T100000",
                Some("Europe/Paris"),
                None,
            )),
            rrules: vec!["FREQ=DAILY;COUNT=5".into()],
            ..Default::default()
        };
        let now = utc("20260101T000000Z");
        assert!(!has_instance_ending_after(&input, &tz, now).unwrap());
        input.rdates.push(RawDateProp::new(
            "20200301T090000,20270301T090000",
            Some("Europe/Paris"),
            None,
        ));
        assert!(has_instance_ending_after(&input, &tz, now).unwrap());
        let all = instances(&input, &tz, 100).unwrap();
        assert_eq!(all.len(), 7);
        assert_eq!(all[6].start, utc("20270301T080000Z"));
        assert_eq!(all[6].end, utc("20270301T090000Z"));
        input.rdates = vec![RawDateProp::new(
            "20270301T090000Z/PT2H",
            None,
            Some("PERIOD"),
        )];
        let all = instances(&input, &tz, 100).unwrap();
        assert_eq!(all[5].end, utc("20270301T110000Z"));
    }

    #[test]
    fn count_exhausted_in_the_past() {
        let input = RecurrenceInput {
            dtstart: RawDateProp::new("20200106T090000Z", None, None),
            rrules: vec!["FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10".into()],
            ..Default::default()
        };
        let tz = TimeZoneTable::new();
        assert!(!has_instance_ending_after(&input, &tz, utc("20210101T000000Z")).unwrap());
        assert!(has_instance_ending_after(&input, &tz, utc("20200203T000000Z")).unwrap());
        assert_eq!(instances(&input, &tz, 100).unwrap().len(), 10);
    }

    #[test]
    fn single_all_day_meeting_lasts_the_day() {
        let input = RecurrenceInput {
            dtstart: RawDateProp::new("20250601", None, Some("DATE")),
            ..Default::default()
        };
        let tz = TimeZoneTable::new();
        assert!(has_instance_ending_after(&input, &tz, utc("20250601T235959Z")).unwrap());
        assert!(!has_instance_ending_after(&input, &tz, utc("20250602T000000Z")).unwrap());
    }

    #[test]
    fn dtstart_not_matching_rule_is_still_an_instance() {
        let input = RecurrenceInput {
            dtstart: RawDateProp::new("20250102T090000", None, None), // a Thursday
            rrules: vec!["FREQ=WEEKLY;BYDAY=MO;COUNT=2".into()],
            ..Default::default()
        };
        let all = instances(&input, &TimeZoneTable::new(), 10).unwrap();
        assert_eq!(all.len(), 3);
    }

    #[test]
    fn nonexistent_local_time_is_shifted_not_dropped() {
        let input = RecurrenceInput {
            dtstart: RawDateProp::new("20250308T023000", Some("America/Chicago"), None),
            rrules: vec!["FREQ=DAILY;COUNT=3".into()],
            ..Default::default()
        };
        let all = instances(&input, &TimeZoneTable::new(), 10).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[1].start, utc("20250309T083000Z"));
    }

    #[test]
    fn unknown_tzid_is_reported() {
        let input = RecurrenceInput {
            dtstart: RawDateProp::new("20250308T090000", Some("Nowhere Standard Time"), None),
            ..Default::default()
        };
        let c = check_future(&input, &TimeZoneTable::new(), utc("20250101T000000Z")).unwrap();
        assert!(c.has_future_instance);
        assert_eq!(
            c.unresolved_tzids,
            vec!["Nowhere Standard Time".to_string()]
        );
    }

    #[test]
    fn from_properties_reads_quoted_tzid() {
        let props = vec![
            ("DTSTART;TZID=\"Central Standard Time\"", "20220413T160000"),
            ("RRULE", "FREQ=MONTHLY;COUNT=22;BYDAY=WE;BYSETPOS=2"),
            (
                "EXDATE;TZID=\"Central Standard Time\"",
                "20220511T160000,20220608T160000",
            ),
            ("SUMMARY", "x"),
        ];
        let input = RecurrenceInput::from_properties(&props).unwrap();
        assert_eq!(input.dtstart.tzid.as_deref(), Some("Central Standard Time"));
        let tz = TimeZoneTable::from_ics(CST);
        assert_eq!(instances(&input, &tz, 100).unwrap().len(), 20);
        assert!(RecurrenceInput::from_properties(&[("SUMMARY", "x")]).is_err());
    }

    #[test]
    fn invalid_rules_are_readable_errors() {
        for bad in [
            "",
            "FREQ=FORTNIGHTLY",
            "FREQ=DAILY;INTERVAL=0",
            "FREQ=DAILY;BYDAY=0MO",
            "FREQ=DAILY;BYMONTH=13",
            "FREQ=DAILY;COUNT=x",
            "FREQ=DAILY;FOO=1",
            "FREQ=DAILY;FREQ=WEEKLY",
            "FREQ=DAILY;UNTIL=2025",
            "FREQ=DAILY;BYDAY=é",
        ] {
            let e = RRule::parse(bad).expect_err(bad);
            assert!(e.to_string().starts_with("invalid RRULE"), "{e}");
        }
    }

    #[test]
    fn duration_parsing() {
        assert_eq!(parse_duration("PT1H30M").unwrap(), (0, 5400));
        assert_eq!(parse_duration("P1W").unwrap(), (7, 0));
        assert_eq!(parse_duration("-P1DT2H").unwrap(), (-1, -7200));
        assert!(parse_duration("P").is_err());
        assert!(parse_duration("PT1D").is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 400, .. Default::default() })]
        #[test]
        fn random_rule_text_never_panics(s in "(FREQ=(SECONDLY|MINUTELY|HOURLY|DAILY|WEEKLY|MONTHLY|YEARLY|X)|INTERVAL=[0-9]{1,4}|COUNT=[0-9]{1,10}|UNTIL=[0-9T]{8,15}Z?|BYDAY=[-+]?[0-9]{0,2}(MO|TU|WE|TH|FR|SA|SU)(,[-+]?[0-9]?(MO|FR))?|BYMONTHDAY=-?[0-9]{1,2}|BYMONTH=[0-9]{1,2}|BYYEARDAY=-?[0-9]{1,3}|BYWEEKNO=-?[0-9]{1,2}|BYSETPOS=-?[0-9]{1,3}|BYHOUR=[0-9]{1,2}|BYMINUTE=[0-9]{1,2}|BYSECOND=[0-9]{1,2}|WKST=(MO|SU)|[A-Z=;,0-9-]{0,6})(;(FREQ=(HOURLY|DAILY|MONTHLY|YEARLY)|INTERVAL=[0-9]{1,3}|COUNT=[0-9]{1,10}|BYDAY=[-+]?[0-9]{0,2}(MO|WE|SU)|BYMONTHDAY=-?[0-9]{1,2}|BYMONTH=[0-9]{1,2}|BYYEARDAY=-?[0-9]{1,3}|BYWEEKNO=-?[0-9]{1,2}|BYSETPOS=-?[0-9]{1,3}|BYHOUR=[0-9]{1,2}|WKST=SU)){0,5}",
                                           start in "(19[0-9]{2}|20[0-9]{2}|99[0-9]{2})(0[1-9]|1[0-2])(0[1-9]|[12][0-9])T[01][0-9][0-5][0-9][0-5][0-9]") {
            let input = RecurrenceInput {
                dtstart: RawDateProp::new(&start, Some("America/New_York"), None),
                rrules: vec![s.clone()],
                ..Default::default()
            };
            let tz = TimeZoneTable::new();
            let _ = has_instance_ending_after(&input, &tz, utc("20260101T000000Z"));
            let _ = instances(&input, &tz, 20);
        }
    }
}
