//! A sample tenant for `mms demo` and the end-to-end tests: users, bridges and calendars that
//! look like what Outlook and Exchange write (Windows time-zone names, folded lines, Teams and
//! Skype blocks in both DESCRIPTION and X-ALT-DESC, the X-MICROSOFT-* properties).
//!
//! Every calendar mixes what the service must update with what it must leave alone: past
//! meetings, future ones, a recurring series with an exception and an override, a series that
//! already ended, a meeting with more than 250 attendees, a block copy-pasted from someone
//! else's meeting, a meeting organized by someone else, a cancelled one, one with no block.
//! Bodies carry accents, CJK, Arabic and emoji next to the block.

use crate::model::{
    AudioConferencingProvider, Bridge, Homing, MailboxLocation, MeetingKind, ServiceNumber,
    ServiceNumberType, User,
};
use chrono::{DateTime, Datelike, Duration, NaiveDateTime, TimeZone, Timelike, Utc};
use uuid::Uuid;

/// The sample tenant's id (appears in Teams join links).
pub const TENANT_ID: Uuid = Uuid::from_u128(0x72f988bf_86f1_41af_91ab_2d7cd011db47);
pub const DOMAIN: &str = "contoso.com";

/// What a sample calendar object is, and what the service must do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    PastSingle,
    FutureSingle,
    RecurringWithOverride,
    EndedSeries,
    LargeAudience,
    ManyAttendees,
    CopyPastedBlock,
    OrganizedBySomeoneElse,
    Cancelled,
    NoOnlineBlock,
}

impl SampleKind {
    /// Whether the service must rewrite this meeting when its organizer migrates.
    pub fn must_be_rewritten(self) -> bool {
        matches!(
            self,
            SampleKind::FutureSingle
                | SampleKind::RecurringWithOverride
                | SampleKind::ManyAttendees
        )
    }
}

/// One generated calendar object.
#[derive(Debug, Clone)]
pub struct SampleMeeting {
    pub file_name: String,
    pub uid: String,
    pub kind: SampleKind,
    /// Attendee addresses (without the organizer).
    pub attendees: Vec<String>,
    pub data: Vec<u8>,
}

/// The old coordinates a meeting was scheduled with (what the block shows before migration).
#[derive(Debug, Clone)]
pub struct OldCoordinates {
    pub kind: MeetingKind,
    pub conference_id: String,
    pub toll: (String, String),
    pub toll_free: Option<(String, String)>,
    pub bridge: Uuid,
}

/// The sample tenant.
#[derive(Debug, Clone)]
pub struct SampleTenant {
    pub bridges: Vec<Bridge>,
    pub users: Vec<User>,
}

fn number(n: &str, city: &str, t: ServiceNumberType, default: bool) -> ServiceNumber {
    ServiceNumber {
        number: n.to_string(),
        city: city.to_string(),
        number_type: t,
        is_default: default,
    }
}

pub const US_BRIDGE: Uuid = Uuid::from_u128(0xe8373667_7b2c_45e6_90f5_75a31c2d6ee0);
pub const EU_BRIDGE: Uuid = Uuid::from_u128(0x48b4c613_cc67_4825_8175_29628d9715e5);

struct UserSpec {
    alias: &'static str,
    name: &'static str,
    oid: u128,
    kind: MeetingKind,
    homing: Homing,
    mailbox: MailboxLocation,
    provider: AudioConferencingProvider,
    conference_id: &'static str,
    bridge: Uuid,
}

const USERS: &[UserSpec] = &[
    UserSpec {
        alias: "ashaw",
        name: "Amy Shaw",
        oid: 0x33e33123_f641_455f_8467_58a715c2da80,
        kind: MeetingKind::Teams,
        homing: Homing::Online,
        mailbox: MailboxLocation::ExchangeOnline,
        provider: AudioConferencingProvider::Microsoft,
        conference_id: "291633251",
        bridge: US_BRIDGE,
    },
    UserSpec {
        alias: "bfrank",
        name: "Ben Frank",
        oid: 0x5a1d2b3c_4d5e_4f60_8172_93a4b5c6d7e8,
        kind: MeetingKind::SkypeForBusiness,
        homing: Homing::OnPremises,
        mailbox: MailboxLocation::ExchangeOnline,
        provider: AudioConferencingProvider::Microsoft,
        conference_id: "4334578",
        bridge: US_BRIDGE,
    },
    UserSpec {
        alias: "fmoreau",
        name: "Françoise Moreau",
        oid: 0x9c8b7a69_5847_4362_9514_a3b2c1d0e9f8,
        kind: MeetingKind::Teams,
        homing: Homing::Online,
        mailbox: MailboxLocation::ExchangeOnline,
        provider: AudioConferencingProvider::Microsoft,
        conference_id: "580849884",
        bridge: US_BRIDGE,
    },
    UserSpec {
        alias: "cdiaz",
        name: "Carlos Díaz",
        oid: 0x1f2e3d4c_5b6a_4798_8a7b_6c5d4e3f2a1b,
        kind: MeetingKind::Teams,
        homing: Homing::Online,
        mailbox: MailboxLocation::ExchangeOnline,
        provider: AudioConferencingProvider::ThirdParty,
        conference_id: "770902210",
        bridge: US_BRIDGE,
    },
    UserSpec {
        alias: "dlee",
        name: "Dana Lee",
        oid: 0x2b3c4d5e_6f70_4182_93a4_b5c6d7e8f901,
        kind: MeetingKind::Teams,
        homing: Homing::Online,
        mailbox: MailboxLocation::OnPremises,
        provider: AudioConferencingProvider::Microsoft,
        conference_id: "275984951",
        bridge: US_BRIDGE,
    },
    UserSpec {
        alias: "ekim",
        name: "Eun-ji Kim",
        oid: 0x3c4d5e6f_7081_4293_a4b5_c6d7e8f90a1b,
        kind: MeetingKind::Teams,
        homing: Homing::Online,
        mailbox: MailboxLocation::ExchangeOnline,
        provider: AudioConferencingProvider::Microsoft,
        conference_id: "896679561",
        bridge: EU_BRIDGE,
    },
];

/// The sample tenant: two bridges and six users (see `USERS`).
pub fn sample_tenant() -> SampleTenant {
    let bridges = vec![
        Bridge {
            identity: US_BRIDGE,
            name: "Contoso US".to_string(),
            region: "NOAM".to_string(),
            service_numbers: vec![
                number(
                    "+13235550166",
                    "United States, Los Angeles",
                    ServiceNumberType::Toll,
                    true,
                ),
                number(
                    "+12065550142",
                    "United States, Seattle",
                    ServiceNumberType::Toll,
                    false,
                ),
                number(
                    "+18005550100",
                    "United States",
                    ServiceNumberType::TollFree,
                    true,
                ),
            ],
        },
        Bridge {
            identity: EU_BRIDGE,
            name: "Contoso Europe".to_string(),
            region: "EMEA".to_string(),
            service_numbers: vec![
                number(
                    "+33170550123",
                    "France, Paris",
                    ServiceNumberType::Toll,
                    true,
                ),
                number(
                    "+49695550147",
                    "Germany, Frankfurt",
                    ServiceNumberType::Toll,
                    false,
                ),
                number(
                    "+448005550199",
                    "United Kingdom",
                    ServiceNumberType::TollFree,
                    true,
                ),
            ],
        },
    ];
    let users = USERS
        .iter()
        .map(|s| User {
            object_id: Uuid::from_u128(s.oid),
            user_principal_name: format!("{}@{DOMAIN}", s.alias),
            sip_address: format!("{}@{DOMAIN}", s.alias),
            display_name: s.name.to_string(),
            mailbox_location: s.mailbox,
            homing: s.homing,
            audio_conferencing_licensed: s.provider == AudioConferencingProvider::Microsoft,
            audio_conferencing_enabled: s.provider == AudioConferencingProvider::Microsoft,
            provider: s.provider,
            conference_id: s.conference_id.to_string(),
            bridge_id: Some(s.bridge),
            service_number: None,
            toll_free_service_number: None,
            meeting_kind: s.kind,
            teams_upgrade_policy: None,
        })
        .collect();
    SampleTenant { bridges, users }
}

/// The coordinates a user's existing meetings were scheduled with.
pub fn old_coordinates(user: &User, tenant: &SampleTenant) -> OldCoordinates {
    let bridge = user
        .bridge_id
        .and_then(|b| tenant.bridges.iter().find(|x| x.identity == b));
    let pick = |t: ServiceNumberType| {
        bridge.and_then(|b| {
            b.service_numbers
                .iter()
                .find(|n| n.number_type == t && n.is_default)
                .map(|n| (n.number.clone(), n.city.clone()))
        })
    };
    OldCoordinates {
        kind: user.meeting_kind,
        conference_id: user.conference_id.clone(),
        toll: pick(ServiceNumberType::Toll)
            .unwrap_or_else(|| ("+13235550166".into(), "United States, Los Angeles".into())),
        toll_free: pick(ServiceNumberType::TollFree),
        bridge: user.bridge_id.unwrap_or(US_BRIDGE),
    }
}

/// Folds one content line at 75 octets without splitting a UTF-8 character (CRLF + SPACE).
pub fn fold_line(line: &str, out: &mut Vec<u8>) {
    let bytes = line.as_bytes();
    let mut start = 0;
    let mut limit = 75;
    while bytes.len() - start > limit {
        let mut end = start + limit;
        while end > start && !line.is_char_boundary(end) {
            end -= 1;
        }
        out.extend_from_slice(&bytes[start..end]);
        out.extend_from_slice(b"\r\n ");
        start = end;
        limit = 74;
    }
    out.extend_from_slice(&bytes[start..]);
    out.extend_from_slice(b"\r\n");
}

/// RFC 5545 TEXT escaping.
pub fn escape_text(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            ';' => o.push_str("\\;"),
            ',' => o.push_str("\\,"),
            '\n' => o.push_str("\\n"),
            '\r' => {}
            c => o.push(c),
        }
    }
    o
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn spaced_id(id: &str) -> String {
    let chunks: Vec<String> = id
        .as_bytes()
        .chunks(3)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    chunks.join(" ")
}

fn tel(n: &str) -> String {
    n.chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

/// A Teams meeting's identity: thread and join URL, bound to its organizer.
struct TeamsLink {
    thread: String,
    join_url: String,
    options_url: String,
}

fn teams_link(organizer_oid: Uuid, seed: &str) -> TeamsLink {
    let thread_guid = Uuid::new_v5(&organizer_oid, seed.as_bytes());
    let b64 = crate::calendar::base64::encode(thread_guid.to_string().as_bytes());
    let thread = format!("19:meeting_{b64}@thread.v2");
    let join_url = format!(
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_{b64}%40thread.v2/0?context=%7b%22Tid%22%3a%22{TENANT_ID}%22%2c%22Oid%22%3a%22{organizer_oid}%22%7d"
    );
    let options_url = format!(
        "https://teams.microsoft.com/meetingOptions/?organizerId={organizer_oid}&tenantId={TENANT_ID}&threadId=19_meeting_{b64}@thread.v2&messageId=0&language=en-US"
    );
    TeamsLink {
        thread,
        join_url,
        options_url,
    }
}

/// The Teams block (2020–2023 add-in template), as (plain text, HTML).
fn teams_block(link: &TeamsLink, c: &OldCoordinates) -> (String, String) {
    let sep = "_".repeat(80);
    let id = &c.conference_id;
    let (toll, city) = &c.toll;
    let dialin = format!("https://dialin.teams.microsoft.com/{}?id={id}", c.bridge);
    let mut text = format!(
        "{sep}\nMicrosoft Teams meeting\nJoin on your computer, mobile app or room device\nClick here to join the meeting<{}>\nDownload Teams<https://www.microsoft.com/en-us/microsoft-teams/download-app> | Join on the web<https://www.microsoft.com/microsoft-teams/join-a-meeting>\nOr call in (audio only)\n{toll},,{id}#<tel:{},,{id}#>   {city}\n",
        link.join_url,
        tel(toll)
    );
    if let Some((tf, tf_city)) = &c.toll_free {
        text.push_str(&format!(
            "{tf},,{id}#<tel:{},,{id}#>   {tf_city} (Toll-free)\n",
            tel(tf)
        ));
    }
    text.push_str(&format!(
        "Phone Conference ID: {}#\nFind a local number<{dialin}> | Reset PIN<https://dialin.teams.microsoft.com/usp/pstnconferencing>\nLearn More<https://aka.ms/JoinTeamsMeeting> | Meeting options<{}>\n{sep}",
        spaced_id(id),
        link.options_url
    ));
    let span_sep = format!(
        "<div style=\"width:100%;height:20px;\"><span style=\"white-space:nowrap;color:#5F5F5F;opacity:.36;\">{sep}</span></div>"
    );
    let mut html = format!(
        "{span_sep}<div class=\"me-email-text\" lang=\"en-US\" style=\"color:#252424;font-family:'Segoe UI','Helvetica Neue',Helvetica,Arial,sans-serif;\"><div style=\"margin-top:24px;margin-bottom:20px;\"><span style=\"font-size:24px;color:#252424\">Microsoft Teams meeting</span></div><div style=\"margin-bottom:20px;\"><div style=\"margin-top:0px;margin-bottom:0px;font-weight:bold\"><span style=\"font-size:14px;color:#252424\">Join on your computer, mobile app or room device</span></div><a class=\"me-email-headline\" href=\"{}\" target=\"_blank\" rel=\"noreferrer noopener\" style=\"font-size:14px;font-family:'Segoe UI Semibold','Segoe UI','Helvetica Neue',Helvetica,Arial,sans-serif;text-decoration:underline;color:#6264a7;\">Click here to join the meeting</a></div><div style=\"margin-bottom:24px;margin-top:20px;\"><div style=\"margin-bottom:4px;font-weight:bold\"><span style=\"font-size:14px;color:#252424\">Or call in (audio only)</span></div><div style=\"margin-bottom:4px\"><a class=\"me-email-link\" style=\"font-size:14px;text-decoration:underline;color:#6264a7;\" href=\"tel:{},,{id}#\" target=\"_blank\" rel=\"noreferrer noopener\">{},,{id}#</a><span style=\"font-size:14px;color:#252424\">&nbsp;&nbsp; {} </span></div>",
        html_escape(&link.join_url),
        tel(toll),
        html_escape(toll),
        html_escape(city)
    );
    if let Some((tf, tf_city)) = &c.toll_free {
        html.push_str(&format!(
            "<div style=\"margin-bottom:4px\"><a class=\"me-email-link\" style=\"font-size:14px;text-decoration:underline;color:#6264a7;\" href=\"tel:{},,{id}#\" target=\"_blank\" rel=\"noreferrer noopener\">{},,{id}#</a><span style=\"font-size:14px;color:#252424\">&nbsp;&nbsp; {} (Toll-free)</span></div>",
            tel(tf),
            html_escape(tf),
            html_escape(tf_city)
        ));
    }
    html.push_str(&format!(
        "<div style=\"margin-bottom:4px\"><span style=\"font-size:12px;color:#252424\">Phone Conference ID: </span><span style=\"font-size:14px;color:#252424\">{}# </span></div><a class=\"me-email-link\" style=\"font-size:14px;text-decoration:underline;color:#6264a7;\" target=\"_blank\" href=\"{}\" rel=\"noreferrer noopener\">Find a local number</a> | <a class=\"me-email-link\" style=\"font-size:14px;text-decoration:underline;color:#6264a7;\" target=\"_blank\" href=\"https://dialin.teams.microsoft.com/usp/pstnconferencing\" rel=\"noreferrer noopener\">Reset PIN</a></div><div style=\"margin-top:24px;margin-bottom:20px;\"><a class=\"me-email-link\" target=\"_blank\" href=\"https://aka.ms/JoinTeamsMeeting\" rel=\"noreferrer noopener\">Learn More</a> | <a class=\"me-email-link\" target=\"_blank\" href=\"{}\" rel=\"noreferrer noopener\">Meeting options</a></div></div>{span_sep}",
        spaced_id(id),
        html_escape(&dialin),
        html_escape(&link.options_url)
    ));
    (text, html)
}

/// The Skype for Business Online block (add-in template), as (plain text, HTML).
fn skype_block(meet_url: &str, c: &OldCoordinates) -> (String, String) {
    let dots = ".".repeat(137);
    let id = &c.conference_id;
    let (toll, city) = &c.toll;
    let dialin = format!("https://dialin.lync.com/{}?id={id}", c.bridge);
    let text = format!(
        "{}\n{}\n--> Join Skype Meeting<{meet_url}>\nTrouble Joining? Try Skype Web App<{meet_url}?sl=1>\nJoin by phone\n\n{toll} ({city})            English (United States)\n\nFind a local number<{dialin}>\n\nConference ID: {id}\nForgot your dial-in PIN?<https://dialin.lync.com/{}> |Help<https://o15.officeredir.microsoft.com/r/rlidLync15?clid=1033&p1=5&p2=2009>\n\n[!OC([1033])!]\n{}\n{}",
        &dots[..71],
        &dots[71..],
        c.bridge,
        &dots[..71],
        &dots[71..]
    );
    let html = format!(
        "<div><p class=\"MsoNormal\"><span style=\"font-size:8.0pt;color:#404040\">{dots}</span></p><p class=\"MsoNormal\"><a name=\"OutJoinLink\"><span style=\"font-size:14.0pt;font-family:Wingdings;color:#0066CC\">&#224;</span></a><a href=\"{u}\"><span style=\"font-size:16.0pt;color:#0066CC\">Join Skype Meeting</span></a><span style=\"font-size:14.0pt\">&nbsp;<a name=\"OutSharedNoteBorder\">&nbsp;</a>&nbsp;&nbsp;<a name=\"OutSharedNoteLink\">&nbsp;</a></span></p><p class=\"MsoNormal\"><span style=\"font-size:10.0pt\">Trouble Joining? <a href=\"{u}?sl=1\">Try Skype Web App</a></span></p><p class=\"MsoNormal\"><span style=\"font-size:10.0pt\">Join by phone</span></p><p class=\"MsoNormal\"><span style=\"font-size:10.0pt\"><a href=\"tel:{t}\">{tt}</a> ({cc})</span></p><p class=\"MsoNormal\"><a href=\"{d}\"><span style=\"font-size:10.0pt\">Find a local number</span></a></p><p class=\"MsoNormal\"><span style=\"font-size:10.0pt\">Conference ID: {id}</span></p><p class=\"MsoNormal\"><a href=\"https://o15.officeredir.microsoft.com/r/rlidLync15?clid=1033&amp;p1=5&amp;p2=2009\"><span style=\"font-size:8.0pt\">Help</span></a></p><p class=\"MsoNormal\"><sub><span lang=\"EN\" style=\"font-size:1.0pt;color:white\">[!OC([1033])!]</span></sub></p><p class=\"MsoNormal\"><span style=\"font-size:8.0pt;color:#404040\">{dots}</span></p></div>",
        u = html_escape(meet_url),
        t = tel(toll),
        tt = html_escape(toll),
        cc = html_escape(city),
        d = html_escape(&dialin),
    );
    (text, html)
}

const PACIFIC: &str = "Pacific Standard Time";

const VTIMEZONE_PACIFIC: &[&str] = &[
    "BEGIN:VTIMEZONE",
    "TZID:Pacific Standard Time",
    "BEGIN:STANDARD",
    "DTSTART:16011104T020000",
    "RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11",
    "TZOFFSETFROM:-0700",
    "TZOFFSETTO:-0800",
    "END:STANDARD",
    "BEGIN:DAYLIGHT",
    "DTSTART:16010311T020000",
    "RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3",
    "TZOFFSETFROM:-0800",
    "TZOFFSETTO:-0700",
    "END:DAYLIGHT",
    "END:VTIMEZONE",
];

fn local(t: DateTime<Utc>) -> String {
    let l = chrono_tz::America::Los_Angeles.from_utc_datetime(&t.naive_utc());
    l.format("%Y%m%dT%H%M%S").to_string()
}

fn utc_text(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A start time `days` from `now`, at `hour`:00 Pacific time.
fn at(now: DateTime<Utc>, days: i64, hour: u32) -> DateTime<Utc> {
    let day = (now + Duration::days(days)).date_naive();
    let naive = NaiveDateTime::new(
        day,
        chrono::NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default(),
    );
    match chrono_tz::America::Los_Angeles
        .from_local_datetime(&naive)
        .earliest()
    {
        Some(t) => t.with_timezone(&Utc),
        None => Utc.from_utc_datetime(&naive),
    }
}

struct EventSpec<'a> {
    uid: &'a str,
    organizer: (&'a str, &'a str),
    attendees: &'a [(String, String)],
    summary: &'a str,
    intro: &'a str,
    start: DateTime<Utc>,
    minutes: i64,
    rrule: Option<String>,
    exdate: Option<DateTime<Utc>>,
    recurrence_id: Option<DateTime<Utc>>,
    block: Option<&'a (String, String)>,
    x_props: &'a [String],
    location: &'a str,
    status: &'a str,
    sequence: u32,
    stamp: DateTime<Utc>,
}

fn event_lines(e: &EventSpec, lines: &mut Vec<String>) {
    lines.push("BEGIN:VEVENT".into());
    for (addr, name) in e.attendees {
        lines.push(format!(
            "ATTENDEE;CN=\"{name}\";ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:{addr}"
        ));
    }
    lines.push("CLASS:PUBLIC".into());
    lines.push(format!("CREATED:{}", utc_text(e.stamp)));
    let mut text = e.intro.to_string();
    let mut html_body = format!(
        "<p class=\"MsoNormal\">{}</p>",
        html_escape(e.intro).replace('\n', "<br>")
    );
    if let Some((t, h)) = e.block {
        text.push_str("\n\n");
        text.push_str(t);
        text.push_str("\n\nMerci / Thanks — see you there ☕\n");
        html_body.push_str(h);
        html_body.push_str("<p class=\"MsoNormal\">Merci / Thanks — see you there ☕</p>");
    }
    lines.push(format!("DESCRIPTION;LANGUAGE=en-US:{}", escape_text(&text)));
    lines.push(format!(
        "DTEND;TZID=\"{PACIFIC}\":{}",
        local(e.start + Duration::minutes(e.minutes))
    ));
    lines.push(format!("DTSTAMP:{}", utc_text(e.stamp)));
    lines.push(format!("DTSTART;TZID=\"{PACIFIC}\":{}", local(e.start)));
    if let Some(x) = e.exdate {
        lines.push(format!("EXDATE;TZID=\"{PACIFIC}\":{}", local(x)));
    }
    lines.push(format!("LAST-MODIFIED:{}", utc_text(e.stamp)));
    lines.push(format!(
        "LOCATION;LANGUAGE=en-US:{}",
        escape_text(e.location)
    ));
    lines.push(format!(
        "ORGANIZER;CN=\"{}\":mailto:{}",
        e.organizer.1, e.organizer.0
    ));
    lines.push("PRIORITY:5".into());
    if let Some(r) = e.recurrence_id {
        lines.push(format!("RECURRENCE-ID;TZID=\"{PACIFIC}\":{}", local(r)));
    }
    if let Some(r) = &e.rrule {
        lines.push(format!("RRULE:{r}"));
    }
    lines.push(format!("SEQUENCE:{}", e.sequence));
    lines.push(format!("STATUS:{}", e.status));
    lines.push(format!("SUMMARY;LANGUAGE=en-US:{}", escape_text(e.summary)));
    lines.push("TRANSP:OPAQUE".into());
    lines.push(format!("UID:{}", e.uid));
    lines.push(format!(
        "X-ALT-DESC;FMTTYPE=text/html:{}",
        escape_text(&format!(
            "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"></head><body lang=\"EN-US\"><div class=\"WordSection1\">{html_body}</div></body></html>"
        ))
    ));
    lines.push(format!("X-MICROSOFT-CDO-APPT-SEQUENCE:{}", e.sequence));
    lines.push("X-MICROSOFT-CDO-BUSYSTATUS:BUSY".into());
    lines.push("X-MICROSOFT-CDO-IMPORTANCE:1".into());
    lines.push("X-MICROSOFT-DISALLOW-COUNTER:FALSE".into());
    lines.extend(e.x_props.iter().cloned());
    lines.push("BEGIN:VALARM".into());
    lines.push("ACTION:DISPLAY".into());
    lines.push("DESCRIPTION:Reminder".into());
    lines.push("TRIGGER:-PT15M".into());
    lines.push("END:VALARM".into());
    lines.push("END:VEVENT".into());
}

fn calendar_bytes(events: &[EventSpec]) -> Vec<u8> {
    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN".into(),
        "VERSION:2.0".into(),
    ];
    lines.extend(VTIMEZONE_PACIFIC.iter().map(|s| s.to_string()));
    for e in events {
        event_lines(e, &mut lines);
    }
    lines.push("END:VCALENDAR".into());
    let mut out = Vec::with_capacity(lines.len() * 80);
    for l in &lines {
        fold_line(l, &mut out);
    }
    out
}

fn exchange_uid(organizer: &User, n: u32) -> String {
    let h = Uuid::new_v5(&organizer.object_id, format!("meeting-{n}").as_bytes()).simple();
    format!(
        "040000008200E00074C5B7101A82E00800000000{}{n:08X}",
        &h.to_string().to_uppercase()[..16]
    )
}

fn teams_x_props(user: &User, link: &TeamsLink, c: &OldCoordinates) -> Vec<String> {
    vec![
        format!("X-MICROSOFT-SKYPETEAMSMEETINGURL:{}", link.join_url),
        format!(
            "X-MICROSOFT-SKYPETEAMSPROPERTIES:{{\"cid\":\"{}\"\\,\"private\":true\\,\"type\":0\\,\"mid\":0\\,\"rid\":0\\,\"uid\":null}}",
            link.thread
        ),
        format!(
            "X-MICROSOFT-ONLINEMEETINGCONFLINK:conf:sip:{}\\;gruu\\;opaque=app:conf:focus:id:teams:2:0!{}!{}!{}",
            user.sip_address,
            link.thread.replace("@thread", "-thread"),
            user.object_id.simple(),
            TENANT_ID.simple()
        ),
        "X-MICROSOFT-ONLINEMEETINGINFORMATION:{\"OnlineMeetingChannelId\":null\\,\"OnlineMeetingProvider\":3}".to_string(),
        format!("X-MICROSOFT-ONLINEMEETINGCONFERENCEID:{}", c.conference_id),
        format!("X-MICROSOFT-ONLINEMEETINGTOLLNUMBER:{}", c.toll.0),
        "X-MICROSOFT-LOCATIONDISPLAYNAME:Microsoft Teams Meeting".to_string(),
    ]
}

fn skype_x_props(user: &User, meet_url: &str, c: &OldCoordinates) -> Vec<String> {
    vec![
        format!("X-MICROSOFT-ONLINEMEETINGEXTERNALLINK:{meet_url}"),
        format!(
            "X-MICROSOFT-ONLINEMEETINGCONFLINK:conf:sip:{}\\;gruu\\;opaque=app:conf:focus:id:{}",
            user.sip_address,
            meet_url.rsplit('/').next().unwrap_or_default()
        ),
        format!("X-MICROSOFT-ONLINEMEETINGCONFERENCEID:{}", c.conference_id),
        format!("X-MICROSOFT-ONLINEMEETINGTOLLNUMBER:{}", c.toll.0),
    ]
}

fn people(prefix: &str, n: usize, domain: &str) -> Vec<(String, String)> {
    (1..=n)
        .map(|i| {
            (
                format!("{prefix}{i:03}@{domain}"),
                format!("Attendee {i:03}"),
            )
        })
        .collect()
}

/// The calendar of `user` (organizer of most of it), generated relative to `now`.
/// `others` are colleagues whose meetings appear in it (organized by someone else, copy-paste).
pub fn sample_calendar(
    user: &User,
    tenant: &SampleTenant,
    others: &[&User],
    now: DateTime<Utc>,
) -> Vec<SampleMeeting> {
    let c = old_coordinates(user, tenant);
    let me = (
        user.user_principal_name.as_str(),
        user.display_name.as_str(),
    );
    // A stamp a month back, whole seconds.
    let stamp = (now - Duration::days(30)).with_nanosecond(0).unwrap_or(now);
    let colleague = others.first().copied().unwrap_or(user);
    let team: Vec<(String, String)> = others
        .iter()
        .map(|u| (u.user_principal_name.clone(), u.display_name.clone()))
        .chain([
            (
                "lucia.garcia@fabrikam.com".to_string(),
                "Lucía García".to_string(),
            ),
            (
                "tanaka.yuki@fabrikam.co.jp".to_string(),
                "田中 由紀".to_string(),
            ),
        ])
        .collect();
    let is_teams = user.meeting_kind == MeetingKind::Teams;
    let block_for = |n: u32| -> ((String, String), Vec<String>) {
        if is_teams {
            let link = teams_link(user.object_id, &format!("{n}"));
            (teams_block(&link, &c), teams_x_props(user, &link, &c))
        } else {
            let alias = user.user_principal_name.split('@').next().unwrap_or("user");
            let meet_url = format!(
                "https://meet.lync.com/contoso/{alias}/{}",
                &Uuid::new_v5(&user.object_id, format!("{n}").as_bytes())
                    .simple()
                    .to_string()[..8]
                    .to_uppercase()
            );
            (
                skype_block(&meet_url, &c),
                skype_x_props(user, &meet_url, &c),
            )
        }
    };
    let location = if is_teams {
        "Microsoft Teams Meeting"
    } else {
        "Skype Meeting"
    };
    let mut out = Vec::new();
    let mut push =
        |kind: SampleKind, n: u32, attendees: &[(String, String)], events: Vec<EventSpec>| {
            let uid = events
                .first()
                .map(|e| e.uid.to_string())
                .unwrap_or_default();
            out.push(SampleMeeting {
                file_name: format!("{:02}-{}.ics", n, kind_slug(kind)),
                uid,
                kind,
                attendees: attendees.iter().map(|a| a.0.clone()).collect(),
                data: calendar_bytes(&events),
            });
        };
    let base = |uid: &'static str| uid; // keeps the closures below readable
    let _ = base;

    // 1. Past single meeting: ended yesterday.
    {
        let (block, x) = block_for(1);
        let uid = exchange_uid(user, 1);
        let e = EventSpec {
            uid: &uid,
            organizer: me,
            attendees: &team,
            summary: "Retrospective Q3",
            intro: "Notes from last quarter.\nÀ bientôt — café afterwards.",
            start: at(now, -1, 10),
            minutes: 60,
            rrule: None,
            exdate: None,
            recurrence_id: None,
            block: Some(&block),
            x_props: &x,
            location,
            status: "CONFIRMED",
            sequence: 0,
            stamp,
        };
        push(SampleKind::PastSingle, 1, &team, vec![e]);
    }
    // 2. Future single meeting, Unicode around the block.
    {
        let (block, x) = block_for(2);
        let uid = exchange_uid(user, 2);
        let e = EventSpec {
            uid: &uid,
            organizer: me,
            attendees: &team,
            summary: "Planning: Réunion d'équipe 🚀",
            intro: "Agenda / Ordre du jour:\n1. Budget — revue (½ heure)\n2. 日本語のメモ\n3. مرحبا بالجميع\nZoë's naïve café ☕ e\u{301}",
            start: at(now, 3, 9),
            minutes: 30,
            rrule: None,
            exdate: None,
            recurrence_id: None,
            block: Some(&block),
            x_props: &x,
            location,
            status: "CONFIRMED",
            sequence: 0,
            stamp,
        };
        push(SampleKind::FutureSingle, 2, &team, vec![e]);
    }
    // 3. Weekly series that started three weeks ago, one exception and one moved instance.
    {
        let (block, x) = block_for(3);
        let uid = exchange_uid(user, 3);
        let first = at(now, -21, 11);
        let until = first + Duration::weeks(12);
        let exdate = first + Duration::weeks(5);
        let moved = first + Duration::weeks(6);
        let rrule = format!(
            "FREQ=WEEKLY;UNTIL={};INTERVAL=1;BYDAY={};WKST=SU",
            utc_text(until),
            weekday_code(first)
        );
        let master = EventSpec {
            uid: &uid,
            organizer: me,
            attendees: &team,
            summary: "Weekly sync",
            intro: "Standing weekly sync.\nPlease update the tracker before the call.",
            start: first,
            minutes: 45,
            rrule: Some(rrule),
            exdate: Some(exdate),
            recurrence_id: None,
            block: Some(&block),
            x_props: &x,
            location,
            status: "CONFIRMED",
            sequence: 2,
            stamp,
        };
        let over = EventSpec {
            uid: &uid,
            organizer: me,
            attendees: &team,
            summary: "Weekly sync (moved: offsite)",
            intro: "Moved one hour later this week — Straße 5, 2nd floor.",
            start: moved + Duration::hours(1),
            minutes: 45,
            rrule: None,
            exdate: None,
            recurrence_id: Some(moved),
            block: Some(&block),
            x_props: &x,
            location,
            status: "CONFIRMED",
            sequence: 2,
            stamp,
        };
        push(
            SampleKind::RecurringWithOverride,
            3,
            &team,
            vec![master, over],
        );
    }
    // 4. Series that ended last week.
    {
        let (block, x) = block_for(4);
        let uid = exchange_uid(user, 4);
        let first = at(now, -70, 15);
        let e = EventSpec {
            uid: &uid,
            organizer: me,
            attendees: &team,
            summary: "Onboarding series",
            intro: "Onboarding sessions (finished).",
            start: first,
            minutes: 60,
            rrule: Some(format!(
                "FREQ=WEEKLY;UNTIL={}",
                utc_text(first + Duration::weeks(8) + Duration::hours(1))
            )),
            exdate: None,
            recurrence_id: None,
            block: Some(&block),
            x_props: &x,
            location,
            status: "CONFIRMED",
            sequence: 0,
            stamp,
        };
        push(SampleKind::EndedSeries, 4, &team, vec![e]);
    }
    // 5. All-hands with 260 attendees: more than 250 including the organizer.
    {
        let (block, x) = block_for(5);
        let uid = exchange_uid(user, 5);
        let crowd = people("employee", 260, DOMAIN);
        let e = EventSpec {
            uid: &uid,
            organizer: me,
            attendees: &crowd,
            summary: "All hands",
            intro: "Quarterly all-hands.",
            start: at(now, 10, 8),
            minutes: 90,
            rrule: None,
            exdate: None,
            recurrence_id: None,
            block: Some(&block),
            x_props: &x,
            location,
            status: "CONFIRMED",
            sequence: 0,
            stamp,
        };
        push(SampleKind::LargeAudience, 5, &crowd, vec![e]);
    }
    // 6. Training with 120 attendees (under the limit).
    {
        let (block, x) = block_for(6);
        let uid = exchange_uid(user, 6);
        let crowd = people("trainee", 120, "fabrikam.com");
        let e = EventSpec {
            uid: &uid,
            organizer: me,
            attendees: &crowd,
            summary: "Partner training",
            intro: "Training for partners. Bring questions!",
            start: at(now, 14, 13),
            minutes: 120,
            rrule: None,
            exdate: None,
            recurrence_id: None,
            block: Some(&block),
            x_props: &x,
            location,
            status: "CONFIRMED",
            sequence: 1,
            stamp,
        };
        push(SampleKind::ManyAttendees, 6, &crowd, vec![e]);
    }
    // 7. A block copy-pasted from a colleague's meeting into one of ours (no add-in markers).
    {
        let cc = old_coordinates(colleague, tenant);
        let link = teams_link(colleague.object_id, "pasted");
        let block = teams_block(&link, &cc);
        let uid = exchange_uid(user, 7);
        let e = EventSpec {
            uid: &uid,
            organizer: me,
            attendees: &team,
            summary: "Coffee chat (link from Dana's meeting)",
            intro: "Reusing the link from the other meeting:",
            start: at(now, 5, 16),
            minutes: 30,
            rrule: None,
            exdate: None,
            recurrence_id: None,
            block: Some(&block),
            x_props: &[],
            location: "Microsoft Teams Meeting",
            status: "CONFIRMED",
            sequence: 0,
            stamp,
        };
        push(SampleKind::CopyPastedBlock, 7, &team, vec![e]);
    }
    // 8. A meeting a colleague organizes, in our calendar as an attendee.
    {
        let cc = old_coordinates(colleague, tenant);
        let link = teams_link(colleague.object_id, "theirs");
        let block = teams_block(&link, &cc);
        let x = teams_x_props(colleague, &link, &cc);
        let uid = exchange_uid(colleague, 8);
        let attendees = vec![(me.0.to_string(), me.1.to_string())];
        let e = EventSpec {
            uid: &uid,
            organizer: (
                colleague.user_principal_name.as_str(),
                colleague.display_name.as_str(),
            ),
            attendees: &attendees,
            summary: "1:1",
            intro: "Monthly one-on-one.",
            start: at(now, 7, 14),
            minutes: 30,
            rrule: None,
            exdate: None,
            recurrence_id: None,
            block: Some(&block),
            x_props: &x,
            location: "Microsoft Teams Meeting",
            status: "CONFIRMED",
            sequence: 0,
            stamp,
        };
        push(SampleKind::OrganizedBySomeoneElse, 8, &attendees, vec![e]);
    }
    // 9. Cancelled future meeting.
    {
        let (block, x) = block_for(9);
        let uid = exchange_uid(user, 9);
        let e = EventSpec {
            uid: &uid,
            organizer: me,
            attendees: &team,
            summary: "Canceled: Vendor demo",
            intro: "Cancelled by the vendor.",
            start: at(now, 4, 10),
            minutes: 60,
            rrule: None,
            exdate: None,
            recurrence_id: None,
            block: Some(&block),
            x_props: &x,
            location,
            status: "CANCELLED",
            sequence: 1,
            stamp,
        };
        push(SampleKind::Cancelled, 9, &team, vec![e]);
    }
    // 10. In-person meeting, no online block.
    {
        let uid = exchange_uid(user, 10);
        let e = EventSpec {
            uid: &uid,
            organizer: me,
            attendees: &team,
            summary: "Lunch & learn",
            intro: "In person, room 4.2 — pizza provided 🍕",
            start: at(now, 6, 12),
            minutes: 60,
            rrule: None,
            exdate: None,
            recurrence_id: None,
            block: None,
            x_props: &[],
            location: "Building 4, Room 4.2",
            status: "CONFIRMED",
            sequence: 0,
            stamp,
        };
        push(SampleKind::NoOnlineBlock, 10, &team, vec![e]);
    }
    out
}

/// The sample tenant written into a store: bridges and users provisioned through the engine
/// (no trigger), every user's calendar imported into the embedded calendars.
pub struct SeededTenant {
    pub tenant: SampleTenant,
    /// Per user (UPN): the generated meetings, as imported.
    pub calendars: Vec<(String, Vec<SampleMeeting>)>,
}

/// Provisions the sample tenant into `engine` and imports each user's calendar through `conn`
/// (a connection to the same store file).
pub fn seed(
    engine: &super::Engine,
    conn: &rusqlite::Connection,
    now: DateTime<Utc>,
) -> Result<SeededTenant, String> {
    let tenant = sample_tenant();
    for b in &tenant.bridges {
        engine.upsert_bridge(b.clone()).map_err(|e| e.to_string())?;
    }
    for u in &tenant.users {
        engine.upsert_user(u.clone()).map_err(|e| e.to_string())?;
    }
    let mut calendars = Vec::new();
    for (i, u) in tenant.users.iter().enumerate() {
        // Colleagues: the next users round the list (the first one's meetings show up as
        // "organized by someone else" and as the source of a copy-pasted block).
        let others: Vec<&User> = (1..tenant.users.len())
            .map(|k| &tenant.users[(i + k) % tenant.users.len()])
            .collect();
        let meetings = sample_calendar(u, &tenant, &others, now);
        for m in &meetings {
            crate::store::calendars::import_object(
                conn,
                &u.user_principal_name,
                "calendar",
                &m.file_name,
                &m.uid,
                &m.data,
                now,
            )
            .map_err(|e| e.to_string())?;
        }
        calendars.push((u.user_principal_name.clone(), meetings));
    }
    Ok(SeededTenant { tenant, calendars })
}

fn weekday_code(t: DateTime<Utc>) -> &'static str {
    let l = chrono_tz::America::Los_Angeles.from_utc_datetime(&t.naive_utc());
    match l.weekday() {
        chrono::Weekday::Mon => "MO",
        chrono::Weekday::Tue => "TU",
        chrono::Weekday::Wed => "WE",
        chrono::Weekday::Thu => "TH",
        chrono::Weekday::Fri => "FR",
        chrono::Weekday::Sat => "SA",
        chrono::Weekday::Sun => "SU",
    }
}

fn kind_slug(k: SampleKind) -> &'static str {
    match k {
        SampleKind::PastSingle => "past-single",
        SampleKind::FutureSingle => "future-single",
        SampleKind::RecurringWithOverride => "recurring-with-override",
        SampleKind::EndedSeries => "ended-series",
        SampleKind::LargeAudience => "over-250-attendees",
        SampleKind::ManyAttendees => "120-attendees",
        SampleKind::CopyPastedBlock => "copy-pasted-block",
        SampleKind::OrganizedBySomeoneElse => "organized-by-someone-else",
        SampleKind::Cancelled => "cancelled",
        SampleKind::NoOnlineBlock => "no-online-block",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_lines_are_folded_at_75_octets_on_char_boundaries() {
        let t = sample_tenant();
        let now = Utc::now();
        let others: Vec<&User> = t.users.iter().skip(1).collect();
        for m in sample_calendar(&t.users[0], &t, &others, now) {
            let text = std::str::from_utf8(&m.data).expect("utf-8");
            for l in text.split("\r\n") {
                assert!(l.len() <= 75, "{} > 75: {l}", l.len());
            }
            assert!(text.starts_with("BEGIN:VCALENDAR\r\n"));
            assert!(text.ends_with("END:VCALENDAR\r\n"));
        }
    }

    #[test]
    fn escape_text_escapes_the_four_specials() {
        assert_eq!(escape_text("a;b,c\\d\ne"), "a\\;b\\,c\\\\d\\ne");
    }
}
