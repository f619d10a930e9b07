//! "Does this meeting still have an occurrence ending after now?" for the future-only rule.
//!
//! The one seam between the rewriter and the recurrence engine (`recur.rs`, `tz.rs`): builds
//! the recurrence input from a VEVENT's raw properties and the calendar's VTIMEZONEs.

use super::recur::{self, RawDateProp, RecurrenceInput};
use super::tz::TimeZoneTable;
use chrono::{DateTime, Utc};

/// What the future-only rule needs from one component.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Occurrences {
    pub dtstart: Option<RawDateProp>,
    pub dtend: Option<RawDateProp>,
    pub duration: Option<String>,
    pub rrules: Vec<String>,
    pub rdates: Vec<RawDateProp>,
    pub exdates: Vec<RawDateProp>,
}

/// Does any occurrence of this component (RRULE/RDATE expansion minus EXDATE, in its time
/// zone) end after `now`? A component without DTSTART cannot be judged and stays a candidate.
pub fn has_instance_ending_after(
    o: Occurrences,
    zones: &TimeZoneTable,
    now: DateTime<Utc>,
) -> Result<bool, String> {
    let Some(dtstart) = o.dtstart else {
        return Ok(true);
    };
    let input = RecurrenceInput {
        dtstart,
        dtend: o.dtend,
        duration: o.duration,
        rrules: o.rrules,
        rdates: o.rdates,
        exdates: o.exdates,
    };
    recur::has_instance_ending_after(&input, zones, now).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(v: &str, tz: Option<&str>) -> RawDateProp {
        RawDateProp::new(v, tz, None)
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
        let z = TimeZoneTable::new();
        assert!(has_instance_ending_after(o.clone(), &z, at("2025-01-01T09:59:00Z")).unwrap());
        assert!(!has_instance_ending_after(o.clone(), &z, at("2025-01-01T10:00:00Z")).unwrap());
    }

    #[test]
    fn windows_zone_and_duration() {
        let o = Occurrences {
            dtstart: Some(raw("20250601T090000", Some("W. Europe Standard Time"))),
            duration: Some("PT1H".into()),
            ..Default::default()
        };
        // 09:00 in Berlin (UTC+2 in June) + 1 h = 08:00Z.
        let z = TimeZoneTable::new();
        assert!(has_instance_ending_after(o.clone(), &z, at("2025-06-01T07:59:00Z")).unwrap());
        assert!(!has_instance_ending_after(o.clone(), &z, at("2025-06-01T08:00:00Z")).unwrap());
    }

    #[test]
    fn series_with_count_ends_and_open_series_does_not() {
        let z = TimeZoneTable::new();
        let mut o = Occurrences {
            dtstart: Some(raw("20220413T160000Z", None)),
            dtend: Some(raw("20220413T163000Z", None)),
            rrules: vec!["FREQ=MONTHLY;COUNT=22;BYDAY=WE;BYSETPOS=2".into()],
            ..Default::default()
        };
        // 22 second-Wednesdays from April 2022: the last is 2024-01-10.
        assert!(has_instance_ending_after(o.clone(), &z, at("2024-01-10T16:00:00Z")).unwrap());
        assert!(!has_instance_ending_after(o.clone(), &z, at("2024-01-10T16:30:00Z")).unwrap());
        o.rrules = vec!["FREQ=MONTHLY;BYDAY=TH;BYSETPOS=3".into()];
        assert!(has_instance_ending_after(o.clone(), &z, at("2040-01-01T00:00:00Z")).unwrap());
    }

    #[test]
    fn absurd_rules_give_errors_or_answers_never_panics() {
        let z = TimeZoneTable::new();
        for rule in [
            "FREQ=SECONDLY;COUNT=999999999999;INTERVAL=999999999",
            "FREQ=FORTNIGHTLY",
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
            "FREQ=DAILY;BYSETPOS=0",
        ] {
            let o = Occurrences {
                dtstart: Some(raw("20170316T093000Z", None)),
                rrules: vec![rule.into()],
                ..Default::default()
            };
            let _ = has_instance_ending_after(o.clone(), &z, at("2030-01-01T00:00:00Z"));
        }
    }
}
