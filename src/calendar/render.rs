//! Rendering a new online-meeting block from the organizer's coordinates.
//!
//! The output keeps the add-in's structure (separator rows, the join link, Teams `me-email-*`
//! markup or the Skype `OutJoinLink` anchor and `[!OC([1033])!]` marker) so that a later run
//! recognises it as an add-in block and sees that it is already up to date. Every piece of
//! user-controlled text (cities, numbers, URLs) is escaped for HTML; URLs were validated before
//! (http(s) only, no quotes, angle brackets or whitespace).

use crate::model::{DialInNumber, MeetingCoordinates, MeetingKind};

const TEAMS_SEPARATOR: &str =
    "________________________________________________________________________________";
const SKYPE_SEPARATOR_LEN: usize = 137;
const TEAMS_HELP_URL: &str = "https://aka.ms/JoinTeamsMeeting";
const SKYPE_HELP_URL: &str = "https://go.microsoft.com/fwlink/?LinkId=389737";

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    push_html_escaped(&mut out, s);
    out
}

/// Appends `s` escaped for HTML element content and attribute values.
pub(super) fn push_html_escaped(out: &mut String, s: &str) {
    // Every character that needs escaping is ASCII, so runs between them are found sixteen
    // bytes at a time and copied whole (a whole text body goes through here for a meeting
    // without an HTML one).
    let bytes = s.as_bytes();
    let mut run = 0;
    while let Some(p) = super::lines::find_byte_in(&bytes[run..], b"&<>\"'") {
        let i = run + p;
        let entity = match bytes[i] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        };
        out.push_str(&s[run..i]);
        out.push_str(entity);
        run = i + 1;
    }
    out.push_str(&s[run..]);
}

/// Every control character (CR, LF, TAB, ...) as a space: no line break may sneak into a plain
/// body from a city name, nor into a mail header from calendar data.
pub(super) fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_one_line(&mut out, s);
    out
}

/// Appends `s` with every control character as a space (see [`one_line`]).
fn push_one_line(out: &mut String, s: &str) {
    out.extend(s.chars().map(|c| if c.is_control() { ' ' } else { c }));
}

/// Appends the digits and `+` of `+1 323-555-0166` (`+13235550166`) for tel: links.
fn push_dial_string(out: &mut String, number: &str) {
    out.extend(number.chars().filter(|c| c.is_ascii_digit() || *c == '+'));
}

/// `123456789` → `123 456 789` (Microsoft groups conference IDs by three).
pub fn group_digits(id: &str) -> String {
    let mut out = String::with_capacity(id.len() + id.len() / 3);
    for (k, d) in id.chars().filter(|c| c.is_ascii_digit()).enumerate() {
        if k > 0 && k % 3 == 0 {
            out.push(' ');
        }
        out.push(d);
    }
    out
}

fn conf_digits(c: &MeetingCoordinates) -> String {
    c.conference_id
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect()
}

fn numbers(c: &MeetingCoordinates) -> impl Iterator<Item = (&DialInNumber, bool)> {
    c.toll_numbers
        .iter()
        .map(|n| (n, false))
        .chain(c.toll_free_numbers.iter().map(|n| (n, true)))
}

/// A block being written: lines joined by the body's line break, into one buffer.
struct BlockWriter<'n> {
    out: String,
    nl: &'n str,
    started: bool,
}

impl<'n> BlockWriter<'n> {
    fn new(nl: &'n str) -> Self {
        BlockWriter {
            out: String::with_capacity(4096),
            nl,
            started: false,
        }
    }

    /// Starts a new line (the line break goes between lines, none after the last).
    fn line(&mut self) -> &mut String {
        if self.started {
            self.out.push_str(self.nl);
        }
        self.started = true;
        &mut self.out
    }

    /// A line of literal pieces.
    fn pieces(&mut self, pieces: &[&str]) {
        let out = self.line();
        for p in pieces {
            out.push_str(p);
        }
    }
}

/// The block as plain text, lines joined by `nl`, from opening to closing separator (no
/// trailing line break).
pub fn render_text(c: &MeetingCoordinates, nl: &str) -> String {
    let mut w = BlockWriter::new(nl);
    let conf = conf_digits(c);
    let has_dial_in = numbers(c).next().is_some();
    match c.meeting_kind {
        MeetingKind::Teams => {
            w.pieces(&[TEAMS_SEPARATOR]);
            w.pieces(&["Microsoft Teams meeting"]);
            w.pieces(&["Join on your computer, mobile app or room device"]);
            w.pieces(&["Click here to join the meeting<", &c.join_url, ">"]);
            if has_dial_in {
                w.pieces(&["Or call in (audio only)"]);
                for (n, free) in numbers(c) {
                    let l = w.line();
                    push_one_line(l, &n.number);
                    l.push_str(",,");
                    l.push_str(&conf);
                    l.push_str("#<tel:");
                    push_dial_string(l, &n.number);
                    if !conf.is_empty() {
                        l.push_str(",,");
                        l.push_str(&conf);
                        l.push('#');
                    }
                    l.push_str(">   ");
                    push_one_line(l, &n.city);
                    if free {
                        l.push_str(" (Toll-free)");
                    }
                }
                if !conf.is_empty() {
                    w.pieces(&["Phone Conference ID: ", &group_digits(&conf), "#"]);
                }
            }
            if let Some(u) = &c.find_local_number_url {
                w.pieces(&["Find a local number<", u, ">"]);
            }
            match &c.meeting_options_url {
                Some(u) => w.pieces(&[
                    "Learn More<",
                    TEAMS_HELP_URL,
                    "> | Meeting options<",
                    u,
                    ">",
                ]),
                None => w.pieces(&["Learn More<", TEAMS_HELP_URL, ">"]),
            }
            w.pieces(&[TEAMS_SEPARATOR]);
        }
        MeetingKind::SkypeForBusiness => {
            let sep = ".".repeat(SKYPE_SEPARATOR_LEN);
            w.pieces(&[&sep]);
            w.pieces(&["Join Skype Meeting<", &c.join_url, ">"]);
            w.pieces(&["Trouble Joining? Try Skype Web App<", &c.join_url, "?sl=1>"]);
            if has_dial_in {
                w.pieces(&["Join by phone"]);
                for (n, free) in numbers(c) {
                    let l = w.line();
                    l.push_str(if free {
                        "Toll-free number: "
                    } else {
                        "Toll number: "
                    });
                    push_one_line(l, &n.number);
                    l.push_str("<tel:");
                    push_dial_string(l, &n.number);
                    l.push_str(">   ");
                    push_one_line(l, &n.city);
                }
            }
            if let Some(u) = &c.find_local_number_url {
                w.pieces(&["Find a local number<", u, ">"]);
            }
            if !conf.is_empty() {
                w.pieces(&["Conference ID: ", &conf]);
            }
            if let Some(u) = &c.meeting_options_url {
                w.pieces(&["Meeting options<", u, ">"]);
            }
            w.pieces(&["Help<", SKYPE_HELP_URL, ">"]);
            w.pieces(&["[!OC([1033])!]"]);
            w.pieces(&[&sep]);
        }
    }
    w.out
}

/// The block as HTML: self-contained, balanced elements, from the opening separator's element
/// to the closing one's.
pub fn render_html(c: &MeetingCoordinates, nl: &str) -> String {
    const TEAMS_LINK_STYLE: &str = "\" target=\"_blank\" rel=\"noreferrer noopener\" style=\"font-size:14px;text-decoration:underline;color:#6264a7\">";
    let conf = conf_digits(c);
    let join = html_escape(&c.join_url);
    let mut w = BlockWriter::new(nl);
    match c.meeting_kind {
        MeetingKind::Teams => {
            let sep = "<div style=\"width:100%;height:20px\"><span style=\"white-space:nowrap;color:#5F5F5F;opacity:.36\">";
            w.pieces(&[sep, TEAMS_SEPARATOR, "</span></div>"]);
            w.pieces(&["<div class=\"me-email-text\" style=\"color:#252424;font-family:'Segoe UI','Helvetica Neue',Helvetica,Arial,sans-serif\">"]);
            w.pieces(&["<div style=\"margin-top:24px;margin-bottom:20px\"><span style=\"font-size:24px;color:#252424\">Microsoft Teams meeting</span></div>"]);
            w.pieces(&["<div style=\"margin-bottom:20px\"><div style=\"margin-top:0px;margin-bottom:0px;font-weight:bold\"><span style=\"font-size:14px;color:#252424\">Join on your computer, mobile app or room device</span></div>"]);
            w.pieces(&[
                "<a class=\"me-email-headline\" href=\"",
                &join,
                "\" target=\"_blank\" rel=\"noreferrer noopener\" style=\"font-size:14px;font-family:'Segoe UI Semibold','Segoe UI','Helvetica Neue',Helvetica,Arial,sans-serif;text-decoration:underline;color:#6264a7\">Click here to join the meeting</a></div>",
            ]);
            if numbers(c).next().is_some() {
                w.pieces(&["<div style=\"margin-bottom:20px\"><div style=\"margin-top:0px;margin-bottom:0px;font-weight:bold\"><span style=\"font-size:14px;color:#252424\">Or call in (audio only)</span></div>"]);
                for (n, free) in numbers(c) {
                    let mut tel = String::new();
                    push_dial_string(&mut tel, &n.number);
                    if !conf.is_empty() {
                        tel.push_str(",,");
                        tel.push_str(&conf);
                        tel.push_str("%23");
                    }
                    let l = w.line();
                    l.push_str("<div style=\"margin-top:0px;margin-bottom:0px\"><a class=\"me-email-link\" href=\"tel:");
                    push_html_escaped(l, &tel);
                    l.push_str(TEAMS_LINK_STYLE);
                    push_html_escaped(l, &n.number);
                    l.push_str("</a><span style=\"font-size:12px;color:#252424\">&nbsp;&nbsp; ");
                    push_html_escaped(l, &n.city);
                    if free {
                        l.push_str(" (Toll-free)");
                    }
                    l.push_str("</span></div>");
                }
                if !conf.is_empty() {
                    w.pieces(&[
                        "<div style=\"margin-top:10px;margin-bottom:0px\"><span style=\"font-size:12px;color:#252424\">Phone Conference ID: </span><span style=\"font-size:14px;color:#252424\">",
                        &group_digits(&conf),
                        "#</span></div>",
                    ]);
                }
                w.pieces(&["</div>"]);
            }
            let l = w.line();
            l.push_str("<div style=\"margin-bottom:24px;margin-top:20px\">");
            if let Some(u) = &c.find_local_number_url {
                l.push_str("<a class=\"me-email-link\" href=\"");
                push_html_escaped(l, u);
                l.push_str(TEAMS_LINK_STYLE);
                l.push_str("Find a local number</a> | ");
            }
            l.push_str("<a class=\"me-email-link\" href=\"");
            l.push_str(TEAMS_HELP_URL);
            l.push_str(TEAMS_LINK_STYLE);
            l.push_str("Learn More</a>");
            if let Some(u) = &c.meeting_options_url {
                l.push_str(" | <a class=\"me-email-link\" href=\"");
                push_html_escaped(l, u);
                l.push_str(TEAMS_LINK_STYLE);
                l.push_str("Meeting options</a>");
            }
            l.push_str("</div>");
            w.pieces(&["</div>"]);
            w.pieces(&[sep, TEAMS_SEPARATOR, "</span></div>"]);
        }
        MeetingKind::SkypeForBusiness => {
            let dots = ".".repeat(SKYPE_SEPARATOR_LEN);
            let sep: [&str; 3] = [
                "<p class=\"MsoNormal\" style=\"text-autospace:none\"><span style=\"font-size:8.0pt;color:#404040\">",
                &dots,
                "</span></p>",
            ];
            w.pieces(&sep);
            w.pieces(&[
                "<p class=\"MsoNormal\" style=\"text-autospace:none\"><a name=\"OutJoinLink\"></a><a href=\"",
                &join,
                "\"><span style=\"font-size:16.0pt;color:#0066CC\">Join Skype Meeting</span></a><span style=\"font-size:14.0pt\">&nbsp;<a name=\"OutSharedNoteBorder\"></a>&nbsp;<a name=\"OutSharedNoteLink\"></a></span></p>",
            ]);
            w.pieces(&[
                "<p class=\"MsoNormal\" style=\"margin:0 0 12pt 16pt;line-height:125%\"><span style=\"font-size:10.0pt\">Trouble Joining? <a href=\"",
                &join,
                "?sl=1\">Try Skype Web App</a></span></p>",
            ]);
            if numbers(c).next().is_some() {
                w.pieces(&["<p class=\"MsoNormal\"><span style=\"font-size:13.0pt;color:black\">Join by phone</span></p>"]);
                for (n, free) in numbers(c) {
                    let mut tel = String::new();
                    push_dial_string(&mut tel, &n.number);
                    let l = w.line();
                    l.push_str("<p class=\"MsoNormal\"><span style=\"font-size:10.0pt\">");
                    l.push_str(if free {
                        "Toll-free number"
                    } else {
                        "Toll number"
                    });
                    l.push_str(": <a href=\"tel:");
                    push_html_escaped(l, &tel);
                    l.push_str("\">");
                    push_html_escaped(l, &n.number);
                    l.push_str("</a> ");
                    push_html_escaped(l, &n.city);
                    l.push_str("</span></p>");
                }
            }
            if let Some(u) = &c.find_local_number_url {
                let l = w.line();
                l.push_str("<p class=\"MsoNormal\"><a href=\"");
                push_html_escaped(l, u);
                l.push_str(
                    "\"><span style=\"font-size:10.0pt\">Find a local number</span></a></p>",
                );
            }
            if !conf.is_empty() {
                w.pieces(&[
                    "<p class=\"MsoNormal\"><span style=\"font-size:10.0pt\">Conference ID: ",
                    &conf,
                    "</span></p>",
                ]);
            }
            if let Some(u) = &c.meeting_options_url {
                let l = w.line();
                l.push_str("<p class=\"MsoNormal\"><a href=\"");
                push_html_escaped(l, u);
                l.push_str("\"><span style=\"font-size:10.0pt\">Meeting options</span></a></p>");
            }
            w.pieces(&[
                "<p class=\"MsoNormal\"><a href=\"",
                SKYPE_HELP_URL,
                "\"><span style=\"font-size:10.0pt\">Help</span></a></p>",
            ]);
            w.pieces(&["<p class=\"MsoNormal\"><sub><span style=\"font-size:1.0pt;color:white\">[!OC([1033])!]</span></sub></p>"]);
            w.pieces(&sep);
        }
    }
    w.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::block::{find_block, BodyFormat, LinkKind};

    #[test]
    fn html_escape_escapes_the_five_markup_characters_and_keeps_every_other_byte() {
        assert_eq!(
            html_escape("R&D <b>\"田中\"</b> l'été 🎉&"),
            "R&amp;D &lt;b&gt;&quot;田中&quot;&lt;/b&gt; l&#39;été 🎉&amp;"
        );
        assert_eq!(html_escape(""), "");
        assert_eq!(html_escape("ü"), "ü");
        assert_eq!(html_escape("<"), "&lt;");
        // Each markup character at every distance from the 16-byte search steps.
        for at in 0..40 {
            for c in ['&', '<', '>', '"', '\''] {
                let mut s = "é".repeat(at / 2) + &"x".repeat(at % 2);
                s.push(c);
                s.push_str(&"ab".repeat(at));
                let want = s
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
                    .replace('"', "&quot;")
                    .replace('\'', "&#39;");
                assert_eq!(html_escape(&s), want, "{s}");
            }
        }
    }

    fn coords(kind: MeetingKind) -> MeetingCoordinates {
        MeetingCoordinates {
            meeting_kind: kind,
            join_url: match kind {
                MeetingKind::Teams => {
                    "https://teams.microsoft.com/l/meetup-join/19%3ameeting_n%40thread.v2/0?a=1&b=2"
                        .into()
                }
                MeetingKind::SkypeForBusiness => {
                    "https://meet.lync.com/contoso/ashaw/NEW123".into()
                }
            },
            conference_id: "123456789".into(),
            toll_numbers: vec![DialInNumber {
                number: "+1 323-555-0166".into(),
                city: "<script>alert(1)</script> & \"Los Angeles\"".into(),
            }],
            toll_free_numbers: vec![DialInNumber {
                number: "+1 800-555-0100".into(),
                city: "United States".into(),
            }],
            find_local_number_url: Some("https://dialin.teams.microsoft.com/x?id=123456789".into()),
            meeting_options_url: Some("https://teams.microsoft.com/meetingOptions/?a=1&b=2".into()),
        }
    }

    #[test]
    fn rendered_blocks_are_found_again_with_their_kind() {
        for kind in [MeetingKind::Teams, MeetingKind::SkypeForBusiness] {
            let c = coords(kind);
            let want = match kind {
                MeetingKind::Teams => LinkKind::Teams,
                MeetingKind::SkypeForBusiness => LinkKind::Skype,
            };
            let t = render_text(&c, "\n");
            let b = find_block(&t, BodyFormat::Text).unwrap();
            assert_eq!(b.range, 0..t.len());
            assert_eq!(b.kind(), Some(want));
            let h = format!("<body>{}</body>", render_html(&c, "\r\n"));
            let b = find_block(&h, BodyFormat::Html).unwrap();
            assert_eq!(&h[..b.range.start], "<body>");
            assert_eq!(&h[b.range.end..], "</body>");
            assert_eq!(b.kind(), Some(want));
            assert!(b
                .links
                .iter()
                .any(|l| l.url == c.join_url || c.join_url.starts_with(&l.url)));
        }
    }

    #[test]
    fn user_text_cannot_inject_markup() {
        let h = render_html(&coords(MeetingKind::Teams), "\n");
        assert!(!h.contains("<script>"));
        assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Los Angeles&quot;"));
        assert!(h.contains("?a=1&amp;b=2"));
        let mut c = coords(MeetingKind::Teams);
        c.toll_numbers[0].city = "Paris\nEvil line".into();
        assert!(render_text(&c, "\n").contains("Paris Evil line"));
    }

    #[test]
    fn conference_id_grouped_by_three() {
        assert_eq!(group_digits("123456789"), "123 456 789");
        assert_eq!(group_digits("12345678"), "123 456 78");
        assert!(render_text(&coords(MeetingKind::Teams), "\n")
            .contains("Phone Conference ID: 123 456 789#"));
    }
}
