//! Rewriting one calendar object: find the meeting, apply the eligibility rules, replace the
//! block in every body of every component, bring LOCATION and the X-MICROSOFT-* meeting
//! properties into line, raise SEQUENCE, and build the iTIP REQUEST.
//!
//! Every line we do not change is written back byte for byte (see `lines.rs`).

use super::block::{self, BodyFormat, FoundBlock, LinkKind};
use super::lines::{
    escape_text, escaped_text, unescape_text_indexed, ContentLine, Document, Edits, EscapeIndex,
};
use super::recur::RawDateProp;
use super::render::{push_html_escaped, render_html, render_text};
use super::schedule::{self, Occurrences};
use super::tz::TimeZoneTable;
use super::{itip, CalendarError, RewriteOutcome, RewriteRequest, RewrittenMeeting};
use crate::model::{MeetingCoordinates, MeetingKind, SourceMeetingType, TargetMeetingType};
use crate::rules::eligibility::{self, BlockOwnership, ExistingBlock, SkipReason};
use once_cell::sync::Lazy;
use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

/// A top-level VEVENT: its BEGIN/END line indices, its own properties and nested components.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub end: usize,
    pub props: Vec<usize>,
    pub children: Vec<Range<usize>>,
    /// The first line of each [`Known`] property, found while indexing (each is read several
    /// times; a search of every property per read cost more than the rest of the lookup).
    known: [Option<usize>; Known::ALL.len()],
}

/// The properties the rewrite reads by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Known {
    Uid,
    RecurrenceId,
    Status,
    Organizer,
    Sequence,
    Dtstamp,
    Dtstart,
    Dtend,
    Duration,
    Summary,
    TeamsUrl,
    ExternalLink,
    Information,
}

impl Known {
    const ALL: [Known; 13] = [
        Known::Uid,
        Known::RecurrenceId,
        Known::Status,
        Known::Organizer,
        Known::Sequence,
        Known::Dtstamp,
        Known::Dtstart,
        Known::Dtend,
        Known::Duration,
        Known::Summary,
        Known::TeamsUrl,
        Known::ExternalLink,
        Known::Information,
    ];

    fn name(self) -> &'static str {
        match self {
            Known::Uid => "UID",
            Known::RecurrenceId => "RECURRENCE-ID",
            Known::Status => "STATUS",
            Known::Organizer => "ORGANIZER",
            Known::Sequence => "SEQUENCE",
            Known::Dtstamp => "DTSTAMP",
            Known::Dtstart => "DTSTART",
            Known::Dtend => "DTEND",
            Known::Duration => "DURATION",
            Known::Summary => "SUMMARY",
            Known::TeamsUrl => "X-MICROSOFT-SKYPETEAMSMEETINGURL",
            Known::ExternalLink => "X-MICROSOFT-ONLINEMEETINGEXTERNALLINK",
            Known::Information => "X-MICROSOFT-ONLINEMEETINGINFORMATION",
        }
    }

    /// Which known property a line is (names compared ignoring case), if any.
    fn of(l: &ContentLine) -> Option<Known> {
        let name = l.name_bytes();
        // Most lines are none of them: the name's length leaves at most three candidates
        // (the test of every known name keeps this table true).
        let candidates: &[Known] = match name.len() {
            3 => &[Known::Uid],
            5 => &[Known::Dtend],
            6 => &[Known::Status],
            7 => &[Known::Dtstamp, Known::Dtstart, Known::Summary],
            8 => &[Known::Sequence, Known::Duration],
            9 => &[Known::Organizer],
            13 => &[Known::RecurrenceId],
            32 => &[Known::TeamsUrl],
            36 => &[Known::Information],
            37 => &[Known::ExternalLink],
            _ => &[],
        };
        candidates
            .iter()
            .copied()
            .find(|k| name.eq_ignore_ascii_case(k.name().as_bytes()))
    }
}

/// The component structure of a calendar stream.
#[derive(Debug, Clone, Default)]
pub(crate) struct Structure {
    /// VCALENDAR-level properties (METHOD, PRODID, ...).
    pub cal_props: Vec<usize>,
    /// Line index of each `BEGIN:VCALENDAR`.
    pub cal_begins: Vec<usize>,
    pub events: Vec<Event>,
    /// Line ranges of VTIMEZONE components (BEGIN..=END).
    pub vtimezones: Vec<Range<usize>>,
}

impl Structure {
    /// Every event's properties called `name` (ATTENDEE, ...), master and overrides in order:
    /// (line index, line).
    pub fn event_props<'x>(
        &'x self,
        doc: &'x Document<'x>,
        name: &'x str,
    ) -> impl Iterator<Item = (usize, &'x ContentLine<'x>)> + 'x {
        self.events
            .iter()
            .flat_map(|ev| &ev.props)
            .map(|&i| (i, &doc.lines[i]))
            .filter(move |(_, l)| l.is(name))
    }
}

fn malformed(line: &ContentLine, message: impl Into<String>) -> CalendarError {
    CalendarError::Malformed {
        line: line.line_no,
        message: message.into(),
    }
}

fn is_blank(l: &ContentLine) -> bool {
    l.unfolded().iter().all(|b| b.is_ascii_whitespace())
}

/// Checks BEGIN/END nesting and indexes the components.
pub(crate) fn structure(doc: &Document) -> Result<Structure, CalendarError> {
    let mut s = Structure::default();
    // (A calendar has a handful of properties of its own and usually one event.)
    s.cal_props.reserve(8);
    // Component names as written (compared ignoring case): no String per BEGIN/END.
    let mut stack: Vec<(std::borrow::Cow<str>, usize)> = Vec::with_capacity(8);
    let upper = |name: &str| name.trim().to_ascii_uppercase();
    let mut current_event: Option<Event> = None;
    let mut seen_calendar = false;
    for (i, l) in doc.lines.iter().enumerate() {
        if is_blank(l) {
            continue;
        }
        if !l.has_value() {
            let shown: String = String::from_utf8_lossy(l.unfolded())
                .chars()
                .take(40)
                .collect();
            return Err(malformed(
                l,
                format!("'{shown}' is not a content line (no ':'); a folded line must start with a space or tab"),
            ));
        }
        if l.is("BEGIN") {
            let name = l.value_lossy();
            if stack.is_empty() {
                if !name.trim().eq_ignore_ascii_case("VCALENDAR") {
                    return Err(malformed(
                        l,
                        format!("expected BEGIN:VCALENDAR, found BEGIN:{}", upper(&name)),
                    ));
                }
                seen_calendar = true;
                s.cal_begins.push(i);
            }
            if stack.len() > 64 {
                return Err(malformed(l, "components nested more than 64 deep"));
            }
            if stack.len() == 1 && name.trim().eq_ignore_ascii_case("VEVENT") {
                current_event = Some(Event {
                    end: i,
                    props: Vec::with_capacity(48),
                    children: Vec::new(),
                    known: [None; Known::ALL.len()],
                });
            }
            if stack.len() == 2 {
                if let Some(ev) = current_event.as_mut() {
                    ev.children.push(i..i);
                }
            }
            stack.push((name, i));
            continue;
        }
        if l.is("END") {
            let name = l.value_lossy();
            match stack.pop() {
                Some((open, begin)) if open.trim().eq_ignore_ascii_case(name.trim()) => {
                    if stack.len() == 1 && name.trim().eq_ignore_ascii_case("VEVENT") {
                        if let Some(mut ev) = current_event.take() {
                            ev.end = i;
                            s.events.push(ev);
                        }
                    } else if stack.len() == 1 && name.trim().eq_ignore_ascii_case("VTIMEZONE") {
                        s.vtimezones.push(begin..i + 1);
                    } else if stack.len() == 2 {
                        if let Some(ev) = current_event.as_mut() {
                            if let Some(last) = ev.children.last_mut() {
                                last.end = i + 1;
                            }
                        }
                    }
                }
                Some((open, _)) => {
                    return Err(malformed(
                        l,
                        format!("END:{} closes BEGIN:{}", upper(&name), upper(&open)),
                    ));
                }
                None => return Err(malformed(l, format!("END:{} without BEGIN", upper(&name)))),
            }
            continue;
        }
        match stack.len() {
            0 => {
                let shown: String = String::from_utf8_lossy(l.name_bytes())
                    .chars()
                    .take(40)
                    .collect();
                return Err(malformed(
                    l,
                    format!("property {shown} outside BEGIN:VCALENDAR"),
                ));
            }
            1 => s.cal_props.push(i),
            2 => {
                if let Some(ev) = current_event.as_mut() {
                    ev.props.push(i);
                    if let Some(k) = Known::of(l) {
                        ev.known[k as usize].get_or_insert(i);
                    }
                }
            }
            _ => {}
        }
    }
    if let Some((open, begin)) = stack.last() {
        let open = upper(open);
        return Err(CalendarError::Malformed {
            line: doc.lines[*begin].line_no,
            message: format!("BEGIN:{open} is never closed (missing END:{open})"),
        });
    }
    if !seen_calendar {
        return Err(CalendarError::Malformed {
            line: 1,
            message: "not an iCalendar object (no BEGIN:VCALENDAR)".to_string(),
        });
    }
    Ok(s)
}

/// The event's first `k` property.
fn prop<'d, 'a>(doc: &'d Document<'a>, ev: &Event, k: Known) -> Option<&'d ContentLine<'a>> {
    prop_idx(ev, k).map(|i| &doc.lines[i])
}

fn prop_idx(ev: &Event, k: Known) -> Option<usize> {
    ev.known[k as usize]
}

fn raw_date(l: &ContentLine) -> RawDateProp {
    RawDateProp {
        value: l.value_lossy().trim().to_string(),
        tzid: l.param("TZID").map(Cow::into_owned),
        value_type: l.param("VALUE").map(Cow::into_owned),
    }
}

fn occurrences(doc: &Document, ev: &Event, with_rules: bool) -> Occurrences {
    let mut o = Occurrences {
        dtstart: prop(doc, ev, Known::Dtstart).map(raw_date),
        dtend: prop(doc, ev, Known::Dtend).map(raw_date),
        duration: prop(doc, ev, Known::Duration).map(|l| l.value_lossy().trim().to_string()),
        ..Default::default()
    };
    if with_rules {
        for &i in &ev.props {
            let l = &doc.lines[i];
            if l.is("RRULE") {
                o.rrules.push(l.value_lossy().trim().to_string());
            } else if l.is("RDATE") {
                o.rdates.push(raw_date(l));
            } else if l.is("EXDATE") {
                o.exdates.push(raw_date(l));
            }
        }
    }
    o
}

/// Parsed VTIMEZONE sets by their source bytes. A tenant's invitations repeat the same few
/// VTIMEZONEs, and a table keeps the per-year onsets it has expanded, so reusing it saves the
/// parse and the RRULE expansion of every meeting after the first.
static ZONE_TABLES: Lazy<Mutex<HashMap<Vec<u8>, Arc<TimeZoneTable>>>> = Lazy::new(Default::default);
/// Bounds on the cache (entries, and key bytes worth caching).
const ZONE_TABLES_MAX: usize = 256;
const ZONE_KEY_MAX: usize = 64 * 1024;

/// The calendar's VTIMEZONEs as the recurrence engine reads them, shared with earlier calendars
/// whose VTIMEZONEs are byte-identical.
fn time_zones(doc: &Document, st: &Structure) -> Arc<TimeZoneTable> {
    let mut key = Vec::new();
    for r in &st.vtimezones {
        if let (Some(first), Some(last)) = (doc.lines.get(r.start), doc.lines.get(r.end - 1)) {
            key.extend_from_slice(&doc.src[first.raw.start..last.raw.end]);
        }
    }
    if key.len() > ZONE_KEY_MAX {
        return Arc::new(parse_time_zones(doc, st));
    }
    if let Some(t) = ZONE_TABLES.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return t;
    }
    let table = Arc::new(parse_time_zones(doc, st));
    if let Ok(mut m) = ZONE_TABLES.lock() {
        if m.len() >= ZONE_TABLES_MAX {
            m.clear();
        }
        m.insert(key, table.clone());
    }
    table
}

/// The calendar's VTIMEZONEs as the recurrence engine reads them: (name with parameters, value).
fn parse_time_zones(doc: &Document, st: &Structure) -> TimeZoneTable {
    let blocks: Vec<Vec<(String, String)>> = st
        .vtimezones
        .iter()
        .map(|r| {
            doc.lines[r.clone()]
                .iter()
                .filter(|l| l.has_value())
                .map(|l| {
                    let mut name = String::from_utf8_lossy(l.name_bytes()).into_owned();
                    name.push_str(&String::from_utf8_lossy(l.params_bytes()));
                    (name, l.value_lossy().into_owned())
                })
                .collect()
        })
        .collect();
    TimeZoneTable::from_vtimezones(&blocks)
}

/// One body property (DESCRIPTION or HTML X-ALT-DESC) of one component.
#[derive(Debug, Clone)]
struct Body<'d> {
    event: usize,
    line: usize,
    format: BodyFormat,
    /// The escaped value, when it is UTF-8 (checked once: bodies are the largest values).
    raw: Option<&'d str>,
    text: String,
    /// Where `text`'s escapes stood in the raw value.
    escapes: EscapeIndex,
    block: Option<FoundBlock>,
}

impl Body<'_> {
    fn has_links(&self) -> bool {
        self.block.as_ref().is_some_and(|b| !b.links.is_empty())
    }
}

/// The meeting's machine-readable markers (X-MICROSOFT-*), TEXT-unescaped.
#[derive(Debug, Clone, Default)]
struct Markers<'d> {
    teams_url: Option<Cow<'d, str>>,
    external_link: Option<Cow<'d, str>>,
    information: Option<Cow<'d, str>>,
}

fn markers<'d>(doc: &'d Document, ev: &Event) -> Markers<'d> {
    // (Borrowed from the line unless it holds an escape.)
    let get = |k: Known| {
        prop(doc, ev, k)
            .map(|l| match l.text_value() {
                Cow::Borrowed(v) => Cow::Borrowed(v.trim()),
                Cow::Owned(v) => Cow::Owned(v.trim().to_string()),
            })
            .filter(|v| !v.is_empty())
    };
    Markers {
        teams_url: get(Known::TeamsUrl),
        external_link: get(Known::ExternalLink),
        information: get(Known::Information),
    }
}

/// Whether `hay` with its spaces left out contains `needle` (which has none): the marker JSON
/// may be written with spaces anywhere between its tokens.
fn contains_ignoring_spaces(hay: &str, needle: &str) -> bool {
    if !hay.contains(' ') {
        return hay.contains(needle);
    }
    hay.replace(' ', "").contains(needle)
}

fn meeting_kind_of(kind: LinkKind) -> MeetingKind {
    match kind {
        LinkKind::Skype => MeetingKind::SkypeForBusiness,
        _ => MeetingKind::Teams,
    }
}

/// One organizer's coordinates, checked and with the new block rendered (and TEXT-escaped) at
/// most once per format. The worker rewrites every meeting of a job with the same coordinates,
/// so each thread keeps the last set: validation and rendering then happen once per organizer,
/// not once per body.
struct PreparedCoordinates {
    coordinates: MeetingCoordinates,
    valid: Result<(), CalendarError>,
    /// The Teams meeting thread of the new join link.
    thread: Option<String>,
    /// The conference ID's digits (X-MICROSOFT-ONLINEMEETINGCONFERENCEID holds nothing else).
    conference_digits: String,
    /// (rendered, TEXT-escaped) per `BodyFormat`.
    rendered: [std::cell::OnceCell<(String, String)>; 2],
}

impl PreparedCoordinates {
    fn rendered(&self, format: BodyFormat) -> &(String, String) {
        self.rendered[format as usize].get_or_init(|| {
            let r = match format {
                BodyFormat::Text => render_text(&self.coordinates, "\n"),
                BodyFormat::Html => render_html(&self.coordinates, "\n"),
            };
            let e = escape_text(&r);
            (r, e)
        })
    }
}

thread_local! {
    static LAST_COORDINATES: std::cell::RefCell<Option<std::rc::Rc<PreparedCoordinates>>> =
        const { std::cell::RefCell::new(None) };
}

fn prepared(c: &MeetingCoordinates) -> std::rc::Rc<PreparedCoordinates> {
    LAST_COORDINATES.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some(p) if p.coordinates == *c => p.clone(),
            _ => {
                let p = std::rc::Rc::new(PreparedCoordinates {
                    coordinates: c.clone(),
                    valid: validate_coordinates(c),
                    thread: block::teams_thread_id(&c.join_url),
                    conference_digits: c
                        .conference_id
                        .chars()
                        .filter(|c| c.is_ascii_digit())
                        .collect(),
                    rendered: Default::default(),
                });
                *last = Some(p.clone());
                p
            }
        }
    })
}

/// Rejects coordinates that could break the block's markup or point somewhere unsafe.
pub fn validate_coordinates(c: &MeetingCoordinates) -> Result<(), CalendarError> {
    let check = |what: &str, url: &str| {
        let ok_scheme = url.starts_with("https://") || url.starts_with("http://");
        // ASCII whitespace and controls are the bytes up to the space, and DEL.
        let refused_ascii = |b: u8| {
            b <= b' ' || b == 0x7f || matches!(b, b'"' | b'\'' | b'<' | b'>' | b'\\' | b'`')
        };
        // (ASCII URLs, nearly all of them, are checked byte by byte.)
        let bad = if url.is_ascii() {
            url.bytes().find(|&b| refused_ascii(b)).map(char::from)
        } else {
            url.chars().find(|&ch| match u8::try_from(ch) {
                Ok(b) if b.is_ascii() => refused_ascii(b),
                _ => ch.is_whitespace() || ch.is_control(),
            })
        };
        if !ok_scheme {
            return Err(CalendarError::InvalidCoordinates(format!(
                "{what} must be an http(s) URL, got '{url}'"
            )));
        }
        if let Some(ch) = bad {
            return Err(CalendarError::InvalidCoordinates(format!(
                "{what} contains the character {ch:?}"
            )));
        }
        Ok(())
    };
    check("joinUrl", &c.join_url)?;
    let expected = match c.meeting_kind {
        MeetingKind::Teams => [LinkKind::Teams],
        MeetingKind::SkypeForBusiness => [LinkKind::Skype],
    };
    if block::classify_link(&c.join_url).map(|k| [k]) != Some(expected) {
        return Err(CalendarError::InvalidCoordinates(format!(
            "joinUrl '{}' is not a {} join link",
            c.join_url, c.meeting_kind
        )));
    }
    if let Some(u) = &c.find_local_number_url {
        check("findLocalNumberUrl", u)?;
    }
    if let Some(u) = &c.meeting_options_url {
        check("meetingOptionsUrl", u)?;
    }
    if c.conference_id
        .chars()
        .any(|ch| !(ch.is_ascii_digit() || ch == ' '))
    {
        return Err(CalendarError::InvalidCoordinates(format!(
            "conferenceId '{}' must be digits",
            c.conference_id
        )));
    }
    for n in c.toll_numbers.iter().chain(&c.toll_free_numbers) {
        if !n.number.chars().any(|ch| ch.is_ascii_digit())
            || n.number.chars().any(|ch| ch.is_control())
        {
            return Err(CalendarError::InvalidCoordinates(format!(
                "'{}' is not a phone number",
                n.number
            )));
        }
    }
    Ok(())
}

/// Visible text of a block, for the already-up-to-date comparison (tags dropped in HTML).
fn visible_text(s: &str, format: BodyFormat) -> String {
    match format {
        BodyFormat::Text => s.to_string(),
        BodyFormat::Html => {
            // Text runs between tags, copied whole ('<' and '>' are ASCII, so byte offsets are
            // character boundaries).
            let mut out = String::with_capacity(s.len() / 2);
            let mut rest = s;
            while !rest.is_empty() {
                match memchr::memchr2(b'<', b'>', rest.as_bytes()) {
                    Some(p) if rest.as_bytes()[p] == b'<' => {
                        out.push_str(&rest[..p]);
                        // Inside a tag until the next '>' (or the end).
                        rest = match memchr::memchr(b'>', &rest.as_bytes()[p..]) {
                            Some(q) => &rest[p + q + 1..],
                            None => "",
                        };
                    }
                    Some(p) => {
                        // A stray '>' outside a tag is dropped.
                        out.push_str(&rest[..p]);
                        rest = &rest[p + 1..];
                    }
                    None => {
                        out.push_str(rest);
                        rest = "";
                    }
                }
            }
            block::decode_entities(&out)
        }
    }
}

/// The judgement on a meeting's blocks, shared by calendars and bare bodies.
struct Verdict {
    from: MeetingKind,
    to: MeetingKind,
    /// The Teams meeting thread of the old block (its first `meetup-join` link, else the
    /// marker URL).
    old_thread: Option<String>,
}

/// Applies the block-level rules (consumer, channel, add-in origin, source/target, up to date).
fn judge_blocks(
    blocks: &[(&FoundBlock, &str, BodyFormat)],
    m: &Markers<'_>,
    req: &RewriteRequest,
) -> Result<Result<Verdict, SkipReason>, CalendarError> {
    let linked: Vec<&(&FoundBlock, &str, BodyFormat)> = blocks
        .iter()
        .filter(|(b, _, _)| !b.links.is_empty())
        .collect();
    if linked.is_empty() {
        return Ok(Err(SkipReason::NoOnlineMeetingBlock));
    }
    let consumer_marker = m
        .information
        .as_deref()
        .is_some_and(|i| contains_ignoring_spaces(i, "\"OnlineMeetingProvider\":4"));
    let has_kind = |k: LinkKind| linked.iter().any(|(b, _, _)| b.kind() == Some(k));
    if consumer_marker || has_kind(LinkKind::TeamsConsumer) {
        return Ok(Err(SkipReason::ConsumerTeamsMeeting));
    }
    let kind = if has_kind(LinkKind::Teams) {
        LinkKind::Teams
    } else {
        LinkKind::Skype
    };
    // The same join link stands in every body (text, HTML, each override): judge each once.
    let mut meetup: Vec<&str> = Vec::new();
    for link in linked.iter().flat_map(|(b, _, _)| b.meetup_join_links()) {
        if !meetup.contains(&link) {
            meetup.push(link);
        }
    }
    // The meeting threads the links and the marker name, each decoded once.
    let link_threads: Vec<String> = meetup
        .iter()
        .filter_map(|u| block::teams_thread_id(u))
        .collect();
    let url_thread = m.teams_url.as_deref().and_then(block::teams_thread_id);
    if kind == LinkKind::Teams {
        let channel_marker = m.information.as_deref().is_some_and(|i| {
            contains_ignoring_spaces(i, "\"OnlineMeetingChannelId\":\"")
                && !contains_ignoring_spaces(i, "\"OnlineMeetingChannelId\":\"\"")
        });
        let channel_link = link_threads.iter().any(|t| block::is_channel_thread(t));
        let channel_url = url_thread.as_deref().is_some_and(block::is_channel_thread);
        if channel_marker || channel_link || channel_url {
            return Ok(Err(SkipReason::ChannelMeeting));
        }
    }
    let links_of = |k: LinkKind| {
        linked
            .iter()
            .flat_map(|(b, _, _)| b.links.iter())
            .filter(move |l| l.kind == k)
            .map(|l| l.url.as_str())
    };
    let has_add_in_structure = match kind {
        LinkKind::Skype => linked.iter().any(|(b, _, _)| b.skype_add_in_marker),
        _ => linked.iter().all(|(b, _, _)| b.closed && !b.periods),
    };
    let markers_agree = match kind {
        LinkKind::Teams => m
            .teams_url
            .as_ref()
            .map(|u| links_of(LinkKind::Teams).any(|l| l.eq_ignore_ascii_case(u))),
        _ => m.external_link.as_ref().map(|u| {
            let base = u.split(['?', '#']).next().unwrap_or("");
            links_of(LinkKind::Skype).any(|l| l.eq_ignore_ascii_case(base))
        }),
    };
    let ownership = BlockOwnership {
        has_add_in_structure,
        markers_agree,
        teams_context_oid: meetup.iter().find_map(|u| block::teams_context_oid(u)),
        organizer_object_id: req.organizer_object_id,
        skype_meet_user: links_of(LinkKind::Skype)
            .next()
            .and_then(block::skype_meet_user),
        organizer_sip_user: req
            .organizer_sip_address
            .map(|s| eligibility::calendar_address(s).trim_start_matches("sip:"))
            .map(|s| s.split('@').next().unwrap_or(s).to_string()),
    };
    if let Err(reason) = eligibility::block_created_by_add_in(&ownership) {
        return Ok(Err(reason));
    }
    let from = meeting_kind_of(kind);
    let selected = match req.source {
        SourceMeetingType::All => true,
        SourceMeetingType::SfB => from == MeetingKind::SkypeForBusiness,
        SourceMeetingType::Teams => from == MeetingKind::Teams,
    };
    if !selected {
        return Ok(Err(SkipReason::KindNotSelected { kind: from }));
    }
    let to = match req.target {
        TargetMeetingType::Current => from,
        TargetMeetingType::Teams => MeetingKind::Teams,
    };
    if req.coordinates.meeting_kind != to {
        return match req.target {
            TargetMeetingType::Current => Ok(Err(SkipReason::KindMismatch {
                meeting: from,
                coordinates: req.coordinates.meeting_kind,
            })),
            TargetMeetingType::Teams => Err(CalendarError::InvalidCoordinates(
                "TargetMeetingType Teams needs Teams coordinates (meetingKind \"Teams\")".into(),
            )),
        };
    }
    // (The text is made only if the rule needs it.)
    let texts: Vec<_> = linked
        .iter()
        .map(|(b, body, format)| move || visible_text(&body[b.range.clone()], *format))
        .collect();
    let existing: Vec<ExistingBlock> = linked
        .iter()
        .zip(&texts)
        .map(|((b, _, _), text)| ExistingBlock {
            kind: b.kind().map(meeting_kind_of).unwrap_or(from),
            join_urls: b.links.iter().map(|l| l.url.as_str()).collect(),
            text,
        })
        .collect();
    let markers_current = m.teams_url.as_ref().map_or(true, |u| {
        to != MeetingKind::Teams || u == &req.coordinates.join_url
    });
    if markers_current && eligibility::already_up_to_date(&existing, req.coordinates) {
        return Ok(Err(SkipReason::AlreadyUpToDate));
    }
    let old_thread = link_threads.into_iter().next().or(url_thread);
    Ok(Ok(Verdict {
        from,
        to,
        old_thread,
    }))
}

/// A changed body, for dry runs and the iMIP parts.
#[derive(Debug, Clone)]
pub(crate) struct BodyChange {
    /// The body's line in the document.
    pub line: usize,
    pub format: BodyFormat,
    pub before: String,
    pub after: String,
    pub event: usize,
}

/// Everything decided for one calendar object.
pub(crate) struct Plan<'a> {
    pub doc: Document<'a>,
    pub structure: Structure,
    pub edits: Edits,
    pub bodies: Vec<BodyChange>,
    pub uid: String,
    pub sequence: u32,
    pub primary: usize,
}

fn format_utc(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::{Datelike, Timelike};
    // Digit by digit: `format!` (and chrono's `format`, which parses its pattern on every call)
    // cost more than the rest of the DTSTAMP edit.
    fn two(n: u32) -> [u8; 2] {
        [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8]
    }
    // (Each accessor of a DateTime converts it to local time first: convert once.)
    let t = t.naive_utc();
    let year = t.year().clamp(0, 9999) as u32;
    let (c, y, mo, d) = (two(year / 100), two(year), two(t.month()), two(t.day()));
    let (h, mi, s) = (two(t.hour()), two(t.minute()), two(t.second()));
    let stamp = [
        c[0], c[1], y[0], y[1], mo[0], mo[1], d[0], d[1], b'T', h[0], h[1], mi[0], mi[1], s[0],
        s[1], b'Z',
    ];
    // (ASCII digits, 'T' and 'Z': always UTF-8.)
    std::str::from_utf8(&stamp).unwrap_or_default().to_string()
}

/// Replaces line `i` with `NAME;PARAMS:value`: its own name and parameters, the new (raw)
/// value given as consecutive pieces, folded in file style.
fn set_value(edits: &mut Edits, doc: &Document, i: usize, pieces: &[&str]) {
    thread_local! {
        // The logical line only lives until it is folded: one buffer per thread, not one per
        // line changed.
        static LOGICAL: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let l = &doc.lines[i];
    LOGICAL.with(|logical| {
        let mut logical = logical.borrow_mut();
        logical.clear();
        logical.extend_from_slice(l.name_bytes());
        logical.extend_from_slice(l.params_bytes());
        logical.push(b':');
        for p in pieces {
            logical.extend_from_slice(p.as_bytes());
        }
        edits.set_folded(i, doc, &logical);
        // A huge body's line is not kept for the thread's lifetime.
        if logical.capacity() > LOGICAL_KEPT {
            *logical = Vec::new();
        }
    })
}

/// The largest logical-line buffer [`set_value`] keeps between lines.
const LOGICAL_KEPT: usize = 64 * 1024;

/// The property name upper-cased, in `buf` when it fits (no allocation per property).
fn upper_name<'b>(l: &ContentLine, buf: &'b mut [u8; 64]) -> std::borrow::Cow<'b, str> {
    let name = l.name_bytes();
    match buf.get_mut(..name.len()) {
        Some(dst) if name.is_ascii() => {
            dst.copy_from_slice(name);
            dst.make_ascii_uppercase();
            // SAFETY: ASCII (checked above) is UTF-8, and upper-casing ASCII keeps it ASCII.
            Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(dst) })
        }
        _ => l.name().into(),
    }
}

/// Swaps a Teams thread id in all its spellings (`19:x@thread.v2`, `19_x@thread.v2`,
/// `19:x-thread.v2`); `None` when the old one is not there. Every spelling holds the id's core
/// (`x`), so one search for the core finds them all; the bytes around each hit say which
/// spelling it is, and it is replaced by the new id in the same spelling.
fn swap_thread(value: &str, old: &str, new: &str) -> Option<String> {
    // (core, rest) of `19:core@rest`.
    fn parts(t: &str) -> Option<(&str, &str)> {
        let t = t.strip_prefix("19:")?;
        t.split_once('@')
    }
    let (Some((old_core, old_rest)), Some((new_core, new_rest))) = (parts(old), parts(new)) else {
        return None;
    };
    if old_core.is_empty() {
        return None;
    }
    let mut out = String::new();
    let mut copied = 0;
    let mut from = 0;
    // (Values are short: a first-byte search beats building a substring searcher per value.)
    while let Some(at) = block::find_from(value, old_core, from, false) {
        from = at + old_core.len();
        // (The spelling's "19:" must lie after what was already replaced.)
        let Some(prefix) = at
            .checked_sub(3)
            .filter(|&s| s >= copied)
            .and_then(|s| value.get(s..at))
        else {
            continue;
        };
        let tail = &value[from..];
        let sep = match tail.as_bytes().first() {
            Some(&c @ (b'@' | b'-')) if tail[1..].starts_with(old_rest) => c,
            _ => continue,
        };
        // `19_x-thread` is not a spelling Teams uses.
        if !(prefix == "19:" || (prefix == "19_" && sep == b'@')) {
            continue;
        }
        let end = from + 1 + old_rest.len();
        if out.capacity() == 0 {
            out.reserve(value.len() + new_core.len() + new_rest.len());
        }
        out.push_str(&value[copied..at - 3]);
        out.push_str(prefix);
        out.push_str(new_core);
        out.push(char::from(sep));
        out.push_str(new_rest);
        copied = end;
        from = end;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&value[copied..]);
    Some(out)
}

/// Decides and prepares every edit; `Err` for bad input, `Ok(Err)` for a skip.
pub(crate) fn plan<'a>(
    ics: &'a [u8],
    req: &RewriteRequest,
) -> Result<Result<Plan<'a>, SkipReason>, CalendarError> {
    let prepared = prepared(req.coordinates);
    prepared.valid.clone()?;
    let doc = Document::parse(ics);
    let st = structure(&doc)?;
    if st.events.is_empty() {
        return Ok(Err(SkipReason::NoMeeting));
    }
    let uid_of = |ev: &Event| {
        prop(&doc, ev, Known::Uid)
            .map(|l| l.value_lossy())
            .unwrap_or_default()
    };
    let uid = uid_of(&st.events[0]);
    // (The distinct UIDs are counted only for the error: one meeting's components share one.)
    if st.events.iter().any(|ev| uid_of(ev).trim() != uid.trim()) {
        let mut uids: Vec<String> = st
            .events
            .iter()
            .map(|ev| uid_of(ev).trim().to_string())
            .collect();
        uids.sort();
        uids.dedup();
        return Err(CalendarError::SeveralMeetings { uids: uids.len() });
    }
    let uid = uid.trim().to_string();
    let master = st
        .events
        .iter()
        .position(|ev| prop(&doc, ev, Known::RecurrenceId).is_none());
    let primary = master.unwrap_or(0);
    let pev = &st.events[primary];

    // Eligibility, in rules::eligibility::RULE_ORDER.
    let method = st
        .cal_props
        .iter()
        .map(|&i| &doc.lines[i])
        .find(|l| l.is("METHOD"))
        .map(|l| l.value_lossy());
    let status = prop(&doc, pev, Known::Status).map(|l| l.value_lossy());
    if let Err(r) = eligibility::not_cancelled(status.as_deref(), method.as_deref()) {
        return Ok(Err(r));
    }
    let organizer = st
        .events
        .iter()
        .find_map(|ev| prop(&doc, ev, Known::Organizer))
        .map(|l| l.value_lossy());
    if let Err(r) = eligibility::organizer_only(organizer.as_deref(), req.organizer) {
        return Ok(Err(r));
    }
    let mut attendees: Vec<Cow<str>> = Vec::with_capacity(st.event_props(&doc, "ATTENDEE").count());
    attendees.extend(
        st.event_props(&doc, "ATTENDEE")
            .map(|(_, l)| l.value_lossy()),
    );
    if let Err(r) = eligibility::attendee_limit(&attendees, req.organizer) {
        return Ok(Err(r));
    }
    let zones = time_zones(&doc, &st);
    let mut future = false;
    for (i, ev) in st.events.iter().enumerate() {
        let o = occurrences(&doc, ev, Some(i) == master);
        if schedule::has_instance_ending_after(o, &zones, req.now)
            .map_err(CalendarError::Recurrence)?
        {
            future = true;
            break;
        }
    }
    if let Err(r) = eligibility::future_only(future) {
        return Ok(Err(r));
    }

    // Bodies and their blocks.
    let mut bodies: Vec<Body> = Vec::new();
    for (ei, ev) in st.events.iter().enumerate() {
        for &li in &ev.props {
            let l = &doc.lines[li];
            let format = if l.is("DESCRIPTION") {
                BodyFormat::Text
            } else if l.is("X-ALT-DESC")
                && l.param("FMTTYPE")
                    .is_some_and(|f| f.eq_ignore_ascii_case("text/html"))
            {
                BodyFormat::Html
            } else {
                continue;
            };
            let raw = l.value_str().ok();
            let (text, escapes) = match raw {
                Some(r) => unescape_text_indexed(r),
                None => unescape_text_indexed(&l.value_lossy()),
            };
            let block = block::find_block(&text, format);
            bodies.push(Body {
                event: ei,
                line: li,
                format,
                raw,
                text,
                escapes,
                block,
            });
        }
    }
    let m = markers(&doc, pev);
    let found: Vec<(&FoundBlock, &str, BodyFormat)> = bodies
        .iter()
        .filter_map(|b| b.block.as_ref().map(|f| (f, b.text.as_str(), b.format)))
        .collect();
    let verdict = match judge_blocks(&found, &m, req)? {
        Ok(v) => v,
        Err(r) => return Ok(Err(r)),
    };
    let c = req.coordinates;
    let converting = verdict.from != verdict.to;
    // The bodies are most of what changes; the other lines a few hundred bytes.
    let body_bytes: usize = bodies.iter().map(|b| doc.lines[b.line].raw.len()).sum();
    let mut edits = Edits::with_capacity(body_bytes + body_bytes / 4 + 1024);
    let mut changes = Vec::with_capacity(bodies.len());
    let any_linked = bodies.iter().any(Body::has_links);
    // (Each body's text moves into its change; its block stays for the old links below.)
    for b in bodies.iter_mut() {
        let Some(found) = &b.block else { continue };
        if !any_linked {
            continue;
        }
        let l = &doc.lines[b.line];
        let raw = b.raw.ok_or_else(|| CalendarError::InvalidUtf8 {
            line: l.line_no,
            property: l.name(),
        })?;
        // Rendered once per organizer (master and overrides, every meeting of the job share it).
        let (rendered, escaped) = prepared.rendered(b.format);
        let rs = b.escapes.raw_offset(&b.text, found.range.start);
        let re = b.escapes.raw_offset(&b.text, found.range.end);
        set_value(&mut edits, &doc, b.line, &[&raw[..rs], escaped, &raw[re..]]);
        let mut after = String::with_capacity(b.text.len() + rendered.len());
        after.push_str(&b.text[..found.range.start]);
        after.push_str(rendered);
        after.push_str(&b.text[found.range.end..]);
        changes.push(BodyChange {
            line: b.line,
            format: b.format,
            before: std::mem::take(&mut b.text),
            after,
            event: b.event,
        });
    }
    let old_links: Vec<&str> = bodies
        .iter()
        .filter_map(|b| b.block.as_ref())
        .flat_map(|b| b.links.iter().map(|l| l.url.as_str()))
        .chain(m.teams_url.as_deref())
        .collect();
    let old_thread = &verdict.old_thread;
    let new_thread = &prepared.thread;
    let url_changed = !old_links.iter().any(|u| *u == c.join_url);

    let now = format_utc(req.now);
    let mut master_sequence = None;
    for (ei, ev) in st.events.iter().enumerate() {
        // SEQUENCE+1 on every component sent; Exchange mirrors it in CDO-APPT-SEQUENCE.
        let old_seq = prop(&doc, ev, Known::Sequence)
            .and_then(|l| l.value_lossy().trim().parse::<i64>().ok())
            .unwrap_or(0)
            .clamp(0, u32::MAX as i64 - 1) as u32;
        let seq = old_seq + 1;
        if ei == primary {
            master_sequence = Some(seq);
        }
        match prop_idx(ev, Known::Sequence) {
            Some(i) => set_value(&mut edits, &doc, i, &[&seq.to_string()]),
            None => edits.insert_folded_before(ev.end, &doc, format!("SEQUENCE:{seq}").as_bytes()),
        }
        match prop_idx(ev, Known::Dtstamp) {
            Some(i) => set_value(&mut edits, &doc, i, &[&now]),
            None => edits.insert_folded_before(ev.end, &doc, format!("DTSTAMP:{now}").as_bytes()),
        }
        for &i in &ev.props {
            let l = &doc.lines[i];
            let mut buf = [0u8; 64];
            let name = upper_name(l, &mut buf);
            // Unescaped only where a property's value is compared: bodies are large and were
            // already unescaped once above.
            let text = || l.text_value();
            let set = |edits: &mut Edits, v: &str| {
                set_value(edits, &doc, i, &[&escaped_text(v)]);
            };
            match &*name {
                "LAST-MODIFIED" => set_value(&mut edits, &doc, i, &[&now]),
                "X-MICROSOFT-CDO-APPT-SEQUENCE" => {
                    set_value(&mut edits, &doc, i, &[&seq.to_string()])
                }
                "LOCATION" | "X-MICROSOFT-LOCATIONDISPLAYNAME" | "X-MICROSOFT-LOCATIONS" => {
                    let text = text();
                    let mut v = text.clone();
                    for &old in &old_links {
                        // (A link longer than the value cannot be in it: skip building a searcher.)
                        if old != c.join_url
                            && !old.is_empty()
                            && old.len() <= v.len()
                            && v.contains(old)
                        {
                            v = Cow::Owned(v.replace(old, &c.join_url));
                        }
                    }
                    if converting && v.contains("Skype Meeting") {
                        v = Cow::Owned(v.replace("Skype Meeting", "Microsoft Teams Meeting"));
                    }
                    if v != text {
                        set(&mut edits, &v);
                    }
                }
                "X-MICROSOFT-SKYPETEAMSMEETINGURL" => {
                    if verdict.to == MeetingKind::Teams {
                        if text().trim() != c.join_url {
                            set(&mut edits, &c.join_url);
                        }
                    } else {
                        edits.delete(i);
                    }
                }
                "X-MICROSOFT-ONLINEMEETINGCONFERENCEID" => {
                    let id = &prepared.conference_digits;
                    if id.is_empty() {
                        edits.delete(i);
                    } else if text().trim() != id {
                        set(&mut edits, id);
                    }
                }
                "X-MICROSOFT-ONLINEMEETINGTOLLNUMBER" => match c.toll_numbers.first() {
                    Some(n) if text().trim() != n.number => set(&mut edits, &n.number),
                    Some(_) => {}
                    None => edits.delete(i),
                },
                "X-MICROSOFT-ONLINEMEETINGEXTERNALLINK" => {
                    if verdict.to == MeetingKind::SkypeForBusiness {
                        if text().trim() != c.join_url {
                            set(&mut edits, &c.join_url);
                        }
                    } else if converting {
                        edits.delete(i);
                    }
                }
                "X-MICROSOFT-ONLINEMEETINGINTERNALLINK" | "X-MICROSOFT-CONFERENCETELURI"
                    if converting || url_changed =>
                {
                    edits.delete(i)
                }
                n if n.starts_with("X-MICROSOFT-UC") && converting => edits.delete(i),
                "X-MICROSOFT-ONLINEMEETINGINFORMATION" if converting => set(
                    &mut edits,
                    "{\"OnlineMeetingChannelId\":null,\"OnlineMeetingProvider\":3}",
                ),
                "X-MICROSOFT-ONLINEMEETINGCONFLINK"
                | "X-MICROSOFT-SKYPETEAMSPROPERTIES"
                | "X-MICROSOFT-SCHEDULINGSERVICEUPDATEURL" => {
                    if converting {
                        edits.delete(i);
                    } else if url_changed {
                        // Tied to the old meeting thread: follow the new one, or drop a
                        // stale value rather than contradict the new block.
                        let swapped = match (old_thread, new_thread) {
                            (Some(o), Some(n)) => swap_thread(&text(), o, n),
                            _ => None,
                        };
                        match swapped {
                            Some(v) => set(&mut edits, &v),
                            None => edits.delete(i),
                        }
                    }
                }
                _ => {}
            }
        }
        // The Teams markers go into the master (the primary event) when converting.
        if converting && ei == primary {
            if m.teams_url.is_none() {
                let line = format!(
                    "X-MICROSOFT-SKYPETEAMSMEETINGURL:{}",
                    escape_text(&c.join_url)
                );
                edits.insert_folded_before(ev.end, &doc, line.as_bytes());
            }
            if m.information.is_none() {
                edits.insert_folded_before(
                    ev.end,
                    &doc,
                    b"X-MICROSOFT-ONLINEMEETINGINFORMATION:{\"OnlineMeetingChannelId\":null\\,\"OnlineMeetingProvider\":3}",
                );
            }
        }
    }
    Ok(Ok(Plan {
        sequence: master_sequence.unwrap_or(1),
        doc,
        structure: st,
        edits,
        bodies: changes,
        uid,
        primary,
    }))
}

/// Rewrites one calendar object (a CalDAV resource or an exported .ics holding one meeting).
pub fn rewrite_calendar_object(
    ics: &[u8],
    req: &RewriteRequest,
) -> Result<RewriteOutcome, CalendarError> {
    let p = match plan(ics, req)? {
        Ok(p) => p,
        Err(reason) => return Ok(RewriteOutcome::Skipped(reason)),
    };
    let organizer_copy = p.doc.write(&p.edits);
    // The iTIP edits never touch a line the rewrite changed: layer them over the same document.
    let request = itip::request_edits(&p.doc, &p.structure, req.organizer, req.sent_by);
    let itip_request = p.doc.write_layers(&[&p.edits, &request]);
    let pev = &p.structure.events[p.primary];
    let doc = &p.doc;
    let summary = prop(doc, pev, Known::Summary)
        .map(|l| l.text_value())
        .unwrap_or_default();
    let org_line = p
        .structure
        .events
        .iter()
        .find_map(|ev| prop(doc, ev, Known::Organizer));
    let organizer = org_line
        .map(|l| eligibility::calendar_address(&l.value_lossy()).to_string())
        .unwrap_or_else(|| req.organizer.to_string());
    let organizer_name = org_line
        .and_then(|l| l.param("CN"))
        .filter(|s| !s.is_empty());
    let mut attendees: Vec<String> =
        Vec::with_capacity(p.structure.event_props(doc, "ATTENDEE").count());
    for (_, l) in p.structure.event_props(doc, "ATTENDEE") {
        let v = l.value_lossy();
        let addr = eligibility::calendar_address(&v);
        if !addr.contains('@') || eligibility::same_address(addr, &organizer) {
            continue;
        }
        if !attendees.iter().any(|a| a.eq_ignore_ascii_case(addr)) {
            attendees.push(addr.to_string());
        }
    }
    // The master's rewritten bodies are the mail's parts: moved out, not copied.
    let mut bodies = p.bodies;
    let mut master_body = |format: BodyFormat| {
        bodies
            .iter_mut()
            .find(|b| b.event == p.primary && b.format == format)
            .map(|b| std::mem::take(&mut b.after))
    };
    let master_text = master_body(BodyFormat::Text);
    let master_html = master_body(BodyFormat::Html);
    // (No text body in the master: the new block alone, as rendered once for this organizer.)
    let body_text = master_text.unwrap_or_else(|| {
        prepared(req.coordinates)
            .rendered(BodyFormat::Text)
            .0
            .clone()
    });
    let body_html = master_html.unwrap_or_else(|| {
        const HEAD: &str = "<html><body><div style=\"white-space:pre-wrap\">";
        const TAIL: &str = "</div></body></html>";
        // (Room for the entities of a body's links and quotes: one allocation, no copy.)
        let mut html =
            String::with_capacity(HEAD.len() + body_text.len() + body_text.len() / 8 + TAIL.len());
        html.push_str(HEAD);
        push_html_escaped(&mut html, &body_text);
        html.push_str(TAIL);
        html
    });
    Ok(RewriteOutcome::Rewritten(RewrittenMeeting {
        uid: p.uid,
        sequence: p.sequence,
        organizer_copy,
        itip_request,
        attendees,
        summary: summary.into_owned(),
        organizer,
        organizer_name: organizer_name.map(Cow::into_owned),
        body_text,
        body_html,
    }))
}

/// A unified diff of every body (DESCRIPTION, X-ALT-DESC, in master and overrides) before and
/// after the rewrite. Changes nothing. A skipped meeting gives `# skipped: <reason>`.
pub fn dry_run_diff(ics: &[u8], req: &RewriteRequest) -> Result<String, CalendarError> {
    let p = match plan(ics, req)? {
        Ok(p) => p,
        Err(reason) => return Ok(format!("# skipped: {reason}\n")),
    };
    let master = p
        .structure
        .events
        .iter()
        .position(|ev| prop(&p.doc, ev, Known::RecurrenceId).is_none());
    let mut out = String::new();
    for b in &p.bodies {
        let which = if Some(b.event) == master {
            "master".to_string()
        } else {
            let rid = prop(&p.doc, &p.structure.events[b.event], Known::RecurrenceId)
                .map(|l| l.value_lossy().trim().to_string())
                .unwrap_or_default();
            format!("RECURRENCE-ID={rid}")
        };
        let label = format!("VEVENT[{which}]/{}", p.doc.lines[b.line].name());
        out.push_str(&unified_diff(&label, &b.before, &b.after));
    }
    Ok(out)
}

/// A one-hunk unified diff (the rewrite changes one contiguous region) with 3 context lines.
pub fn unified_diff(label: &str, before: &str, after: &str) -> String {
    let a: Vec<&str> = before.split('\n').collect();
    let b: Vec<&str> = after.split('\n').collect();
    let mut pre = 0;
    while pre < a.len() && pre < b.len() && a[pre] == b[pre] {
        pre += 1;
    }
    if pre == a.len() && pre == b.len() {
        return String::new();
    }
    let mut suf = 0;
    while suf < a.len() - pre && suf < b.len() - pre && a[a.len() - 1 - suf] == b[b.len() - 1 - suf]
    {
        suf += 1;
    }
    let ctx = 3;
    let start = pre.saturating_sub(ctx);
    let a_end = (a.len() - suf + ctx).min(a.len());
    let b_end = (b.len() - suf + ctx).min(b.len());
    let mut out = format!("--- a/{label}\n+++ b/{label}\n");
    out.push_str(&format!(
        "@@ -{},{} +{},{} @@\n",
        start + 1,
        a_end - start,
        start + 1,
        b_end - start
    ));
    for l in &a[start..pre] {
        out.push_str(&format!(" {l}\n"));
    }
    for l in &a[pre..a.len() - suf] {
        out.push_str(&format!("-{l}\n"));
    }
    for l in &b[pre..b.len() - suf] {
        out.push_str(&format!("+{l}\n"));
    }
    for l in &a[a.len() - suf..a_end] {
        out.push_str(&format!(" {l}\n"));
    }
    out
}

/// Result of rewriting a bare body (an HTML or text body file, not a calendar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyRewrite {
    Rewritten(Vec<u8>),
    Skipped(SkipReason),
}

/// Is this a bare HTML body (rather than plain text)? Decided by content.
pub fn looks_like_html(body: &str) -> bool {
    let head: String = body
        .chars()
        .take(4096)
        .collect::<String>()
        .to_ascii_lowercase();
    ["<html", "<body", "<div", "<p ", "<p>", "<span", "<br"]
        .iter()
        .any(|t| head.contains(t))
}

/// Rewrites just the block of a bare body (HTML or plain text, detected by content). No
/// calendar rules apply beyond the block's own (kind, add-in origin, up to date).
pub fn rewrite_body(body: &[u8], req: &RewriteRequest) -> Result<BodyRewrite, CalendarError> {
    validate_coordinates(req.coordinates)?;
    let text = std::str::from_utf8(body).map_err(|e| CalendarError::InvalidUtf8 {
        line: 1 + body[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        property: "body".into(),
    })?;
    let format = if looks_like_html(text) {
        BodyFormat::Html
    } else {
        BodyFormat::Text
    };
    let Some(found) = block::find_block(text, format) else {
        return Ok(BodyRewrite::Skipped(SkipReason::NoOnlineMeetingBlock));
    };
    if let Err(r) = judge_blocks(&[(&found, text, format)], &Markers::default(), req)? {
        return Ok(BodyRewrite::Skipped(r));
    }
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let rendered = match format {
        BodyFormat::Text => render_text(req.coordinates, nl),
        BodyFormat::Html => render_html(req.coordinates, nl),
    };
    let mut out = Vec::with_capacity(body.len() + rendered.len());
    out.extend_from_slice(&body[..found.range.start]);
    out.extend_from_slice(rendered.as_bytes());
    out.extend_from_slice(&body[found.range.end..]);
    Ok(BodyRewrite::Rewritten(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_reports_missing_end_and_bad_folds() {
        let e = structure(&Document::parse(
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:1\r\n",
        ))
        .unwrap_err();
        assert!(e.to_string().contains("missing END:VEVENT"), "{e}");
        let e = structure(&Document::parse(
            b"BEGIN:VCALENDAR\r\nSUMMARY:a\r\nbroken fold\r\nEND:VCALENDAR\r\n",
        ))
        .unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
        let e = structure(&Document::parse(b"BEGIN:VCALENDAR\r\nEND:VEVENT\r\n")).unwrap_err();
        assert!(e.to_string().contains("closes BEGIN:VCALENDAR"), "{e}");
        assert!(structure(&Document::parse(b"hello")).is_err());
    }

    #[test]
    fn coordinate_urls_with_spaces_controls_or_markup_characters_are_refused() {
        let base = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_X%40thread.v2/0";
        let coordinates = |url: &str| MeetingCoordinates {
            meeting_kind: MeetingKind::Teams,
            join_url: url.into(),
            conference_id: "123456789".into(),
            toll_numbers: Vec::new(),
            toll_free_numbers: Vec::new(),
            find_local_number_url: None,
            meeting_options_url: None,
        };
        assert!(validate_coordinates(&coordinates(base)).is_ok());
        assert!(validate_coordinates(&coordinates(&format!("{base}?n=café"))).is_ok());
        for bad in [
            " ", "\t", "\u{7f}", "\u{1}", "\"", "'", "<", ">", "\\", "`", "\u{a0}", "\u{3000}",
            "\u{85}",
        ] {
            for url in [format!("{base}{bad}"), format!("{base}é{bad}x")] {
                let e = validate_coordinates(&coordinates(&url)).unwrap_err();
                assert!(
                    e.to_string().contains("contains the character"),
                    "{url:?}: {e}"
                );
            }
        }
    }

    #[test]
    fn visible_text_of_html_drops_tags_stray_brackets_and_an_unclosed_tag() {
        let v = |s: &str| visible_text(s, BodyFormat::Html);
        assert_eq!(v("<p class=\"a<b\">Join <b>now</b></p>"), "Join now");
        assert_eq!(v("a > b<br>c &amp; d"), "a  bc & d");
        assert_eq!(v("kept<span unclosed"), "kept");
        assert_eq!(v("<><>é<i>田</i>"), "é田");
        assert_eq!(visible_text("<b>x</b>", BodyFormat::Text), "<b>x</b>");
    }

    #[test]
    fn known_properties_are_indexed_by_their_first_line_in_any_case() {
        for k in Known::ALL {
            let ics = format!(
                "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nX-OTHER:1\r\n{}:first\r\n{}:second\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
                k.name().to_ascii_lowercase(),
                k.name()
            );
            let doc = Document::parse(ics.as_bytes());
            let st = structure(&doc).unwrap();
            let line = prop(&doc, &st.events[0], k).unwrap_or_else(|| panic!("{k:?}"));
            assert_eq!(line.value_lossy(), "first", "{k:?}");
            for other in Known::ALL.into_iter().filter(|&o| o != k) {
                assert!(
                    prop(&doc, &st.events[0], other).is_none(),
                    "{other:?} in {k:?}"
                );
            }
        }
    }

    #[test]
    fn marker_json_is_matched_with_or_without_spaces_between_its_tokens() {
        let needle = "\"OnlineMeetingProvider\":4";
        assert!(contains_ignoring_spaces(
            "{\"OnlineMeetingProvider\":4}",
            needle
        ));
        assert!(contains_ignoring_spaces(
            "{ \"OnlineMeetingProvider\" : 4 }",
            needle
        ));
        assert!(!contains_ignoring_spaces(
            "{\"OnlineMeetingProvider\":3}",
            needle
        ));
        assert!(!contains_ignoring_spaces(
            "{ \"OnlineMeetingProvider\" : 3 }",
            needle
        ));
    }

    #[test]
    fn utc_stamps_are_basic_format_with_zero_padding() {
        use chrono::TimeZone;
        let t = |y, mo, d, h, mi, s| chrono::Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap();
        assert_eq!(format_utc(t(2026, 12, 2, 4, 5, 9)), "20261202T040509Z");
        assert_eq!(format_utc(t(987, 1, 31, 23, 59, 59)), "09870131T235959Z");
        let rollover = t(2026, 6, 30, 23, 59, 59) + chrono::Duration::nanoseconds(1_500_000_000);
        assert_eq!(format_utc(rollover), "20260701T000000Z");
    }

    #[test]
    fn unified_diff_has_one_hunk_with_context() {
        let d = unified_diff("x", "a\nb\nc\nd\ne\nf\ng\nh", "a\nb\nc\nd\nE\nf\ng\nh");
        assert!(d.contains("@@ -2,7 +2,7 @@"), "{d}");
        assert!(d.contains("-e\n+E\n"), "{d}");
        assert_eq!(unified_diff("x", "same", "same"), "");
    }

    #[test]
    fn swap_thread_handles_every_spelling() {
        let v = "conf:sip:a\\;gruu\\;opaque=app:conf:focus:id:teams:2:0!19:meeting_OLD-thread.v2!x";
        let s = swap_thread(v, "19:meeting_OLD@thread.v2", "19:meeting_NEW@thread.v2").unwrap();
        assert!(s.contains("19:meeting_NEW-thread.v2"), "{s}");
        let u = swap_thread(
            "https://x/19_meeting_OLD@thread.v2/0",
            "19:meeting_OLD@thread.v2",
            "19:meeting_NEW@thread.v2",
        )
        .unwrap();
        assert!(u.contains("19_meeting_NEW@thread.v2"));
        assert!(swap_thread("none", "19:a@thread.v2", "19:b@thread.v2").is_none());
        // Every spelling in one value, each kept in its own spelling; other text untouched.
        let all = "{\"cid\":\"19:meeting_OLD@thread.v2\"} 19_meeting_OLD@thread.v2 19:meeting_OLD-thread.v2 \
                   19_meeting_OLD-thread.v2 meeting_OLD";
        assert_eq!(
            swap_thread(all, "19:meeting_OLD@thread.v2", "19:meeting_NEW@thread.v2").unwrap(),
            "{\"cid\":\"19:meeting_NEW@thread.v2\"} 19_meeting_NEW@thread.v2 19:meeting_NEW-thread.v2 \
                   19_meeting_OLD-thread.v2 meeting_OLD"
        );
        assert!(swap_thread(
            "19:meeting_OLD@thread.v1",
            "19:meeting_OLD@thread.v2",
            "19:b@thread.v2"
        )
        .is_none());
        // A hostile id whose rest ends like a spelling's start: no overlap, no panic.
        assert_eq!(
            swap_thread("19:x@ab19:x@ab19:", "19:x@ab19:", "19:y@z").as_deref(),
            Some("19:y@zx@ab19:")
        );
        assert_eq!(
            swap_thread("é19:x@t", "19:x@t", "19:y@t").as_deref(),
            Some("é19:y@t")
        );
    }
}
