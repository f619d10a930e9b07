//! "Does this meeting still have an occurrence ending after now?" for the future-only rule.
//!
//! Builds the recurrence inputs from a VEVENT's raw properties and asks the recurrence engine.
//! The adapter below is the one seam to `recur.rs`; until the full RRULE expansion is wired in,
//! it answers exactly for single meetings and conservatively (never dropping a live series) for
//! recurring ones.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// A date-valued property as written (value, TZID, VALUE=).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDate {
    pub value: String,
    pub tzid: Option<String>,
    pub value_type: Option<String>,
}

/// What the future-only rule needs from one component.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Occurrences {
    pub dtstart: Option<RawDate>,
    pub dtend: Option<RawDate>,
    pub duration: Option<String>,
    pub rrules: Vec<String>,
    pub rdates: Vec<RawDate>,
    pub exdates: Vec<RawDate>,
}

/// Time zones we cannot resolve are read as UTC widened by the largest real offset, so that a
/// meeting is never wrongly judged to be over.
const UNKNOWN_ZONE_SLACK_HOURS: i64 = 14;

fn parse_naive(value: &str) -> Option<(NaiveDateTime, bool, bool)> {
    let v = value.trim();
    let (v, utc) = match v.strip_suffix(['Z', 'z']) {
        Some(s) => (s, true),
        None => (v, false),
    };
    if v.len() == 8 {
        let d = NaiveDate::parse_from_str(v, "%Y%m%d").ok()?;
        return Some((d.and_hms_opt(0, 0, 0)?, utc, true));
    }
    let dt = NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").ok()?;
    Some((dt, utc, false))
}

/// Upper bound of the UTC instant a raw date denotes, and whether it is a DATE.
fn latest_utc(d: &RawDate) -> Option<(DateTime<Utc>, bool)> {
    let (naive, utc, is_date) = parse_naive(&d.value)?;
    if utc {
        return Some((Utc.from_utc_datetime(&naive), is_date));
    }
    if let Some(tz) = d
        .tzid
        .as_deref()
        .and_then(|t| t.trim_matches('"').parse::<chrono_tz::Tz>().ok())
    {
        if let Some(dt) = tz.from_local_datetime(&naive).latest() {
            return Some((dt.with_timezone(&Utc), is_date));
        }
    }
    Some((
        Utc.from_utc_datetime(&naive) + Duration::hours(UNKNOWN_ZONE_SLACK_HOURS),
        is_date,
    ))
}

/// RFC 5545 DURATION (`P1D`, `PT1H30M`, `-PT15M`, `P2W`).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let s = s.strip_prefix('P')?;
    let mut total = Duration::zero();
    let mut num = String::new();
    let mut in_time = false;
    for c in s.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' => num.push(c),
            _ => {
                let n: i64 = num.parse().ok()?;
                num.clear();
                let n = n.min(100_000);
                total = total
                    + match (c, in_time) {
                        ('W', false) => Duration::weeks(n),
                        ('D', false) => Duration::days(n),
                        ('H', true) => Duration::hours(n),
                        ('M', true) => Duration::minutes(n),
                        ('S', true) => Duration::seconds(n),
                        _ => return None,
                    };
            }
        }
    }
    if !num.is_empty() {
        return None;
    }
    Some(if neg { -total } else { total })
}

/// Does any occurrence of this component end after `now`?
pub fn has_instance_ending_after(o: &Occurrences, now: DateTime<Utc>) -> Result<bool, String> {
    let Some(start) = &o.dtstart else {
        // No DTSTART: nothing to judge by; keep the meeting a candidate.
        return Ok(true);
    };
    let (start_utc, is_date) =
        latest_utc(start).ok_or_else(|| format!("unreadable DTSTART '{}'", start.value))?;
    let length = match (&o.dtend, &o.duration) {
        (Some(end), _) => {
            let (end_utc, _) =
                latest_utc(end).ok_or_else(|| format!("unreadable DTEND '{}'", end.value))?;
            (end_utc - start_utc).max(Duration::zero())
        }
        (None, Some(d)) => parse_duration(d).ok_or_else(|| format!("unreadable DURATION '{d}'"))?,
        (None, None) if is_date => Duration::days(1),
        (None, None) => Duration::zero(),
    };
    if start_utc + length > now {
        return Ok(true);
    }
    for rd in &o.rdates {
        for part in rd.value.split(',') {
            let single = RawDate {
                value: part.split('/').next().unwrap_or("").to_string(),
                ..rd.clone()
            };
            if let Some((t, _)) = latest_utc(&single) {
                if t + length > now {
                    return Ok(true);
                }
            }
        }
    }
    for rule in &o.rrules {
        if rule_may_reach(rule, start_utc, length, now)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Conservative bound for one RRULE: UNTIL is exact as a bound; COUNT is bounded by the
/// longest possible period; neither means the series never ends.
fn rule_may_reach(
    rule: &str,
    start: DateTime<Utc>,
    length: Duration,
    now: DateTime<Utc>,
) -> Result<bool, String> {
    let mut freq = None;
    let mut interval: i64 = 1;
    let mut count: Option<i64> = None;
    let mut until: Option<DateTime<Utc>> = None;
    for part in rule.split(';') {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        match k.trim().to_ascii_uppercase().as_str() {
            "FREQ" => freq = Some(v.trim().to_ascii_uppercase()),
            "INTERVAL" => interval = v.trim().parse().unwrap_or(1).clamp(1, 1_000_000),
            "COUNT" => count = Some(v.trim().parse().unwrap_or(1).clamp(0, 1_000_000_000)),
            "UNTIL" => {
                until = latest_utc(&RawDate {
                    value: v.to_string(),
                    tzid: None,
                    value_type: None,
                })
                .map(|(t, _)| t + Duration::hours(UNKNOWN_ZONE_SLACK_HOURS))
            }
            _ => {}
        }
    }
    let period_secs: i64 = match freq.as_deref() {
        Some("SECONDLY") => 1,
        Some("MINUTELY") => 60,
        Some("HOURLY") => 3_600,
        Some("DAILY") => 86_400,
        Some("WEEKLY") => 7 * 86_400,
        Some("MONTHLY") => 31 * 86_400,
        Some("YEARLY") => 366 * 86_400,
        Some(other) => return Err(format!("RRULE with unknown FREQ '{other}'")),
        None => return Err("RRULE without FREQ".to_string()),
    };
    if let Some(u) = until {
        return Ok(u + length > now);
    }
    if let Some(n) = count {
        // The last start is at most COUNT periods after DTSTART (BYxxx rules only ever pick
        // dates inside the period they expand), padded by one period for BYSETPOS/BYDAY.
        let span = period_secs
            .saturating_mul(interval)
            .saturating_mul(n.saturating_add(1));
        let span = Duration::seconds(span.min(400 * 366 * 86_400));
        return Ok(start + span + length > now);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(v: &str, tz: Option<&str>) -> RawDate {
        RawDate {
            value: v.into(),
            tzid: tz.map(str::to_string),
            value_type: None,
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn single_meeting_is_future_until_it_ends() {
        let o = Occurrences {
            dtstart: Some(raw("20250101T090000Z", None)),
            dtend: Some(raw("20250101T100000Z", None)),
            ..Default::default()
        };
        assert!(has_instance_ending_after(&o, at("2025-01-01T09:59:00Z")).unwrap());
        assert!(!has_instance_ending_after(&o, at("2025-01-01T10:00:00Z")).unwrap());
    }

    #[test]
    fn iana_zone_and_duration() {
        let o = Occurrences {
            dtstart: Some(raw("20250601T090000", Some("Europe/Paris"))),
            duration: Some("PT1H".into()),
            ..Default::default()
        };
        // 09:00 Paris (UTC+2) + 1 h = 08:00Z.
        assert!(has_instance_ending_after(&o, at("2025-06-01T07:59:00Z")).unwrap());
        assert!(!has_instance_ending_after(&o, at("2025-06-01T08:00:00Z")).unwrap());
    }

    #[test]
    fn open_ended_series_is_always_future_and_until_bounds_it() {
        let mut o = Occurrences {
            dtstart: Some(raw("20170316T093000Z", None)),
            dtend: Some(raw("20170316T103000Z", None)),
            rrules: vec!["FREQ=MONTHLY;BYDAY=TH;BYSETPOS=3".into()],
            ..Default::default()
        };
        assert!(has_instance_ending_after(&o, at("2030-01-01T00:00:00Z")).unwrap());
        o.rrules = vec!["FREQ=DAILY;UNTIL=20170320T093000Z".into()];
        assert!(!has_instance_ending_after(&o, at("2017-04-01T00:00:00Z")).unwrap());
        assert!(has_instance_ending_after(&o, at("2017-03-19T00:00:00Z")).unwrap());
    }

    #[test]
    fn absurd_rules_give_errors_or_bounded_answers() {
        let o = Occurrences {
            dtstart: Some(raw("20170316T093000Z", None)),
            rrules: vec!["FREQ=SECONDLY;COUNT=999999999999;INTERVAL=999999999".into()],
            ..Default::default()
        };
        assert!(has_instance_ending_after(&o, at("2030-01-01T00:00:00Z")).is_ok());
        let bad = Occurrences {
            rrules: vec!["FREQ=FORTNIGHTLY".into()],
            ..o
        };
        assert!(has_instance_ending_after(&bad, at("2030-01-01T00:00:00Z")).is_err());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("PT1H30M"), Some(Duration::minutes(90)));
        assert_eq!(parse_duration("P1W"), Some(Duration::weeks(1)));
        assert_eq!(parse_duration("-PT15M"), Some(Duration::minutes(-15)));
        assert_eq!(parse_duration("P1X"), None);
    }
}
