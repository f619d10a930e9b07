//! The iMIP message (RFC 6047) carrying the update: multipart/alternative with text/plain,
//! text/html and text/calendar (method=REQUEST), all UTF-8 and base64 so that no line-length or
//! 8-bit rule of any relay can damage the body. Non-ASCII header text is RFC 2047 encoded;
//! CR/LF can never reach a header from calendar data.

use super::RewrittenMeeting;
use std::borrow::Cow;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The two base64 symbols of every 12-bit value: one lookup per 12 input bits instead of one
/// per 6 (the table is 8 KiB and stays in L1 while a message is encoded).
static B64_PAIRS: [[u8; 2]; 4096] = {
    let mut t = [[0u8; 2]; 4096];
    let mut i = 0;
    while i < 4096 {
        t[i] = [B64[i >> 6], B64[i & 63]];
        i += 1;
    }
    t
};

/// Appends standard base64 (RFC 4648) of `data`, without line breaks.
fn push_base64(out: &mut Vec<u8>, data: &[u8]) {
    let start = out.len();
    out.resize(start + (data.len() + 2) / 3 * 4, b'=');
    let dst = &mut out[start..];
    // Six input bytes per step, read as one big-endian word (8 bytes read, 6 used): four
    // 12-bit lookups make 8 symbols.
    let mut done = 0;
    while data.len() - done >= 8 {
        let mut word = [0u8; 8];
        word.copy_from_slice(&data[done..done + 8]);
        let w = u64::from_be_bytes(word) >> 16;
        let out8 = &mut dst[done / 3 * 4..done / 3 * 4 + 8];
        for (k, pair) in out8.chunks_exact_mut(2).enumerate() {
            pair.copy_from_slice(&B64_PAIRS[(w >> (36 - 12 * k)) as usize & 0xfff]);
        }
        done += 6;
    }
    let mut groups = data[done..].chunks_exact(3);
    for (src, dst) in (&mut groups).zip(dst[done / 3 * 4..].chunks_exact_mut(4)) {
        let n = (usize::from(src[0]) << 16) | (usize::from(src[1]) << 8) | usize::from(src[2]);
        let (hi, lo) = (B64_PAIRS[n >> 12], B64_PAIRS[n & 0xfff]);
        dst.copy_from_slice(&[hi[0], hi[1], lo[0], lo[1]]);
    }
    let tail = groups.remainder();
    if !tail.is_empty() {
        let n =
            (usize::from(tail[0]) << 16) | (usize::from(tail.get(1).copied().unwrap_or(0)) << 8);
        let last = dst.len() - 4;
        let (hi, lo) = (B64_PAIRS[n >> 12], B64_PAIRS[n & 0xfff]);
        dst[last] = hi[0];
        dst[last + 1] = hi[1];
        if tail.len() == 2 {
            dst[last + 2] = lo[0];
        }
    }
}

/// Standard base64 (RFC 4648) without line breaks.
pub fn base64(data: &[u8]) -> String {
    let mut out = Vec::new();
    push_base64(&mut out, data);
    String::from_utf8(out).unwrap_or_default()
}

/// Input bytes per 76-character base64 line.
const BASE64_LINE_INPUT: usize = 57;

/// Appends base64 in 76-character lines, CRLF-terminated (RFC 2045).
fn push_base64_body(out: &mut Vec<u8>, data: &[u8]) {
    out.reserve((data.len() + 2) / 3 * 4 + (data.len() / BASE64_LINE_INPUT + 1) * 2);
    for line in data.chunks(BASE64_LINE_INPUT) {
        push_base64(out, line);
        out.extend_from_slice(b"\r\n");
    }
}

/// No CR, LF or other controls in header text (borrowed when there is nothing to change, as
/// for nearly every address and subject).
fn header_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s.trim());
    }
    Cow::Owned(super::render::one_line(s).trim().to_string())
}

/// RFC 2047 encoded-words (`=?UTF-8?B?...?=`) for non-ASCII text, split so that each word
/// stays within 75 characters and never splits a UTF-8 character.
pub fn encode_header_text(s: &str) -> String {
    let s = header_safe(s);
    if s.is_ascii() {
        return s.into_owned();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in s.chars() {
        // 45 input bytes -> 60 base64 chars + 12 of framing = 72.
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
    }
    words.join("\r\n ")
}

/// `Name <addr>` with the name quoted or encoded as needed.
fn mailbox(name: Option<&str>, addr: &str) -> String {
    const NOT_IN_ADDRESS: [char; 5] = ['<', '>', ',', '"', ' '];
    let addr = header_safe(addr);
    let addr = if addr.contains(NOT_IN_ADDRESS) {
        Cow::Owned(addr.replace(NOT_IN_ADDRESS, ""))
    } else {
        addr
    };
    match name.map(header_safe).filter(|n| !n.is_empty()) {
        Some(n) if n.is_ascii() => {
            format!(
                "\"{}\" <{addr}>",
                n.replace('\\', "\\\\").replace('"', "\\\"")
            )
        }
        Some(n) => format!("{} <{addr}>", encode_header_text(&n)),
        None => format!("<{addr}>"),
    }
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
    let boundary = format!(
        "=_mms_{}",
        base64(message_id.as_bytes())
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(24)
            .collect::<String>()
    );
    let from_name = if crate::rules::eligibility::same_address(from, &m.organizer) {
        m.organizer_name.as_deref()
    } else {
        None
    };
    let mut h = String::new();
    h.push_str(&format!("From: {}\r\n", mailbox(from_name, from)));
    if let Some(s) = sender.filter(|s| !crate::rules::eligibility::same_address(s, from)) {
        h.push_str(&format!("Sender: {}\r\n", mailbox(None, s)));
    }
    let to: Vec<String> = m.attendees.iter().map(|a| mailbox(None, a)).collect();
    if to.is_empty() {
        h.push_str("To: undisclosed-recipients:;\r\n");
    } else {
        h.push_str(&format!("To: {}\r\n", to.join(",\r\n ")));
    }
    h.push_str(&format!("Subject: {}\r\n", encode_header_text(&m.summary)));
    h.push_str(&format!("Date: {}\r\n", date.to_rfc2822()));
    let id = header_safe(message_id).replace(['<', '>'], "");
    h.push_str(&format!("Message-ID: <{id}>\r\n"));
    h.push_str("MIME-Version: 1.0\r\n");
    h.push_str(&format!(
        "Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n"
    ));
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
        .map(|(_, b)| b.len() / 3 * 4 + b.len() / 28)
        .sum();
    let mut out = Vec::with_capacity(h.len() + encoded + 512);
    out.extend_from_slice(h.as_bytes());
    for (ctype, body) in parts {
        out.extend_from_slice(format!("--{boundary}\r\nContent-Type: {ctype}\r\n").as_bytes());
        out.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n\r\n");
        push_base64_body(&mut out, body);
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn base64_agrees_with_the_six_bit_definition_for_every_length_and_byte() {
        let data: Vec<u8> = (0..=255u8)
            .chain((0..=255u8).rev())
            .cycle()
            .take(700)
            .collect();
        for len in 0..data.len() {
            let src = &data[len.saturating_sub(40)..len];
            let mut expect = String::new();
            for g in src.chunks(3) {
                let n = g
                    .iter()
                    .enumerate()
                    .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
                for k in 0..4 {
                    expect.push(if k <= g.len() {
                        B64[(n >> (18 - 6 * k) & 63) as usize] as char
                    } else {
                        '='
                    });
                }
            }
            assert_eq!(base64(src), expect, "{src:?}");
        }
    }

    #[test]
    fn base64_body_breaks_lines_at_76() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut body = Vec::new();
        push_base64_body(&mut body, &data);
        let text = String::from_utf8(body).unwrap();
        let lines: Vec<&str> = text.split_terminator("\r\n").collect();
        assert!(lines[..lines.len() - 1].iter().all(|l| l.len() == 76));
        assert_eq!(lines.concat(), base64(&data));
        let mut empty = Vec::new();
        push_base64_body(&mut empty, b"");
        assert!(empty.is_empty());
    }

    #[test]
    fn non_ascii_subjects_are_encoded_words_and_headers_cannot_be_injected() {
        let e = encode_header_text("Réunion ➡ 会议 ".repeat(8).as_str());
        assert!(e.is_ascii());
        for w in e.split("\r\n ") {
            assert!(w.len() <= 75, "{w}");
        }
        assert_eq!(encode_header_text("a\r\nBcc: x@y"), "a  Bcc: x@y");
        assert_eq!(
            mailbox(Some("Shaw, \"A\""), "a@b.c"),
            "\"Shaw, \\\"A\\\"\" <a@b.c>"
        );
    }
}
