//! The iMIP message (RFC 6047) carrying the update: multipart/alternative with text/plain,
//! text/html and text/calendar (method=REQUEST), all UTF-8 and base64 so that no line-length or
//! 8-bit rule of any relay can damage the body. Non-ASCII header text is RFC 2047 encoded;
//! CR/LF can never reach a header from calendar data.

use super::RewrittenMeeting;
use std::borrow::Cow;

use super::base64;

/// No CR, LF or other controls in header text (borrowed when there is nothing to change, as
/// for nearly every address and subject).
fn header_safe(s: &str) -> Cow<'_, str> {
    // Controls (`char::is_control`: U+0000-U+001F, U+007F-U+009F) by their bytes: in UTF-8
    // the C1 ones are C2 80..C2 9F, and C2 is never a continuation byte.
    let b = s.as_bytes();
    // (A fold without an early exit: the compiler checks many bytes per step.)
    let controls = b
        .iter()
        .fold(false, |any, &c| any | (c < 0x20) | (c == 0x7f))
        || memchr::memchr_iter(0xc2, b)
            .any(|i| b.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n)));
    if !controls {
        return Cow::Borrowed(s.trim());
    }
    Cow::Owned(super::render::one_line(s).trim().to_string())
}

/// Appends header text: as it is when ASCII, else as RFC 2047 encoded-words
/// (`=?UTF-8?B?...?=`), split so that each word stays within 75 characters and never splits a
/// UTF-8 character.
pub fn push_header_text(out: &mut String, s: &str) {
    let s = header_safe(s);
    if s.is_ascii() {
        out.push_str(&s);
        return;
    }
    // 45 input bytes -> 60 base64 chars + 12 of framing = 72.
    const WORD_INPUT: usize = 45;
    let mut rest: &str = &s;
    let mut first = true;
    while !rest.is_empty() {
        let mut cut = rest.len().min(WORD_INPUT);
        // (A UTF-8 character is at most 4 bytes: a boundary lies within the word's input.)
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if !first {
            out.push_str("\r\n ");
        }
        first = false;
        out.push_str("=?UTF-8?B?");
        base64::push(out, &rest.as_bytes()[..cut]);
        out.push_str("?=");
        rest = &rest[cut..];
    }
}

/// Appends `Name <addr>`, the name quoted or encoded as needed.
fn push_mailbox(out: &mut String, name: Option<&str>, addr: &str) {
    const NOT_IN_ADDRESS: [char; 5] = ['<', '>', ',', '"', ' '];
    let addr = header_safe(addr);
    // (All ASCII: a byte test finds them.)
    let addr = if addr
        .bytes()
        .any(|b| NOT_IN_ADDRESS.contains(&char::from(b)))
    {
        Cow::Owned(addr.replace(NOT_IN_ADDRESS, ""))
    } else {
        addr
    };
    match name.map(header_safe).filter(|n| !n.is_empty()) {
        Some(n) if n.is_ascii() => {
            out.push('"');
            for c in n.chars() {
                if c == '\\' || c == '"' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push_str("\" ");
        }
        Some(n) => {
            push_header_text(out, &n);
            out.push(' ');
        }
        None => {}
    }
    out.push('<');
    out.push_str(&addr);
    out.push('>');
}

/// The unique part of the MIME boundary: up to 24 letters and digits of the Message-ID's
/// base64, on the stack (a mail is composed for every meeting).
struct Boundary {
    symbols: [u8; 24],
    len: usize,
}

impl Boundary {
    fn as_str(&self) -> &str {
        // (base64 symbols are ASCII.)
        std::str::from_utf8(&self.symbols[..self.len]).unwrap_or_default()
    }
}

fn boundary_of(message_id: &str) -> Boundary {
    let mut b = Boundary {
        symbols: [0; 24],
        len: 0,
    };
    let mut chunk = [0u8; 16];
    for piece in message_id.as_bytes().chunks(12) {
        let n = base64::encoded_len(piece.len());
        base64::encode_into(&mut chunk[..n], piece);
        for &c in chunk[..n].iter().filter(|c| c.is_ascii_alphanumeric()) {
            if b.len == b.symbols.len() {
                return b;
            }
            b.symbols[b.len] = c;
            b.len += 1;
        }
    }
    b
}

/// Composes the iMIP REQUEST for a rewritten meeting. `from` is the organizer (or the tenant's
/// override sender address); `sender` the mailbox actually sending, when different.
pub fn compose_imip(
    m: &RewrittenMeeting,
    from: &str,
    sender: Option<&str>,
    message_id: &str,
    date: chrono::DateTime<chrono::Utc>,
) -> Vec<u8> {
    let boundary = boundary_of(message_id);
    let boundary = boundary.as_str();
    let from_name = if crate::rules::eligibility::same_address(from, &m.organizer) {
        m.organizer_name.as_deref()
    } else {
        None
    };
    let mut h = String::with_capacity(512 + 48 * m.attendees.len());
    h.push_str("From: ");
    push_mailbox(&mut h, from_name, from);
    h.push_str("\r\n");
    if let Some(s) = sender.filter(|s| !crate::rules::eligibility::same_address(s, from)) {
        h.push_str("Sender: ");
        push_mailbox(&mut h, None, s);
        h.push_str("\r\n");
    }
    if m.attendees.is_empty() {
        h.push_str("To: undisclosed-recipients:;\r\n");
    } else {
        h.push_str("To: ");
        for (k, a) in m.attendees.iter().enumerate() {
            if k > 0 {
                h.push_str(",\r\n ");
            }
            push_mailbox(&mut h, None, a);
        }
        h.push_str("\r\n");
    }
    h.push_str("Subject: ");
    push_header_text(&mut h, &m.summary);
    h.push_str("\r\nDate: ");
    h.push_str(&date.to_rfc2822());
    h.push_str("\r\nMessage-ID: <");
    let id = header_safe(message_id);
    if id.contains(['<', '>']) {
        h.push_str(&id.replace(['<', '>'], ""));
    } else {
        h.push_str(&id);
    }
    h.push_str(">\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"=_mms_");
    h.push_str(boundary);
    h.push_str("\"\r\n\r\n");
    let parts: [(&str, &[u8]); 3] = [
        ("text/plain; charset=UTF-8", m.body_text.as_bytes()),
        ("text/html; charset=UTF-8", m.body_html.as_bytes()),
        (
            "text/calendar; charset=UTF-8; method=REQUEST",
            &m.itip_request,
        ),
    ];
    let encoded: usize = parts
        .iter()
        .map(|(_, b)| base64::encoded_lines_len(b.len()))
        .sum();
    let mut out = Vec::with_capacity(h.len() + encoded + 512);
    out.extend_from_slice(h.as_bytes());
    for (ctype, body) in parts {
        out.extend_from_slice(b"--=_mms_");
        out.extend_from_slice(boundary.as_bytes());
        out.extend_from_slice(b"\r\nContent-Type: ");
        out.extend_from_slice(ctype.as_bytes());
        out.extend_from_slice(b"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
        base64::push_lines(&mut out, body);
    }
    out.extend_from_slice(b"--=_mms_");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"--\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_header_text(s: &str) -> String {
        let mut out = String::from("Subject: ");
        push_header_text(&mut out, s);
        out.split_off("Subject: ".len())
    }

    #[test]
    fn non_ascii_subjects_are_encoded_words_and_headers_cannot_be_injected() {
        let subject = "Réunion ➡ 会议 ".repeat(8);
        let e = encode_header_text(&subject);
        // Each word holds whole characters, in order: the words are the subject's pieces.
        let mut pieces = String::new();
        let mut rest: &str = subject.trim();
        for w in e.split("\r\n ") {
            let mut n = 1;
            while n <= rest.len() && (!rest.is_char_boundary(n) || w != word(&rest[..n])) {
                n += 1;
            }
            assert!(n <= rest.len(), "{w} is no piece of {rest}");
            pieces.push_str(&rest[..n]);
            rest = &rest[n..];
        }
        assert_eq!(pieces, subject.trim());
        assert!(e.is_ascii());
        for w in e.split("\r\n ") {
            assert!(w.len() <= 75, "{w}");
        }
        assert_eq!(encode_header_text("a\r\nBcc: x@y"), "a  Bcc: x@y");
        // Every control, and only controls, is taken out (C1 ones too; U+00A0 and U+0100 stay).
        for c in [
            '\u{0}', '\t', '\u{1f}', '\u{7f}', '\u{80}', '\u{85}', '\u{9f}',
        ] {
            assert!(header_safe(&format!("é{c}x")) != format!("é{c}x"), "{c:?}");
        }
        for c in ['\u{a0}', '\u{100}', '\u{2028}', 'é'] {
            assert_eq!(header_safe(&format!("é{c}x")), format!("é{c}x"), "{c:?}");
        }
        let mailbox = |name, addr| {
            let mut out = String::new();
            push_mailbox(&mut out, name, addr);
            out
        };
        assert_eq!(
            mailbox(Some("Shaw, \"A\""), "a@b.c"),
            "\"Shaw, \\\"A\\\"\" <a@b.c>"
        );
        assert_eq!(
            mailbox(Some("Back\\slash"), "a@b.c"),
            "\"Back\\\\slash\" <a@b.c>"
        );
        assert_eq!(mailbox(None, "<a b@c.d>"), "<ab@c.d>");
    }

    fn word(piece: &str) -> String {
        format!("=?UTF-8?B?{}?=", base64::encode(piece.as_bytes()))
    }
}
