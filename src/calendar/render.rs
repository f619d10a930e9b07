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
    // Every character that needs escaping is ASCII, so runs between them are copied whole
    // (a whole text body goes through here for a meeting without an HTML one).
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        out.push_str(entity);
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out
}

/// Every control character (CR, LF, TAB, ...) as a space: no line break may sneak into a plain
/// body from a city name, nor into a mail header from calendar data.
pub(super) fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `+1 323-555-0166` → `+13235550166` for tel: links.
fn dial_string(number: &str) -> String {
    number
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

/// `123456789` → `123 456 789` (Microsoft groups conference IDs by three).
pub fn group_digits(id: &str) -> String {
    let digits: Vec<char> = id.chars().filter(|c| c.is_ascii_digit()).collect();
    digits
        .chunks(3)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
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

/// The block as plain text, lines joined by `nl`, from opening to closing separator (no
/// trailing line break).
pub fn render_text(c: &MeetingCoordinates, nl: &str) -> String {
    let mut l: Vec<String> = Vec::new();
    let conf = conf_digits(c);
    let has_dial_in = numbers(c).next().is_some();
    match c.meeting_kind {
        MeetingKind::Teams => {
            l.push(TEAMS_SEPARATOR.to_string());
            l.push("Microsoft Teams meeting".into());
            l.push("Join on your computer, mobile app or room device".into());
            l.push(format!("Click here to join the meeting<{}>", c.join_url));
            if has_dial_in {
                l.push("Or call in (audio only)".into());
                for (n, free) in numbers(c) {
                    let suffix = if free { " (Toll-free)" } else { "" };
                    let tel = if conf.is_empty() {
                        dial_string(&n.number)
                    } else {
                        format!("{},,{}#", dial_string(&n.number), conf)
                    };
                    l.push(format!(
                        "{},,{}#<tel:{}>   {}{}",
                        one_line(&n.number),
                        conf,
                        tel,
                        one_line(&n.city),
                        suffix
                    ));
                }
                if !conf.is_empty() {
                    l.push(format!("Phone Conference ID: {}#", group_digits(&conf)));
                }
            }
            if let Some(u) = &c.find_local_number_url {
                l.push(format!("Find a local number<{u}>"));
            }
            match &c.meeting_options_url {
                Some(u) => l.push(format!(
                    "Learn More<{TEAMS_HELP_URL}> | Meeting options<{u}>"
                )),
                None => l.push(format!("Learn More<{TEAMS_HELP_URL}>")),
            }
            l.push(TEAMS_SEPARATOR.to_string());
        }
        MeetingKind::SkypeForBusiness => {
            let sep = ".".repeat(SKYPE_SEPARATOR_LEN);
            l.push(sep.clone());
            l.push(format!("Join Skype Meeting<{}>", c.join_url));
            l.push(format!(
                "Trouble Joining? Try Skype Web App<{}?sl=1>",
                c.join_url
            ));
            if has_dial_in {
                l.push("Join by phone".into());
                for (n, free) in numbers(c) {
                    let kind = if free {
                        "Toll-free number"
                    } else {
                        "Toll number"
                    };
                    l.push(format!(
                        "{kind}: {}<tel:{}>   {}",
                        one_line(&n.number),
                        dial_string(&n.number),
                        one_line(&n.city)
                    ));
                }
            }
            if let Some(u) = &c.find_local_number_url {
                l.push(format!("Find a local number<{u}>"));
            }
            if !conf.is_empty() {
                l.push(format!("Conference ID: {conf}"));
            }
            if let Some(u) = &c.meeting_options_url {
                l.push(format!("Meeting options<{u}>"));
            }
            l.push(format!("Help<{SKYPE_HELP_URL}>"));
            l.push("[!OC([1033])!]".into());
            l.push(sep);
        }
    }
    l.join(nl)
}

/// The block as HTML: self-contained, balanced elements, from the opening separator's element
/// to the closing one's.
pub fn render_html(c: &MeetingCoordinates, nl: &str) -> String {
    let e = html_escape;
    let conf = conf_digits(c);
    let join = e(&c.join_url);
    let mut h: Vec<String> = Vec::new();
    match c.meeting_kind {
        MeetingKind::Teams => {
            let sep = format!("<div style=\"width:100%;height:20px\"><span style=\"white-space:nowrap;color:#5F5F5F;opacity:.36\">{TEAMS_SEPARATOR}</span></div>");
            h.push(sep.clone());
            h.push("<div class=\"me-email-text\" style=\"color:#252424;font-family:'Segoe UI','Helvetica Neue',Helvetica,Arial,sans-serif\">".into());
            h.push("<div style=\"margin-top:24px;margin-bottom:20px\"><span style=\"font-size:24px;color:#252424\">Microsoft Teams meeting</span></div>".into());
            h.push("<div style=\"margin-bottom:20px\"><div style=\"margin-top:0px;margin-bottom:0px;font-weight:bold\"><span style=\"font-size:14px;color:#252424\">Join on your computer, mobile app or room device</span></div>".into());
            h.push(format!("<a class=\"me-email-headline\" href=\"{join}\" target=\"_blank\" rel=\"noreferrer noopener\" style=\"font-size:14px;font-family:'Segoe UI Semibold','Segoe UI','Helvetica Neue',Helvetica,Arial,sans-serif;text-decoration:underline;color:#6264a7\">Click here to join the meeting</a></div>"));
            if numbers(c).next().is_some() {
                h.push("<div style=\"margin-bottom:20px\"><div style=\"margin-top:0px;margin-bottom:0px;font-weight:bold\"><span style=\"font-size:14px;color:#252424\">Or call in (audio only)</span></div>".into());
                for (n, free) in numbers(c) {
                    let tel = if conf.is_empty() {
                        dial_string(&n.number)
                    } else {
                        format!("{},,{}%23", dial_string(&n.number), conf)
                    };
                    let suffix = if free { " (Toll-free)" } else { "" };
                    h.push(format!(
                        "<div style=\"margin-top:0px;margin-bottom:0px\"><a class=\"me-email-link\" href=\"tel:{}\" target=\"_blank\" rel=\"noreferrer noopener\" style=\"font-size:14px;text-decoration:underline;color:#6264a7\">{}</a><span style=\"font-size:12px;color:#252424\">&nbsp;&nbsp; {}{}</span></div>",
                        e(&tel),
                        e(&n.number),
                        e(&n.city),
                        suffix
                    ));
                }
                if !conf.is_empty() {
                    h.push(format!("<div style=\"margin-top:10px;margin-bottom:0px\"><span style=\"font-size:12px;color:#252424\">Phone Conference ID: </span><span style=\"font-size:14px;color:#252424\">{}#</span></div>", group_digits(&conf)));
                }
                h.push("</div>".into());
            }
            let mut links = Vec::new();
            if let Some(u) = &c.find_local_number_url {
                links.push(format!("<a class=\"me-email-link\" href=\"{}\" target=\"_blank\" rel=\"noreferrer noopener\" style=\"font-size:14px;text-decoration:underline;color:#6264a7\">Find a local number</a>", e(u)));
            }
            links.push(format!("<a class=\"me-email-link\" href=\"{TEAMS_HELP_URL}\" target=\"_blank\" rel=\"noreferrer noopener\" style=\"font-size:14px;text-decoration:underline;color:#6264a7\">Learn More</a>"));
            if let Some(u) = &c.meeting_options_url {
                links.push(format!("<a class=\"me-email-link\" href=\"{}\" target=\"_blank\" rel=\"noreferrer noopener\" style=\"font-size:14px;text-decoration:underline;color:#6264a7\">Meeting options</a>", e(u)));
            }
            h.push(format!(
                "<div style=\"margin-bottom:24px;margin-top:20px\">{}</div>",
                links.join(" | ")
            ));
            h.push("</div>".into());
            h.push(sep);
        }
        MeetingKind::SkypeForBusiness => {
            let sep = format!("<p class=\"MsoNormal\" style=\"text-autospace:none\"><span style=\"font-size:8.0pt;color:#404040\">{}</span></p>", ".".repeat(SKYPE_SEPARATOR_LEN));
            h.push(sep.clone());
            h.push(format!("<p class=\"MsoNormal\" style=\"text-autospace:none\"><a name=\"OutJoinLink\"></a><a href=\"{join}\"><span style=\"font-size:16.0pt;color:#0066CC\">Join Skype Meeting</span></a><span style=\"font-size:14.0pt\">&nbsp;<a name=\"OutSharedNoteBorder\"></a>&nbsp;<a name=\"OutSharedNoteLink\"></a></span></p>"));
            h.push(format!("<p class=\"MsoNormal\" style=\"margin:0 0 12pt 16pt;line-height:125%\"><span style=\"font-size:10.0pt\">Trouble Joining? <a href=\"{join}?sl=1\">Try Skype Web App</a></span></p>"));
            if numbers(c).next().is_some() {
                h.push("<p class=\"MsoNormal\"><span style=\"font-size:13.0pt;color:black\">Join by phone</span></p>".into());
                for (n, free) in numbers(c) {
                    let kind = if free {
                        "Toll-free number"
                    } else {
                        "Toll number"
                    };
                    h.push(format!(
                        "<p class=\"MsoNormal\"><span style=\"font-size:10.0pt\">{kind}: <a href=\"tel:{}\">{}</a> {}</span></p>",
                        e(&dial_string(&n.number)),
                        e(&n.number),
                        e(&n.city)
                    ));
                }
            }
            if let Some(u) = &c.find_local_number_url {
                h.push(format!("<p class=\"MsoNormal\"><a href=\"{}\"><span style=\"font-size:10.0pt\">Find a local number</span></a></p>", e(u)));
            }
            if !conf.is_empty() {
                h.push(format!("<p class=\"MsoNormal\"><span style=\"font-size:10.0pt\">Conference ID: {conf}</span></p>"));
            }
            if let Some(u) = &c.meeting_options_url {
                h.push(format!("<p class=\"MsoNormal\"><a href=\"{}\"><span style=\"font-size:10.0pt\">Meeting options</span></a></p>", e(u)));
            }
            h.push(format!("<p class=\"MsoNormal\"><a href=\"{SKYPE_HELP_URL}\"><span style=\"font-size:10.0pt\">Help</span></a></p>"));
            h.push("<p class=\"MsoNormal\"><sub><span style=\"font-size:1.0pt;color:white\">[!OC([1033])!]</span></sub></p>".into());
            h.push(sep);
        }
    }
    h.join(nl)
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
