//! Finding the online-meeting block in a decoded body (plain text or HTML).
//!
//! Detection keys on structure, never on (localised) words: the separator rows (80 underscores
//! for Teams, with 82/34/80 variants in the newest text template; 137 periods for Skype for
//! Business and Lync, which text bodies wrap as 71 + 66) and the join links between them.
//! Periods do not mean Skype: consumer Teams (teams.live.com) uses them too, so the kind comes
//! from the join link.

use std::borrow::Cow;
use std::ops::Range;
use uuid::Uuid;

/// Shortest underscore row that frames a block (inner rules of the newest template are ~34).
const MIN_UNDERSCORE_FRAME: usize = 70;
/// Shortest period run (all rows of a group together) that frames a Skype block.
const MIN_PERIOD_FRAME: usize = 100;

/// Plain-text DESCRIPTION or HTML (X-ALT-DESC, a text/html part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    Text,
    Html,
}

/// What kind of meeting a join link belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// Teams for business (`/l/meetup-join/` or the short `/meet/<digits>` link).
    Teams,
    /// Consumer Teams (teams.live.com).
    TeamsConsumer,
    /// Skype for Business / Lync meet URL (`meet.lync.com/...`, a customer pool's `/meet/`).
    Skype,
}

/// A join link found in a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinLink {
    pub url: String,
    pub kind: LinkKind,
}

/// A block found in a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundBlock {
    /// Byte range in the decoded body: from the opening separator's element (HTML) or row (text)
    /// to the closing one's end; to the end of the body when the closing separator is missing.
    pub range: Range<usize>,
    /// Whether both separators were found.
    pub closed: bool,
    pub links: Vec<JoinLink>,
    /// The Skype add-in marker `[!OC([lcid])!]` or the `OutJoinLink` anchor is present (looked
    /// for only in blocks with a Skype join link: no other block can need it).
    pub skype_add_in_marker: bool,
    /// The separator family: periods (Skype, consumer Teams) or underscores (Teams).
    pub periods: bool,
}

impl FoundBlock {
    /// The dominant kind: Teams (business) beats consumer beats Skype when links are mixed.
    pub fn kind(&self) -> Option<LinkKind> {
        [LinkKind::Teams, LinkKind::TeamsConsumer, LinkKind::Skype]
            .into_iter()
            .find(|&k| self.links.iter().any(|l| l.kind == k))
    }

    /// The canonical Teams `meetup-join` links (HTML entities already decoded).
    pub fn meetup_join_links(&self) -> impl Iterator<Item = &str> {
        self.links
            .iter()
            .filter(|l| l.kind == LinkKind::Teams && l.url.contains("/l/meetup-join/"))
            .map(|l| l.url.as_str())
    }
}

/// Hosts that serve Teams-for-business join links (commercial and government clouds).
const TEAMS_HOSTS: &[&str] = &[
    "teams.microsoft.com",
    "teams.microsoft.us",
    "gov.teams.microsoft.us",
    "dod.teams.microsoft.us",
    "teams.cloud.microsoft",
];

/// Meeting hosts of other providers whose host also starts with `meet.`.
const FOREIGN_MEET_HOSTS: &[&str] = &["meet.google.com", "meet.jit.si", "meet.goto.com"];

/// The host (as written, port dropped) and the rest of an http(s) URL.
fn host_and_path(url: &str) -> Option<(&str, &str)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let end = super::lines::find_byte_in(rest.as_bytes(), b"/?#").unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority
        .bytes()
        .position(|b| b == b':')
        .map_or(authority, |c| &authority[..c]);
    Some((host, &rest[end..]))
}

/// ASCII-case-insensitive `starts_with` / `ends_with` (hosts and paths are compared lower-cased).
fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
}

fn ends_with_ci(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.as_bytes()[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// Classifies a URL as a join link, or `None`.
pub fn classify_link(url: &str) -> Option<LinkKind> {
    let (host, path) = host_and_path(url)?;
    let is_host = |h: &&str| host.eq_ignore_ascii_case(h);
    let meeting_path = || starts_with_ci(path, "/l/meetup-join/") || starts_with_ci(path, "/meet/");
    if TEAMS_HOSTS.iter().any(is_host) {
        return meeting_path().then_some(LinkKind::Teams);
    }
    if host.eq_ignore_ascii_case("teams.live.com") {
        return meeting_path().then_some(LinkKind::TeamsConsumer);
    }
    if FOREIGN_MEET_HOSTS.iter().any(is_host) || ends_with_ci(host, "microsoft.com") {
        return None;
    }
    let path = &path.as_bytes()
        [..super::lines::find_byte_in(path.as_bytes(), b"?#").unwrap_or(path.len())];
    let mut segments = path.split(|&b| b == b'/').filter(|s| !s.is_empty());
    let meet_path = segments
        .next()
        .is_some_and(|s| s.eq_ignore_ascii_case(b"meet"));
    let more = segments.take(2).count();
    let meet_host = starts_with_ci(host, "meet.") || starts_with_ci(host, "meet-");
    if (meet_host && more >= 1) || (meet_path && more >= 2) {
        return Some(LinkKind::Skype);
    }
    None
}

/// Decodes the few HTML entities that appear inside URLs and text we compare.
pub fn decode_entities(s: &str) -> String {
    if memchr::memchr(b'&', s.as_bytes()).is_none() {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = memchr::memchr(b'&', rest.as_bytes()) {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        // Bytes, not a str slice: the 12th byte may fall inside a multi-byte character
        // (";" is ASCII, so the position found is a character boundary).
        let end = rest.as_bytes()[..rest.len().min(12)]
            .iter()
            .position(|b| *b == b';');
        let decoded = end.and_then(|e| {
            let ent = &rest[1..e];
            let ch = match ent {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => {
                    let num = ent.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(h) => u32::from_str_radix(h, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            };
            ch.map(|c| (c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// ASCII bytes that end a URL: whitespace (with VT), quotes, angle brackets, backslash.
static ENDS_URL: [bool; 128] = {
    let mut t = [false; 128];
    let stops = b" \t\n\r\x0b\x0c\"'<>\\";
    let mut i = 0;
    while i < stops.len() {
        t[stops[i] as usize] = true;
        i += 1;
    }
    t
};

/// Where, from `k` on, the first byte that may end a URL is: ASCII controls and space, `"`,
/// `'`, `<`, `>`, `\\`, or a non-ASCII byte (a superset of [`ENDS_URL`]; the caller decides).
/// Sixteen bytes per step with SSE2, which every x86-64 CPU has.
fn next_url_stop_candidate(bytes: &[u8], mut k: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        while k + 16 <= bytes.len() {
            // SAFETY: SSE2 is part of x86-64; the 16 bytes at k are inside `bytes`.
            let mask = unsafe {
                let v = _mm_loadu_si128(bytes.as_ptr().add(k) as *const __m128i);
                let eq = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
                // v <= 0x20 as unsigned: max(v, 0x20) == 0x20.
                let low = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x20)), _mm_set1_epi8(0x20));
                let quotes = _mm_or_si128(eq(b'"'), eq(b'\''));
                let angles = _mm_or_si128(eq(b'<'), eq(b'>'));
                let any = _mm_or_si128(_mm_or_si128(low, quotes), _mm_or_si128(angles, eq(b'\\')));
                // Non-ASCII bytes have their top bit set: movemask takes it as it is.
                _mm_movemask_epi8(any) | _mm_movemask_epi8(v)
            };
            if mask != 0 {
                return k + mask.trailing_zeros() as usize;
            }
            k += 16;
        }
    }
    while k < bytes.len() {
        let b = bytes[k];
        if b >= 0x80 || b <= 0x20 || matches!(b, b'"' | b'\'' | b'<' | b'>' | b'\\') {
            return k;
        }
        k += 1;
    }
    bytes.len()
}

/// Length of the URL at the start of `tail`: it ends at whitespace, quotes, angle brackets or
/// a backslash.
fn url_len(tail: &str) -> usize {
    let bytes = tail.as_bytes();
    let mut k = 0;
    while k < bytes.len() {
        k = next_url_stop_candidate(bytes, k);
        if k == bytes.len() {
            break;
        }
        let b = bytes[k];
        if b < 0x80 {
            if ENDS_URL[usize::from(b)] {
                return k;
            }
            k += 1;
        } else {
            // Non-ASCII: only Unicode whitespace (NBSP, ideographic space, ...) ends a URL.
            let c = tail[k..].chars().next().unwrap_or(' ');
            if c.is_whitespace() {
                return k;
            }
            k += c.len_utf8();
        }
    }
    bytes.len()
}

/// Calls `each` with every http(s) URL in `text`, in order, until it returns `false`. In text
/// bodies links are `label<URL>` or bare; in HTML they are `href="URL"` (entities decoded). A URL
/// ends at whitespace, quotes, angle brackets or a backslash.
fn each_url(text: &str, format: BodyFormat, mut each: impl FnMut(Cow<'_, str>) -> bool) {
    // One searcher for the whole scan; matches inside a URL already taken are skipped.
    let mut next = 0;
    static HTTP: once_cell::sync::Lazy<memchr::memmem::Finder<'static>> =
        once_cell::sync::Lazy::new(|| memchr::memmem::Finder::new(b"http"));
    for start in HTTP.find_iter(text.as_bytes()) {
        if start < next {
            continue;
        }
        let tail = &text[start..];
        if !(tail.starts_with("https://") || tail.starts_with("http://")) {
            next = start + 4;
            continue;
        }
        let len = url_len(tail);
        let raw = &tail[..len];
        let url = match format {
            BodyFormat::Html if raw.contains('&') => Cow::Owned(decode_entities(raw)),
            _ => Cow::Borrowed(raw),
        };
        if !each(url) {
            return;
        }
        next = start + len.max(4);
    }
}

/// Join links in a piece of body, deduplicated, Skype `?sl=1` variants folded into their base.
pub fn join_links(text: &str, format: BodyFormat) -> Vec<JoinLink> {
    let mut out: Vec<JoinLink> = Vec::new();
    each_url(text, format, |url| {
        let Some(kind) = classify_link(&url) else {
            return true;
        };
        let url = if kind == LinkKind::Skype {
            url.split(['?', '#']).next().unwrap_or("")
        } else {
            &url
        };
        if !out.iter().any(|l| l.url == url) {
            out.push(JoinLink {
                url: url.to_string(),
                kind,
            });
        }
        true
    });
    out
}

/// Whether a piece of body holds a join link (`!join_links(..).is_empty()`, stopping at the
/// first one).
fn has_join_link(text: &str, format: BodyFormat) -> bool {
    let mut found = false;
    each_url(text, format, |url| {
        found = classify_link(&url).is_some();
        !found
    });
    found
}

#[derive(Debug, Clone)]
struct Separator {
    /// Range of the separator row(s) (text) or the run itself (HTML).
    range: Range<usize>,
    periods: bool,
}

/// Text rows that are only underscores or periods (after trimming spaces, NBSP and a literal
/// `\n` some sources leave at the end). Consecutive period rows form one separator.
fn text_separators(body: &str) -> Vec<Separator> {
    let mut seps: Vec<Separator> = Vec::new();
    let mut period_group: Option<(Range<usize>, usize)> = None;
    let mut offset = 0;
    while offset < body.len() {
        // Each row with its '\n' (the last one may have none).
        let row_end = super::lines::find_byte_in(&body.as_bytes()[offset..], b"\n")
            .map_or(body.len(), |p| offset + p + 1);
        let row = &body[offset..row_end];
        let content_end = offset + row.trim_end_matches(['\n', '\r']).len();
        let content = &body[offset..content_end];
        // A row that starts with visible ASCII other than '_' or '.' (nearly every row) is no
        // separator: its trimmed text starts with that byte.
        let plain = content
            .as_bytes()
            .first()
            .is_some_and(|&b| b.is_ascii_graphic() && b != b'_' && b != b'.');
        let t = if plain {
            ""
        } else {
            let t = content.trim_matches(|c: char| c.is_whitespace() || c == '\u{a0}');
            t.strip_suffix("\\n").unwrap_or(t).trim()
        };
        let only = |ch: char| !t.is_empty() && t.chars().all(|c| c == ch);
        if only('.') {
            match &mut period_group {
                Some((r, n)) => {
                    r.end = content_end;
                    *n += t.len();
                }
                None => period_group = Some((offset..content_end, t.len())),
            }
        } else {
            if let Some((r, n)) = period_group.take() {
                if n >= MIN_PERIOD_FRAME {
                    seps.push(Separator {
                        range: r,
                        periods: true,
                    });
                }
            }
            if only('_') && t.len() >= MIN_UNDERSCORE_FRAME {
                seps.push(Separator {
                    range: offset..content_end,
                    periods: false,
                });
            }
        }
        offset += row.len();
    }
    if let Some((r, n)) = period_group.take() {
        if n >= MIN_PERIOD_FRAME {
            seps.push(Separator {
                range: r,
                periods: true,
            });
        }
    }
    seps
}

/// Runs of underscores / periods long enough to be separators in HTML.
fn html_runs(body: &str) -> Vec<Separator> {
    let bytes = body.as_bytes();
    let shortest = MIN_UNDERSCORE_FRAME.min(MIN_PERIOD_FRAME);
    let mut out = Vec::new();
    // Any run of `shortest` or more covers a byte at every `shortest`-th offset: probe those
    // and scan outwards only from a probe that lands in a run (periods in prose and URLs are
    // then passed over without being visited).
    let mut probe = shortest - 1;
    let mut done = 0; // bytes before this are already classified
    while probe < bytes.len() {
        let b = bytes[probe];
        if b != b'_' && b != b'.' {
            probe += shortest;
            continue;
        }
        let mut start = probe;
        while start > done && bytes[start - 1] == b {
            start -= 1;
        }
        let mut end = probe + 1;
        while end < bytes.len() && bytes[end] == b {
            end += 1;
        }
        let min = if b == b'_' {
            MIN_UNDERSCORE_FRAME
        } else {
            MIN_PERIOD_FRAME
        };
        if end - start >= min {
            out.push(Separator {
                range: start..end,
                periods: b == b'.',
            });
        }
        done = end;
        probe = end + shortest - 1;
    }
    out
}

/// Where `needle` (not empty) first occurs in `hay` at or after byte `from`, ASCII case ignored
/// or not: candidates are the places of its first byte (either case), found by memchr. For the
/// short texts searched here this beats a substring searcher, which must be built first.
pub(crate) fn find_from(hay: &str, needle: &str, from: usize, ignore_case: bool) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    let (&first, _) = n.split_first()?;
    let (lower, upper) = if ignore_case {
        (first.to_ascii_lowercase(), first.to_ascii_uppercase())
    } else {
        (first, first)
    };
    let mut i = from;
    while i + n.len() <= h.len() {
        let at = i + memchr::memchr2(lower, upper, &h[i..=h.len() - n.len()])?;
        let candidate = &h[at..at + n.len()];
        if candidate == n || (ignore_case && candidate.eq_ignore_ascii_case(n)) {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// [`find_from`] ignoring ASCII case.
fn find_ci(hay: &str, needle: &str, from: usize) -> Option<usize> {
    find_from(hay, needle, from, true)
}

/// A block element a separator can sit in: its name, and its opening and closing tag starts.
struct BlockTag {
    name: &'static str,
    open: &'static str,
    close: &'static str,
}

const BLOCK_TAGS: [BlockTag; 2] = [
    BlockTag {
        name: "p",
        open: "<p",
        close: "</p",
    },
    BlockTag {
        name: "div",
        open: "<div",
        close: "</div",
    },
];

/// The `<p` or `<div` element that encloses a separator run: (element start, its tag).
fn enclosing_open(body: &str, run_start: usize) -> Option<(usize, &'static BlockTag)> {
    let head = &body.as_bytes()[..run_start];
    let mut before = run_start;
    while let Some(i) = memchr::memrchr(b'<', &head[..before]) {
        before = i;
        let rest = &head[i + 1..];
        for tag in &BLOCK_TAGS {
            let t = tag.name.as_bytes();
            if rest.len() > t.len()
                && rest[..t.len()].eq_ignore_ascii_case(t)
                && matches!(rest[t.len()], b' ' | b'>' | b'\t' | b'\r' | b'\n' | b'/')
            {
                // The run must still be inside: no closing tag of that name in between.
                if find_ci(&body[..run_start], tag.close, i).is_some() {
                    return None;
                }
                return Some((i, tag));
            }
        }
        // Another closing block tag before any opening one: the run is not inside a p/div.
        if rest.starts_with(b"/p>") || rest.starts_with(b"/div>") {
            return None;
        }
    }
    None
}

/// End (exclusive) of the element `tag` that is open at `from`, counting nested elements.
fn enclosing_close(body: &str, from: usize, tag: &BlockTag) -> Option<usize> {
    let (open, close) = (tag.open, tag.close);
    let mut depth = 0usize;
    let mut i = from;
    loop {
        let next_close = find_ci(body, close, i)?;
        let next_open = find_ci(body, open, i).filter(|&o| {
            o < next_close
                && body
                    .as_bytes()
                    .get(o + open.len())
                    .is_some_and(|c| matches!(c, b' ' | b'>' | b'\t' | b'\r' | b'\n'))
        });
        match next_open {
            Some(o) => {
                depth += 1;
                i = o + open.len();
            }
            None => {
                let gt = body[next_close..].find('>')? + next_close + 1;
                if depth == 0 {
                    return Some(gt);
                }
                depth -= 1;
                i = gt;
            }
        }
    }
}

/// Finds the online-meeting block: the outermost pair of frame separators of one family with a
/// join link between them. With a single separator and no closing one (truncated bodies), the
/// block runs to the end of the body.
pub fn find_block(body: &str, format: BodyFormat) -> Option<FoundBlock> {
    let seps = match format {
        BodyFormat::Text => text_separators(body),
        BodyFormat::Html => html_runs(body),
    };
    if seps.is_empty() {
        return None;
    }
    let mut best: Option<(usize, Option<usize>)> = None;
    'outer: for (i, open) in seps.iter().enumerate() {
        for j in (i + 1..seps.len()).rev() {
            let close = &seps[j];
            if close.periods != open.periods {
                continue;
            }
            if has_join_link(&body[open.range.end..close.range.start], format) {
                best = Some((i, Some(j)));
                break 'outer;
            }
        }
    }
    if best.is_none() {
        // No closed pair with a link: take the first separator with a link after it, or a
        // lone separator (the text copy of a block that Outlook truncated).
        let first = &seps[0];
        let same_family = seps.iter().filter(|s| s.periods == first.periods).count();
        if same_family == 1 || has_join_link(&body[first.range.end..], format) {
            best = Some((0, None));
        } else {
            return None;
        }
    }
    let (i, j) = best?;
    let open = &seps[i];
    let (mut start, mut end) = (
        open.range.start,
        j.map(|j| seps[j].range.end).unwrap_or(body.len()),
    );
    if format == BodyFormat::Html {
        if let Some((s, _)) = enclosing_open(body, open.range.start) {
            start = s;
        }
        if let Some(j) = j {
            let close = &seps[j];
            if let Some((_, tag)) = enclosing_open(body, close.range.start) {
                if let Some(e) = enclosing_close(body, close.range.end, tag) {
                    end = e;
                }
            }
        } else {
            // Unclosed in HTML: don't swallow the rest of the document.
            return None;
        }
    }
    let inner = &body[start..end];
    let links = join_links(inner, format);
    let has_kind = |k: LinkKind| links.iter().any(|l| l.kind == k);
    Some(FoundBlock {
        range: start..end,
        closed: j.is_some(),
        skype_add_in_marker: has_kind(LinkKind::Skype)
            && (inner.contains("[!OC(") || inner.contains("OutJoinLink")),
        periods: open.periods,
        links,
    })
}

/// Percent-decodes a URL component (invalid escapes are kept).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    // Runs without '%' are copied whole.
    while let Some(p) = memchr::memchr(b'%', &b[i..]) {
        let at = i + p;
        out.extend_from_slice(&b[i..at]);
        let hex = |k: usize| b.get(k).and_then(|&c| char::from(c).to_digit(16));
        match (hex(at + 1), hex(at + 2)) {
            (Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i = at + 3;
            }
            _ => {
                out.push(b'%');
                i = at + 1;
            }
        }
    }
    out.extend_from_slice(&b[i..]);
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The thread id of a `meetup-join` link, e.g. `19:meeting_abc@thread.v2`.
pub fn teams_thread_id(url: &str) -> Option<String> {
    const PATH: &str = "/l/meetup-join/";
    let p = find_from(url, PATH, 0, false)? + PATH.len();
    let seg = url[p..].split(['/', '?']).next()?;
    let t = percent_decode(seg);
    t.starts_with("19:").then_some(t)
}

/// Channel meetings are tied to a channel conversation (`@thread.tacv2`, `@thread.skype`), not
/// to a private meeting thread (`19:meeting_…@thread.v2`).
pub fn is_channel_thread(thread: &str) -> bool {
    find_ci(thread, "@thread.tacv2", 0).is_some() || find_ci(thread, "@thread.skype", 0).is_some()
}

/// The organizer ObjectId (`Oid`) in a Teams join link's `context` parameter.
pub fn teams_context_oid(url: &str) -> Option<Uuid> {
    const PARAM: &str = "context=";
    let q = find_from(url, PARAM, 0, false)? + PARAM.len();
    let ctx = percent_decode(url[q..].split('&').next()?);
    let p = find_from(&ctx, "\"Oid\"", 0, false)? + 5;
    let rest = ctx[p..].trim_start_matches([':', ' ', '"']);
    let end = rest.find('"').unwrap_or(rest.len());
    Uuid::parse_str(&rest[..end]).ok()
}

/// The user part of a Skype meet URL: the path segment before the meeting id.
pub fn skype_meet_user(url: &str) -> Option<String> {
    let (_, path) = host_and_path(url)?;
    let segs: Vec<&str> = path
        .split(['?', '#'])
        .next()?
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    (segs.len() >= 2).then(|| segs[segs.len() - 2].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_next_to_multi_byte_text_decode_without_panicking() {
        assert_eq!(decode_entities("R&D 田中由紀さん"), "R&D 田中由紀さん");
        assert_eq!(
            decode_entities("&nbsp; \u{fffd}\u{fffd}\u{fffd}x"),
            "\u{a0} \u{fffd}\u{fffd}\u{fffd}x"
        );
        assert_eq!(decode_entities("a&amp;é"), "a&é");
    }

    #[test]
    fn url_ends_where_the_byte_by_byte_definition_says_at_every_offset() {
        let naive = |t: &str| {
            t.char_indices()
                .find(|&(_, c)| c.is_whitespace() || (c.is_ascii() && ENDS_URL[c as usize]))
                .map_or(t.len(), |(i, _)| i)
        };
        let url = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_Zx%40thread.v2/0?context=%7b%22Tid%22%3a%22x%22%7d";
        for stop in [
            " ", "\t", "\r\n", "\"", "'", "<", ">", "\\", "\u{a0}", "\u{3000}", "é", "\u{1}", "田",
            "",
        ] {
            for cut in 0..url.len() {
                let t = format!("{}{stop}{}", &url[..cut], &url[cut..]);
                assert_eq!(url_len(&t), naive(&t), "{t:?}");
            }
        }
    }

    #[test]
    fn search_with_and_without_case_agrees_with_comparing_at_every_offset() {
        let hay = "<DIV><p>x</P><Div class=a></div></dIv>é<p";
        for needle in ["</div", "<p", "</p", "<div", "é<P", "x", "zz", ""] {
            for from in 0..=hay.len() {
                let naive = (from..=hay.len().saturating_sub(needle.len()))
                    .filter(|_| !needle.is_empty() && hay.len() >= needle.len())
                    .find(|&i| {
                        hay.as_bytes()[i..i + needle.len()].eq_ignore_ascii_case(needle.as_bytes())
                    });
                assert_eq!(find_ci(hay, needle, from), naive, "{needle:?} from {from}");
                let exact = (from..=hay.len().saturating_sub(needle.len()))
                    .filter(|_| !needle.is_empty() && hay.len() >= needle.len())
                    .find(|&i| &hay.as_bytes()[i..i + needle.len()] == needle.as_bytes());
                assert_eq!(
                    find_from(hay, needle, from, false),
                    exact,
                    "{needle:?} from {from}, case kept"
                );
            }
        }
    }

    const U80: &str =
        "________________________________________________________________________________";

    fn dots(n: usize) -> String {
        ".".repeat(n)
    }

    #[test]
    fn classifies_join_links_by_host_and_path() {
        assert_eq!(
            classify_link("https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0"),
            Some(LinkKind::Teams)
        );
        assert_eq!(
            classify_link("https://teams.microsoft.com/meet/26374053457629?p=x"),
            Some(LinkKind::Teams)
        );
        assert_eq!(
            classify_link("https://teams.live.com/meet/9392947982999?p=q"),
            Some(LinkKind::TeamsConsumer)
        );
        assert_eq!(
            classify_link("https://meet.lync.com/contoso/ashaw/ZRC25BBR"),
            Some(LinkKind::Skype)
        );
        assert_eq!(
            classify_link("https://sfb.fabrikam.com/meet/bfrank/K7QW2M4P"),
            Some(LinkKind::Skype)
        );
        assert_eq!(classify_link("https://meet.google.com/abc-defg-hij"), None);
        assert_eq!(classify_link("https://aka.ms/JoinTeamsMeeting"), None);
        assert_eq!(
            classify_link("https://teams.microsoft.com/meetingOptions/?organizerId=x"),
            None
        );
    }

    #[test]
    fn text_block_between_underscore_rows_with_localised_words() {
        let body = format!(
            "Agenda\n\n{U80}\nMicrosoft Teams-Besprechung\nKlicken Sie hier<https://teams.microsoft.com/l/meetup-join/19%3ameeting_a%40thread.v2/0>\n{U80}\nNachher"
        );
        let b = find_block(&body, BodyFormat::Text).unwrap();
        assert!(b.closed);
        assert_eq!(&body[..b.range.start], "Agenda\n\n");
        assert_eq!(&body[b.range.end..], "\nNachher");
        assert_eq!(b.kind(), Some(LinkKind::Teams));
    }

    #[test]
    fn newest_text_template_with_inner_rule_is_one_block() {
        let body = format!(
            "Hi\n{}\nJoin: https://teams.microsoft.com/meet/1?p=2\n{}\nSystem reference<https://teams.microsoft.com/l/meetup-join/19%3ameeting_a%40thread.v2/0>\n{U80}\n",
            "_".repeat(82),
            "_".repeat(34)
        );
        let b = find_block(&body, BodyFormat::Text).unwrap();
        assert_eq!(&body[..b.range.start], "Hi\n");
        assert_eq!(&body[b.range.end..], "\n");
        assert_eq!(b.links.len(), 2);
    }

    #[test]
    fn skype_text_block_wrapped_71_plus_66() {
        let body = format!(
            " \n{}\n{}\n--> Join Skype Meeting\n<https://meet.lync.com/contoso/ashaw/ABC>\n[!OC([1033])!]\n{}\n{}\n \n",
            dots(71),
            dots(66),
            dots(71),
            dots(66)
        );
        let b = find_block(&body, BodyFormat::Text).unwrap();
        assert_eq!(&body[..b.range.start], " \n");
        assert_eq!(&body[b.range.end..], "\n \n");
        assert!(b.skype_add_in_marker);
        assert!(b.periods);
        assert_eq!(b.kind(), Some(LinkKind::Skype));
    }

    #[test]
    fn periods_with_consumer_link_are_consumer_teams() {
        let body = format!(
            "x\n{}\nTham gia<https://teams.live.com/meet/93?p=q>\n{}\n",
            dots(137),
            dots(137)
        );
        let b = find_block(&body, BodyFormat::Text).unwrap();
        assert_eq!(b.kind(), Some(LinkKind::TeamsConsumer));
    }

    #[test]
    fn html_block_spans_the_separator_elements() {
        let body = format!(
            "<p>before</p><div><p class=MsoNormal><span style='color:#5F5F5F'>{U80}</span> <o:p></o:p></p></div><div><a href=\"https://teams.microsoft.com/l/meetup-join/19%3ameeting_a%40thread.v2/0?context=%7b%22Oid%22%3a%2200000000-0000-0000-0000-000000000007%22%7d&amp;x=1\">Join</a></div><div><p class=MsoNormal><span>{U80}</span></p></div><p>after</p>"
        );
        let b = find_block(&body, BodyFormat::Html).unwrap();
        assert_eq!(&body[..b.range.start], "<p>before</p><div>");
        assert_eq!(&body[b.range.end..], "</div><p>after</p>");
        let url = b.meetup_join_links().next().unwrap().to_string();
        assert!(url.ends_with("&x=1"), "{url}");
        assert_eq!(teams_context_oid(&url), Some(Uuid::from_u128(7)));
    }

    #[test]
    fn no_separators_no_block() {
        assert!(find_block(
            "Join at https://teams.microsoft.com/l/meetup-join/x",
            BodyFormat::Text
        )
        .is_none());
        let only_rows = format!("{U80}\nnothing here\n{U80}\n{U80}");
        assert!(find_block(&only_rows, BodyFormat::Text).is_none());
    }

    #[test]
    fn lone_separator_text_block_runs_to_the_end() {
        let body = format!(" \n\n{U80} \n");
        let b = find_block(&body, BodyFormat::Text).unwrap();
        assert!(!b.closed);
        assert_eq!(b.range, 3..body.len());
    }

    #[test]
    fn thread_ids_channels_and_skype_users() {
        let t = teams_thread_id(
            "https://teams.microsoft.com/l/meetup-join/19%3afe1f%40thread.tacv2/1605?context=x",
        )
        .unwrap();
        assert_eq!(t, "19:fe1f@thread.tacv2");
        assert!(is_channel_thread(&t));
        assert!(!is_channel_thread("19:meeting_abc@thread.v2"));
        assert_eq!(
            skype_meet_user("https://meet.lync.com/contoso/jaiello/ZRC25BBR").as_deref(),
            Some("jaiello")
        );
        assert_eq!(percent_decode("a%3Ab%4"), "a:b%4");
        assert_eq!(percent_decode("%C3%a9%zz%"), "é%zz%");
        assert_eq!(percent_decode("x%e9y"), "x\u{fffd}y");
        assert_eq!(percent_decode("%%41%"), "%A%");
        assert!(is_channel_thread("19:FE1F@Thread.TACV2"));
        assert!(is_channel_thread("19:x@thread.skype"));
        assert_eq!(
            teams_context_oid(
                "https://teams.microsoft.com/l/meetup-join/x/0?context=%7b%22Tid%22%3a%22t%22%2c%22Oid%22%3a%2211111111-2222-3333-4444-555555555555%22%7d&y=1"
            )
            .map(|u| u.to_string())
            .as_deref(),
            Some("11111111-2222-3333-4444-555555555555")
        );
    }

    #[test]
    fn entities_decode() {
        assert_eq!(
            decode_entities("a&amp;b&#43;c&#x41;&bogus;"),
            "a&b+cA&bogus;"
        );
    }
}
