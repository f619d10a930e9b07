//! Time zones for recurrence: a calendar's own VTIMEZONE definitions, IANA names (chrono-tz)
//! and Windows zone names (Exchange and Outlook write `TZID:Central Standard Time`).
//!
//! A TZID resolves, in this order (RFC 5545 makes the calendar's VTIMEZONE authoritative):
//! 1. a VTIMEZONE of the same calendar with that TZID (exact, then case-insensitive);
//! 2. an IANA name (`America/Chicago`, case-insensitive; a path prefix such as
//!    `/mozilla.org/20050126_1/America/New_York` is tolerated);
//! 3. a Windows zone name (`W. Europe Standard Time`), via the CLDR windowsZones "001" mapping;
//! 4. `UTC`, `GMT`, `Z` and friends;
//! 5. otherwise UTC, reported as a fallback ([`ResolvedZone::is_fallback`]) so callers can say so.
//!
//! Floating times (no TZID, no `Z`) and DATE values are read in [`DEFAULT_FLOATING_ZONE`] (UTC).
//!
//! Local-time rules (RFC 5545 §3.3.5): a local time that occurs twice means its first occurrence;
//! a local time inside a gap is read with the offset in force before the gap.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;
use once_cell::sync::Lazy;

use super::recur::{midnight, parse_date_or_datetime, RRule, RRuleIter};

/// The zone floating times and DATE values are read in.
pub const DEFAULT_FLOATING_ZONE: &str = "UTC";

/// Upper bound on offsets accepted from a VTIMEZONE (±18 h, as chrono's FixedOffset... and sanity).
pub(crate) const MAX_OFFSET_SECS: i32 = 18 * 3600;

/// Where a TZID's definition came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZoneSource {
    /// The calendar's own VTIMEZONE.
    VTimeZone,
    /// An IANA time zone name.
    Iana,
    /// A Windows zone name mapped to IANA.
    Windows,
    /// UTC (explicit `Z`, or a UTC name).
    Utc,
    /// Floating time read in the default zone.
    Floating,
    /// Unknown TZID read as UTC.
    Fallback,
}

/// One STANDARD or DAYLIGHT sub-component.
#[derive(Debug, Clone)]
struct Observance {
    /// Onset in local time as written (in TZOFFSETFROM).
    dtstart: NaiveDateTime,
    offset_from: i32,
    offset_to: i32,
    rrules: Vec<RRule>,
    rdates: Vec<NaiveDateTime>,
}

/// One year's onsets: (UTC seconds, new offset), sorted.
type Onsets = Arc<[(i64, i32)]>;

/// A VTIMEZONE: its observances, with onsets expanded per year on demand and cached.
#[derive(Debug)]
pub struct VTimeZone {
    pub tzid: String,
    observances: Vec<Observance>,
    min_year: i32,
    /// Offset before the first onset of all.
    initial_offset: i32,
    /// Onsets per local year: (UTC seconds, offset after), sorted.
    /// Shared, not copied, on every look-up: a series check asks for the same years again and again.
    cache: Mutex<HashMap<i32, Onsets>>,
    /// The last answer of [`VTimeZone::offset_at`] and the UTC seconds `[from, until)` it holds
    /// for: a series' questions (its start, its instances, `now`) mostly fall between the same
    /// two onsets, and one comparison is cheaper than the year look-ups.
    last_span: Mutex<Option<(i64, i64, i32)>>,
}

fn parse_offset(v: &str) -> Option<i32> {
    let v = v.trim();
    let (sign, rest) = match v.as_bytes().first()? {
        b'+' => (1, &v[1..]),
        b'-' => (-1, &v[1..]),
        _ => (1, v),
    };
    if !(rest.len() == 4 || rest.len() == 6) || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i32 = rest[0..2].parse().ok()?;
    let m: i32 = rest[2..4].parse().ok()?;
    let s: i32 = if rest.len() == 6 {
        rest[4..6].parse().ok()?
    } else {
        0
    };
    let total = sign * (h * 3600 + m * 60 + s);
    (total.abs() <= MAX_OFFSET_SECS).then_some(total)
}

impl VTimeZone {
    /// Build from one VTIMEZONE's content lines (name including parameters, value), BEGIN/END
    /// lines of the STANDARD/DAYLIGHT sub-components included. `None` without a TZID or without
    /// any usable observance.
    pub fn from_lines(lines: &[(String, String)]) -> Option<VTimeZone> {
        let mut tzid = None;
        let mut observances = Vec::new();
        let mut cur: Option<PartialObservance> = None;
        for (name, value) in lines {
            let prop = name
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_uppercase();
            let upper_value = value.trim().to_ascii_uppercase();
            let is_observance = upper_value == "STANDARD" || upper_value == "DAYLIGHT";
            match (prop.as_str(), cur.as_mut()) {
                ("BEGIN", _) if is_observance => cur = Some(PartialObservance::default()),
                ("END", Some(_)) if is_observance => {
                    if let Some(o) = cur.take().and_then(PartialObservance::finish) {
                        observances.push(o);
                    }
                }
                ("TZID", None) => tzid = Some(unquote(value).to_string()),
                ("DTSTART", Some(o)) => o.dtstart = parse_date_or_datetime(value).ok().map(|v| v.0),
                ("TZOFFSETFROM", Some(o)) => o.offset_from = parse_offset(value),
                ("TZOFFSETTO", Some(o)) => o.offset_to = parse_offset(value),
                ("RRULE", Some(o)) => o.rrules.extend(RRule::parse(value).ok()),
                ("RDATE", Some(o)) => o.rdates.extend(
                    value
                        .split(',')
                        .filter_map(|item| parse_date_or_datetime(item).ok())
                        .map(|(dt, is_utc, _)| (dt, is_utc)),
                ),
                _ => {}
            }
        }
        let tzid = tzid?;
        let first = observances.iter().min_by_key(|o| o.dtstart)?;
        let initial_offset = first.offset_from;
        let min_year = first.dtstart.year();
        Some(VTimeZone {
            tzid,
            observances,
            min_year,
            initial_offset,
            cache: Mutex::new(HashMap::new()),
            last_span: Mutex::new(None),
        })
    }

    /// Onsets (UTC seconds, new offset) whose local onset falls in `year`, sorted.
    fn onsets_in_year(&self, year: i32) -> Onsets {
        if let Ok(cache) = self.cache.lock() {
            if let Some(v) = cache.get(&year) {
                return v.clone();
            }
        }
        let mut out = Vec::new();
        let year_start = NaiveDate::from_ymd_opt(year, 1, 1).map(|d| d.and_time(midnight()));
        for o in &self.observances {
            let mut push = |local: NaiveDateTime| {
                if local.year() == year {
                    out.push((
                        (local - Duration::seconds(o.offset_from as i64)).timestamp(),
                        o.offset_to,
                    ));
                }
            };
            push(o.dtstart);
            for &r in &o.rdates {
                push(r);
            }
            for rule in &o.rrules {
                // UNTIL in a VTIMEZONE is UTC (RFC 5545 §3.6.5); onsets are in TZOFFSETFROM time.
                let until = rule.until.map(|u| {
                    if u.is_utc {
                        u.value + Duration::seconds(o.offset_from as i64)
                    } else {
                        u.value
                    }
                });
                let mut it = RRuleIter::new(rule, o.dtstart, until).with_budget(200_000);
                if let Some(ys) = year_start {
                    it.seek(ys);
                }
                for local in it {
                    match local {
                        Ok(l) if l.year() <= year => push(l),
                        _ => break,
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        let out: Onsets = out.into();
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() > 4096 {
                cache.clear();
            }
            cache.insert(year, out.clone());
        }
        out
    }

    /// UTC offset in seconds at a UTC instant.
    pub fn offset_at(&self, utc: NaiveDateTime) -> i32 {
        let t = utc.timestamp();
        if let Ok(last) = self.last_span.lock() {
            if let Some((from, until, off)) = *last {
                if from <= t && t < until {
                    return off;
                }
            }
        }
        let (from, off) = self.last_onset_at_or_before(utc.year(), t);
        let until = self.first_onset_after(utc.year(), t);
        if let Ok(mut last) = self.last_span.lock() {
            *last = Some((from, until, off));
        }
        off
    }

    /// The latest onset at or before `t` (UTC seconds in UTC year `year`) and the offset it
    /// sets; before every onset, `i64::MIN` and the initial offset.
    fn last_onset_at_or_before(&self, year: i32, t: i64) -> (i64, i32) {
        // (A local year's onsets may begin in the UTC year before: start one year later.)
        let mut y = year + 1;
        while y >= self.min_year {
            if let Some(&found) = self.onsets_in_year(y).iter().rev().find(|(at, _)| *at <= t) {
                return found;
            }
            y -= 1;
        }
        (i64::MIN, self.initial_offset)
    }

    /// The first onset after `t` (UTC seconds in UTC year `year`), or a time no onset comes
    /// before: the offset found for `t` holds until then.
    fn first_onset_after(&self, year: i32, t: i64) -> i64 {
        let found = (year - 1..=year + 1)
            .filter_map(|y| {
                self.onsets_in_year(y)
                    .iter()
                    .find(|(at, _)| *at > t)
                    .map(|&(at, _)| at)
            })
            .min();
        // Onsets of local year `year + 2` and later come no earlier than its first day in UTC,
        // less the largest offset (and a day to spare).
        let bound = NaiveDate::from_ymd_opt(year + 2, 1, 1).map_or(i64::MAX, |d| {
            d.and_time(midnight()).timestamp() - i64::from(MAX_OFFSET_SECS) - 86_400
        });
        found.unwrap_or(bound).min(bound).max(t + 1)
    }
}

/// An observance while its lines are being read.
#[derive(Default)]
struct PartialObservance {
    dtstart: Option<NaiveDateTime>,
    offset_from: Option<i32>,
    offset_to: Option<i32>,
    rrules: Vec<RRule>,
    rdates: Vec<(NaiveDateTime, bool)>,
}

impl PartialObservance {
    /// DTSTART and TZOFFSETTO are required; a missing TZOFFSETFROM (sloppy producers) is taken
    /// as no change. RDATEs written in UTC are moved to local (TZOFFSETFROM) time.
    fn finish(self) -> Option<Observance> {
        let offset_to = self.offset_to?;
        let offset_from = self.offset_from.unwrap_or(offset_to);
        let rdates = self
            .rdates
            .into_iter()
            .map(|(dt, is_utc)| {
                if is_utc {
                    dt + Duration::seconds(offset_from as i64)
                } else {
                    dt
                }
            })
            .collect();
        Some(Observance {
            dtstart: self.dtstart?,
            offset_from,
            offset_to,
            rrules: self.rrules,
            rdates,
        })
    }
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(s)
}

#[derive(Debug, Clone, Copy)]
enum ZoneKind<'a> {
    Utc,
    Iana(Tz),
    Custom(&'a VTimeZone),
}

/// A resolved zone: converts between local wall-clock time and UTC.
#[derive(Debug, Clone, Copy)]
pub struct ResolvedZone<'a> {
    kind: ZoneKind<'a>,
    pub source: ZoneSource,
}

impl<'a> ResolvedZone<'a> {
    pub fn utc() -> ResolvedZone<'static> {
        ResolvedZone {
            kind: ZoneKind::Utc,
            source: ZoneSource::Utc,
        }
    }

    /// True when the TZID was unknown and UTC was used instead.
    pub fn is_fallback(&self) -> bool {
        self.source == ZoneSource::Fallback
    }

    /// The IANA zone behind this resolution, if any.
    pub fn iana(&self) -> Option<Tz> {
        match self.kind {
            ZoneKind::Iana(tz) => Some(tz),
            _ => None,
        }
    }

    /// UTC offset in seconds in force at a UTC instant.
    pub fn offset_at(&self, utc: NaiveDateTime) -> i32 {
        match self.kind {
            ZoneKind::Utc => 0,
            ZoneKind::Iana(tz) => tz.offset_from_utc_datetime(&utc).fix().local_minus_utc(),
            ZoneKind::Custom(v) => v.offset_at(utc),
        }
    }

    pub fn utc_to_local(&self, utc: NaiveDateTime) -> NaiveDateTime {
        let off = self.offset_at(utc) as i64;
        utc.checked_add_signed(Duration::seconds(off))
            .unwrap_or(utc)
    }

    /// Local wall-clock time to UTC (RFC 5545 §3.3.5: first occurrence of a repeated time;
    /// a time in a gap is read with the offset before the gap).
    pub fn local_to_utc(&self, local: NaiveDateTime) -> NaiveDateTime {
        if let ZoneKind::Utc = self.kind {
            return local;
        }
        let shift = |d: i64| {
            local
                .checked_add_signed(Duration::seconds(d))
                .unwrap_or(local)
        };
        let day = 86_400;
        let before = self.offset_at(shift(-day));
        let after = self.offset_at(shift(day));
        let here = self.offset_at(local);
        let mut best: Option<NaiveDateTime> = None;
        for (k, off) in [before, here, after].into_iter().enumerate() {
            // (Far from any transition the three are one offset: check it once.)
            if (k >= 1 && off == before) || (k == 2 && off == here) {
                continue;
            }
            let utc = shift(-(off as i64));
            if self.offset_at(utc) == off && best.map_or(true, |b| utc < b) {
                best = Some(utc);
            }
        }
        best.unwrap_or_else(|| shift(-(before as i64)))
    }
}

/// The zones a calendar can name: its VTIMEZONEs plus IANA and Windows names.
#[derive(Debug, Default)]
pub struct TimeZoneTable {
    vtimezones: Vec<VTimeZone>,
}

impl TimeZoneTable {
    /// A table without VTIMEZONEs (IANA, Windows and UTC names still resolve).
    pub fn new() -> TimeZoneTable {
        TimeZoneTable::default()
    }

    /// Build from the calendar's VTIMEZONE components. Each block is one VTIMEZONE's unfolded
    /// content lines as (name including parameters, value), in order, including the
    /// `BEGIN:STANDARD`/`END:STANDARD` (and DAYLIGHT) lines; the outer BEGIN/END:VTIMEZONE may be
    /// included or not. Unusable blocks are ignored (their TZIDs then resolve by name).
    pub fn from_vtimezones(blocks: &[Vec<(String, String)>]) -> TimeZoneTable {
        TimeZoneTable {
            vtimezones: blocks
                .iter()
                .filter_map(|b| VTimeZone::from_lines(b))
                .collect(),
        }
    }

    /// Convenience for tests and tools: unfold raw iCalendar text and read every VTIMEZONE.
    pub fn from_ics(text: &str) -> TimeZoneTable {
        let mut blocks = Vec::new();
        let mut cur: Option<Vec<(String, String)>> = None;
        for line in unfold(text) {
            let Some((name, value)) = split_content_line(&line) else {
                continue;
            };
            let upper = name.to_ascii_uppercase();
            let v = value.trim().to_ascii_uppercase();
            if upper == "BEGIN" && v == "VTIMEZONE" {
                cur = Some(Vec::new());
            } else if upper == "END" && v == "VTIMEZONE" {
                if let Some(b) = cur.take() {
                    blocks.push(b);
                }
            } else if let Some(b) = cur.as_mut() {
                b.push((name.to_string(), value.to_string()));
            }
        }
        TimeZoneTable::from_vtimezones(&blocks)
    }

    /// The VTIMEZONE TZIDs this table holds.
    pub fn tzids(&self) -> Vec<&str> {
        self.vtimezones.iter().map(|v| v.tzid.as_str()).collect()
    }

    /// The zone floating times are read in.
    pub fn floating_zone(&self) -> ResolvedZone<'_> {
        ResolvedZone {
            kind: ZoneKind::Utc,
            source: ZoneSource::Floating,
        }
    }

    /// Resolve a TZID (quotes tolerated). Never fails: an unknown name gives UTC with
    /// `source == ZoneSource::Fallback`.
    pub fn resolve(&self, tzid: &str) -> ResolvedZone<'_> {
        let id = unquote(tzid);
        if let Some(v) = self.vtimezones.iter().find(|v| v.tzid == id) {
            return ResolvedZone {
                kind: ZoneKind::Custom(v),
                source: ZoneSource::VTimeZone,
            };
        }
        if let Some(v) = self
            .vtimezones
            .iter()
            .find(|v| v.tzid.eq_ignore_ascii_case(id))
        {
            return ResolvedZone {
                kind: ZoneKind::Custom(v),
                source: ZoneSource::VTimeZone,
            };
        }
        resolve_name(id)
    }
}

/// Resolve a zone name without any VTIMEZONE (IANA, Windows, UTC names).
pub fn resolve_name(id: &str) -> ResolvedZone<'static> {
    let id = unquote(id);
    let lower = id.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "z" | "utc"
            | "gmt"
            | "ut"
            | "etc/utc"
            | "etc/gmt"
            | "coordinated universal time"
            | "utc+00:00"
            | "gmt+00:00"
    ) {
        return ResolvedZone::utc();
    }
    if let Some(tz) = iana_lookup(id) {
        return ResolvedZone {
            kind: ZoneKind::Iana(tz),
            source: ZoneSource::Iana,
        };
    }
    if let Some(iana) = windows_to_iana(id) {
        if let Some(tz) = iana_lookup(iana) {
            return ResolvedZone {
                kind: ZoneKind::Iana(tz),
                source: ZoneSource::Windows,
            };
        }
    }
    // `/mozilla.org/20050126_1/America/New_York` and similar prefixed names.
    let parts: Vec<&str> = id.split('/').filter(|p| !p.is_empty()).collect();
    for n in [3usize, 2, 1] {
        if parts.len() > n {
            let tail = parts[parts.len() - n..].join("/");
            if let Some(tz) = iana_lookup(&tail) {
                return ResolvedZone {
                    kind: ZoneKind::Iana(tz),
                    source: ZoneSource::Iana,
                };
            }
        }
    }
    ResolvedZone {
        kind: ZoneKind::Utc,
        source: ZoneSource::Fallback,
    }
}

static IANA_BY_LOWER: Lazy<HashMap<String, Tz>> = Lazy::new(|| {
    chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| (tz.name().to_ascii_lowercase(), *tz))
        .collect()
});

fn iana_lookup(name: &str) -> Option<Tz> {
    name.parse::<Tz>()
        .ok()
        .or_else(|| IANA_BY_LOWER.get(&name.to_ascii_lowercase()).copied())
}

static WINDOWS_BY_LOWER: Lazy<HashMap<String, &'static str>> = Lazy::new(|| {
    WINDOWS_ZONES
        .iter()
        .map(|(w, i)| (w.to_ascii_lowercase(), *i))
        .collect()
});

/// Map a Windows zone name (case-insensitive) to its IANA zone (CLDR windowsZones, territory 001).
pub fn windows_to_iana(name: &str) -> Option<&'static str> {
    WINDOWS_BY_LOWER
        .get(&unquote(name).to_ascii_lowercase())
        .copied()
}

/// Windows zone names → IANA, after CLDR's windowsZones.xml "001" (golden) entries, plus a few
/// retired Windows names still found in old invitations.
pub const WINDOWS_ZONES: &[(&str, &str)] = &[
    ("Dateline Standard Time", "Etc/GMT+12"),
    ("UTC-11", "Etc/GMT+11"),
    ("Aleutian Standard Time", "America/Adak"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("Marquesas Standard Time", "Pacific/Marquesas"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("UTC-09", "Etc/GMT+9"),
    ("Pacific Standard Time (Mexico)", "America/Tijuana"),
    ("UTC-08", "Etc/GMT+8"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Mountain Standard Time (Mexico)", "America/Mazatlan"),
    ("Mountain Standard Time", "America/Denver"),
    ("Yukon Standard Time", "America/Whitehorse"),
    ("Central America Standard Time", "America/Guatemala"),
    ("Central Standard Time", "America/Chicago"),
    ("Easter Island Standard Time", "Pacific/Easter"),
    ("Central Standard Time (Mexico)", "America/Mexico_City"),
    ("Canada Central Standard Time", "America/Regina"),
    ("SA Pacific Standard Time", "America/Bogota"),
    ("Eastern Standard Time (Mexico)", "America/Cancun"),
    ("Eastern Standard Time", "America/New_York"),
    ("Haiti Standard Time", "America/Port-au-Prince"),
    ("Cuba Standard Time", "America/Havana"),
    ("US Eastern Standard Time", "America/Indiana/Indianapolis"),
    ("Turks And Caicos Standard Time", "America/Grand_Turk"),
    ("Paraguay Standard Time", "America/Asuncion"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("Venezuela Standard Time", "America/Caracas"),
    ("Central Brazilian Standard Time", "America/Cuiaba"),
    ("SA Western Standard Time", "America/La_Paz"),
    ("Pacific SA Standard Time", "America/Santiago"),
    ("Newfoundland Standard Time", "America/St_Johns"),
    ("Tocantins Standard Time", "America/Araguaina"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("SA Eastern Standard Time", "America/Cayenne"),
    ("Argentina Standard Time", "America/Argentina/Buenos_Aires"),
    ("Greenland Standard Time", "America/Godthab"),
    ("Montevideo Standard Time", "America/Montevideo"),
    ("Magallanes Standard Time", "America/Punta_Arenas"),
    ("Saint Pierre Standard Time", "America/Miquelon"),
    ("Bahia Standard Time", "America/Bahia"),
    ("UTC-02", "Etc/GMT+2"),
    ("Mid-Atlantic Standard Time", "Etc/GMT+2"),
    ("Azores Standard Time", "Atlantic/Azores"),
    ("Cape Verde Standard Time", "Atlantic/Cape_Verde"),
    ("UTC", "Etc/UTC"),
    ("Coordinated Universal Time", "Etc/UTC"),
    ("GMT Standard Time", "Europe/London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("Sao Tome Standard Time", "Africa/Sao_Tome"),
    ("Morocco Standard Time", "Africa/Casablanca"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("W. Central Africa Standard Time", "Africa/Lagos"),
    ("Jordan Standard Time", "Asia/Amman"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("Middle East Standard Time", "Asia/Beirut"),
    ("Egypt Standard Time", "Africa/Cairo"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("Syria Standard Time", "Asia/Damascus"),
    ("West Bank Standard Time", "Asia/Hebron"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
    ("FLE Standard Time", "Europe/Kiev"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("South Sudan Standard Time", "Africa/Juba"),
    ("Kaliningrad Standard Time", "Europe/Kaliningrad"),
    ("Sudan Standard Time", "Africa/Khartoum"),
    ("Libya Standard Time", "Africa/Tripoli"),
    ("Namibia Standard Time", "Africa/Windhoek"),
    ("Arabic Standard Time", "Asia/Baghdad"),
    ("Turkey Standard Time", "Europe/Istanbul"),
    ("Arab Standard Time", "Asia/Riyadh"),
    ("Belarus Standard Time", "Europe/Minsk"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("E. Africa Standard Time", "Africa/Nairobi"),
    ("Volgograd Standard Time", "Europe/Volgograd"),
    ("Iran Standard Time", "Asia/Tehran"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("Astrakhan Standard Time", "Europe/Astrakhan"),
    ("Azerbaijan Standard Time", "Asia/Baku"),
    ("Russia Time Zone 3", "Europe/Samara"),
    ("Mauritius Standard Time", "Indian/Mauritius"),
    ("Saratov Standard Time", "Europe/Saratov"),
    ("Georgian Standard Time", "Asia/Tbilisi"),
    ("Caucasus Standard Time", "Asia/Yerevan"),
    ("Armenian Standard Time", "Asia/Yerevan"),
    ("Afghanistan Standard Time", "Asia/Kabul"),
    ("West Asia Standard Time", "Asia/Tashkent"),
    ("Ekaterinburg Standard Time", "Asia/Yekaterinburg"),
    ("Pakistan Standard Time", "Asia/Karachi"),
    ("Qyzylorda Standard Time", "Asia/Qyzylorda"),
    ("India Standard Time", "Asia/Kolkata"),
    ("Sri Lanka Standard Time", "Asia/Colombo"),
    ("Nepal Standard Time", "Asia/Kathmandu"),
    ("Central Asia Standard Time", "Asia/Almaty"),
    ("Bangladesh Standard Time", "Asia/Dhaka"),
    ("Omsk Standard Time", "Asia/Omsk"),
    ("Myanmar Standard Time", "Asia/Yangon"),
    ("SE Asia Standard Time", "Asia/Bangkok"),
    ("Altai Standard Time", "Asia/Barnaul"),
    ("W. Mongolia Standard Time", "Asia/Hovd"),
    ("North Asia Standard Time", "Asia/Krasnoyarsk"),
    ("N. Central Asia Standard Time", "Asia/Novosibirsk"),
    ("Tomsk Standard Time", "Asia/Tomsk"),
    ("China Standard Time", "Asia/Shanghai"),
    ("North Asia East Standard Time", "Asia/Irkutsk"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("W. Australia Standard Time", "Australia/Perth"),
    ("Taipei Standard Time", "Asia/Taipei"),
    ("Ulaanbaatar Standard Time", "Asia/Ulaanbaatar"),
    ("Aus Central W. Standard Time", "Australia/Eucla"),
    ("Transbaikal Standard Time", "Asia/Chita"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("North Korea Standard Time", "Asia/Pyongyang"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("Yakutsk Standard Time", "Asia/Yakutsk"),
    ("Cen. Australia Standard Time", "Australia/Adelaide"),
    ("AUS Central Standard Time", "Australia/Darwin"),
    ("E. Australia Standard Time", "Australia/Brisbane"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("West Pacific Standard Time", "Pacific/Port_Moresby"),
    ("Tasmania Standard Time", "Australia/Hobart"),
    ("Vladivostok Standard Time", "Asia/Vladivostok"),
    ("Lord Howe Standard Time", "Australia/Lord_Howe"),
    ("Bougainville Standard Time", "Pacific/Bougainville"),
    ("Russia Time Zone 10", "Asia/Srednekolymsk"),
    ("Magadan Standard Time", "Asia/Magadan"),
    ("Norfolk Standard Time", "Pacific/Norfolk"),
    ("Sakhalin Standard Time", "Asia/Sakhalin"),
    ("Central Pacific Standard Time", "Pacific/Guadalcanal"),
    ("Russia Time Zone 11", "Asia/Kamchatka"),
    ("Kamchatka Standard Time", "Asia/Kamchatka"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
    ("UTC+12", "Etc/GMT-12"),
    ("Fiji Standard Time", "Pacific/Fiji"),
    ("Chatham Islands Standard Time", "Pacific/Chatham"),
    ("UTC+13", "Etc/GMT-13"),
    ("Tonga Standard Time", "Pacific/Tongatapu"),
    ("Samoa Standard Time", "Pacific/Apia"),
    ("Line Islands Standard Time", "Pacific/Kiritimati"),
    // Retired Windows names still present in old invitations.
    ("Mexico Standard Time", "America/Mexico_City"),
    ("Mexico Standard Time 2", "America/Chihuahua"),
    ("E. Europe Standard Time (old)", "Europe/Minsk"),
    ("Jerusalem Standard Time", "Asia/Jerusalem"),
];

/// Unfold RFC 5545 content lines (CRLF or LF; continuation lines start with SPACE or TAB).
pub(crate) fn unfold(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = line.strip_prefix([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.push_str(rest);
                continue;
            }
        }
        out.push(line.to_string());
    }
    out
}

/// Split `NAME;PARAMS:VALUE` at the first colon outside a quoted parameter value.
pub(crate) fn split_content_line(line: &str) -> Option<(&str, &str)> {
    let mut quoted = false;
    for (i, ch) in line.char_indices() {
        match ch {
            '"' => quoted = !quoted,
            ':' if !quoted => return Some((&line[..i], &line[i + 1..])),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        parse_date_or_datetime(s).map(|v| v.0).expect("test date")
    }

    const CST_VTZ: &str = "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:Central Standard Time\r\nBEGIN:STANDARD\r\nDTSTART:16011104T020000\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0600\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010311T020000\r\nRRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\nTZOFFSETFROM:-0600\r\nTZOFFSETTO:-0500\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n";

    #[test]
    fn vtimezone_matches_iana_chicago_across_dst() {
        let table = TimeZoneTable::from_ics(CST_VTZ);
        let vz = table.resolve("\"Central Standard Time\"");
        assert_eq!(vz.source, ZoneSource::VTimeZone);
        let iana = resolve_name("America/Chicago");
        let mut t = dt("20220101T000000");
        while t < dt("20300101T000000") {
            assert_eq!(vz.offset_at(t), iana.offset_at(t), "offset at {t}");
            t += Duration::hours(7);
        }
    }

    /// The remembered span of the last answer never changes an answer: questions jumping back
    /// and forth over years and transitions (a transition's own second included) get what a
    /// zone asked nothing before answers, and what the IANA zone says.
    #[test]
    fn vtimezone_offsets_asked_in_any_order_match_a_fresh_zone_and_iana() {
        let table = TimeZoneTable::from_ics(CST_VTZ);
        let shared = table.resolve("Central Standard Time");
        let iana = resolve_name("America/Chicago");
        // Transitions of 2025 (UTC) and their neighbours, then times spread over 2021-2029.
        let mut times: Vec<NaiveDateTime> = ["20250309T080000", "20251102T070000"]
            .iter()
            .flat_map(|s| (-2..=2).map(move |d| dt(s) + Duration::seconds(d)))
            .collect();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..3000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let secs = (x >> 11) % (9 * 365 * 86_400);
            times.push(dt("20210101T000000") + Duration::seconds(secs as i64));
            times.push(*times.last().unwrap() + Duration::seconds((x % 7200) as i64 - 3600));
        }
        for t in times {
            let fresh = TimeZoneTable::from_ics(CST_VTZ);
            let expected = fresh.resolve("Central Standard Time").offset_at(t);
            assert_eq!(shared.offset_at(t), expected, "offset at {t}");
            assert_eq!(expected, iana.offset_at(t), "offset at {t}");
        }
    }

    #[test]
    fn local_to_utc_gap_and_overlap_follow_rfc5545() {
        let table = TimeZoneTable::from_ics(CST_VTZ);
        let vz = table.resolve("Central Standard Time");
        // 2025-03-09 02:30 does not exist in Chicago: read with the offset before the gap (-6).
        assert_eq!(
            vz.local_to_utc(dt("20250309T023000")),
            dt("20250309T083000")
        );
        // 2025-11-02 01:30 happens twice: the first occurrence (CDT, -5).
        assert_eq!(
            vz.local_to_utc(dt("20251102T013000")),
            dt("20251102T063000")
        );
        let iana = resolve_name("America/Chicago");
        assert_eq!(
            iana.local_to_utc(dt("20250309T023000")),
            dt("20250309T083000")
        );
        assert_eq!(
            iana.local_to_utc(dt("20251102T013000")),
            dt("20251102T063000")
        );
    }

    #[test]
    fn windows_names_resolve_to_iana() {
        for (w, i) in WINDOWS_ZONES {
            let r = resolve_name(w);
            assert_eq!(
                r.source,
                if *w == "Coordinated Universal Time" || *w == "UTC" {
                    ZoneSource::Utc
                } else {
                    ZoneSource::Windows
                },
                "{w}"
            );
            if r.source == ZoneSource::Windows {
                assert!(iana_lookup(i).is_some(), "{w} -> {i} unknown to chrono-tz");
            }
        }
        assert_eq!(
            resolve_name("w. europe standard time").iana(),
            Some(chrono_tz::Europe::Berlin)
        );
        assert_eq!(
            resolve_name("SE Asia Standard Time").iana(),
            Some(chrono_tz::Asia::Bangkok)
        );
        assert!(WINDOWS_ZONES.len() >= 135);
    }

    #[test]
    fn iana_names_case_insensitive_and_prefixed() {
        assert_eq!(
            resolve_name("america/new_york").iana(),
            Some(chrono_tz::America::New_York)
        );
        assert_eq!(
            resolve_name("/mozilla.org/20050126_1/America/New_York").iana(),
            Some(chrono_tz::America::New_York)
        );
        assert_eq!(resolve_name("US/Pacific").source, ZoneSource::Iana);
    }

    #[test]
    fn unknown_tzid_falls_back_to_utc_and_says_so() {
        let t = TimeZoneTable::new();
        let r = t.resolve("Western/Central Europe");
        assert!(r.is_fallback());
        assert_eq!(r.offset_at(dt("20250101T000000")), 0);
    }

    #[test]
    fn vtimezone_without_rules_uses_its_single_offset() {
        let ics = "BEGIN:VTIMEZONE\nTZID:Asia/Ho_Chi_Minh\nBEGIN:STANDARD\nDTSTART:19700101T000000\nTZOFFSETFROM:+0700\nTZOFFSETTO:+0700\nEND:STANDARD\nEND:VTIMEZONE\n";
        let t = TimeZoneTable::from_ics(ics);
        let z = t.resolve("Asia/Ho_Chi_Minh");
        assert_eq!(z.source, ZoneSource::VTimeZone);
        assert_eq!(z.offset_at(dt("20250801T043000")), 7 * 3600);
        assert_eq!(z.offset_at(dt("19000801T043000")), 7 * 3600);
    }
}
