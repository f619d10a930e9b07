//! RFC 5545 content-line editor.
//!
//! A calendar is split into logical lines, each remembering the exact physical bytes it came from
//! (folds, line ends, odd bytes and all). Writing a document back emits those bytes for every line
//! that was not replaced, so parse-then-write of an unchanged calendar is the identity. Only lines
//! we replace are re-folded, in the file's own style (CRLF or LF, SPACE or TAB continuation).

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// The longest line we fold to, in octets, excluding the line break (RFC 5545 §3.1).
pub const FOLD_OCTETS: usize = 75;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Malformed content lines that make a calendar unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based physical line number.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for LineError {}

/// One logical (unfolded) content line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentLine<'a> {
    /// The physical bytes of this line in the source, including its line break(s).
    pub raw: Range<usize>,
    /// 1-based physical line number where it starts.
    pub line_no: usize,
    /// Unfolded bytes without the final line break: borrowed from the source unless the line
    /// was folded (most lines are not, so parsing allocates little). Private: `utf8` vouches
    /// for these bytes (see [`Self::unfolded`]).
    unfolded: Cow<'a, [u8]>,
    /// End of the property name in `unfolded`.
    name_end: usize,
    /// Start of the value in `unfolded` (just after the unquoted ':'); `None` when the line has no ':'.
    value_start: Option<usize>,
    /// `unfolded` is known to be UTF-8: the whole source was (checked once by
    /// [`Document::parse`]; every piece of it cut at line breaks, fold characters, ';' or ':'
    /// is then UTF-8 too).
    utf8: bool,
}

/// A parameter of a content line, e.g. `TZID="Pacific Standard Time"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    /// Values with their DQUOTEs removed (RFC 6868 `^` encoding is left as is).
    pub values: Vec<String>,
}

impl ContentLine<'_> {
    /// The unfolded line without its final line break.
    pub fn unfolded(&self) -> &[u8] {
        &self.unfolded
    }

    /// The property name as written (case preserved).
    pub fn name_bytes(&self) -> &[u8] {
        &self.unfolded[..self.name_end]
    }

    /// Case-insensitive property-name comparison (`description` = `DESCRIPTION`).
    pub fn is(&self, name: &str) -> bool {
        self.name_bytes().eq_ignore_ascii_case(name.as_bytes())
    }

    /// The property name, upper-cased.
    pub fn name(&self) -> String {
        String::from_utf8_lossy(self.name_bytes()).to_ascii_uppercase()
    }

    /// `;PARAM=...;PARAM=...` exactly as written, without the leading property name.
    pub fn params_bytes(&self) -> &[u8] {
        match self.value_start {
            Some(v) => &self.unfolded[self.name_end..v - 1],
            None => &self.unfolded[self.name_end..],
        }
    }

    /// The raw (still TEXT-escaped) value bytes.
    pub fn value_bytes(&self) -> &[u8] {
        match self.value_start {
            Some(v) => &self.unfolded[v..],
            None => &[],
        }
    }

    /// `bytes` (a piece of this line) as text, lossy for the odd non-UTF-8 producer; not
    /// validated again when the whole document was UTF-8.
    fn text_of<'s>(&self, bytes: &'s [u8]) -> Cow<'s, str> {
        if self.utf8 {
            // SAFETY: `utf8` is only set when the source is valid UTF-8, and `bytes` is a
            // piece of this line cut at ASCII bytes (see the field).
            return Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(bytes) });
        }
        utf8_lossy(bytes)
    }

    /// The raw value as UTF-8 text (lossy for the odd non-UTF-8 producer).
    pub fn value_lossy(&self) -> Cow<'_, str> {
        self.text_of(self.value_bytes())
    }

    /// The parameters exactly as written (see [`Self::params_bytes`]), as text.
    pub fn params_lossy(&self) -> Cow<'_, str> {
        self.text_of(self.params_bytes())
    }

    /// The raw value, strictly UTF-8.
    pub fn value_str(&self) -> Result<&str, LineError> {
        // (Borrowed exactly when the bytes are UTF-8.)
        if let Cow::Borrowed(s) = self.text_of(self.value_bytes()) {
            return Ok(s);
        }
        std::str::from_utf8(self.value_bytes()).map_err(|e| LineError {
            line: self.line_no,
            message: format!(
                "{} is not valid UTF-8 (byte {} of its value)",
                self.name(),
                e.valid_up_to()
            ),
        })
    }

    /// The value TEXT-unescaped (borrowed when it holds no escape).
    pub fn text_value(&self) -> Cow<'_, str> {
        match self.value_lossy() {
            Cow::Borrowed(v) if !v.as_bytes().contains(&b'\\') => Cow::Borrowed(v),
            v => Cow::Owned(unescape_text(&v)),
        }
    }

    /// Whether the line has a ':' separating name/params from value.
    pub fn has_value(&self) -> bool {
        self.value_start.is_some()
    }

    /// Parameters in order. Values in DQUOTEs may contain ';', ':' and ','.
    pub fn params(&self) -> Vec<Param> {
        parse_params(&self.params_lossy())
    }

    /// The first value of a parameter (case-insensitive name).
    pub fn param(&self, name: &str) -> Option<Cow<'_, str>> {
        match self.params_lossy() {
            Cow::Borrowed(p) => first_param_value(p, name).map(Cow::Borrowed),
            Cow::Owned(p) => first_param_value(&p, name).map(|v| Cow::Owned(v.to_string())),
        }
    }
}

/// `String::from_utf8_lossy`, but through the word-at-a-time `from_utf8` first: valid input
/// (nearly all of it) is validated several times faster than by `Utf8Chunks`.
pub fn utf8_lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// A piece of a parameter list, in order: each parameter's name, then each of its values, then
/// the whole parameter.
pub(crate) enum ParamPiece<'s> {
    Name(&'s str),
    /// DQUOTEs removed.
    Value(&'s str),
    /// The parameter exactly as written, up to the `;` that ends it (`B="x;y",z`; empty for
    /// the gap in `;;`).
    Whole(&'s str),
}

/// Walks `;A=1;B="x;y",z` piece by piece until `each` returns `false`. Values in DQUOTEs may
/// contain ';', ':' and ','. The `Whole` pieces and the `;` before each cover every byte after
/// the first `;`.
pub(crate) fn walk_params<'s>(s: &'s str, mut each: impl FnMut(ParamPiece<'s>) -> bool) {
    let bytes = s.as_bytes();
    // The first byte of `set` at or after `from` (or the end): every delimiter is ASCII, so
    // each piece cut here is a str.
    fn find<const N: usize>(bytes: &[u8], from: usize, set: &[u8; N]) -> usize {
        find_byte_in(&bytes[from..], set).map_or(bytes.len(), |p| from + p)
    }
    // At the `;` that starts a parameter (bytes before the first one belong to none).
    let mut at = find(bytes, 0, b";");
    while at < bytes.len() {
        let start = at + 1;
        let mut i = find(bytes, start, b"=;");
        if !each(ParamPiece::Name(&s[start..i])) {
            return;
        }
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            loop {
                let value = if bytes.get(i) == Some(&b'"') {
                    let end = find(bytes, i + 1, b"\"");
                    let value = &s[i + 1..end];
                    i = (end + 1).min(bytes.len());
                    value
                } else {
                    let end = find(bytes, i, b",;");
                    let value = &s[i..end];
                    i = end;
                    value
                };
                if !each(ParamPiece::Value(value)) {
                    return;
                }
                if bytes.get(i) == Some(&b',') {
                    i += 1;
                    continue;
                }
                break;
            }
        }
        // Whatever follows the last value (a stray byte after a closing quote) belongs to this
        // parameter, up to the next `;`.
        at = find(bytes, i, b";");
        if !each(ParamPiece::Whole(&s[start..at])) {
            return;
        }
    }
}

/// Splits `;A=1;B="x;y",z` into parameters.
pub fn parse_params(s: &str) -> Vec<Param> {
    let mut out: Vec<Param> = Vec::new();
    walk_params(s, |piece| {
        match piece {
            ParamPiece::Name(name) => out.push(Param {
                name: name.to_string(),
                values: Vec::new(),
            }),
            ParamPiece::Value(v) => {
                if let Some(p) = out.last_mut() {
                    p.values.push(v.to_string());
                }
            }
            ParamPiece::Whole(_) => {}
        }
        true
    });
    out
}

/// The first value of the first parameter called `name` (ASCII case ignored): what
/// [`parse_params`] would give for it, without building the list.
fn first_param_value<'s>(s: &'s str, name: &str) -> Option<&'s str> {
    // Inside the first parameter of that name (its first value, if any, comes next).
    let mut inside = false;
    let mut found = None;
    walk_params(s, |piece| match piece {
        // A second name after the wanted one: it had no value.
        ParamPiece::Name(_) if inside => false,
        ParamPiece::Name(n) => {
            inside = n.eq_ignore_ascii_case(name);
            true
        }
        ParamPiece::Value(v) if inside => {
            found = Some(v);
            false
        }
        ParamPiece::Value(_) | ParamPiece::Whole(_) => true,
    });
    found
}

/// Position of the first byte of `s` that is one of `set`: sixteen bytes at a time with SSE2 on
/// x86-64, then eight at a time (the "has a zero byte" bit trick on `word ^ repeated(b)`;
/// exact, since a hit is confirmed bytewise).
#[inline]
pub(crate) fn find_byte_in<const N: usize>(s: &[u8], set: &[u8; N]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGHS: u64 = ONES << 7;
    let mut i = 0;
    // Sixteen bytes per step with SSE2 (part of every x86-64 CPU). The set's size is a constant,
    // so the comparisons are unrolled and the broadcast needles stay in registers.
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        // SAFETY: SSE2 is part of x86-64.
        let needles = set.map(|b| unsafe { _mm_set1_epi8(b as i8) });
        while i + 16 <= s.len() {
            // SAFETY: SSE2 is part of x86-64; the 16 bytes at i are inside `s`.
            let mask = unsafe {
                let v = _mm_loadu_si128(s.as_ptr().add(i) as *const __m128i);
                let any = needles.iter().fold(_mm_setzero_si128(), |acc, &n| {
                    _mm_or_si128(acc, _mm_cmpeq_epi8(v, n))
                });
                _mm_movemask_epi8(any)
            };
            if mask != 0 {
                return Some(i + mask.trailing_zeros() as usize);
            }
            i += 16;
        }
    }
    while let Some(chunk) = s.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_ne_bytes(word);
        let hit = set.iter().fold(0, |acc, &b| {
            let x = word ^ (ONES * u64::from(b));
            acc | (x.wrapping_sub(ONES) & !x & HIGHS)
        });
        if hit != 0 {
            break;
        }
        i += 8;
    }
    s[i..].iter().position(|b| set.contains(b)).map(|p| i + p)
}

/// Finds the end of the property name and the unquoted ':' that starts the value.
fn split_line(unfolded: &[u8]) -> (usize, Option<usize>) {
    let name_end = find_byte_in(unfolded, b";:").unwrap_or(unfolded.len());
    // No parameters (most lines): the value starts right after the name.
    if unfolded.get(name_end) == Some(&b':') {
        return (name_end, Some(name_end + 1));
    }
    // From quote to quote: a ':' counts only outside them.
    let mut i = name_end;
    while let Some(p) = find_byte_in(&unfolded[i..], b":\"") {
        let at = i + p;
        if unfolded[at] == b':' {
            return (name_end, Some(at + 1));
        }
        match memchr::memchr(b'"', &unfolded[at + 1..]) {
            Some(q) => i = at + 1 + q + 1,
            None => break,
        }
    }
    // An unterminated quote: fall back to the first ':' after the name.
    let fallback = memchr::memchr(b':', &unfolded[name_end..]).map(|p| name_end + p + 1);
    (name_end, fallback)
}

/// Where the bytes of a small set (the parser's CR and LF) are in a buffer, found 64 bytes at a
/// time: one pass marks them, and each search is then the next marked bit. Lines are short, so
/// a search per line would spend more on starting than on searching. Searches only move
/// forward: each `from` is at or after the one before and past the last answer.
struct ByteMarks<'s, const N: usize> {
    src: &'s [u8],
    set: [u8; N],
    /// Start of the 64-byte block `mask` describes.
    base: usize,
    /// Bit k: `src[base + k]` is in `set`.
    mask: u64,
}

impl<'s, const N: usize> ByteMarks<'s, N> {
    fn new(src: &'s [u8], set: [u8; N]) -> Self {
        ByteMarks {
            src,
            set,
            base: 0,
            mask: Self::block(src, &set, 0),
        }
    }

    /// The bits of the 64 bytes at `base` that are in `set` (fewer at the end of `src`).
    #[inline]
    fn block(src: &[u8], set: &[u8; N], base: usize) -> u64 {
        // Byte by byte: the last, short block (and CPUs without SSE2).
        let scalar = |bytes: &[u8]| {
            bytes
                .iter()
                .enumerate()
                .filter(|&(_, b)| set.contains(b))
                .fold(0u64, |m, (k, _)| m | 1 << k)
        };
        let Some(bytes) = src.get(base..base + 64) else {
            return scalar(src.get(base..).unwrap_or_default());
        };
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::*;
            // SAFETY: SSE2 is part of x86-64; the 64 bytes read are inside `bytes`.
            unsafe {
                let needles = set.map(|b| _mm_set1_epi8(b as i8));
                (0..4).fold(0u64, |m, k| {
                    let v = _mm_loadu_si128(bytes.as_ptr().add(16 * k) as *const __m128i);
                    let hit = needles.iter().fold(_mm_setzero_si128(), |acc, &n| {
                        _mm_or_si128(acc, _mm_cmpeq_epi8(v, n))
                    });
                    m | (_mm_movemask_epi8(hit) as u16 as u64) << (16 * k)
                })
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        scalar(bytes)
    }

    /// The first byte of the set at or after `from`.
    #[inline]
    fn first_at_or_after(&mut self, from: usize) -> Option<usize> {
        if from >= self.base + 64 {
            self.base = from - from % 64;
            self.mask = Self::block(self.src, &self.set, self.base);
        }
        let skip = from.saturating_sub(self.base) as u32;
        let mut mask = self.mask & (!0u64).checked_shl(skip).unwrap_or(0);
        while mask == 0 {
            self.base += 64;
            if self.base >= self.src.len() {
                // Nothing is left: later questions get the same answer.
                self.mask = 0;
                return None;
            }
            self.mask = Self::block(self.src, &self.set, self.base);
            mask = self.mask;
        }
        Some(self.base + mask.trailing_zeros() as usize)
    }
}

/// A parsed calendar: its source bytes and logical lines covering every byte.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    pub src: &'a [u8],
    /// Bytes before the first line (a UTF-8 BOM), kept verbatim.
    pub prefix: Range<usize>,
    pub lines: Vec<ContentLine<'a>>,
    /// The file's line break, used for lines we write: CRLF unless the file uses bare LF.
    pub newline: &'static [u8],
    /// The file's continuation character: SPACE unless the file folds with TAB.
    pub fold_char: u8,
}

impl<'a> Document<'a> {
    /// Unfolds `src` into logical lines. Never fails: any byte sequence gives a document whose
    /// `write_unchanged` is `src` itself. Structural checks (BEGIN/END) happen in the caller.
    pub fn parse(src: &'a [u8]) -> Document<'a> {
        let prefix_end = if src.starts_with(BOM) { BOM.len() } else { 0 };
        let mut newline: Option<&'static [u8]> = None;
        let mut fold_char: Option<u8> = None;
        let mut breaks = ByteMarks::new(src, *b"\r\n");
        // The physical line at `start`: where its content ends and where its line break (CRLF,
        // bare LF or bare CR) ends.
        let mut physical = |start: usize| {
            let content_end = breaks.first_at_or_after(start).unwrap_or(src.len());
            let full_end = match src.get(content_end) {
                None => content_end,
                Some(b'\r') if src.get(content_end + 1) == Some(&b'\n') => content_end + 2,
                Some(_) => content_end + 1,
            };
            if newline.is_none() && full_end > content_end {
                newline = Some(match full_end - content_end {
                    2 => b"\r\n",
                    _ if src[content_end] == b'\r' => b"\r",
                    _ => b"\n",
                });
            }
            (content_end, full_end)
        };
        // (One check of the whole calendar: SIMD validation, most bodies carry accents or emoji
        // every few dozen bytes, where the standard check leaves its ASCII fast path.)
        let utf8 = simdutf8::basic::from_utf8(src).is_ok();
        // (Outlook folds its long bodies: a logical line averages well over 100 bytes.)
        let mut lines: Vec<ContentLine<'a>> = Vec::with_capacity(src.len() / 128 + 16);
        // The continuation lines of the logical line being read: content after the fold
        // character. Kept for the whole parse, so a folded line costs one allocation: its own.
        let mut runs: Vec<(usize, usize)> = Vec::with_capacity(64);
        let mut line_no = 0;
        let mut start = prefix_end;
        while start < src.len() {
            let (content_end, mut full_end) = physical(start);
            line_no += 1;
            let first_line_no = line_no;
            runs.clear();
            // An empty line is never continued (its next line stands on its own).
            if content_end > start {
                while matches!(src.get(full_end), Some(b' ') | Some(b'\t')) {
                    let (e, next_end) = physical(full_end);
                    runs.push((full_end + 1, e));
                    line_no += 1;
                    full_end = next_end;
                }
            }
            let unfolded = match runs.first() {
                None => Cow::Borrowed(&src[start..content_end]),
                Some(&(first_run, _)) => {
                    if fold_char.is_none() {
                        fold_char = Some(src[first_run - 1]);
                    }
                    let len = content_end - start + runs.iter().map(|&(s, e)| e - s).sum::<usize>();
                    let mut v = Vec::with_capacity(len);
                    v.extend_from_slice(&src[start..content_end]);
                    for &(s, e) in &runs {
                        v.extend_from_slice(&src[s..e]);
                    }
                    Cow::Owned(v)
                }
            };
            let (name_end, value_start) = split_line(&unfolded);
            lines.push(ContentLine {
                raw: start..full_end,
                line_no: first_line_no,
                unfolded,
                name_end,
                value_start,
                utf8,
            });
            start = full_end;
        }
        Document {
            src,
            prefix: 0..prefix_end,
            lines,
            newline: newline.unwrap_or(b"\r\n"),
            fold_char: fold_char.unwrap_or(b' '),
        }
    }

    /// The source bytes of one line (with folds and line break).
    pub fn raw(&self, idx: usize) -> &'a [u8] {
        &self.src[self.lines[idx].raw.clone()]
    }

    /// Writes the document back, with `edits` applied. Each edit replaces the raw bytes of one
    /// line (`Some(bytes)`, already folded and terminated) or deletes it (`None`); `inserts` add
    /// bytes before a line index (or at the end when the index is `lines.len()`).
    pub fn write(&self, edits: &Edits) -> Vec<u8> {
        self.write_layers(&[edits])
    }

    /// Writes the document with several sets of edits: a line's replacement comes from the last
    /// layer that replaces it (within a layer, the last one made), insertions before the same
    /// line are written in layer order, then in the order made.
    pub fn write_layers(&self, layers: &[&Edits]) -> Vec<u8> {
        let changed: usize = layers.iter().map(|e| e.bytes.len()).sum();
        let mut out = Vec::with_capacity(self.src.len() + changed);
        out.extend_from_slice(&self.src[self.prefix.clone()]);
        // The lines cover the source contiguously: the unchanged ones between two edited
        // places are copied as one run.
        let copy_lines = |out: &mut Vec<u8>, from: usize, to: usize| {
            if from < to {
                out.extend_from_slice(
                    &self.src[self.lines[from].raw.start..self.lines[to - 1].raw.end],
                );
            }
        };
        // Every change of every layer by (line, insertions first, layer, order made); `None`
        // bytes delete the line.
        type Place<'e> = (usize, bool, usize, usize, Option<&'e [u8]>);
        let mut places: Vec<Place> = layers
            .iter()
            .enumerate()
            .flat_map(|(layer, e)| {
                e.changes.iter().enumerate().map(move |(made, &(line, c))| {
                    let (replaces, bytes) = match c {
                        Change::Insert(from, to) => (false, Some(&e.bytes[from..to])),
                        Change::Replace(from, to) => (true, Some(&e.bytes[from..to])),
                        Change::Delete => (true, None),
                    };
                    (line, replaces, layer, made, bytes)
                })
            })
            .collect();
        places.sort_unstable_by_key(|&(line, replaces, layer, made, _)| {
            (line, replaces, layer, made)
        });
        // The first line not written yet.
        let mut next = 0;
        let mut k = 0;
        // (An insertion keyed past the end has no place: it was never written.)
        while let Some(&(i, ..)) = places.get(k).filter(|p| p.0 <= self.lines.len()) {
            copy_lines(&mut out, next, i);
            next = i;
            let mut replacement = None;
            while let Some(&(_, replaces, _, _, bytes)) = places.get(k).filter(|p| p.0 == i) {
                match (replaces, bytes) {
                    (false, Some(b)) => out.extend_from_slice(b),
                    _ => replacement = Some(bytes),
                }
                k += 1;
            }
            if i < self.lines.len() {
                match replacement {
                    Some(Some(bytes)) => out.extend_from_slice(bytes),
                    Some(None) => {}
                    None => copy_lines(&mut out, i, i + 1),
                }
                next = i + 1;
            }
        }
        copy_lines(&mut out, next, self.lines.len());
        out
    }

    /// Parse-then-write with no edits: byte-identical to the input.
    pub fn write_unchanged(&self) -> Vec<u8> {
        self.write(&Edits::default())
    }

    /// The raw line break that ends line `idx` (empty if the file ends without one).
    pub fn line_break_of(&self, idx: usize) -> &'a [u8] {
        let raw = &self.src[self.lines[idx].raw.clone()];
        let n = raw
            .iter()
            .rev()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        &raw[raw.len() - n.min(2)..]
    }
}

/// Replacements, deletions and insertions keyed by line index. Their bytes (already folded and
/// terminated) are kept back to back in one buffer: one allocation for every line changed.
#[derive(Debug, Default, Clone)]
pub struct Edits {
    bytes: Vec<u8>,
    /// (line, what happens there), in the order made.
    changes: Vec<(usize, Change)>,
}

/// One change; the ranges are in [`Edits::bytes`].
#[derive(Debug, Clone, Copy)]
enum Change {
    Replace(usize, usize),
    Delete,
    Insert(usize, usize),
}

impl Edits {
    /// Room for `bytes` bytes of folded lines: a caller that knows what it will change spares
    /// the buffer's regrowth (each copies every line changed so far).
    pub fn with_capacity(bytes: usize) -> Self {
        Edits {
            bytes: Vec::with_capacity(bytes),
            changes: Vec::with_capacity(16),
        }
    }

    /// Replaces line `idx` with the logical line `logical`, folded in `doc`'s style.
    pub fn set_folded(&mut self, idx: usize, doc: &Document, logical: &[u8]) {
        let (from, to) = self.fold(doc, logical);
        self.changes.push((idx, Change::Replace(from, to)));
    }

    pub fn delete(&mut self, idx: usize) {
        self.changes.push((idx, Change::Delete));
    }

    /// Inserts the logical line `logical`, folded in `doc`'s style, before line `idx` (at the
    /// end when `idx` is the number of lines).
    pub fn insert_folded_before(&mut self, idx: usize, doc: &Document, logical: &[u8]) {
        let (from, to) = self.fold(doc, logical);
        self.changes.push((idx, Change::Insert(from, to)));
    }

    /// Folds `logical` onto the end of the buffer; where it landed.
    fn fold(&mut self, doc: &Document, logical: &[u8]) -> (usize, usize) {
        let from = self.bytes.len();
        fold_into(&mut self.bytes, logical, doc.newline, doc.fold_char);
        (from, self.bytes.len())
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Is `b` a UTF-8 continuation byte (10xxxxxx)?
fn is_continuation_byte(b: u8) -> bool {
    b & 0xC0 == 0x80
}

/// Does a combining diacritical mark (U+0300..U+036F, encoded CC 80..CD AF) start at `i`?
fn combining_mark_at(s: &[u8], i: usize) -> bool {
    match (s.get(i), s.get(i + 1)) {
        (Some(0xCC), Some(_)) => true,
        (Some(0xCD), Some(&b)) => b <= 0xAF,
        _ => false,
    }
}

/// Folds a logical line at 75 octets (74 after the continuation character), never splitting a
/// UTF-8 character, never separating a backslash from the character it escapes and, where
/// possible, not separating a combining mark from its base. Appends `newline` after every
/// physical line.
pub fn fold_line(logical: &[u8], newline: &[u8], fold_char: u8) -> Vec<u8> {
    let mut out = Vec::new();
    fold_into(&mut out, logical, newline, fold_char);
    out
}

/// [`fold_line`], appending to `out`.
pub fn fold_into(out: &mut Vec<u8>, logical: &[u8], newline: &[u8], fold_char: u8) {
    out.reserve(logical.len() + logical.len() / 70 * 3 + 2);
    let mut start = 0;
    let mut limit = FOLD_OCTETS;
    while logical.len() - start > limit {
        let mut cut = start + limit;
        // Back up to a character boundary.
        while cut > start + 1 && is_continuation_byte(logical[cut]) {
            cut -= 1;
        }
        // Keep "\x" escapes whole: count the backslashes right before the cut.
        let mut k = cut;
        while k > start && logical[k - 1] == b'\\' {
            k -= 1;
        }
        if (cut - k) % 2 == 1 && cut - 1 > start {
            cut -= 1;
        }
        // Keep a combining mark with its base when there is room to move back.
        let mut c = cut;
        while c > start + 8 && combining_mark_at(logical, c) {
            c -= 1;
            while c > start + 1 && is_continuation_byte(logical[c]) {
                c -= 1;
            }
        }
        if c > start + 8 {
            cut = c;
        }
        // FOLD_OCTETS bytes (they are there: more than `limit` >= 74 are left) copied with a
        // length the compiler knows, then cut back to `cut`: cheaper than a memcpy call.
        out.extend_from_slice(&logical[start..start + FOLD_OCTETS]);
        out.truncate(out.len() - (start + FOLD_OCTETS - cut));
        push_newline(out, newline);
        out.push(fold_char);
        start = cut;
        limit = FOLD_OCTETS - 1;
    }
    out.extend_from_slice(&logical[start..]);
    push_newline(out, newline);
}

/// Appends a line break (CRLF, the usual one, as a constant).
fn push_newline(out: &mut Vec<u8>, newline: &[u8]) {
    match newline {
        b"\r\n" => out.extend_from_slice(b"\r\n"),
        _ => out.extend_from_slice(newline),
    }
}

/// TEXT-escapes a value (RFC 5545 §3.3.11): `\` first, then `;` `,` and line breaks (`\n`).
/// Copies runs of ordinary text whole; every byte that needs escaping is ASCII.
pub fn escape_text(s: &str) -> String {
    escaped_text(s).into_owned()
}

/// [`escape_text`], borrowing `s` when nothing in it needs escaping (join links, IDs, numbers).
pub fn escaped_text(s: &str) -> Cow<'_, str> {
    let bytes = s.as_bytes();
    let Some(first) = find_byte_in(bytes, b"\\;,\r\n") else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + s.len() / 16 + 2);
    out.push_str(&s[..first]);
    let mut i = first;
    while let Some(p) = find_byte_in(&bytes[i..], b"\\;,\r\n") {
        let at = i + p;
        let (escaped, len) = match bytes[at] {
            b'\\' => ("\\\\", 1),
            b';' => ("\\;", 1),
            b',' => ("\\,", 1),
            b'\r' if bytes.get(at + 1) == Some(&b'\n') => ("\\n", 2),
            _ => ("\\n", 1),
        };
        out.push_str(&s[i..at]);
        out.push_str(escaped);
        i = at + len;
    }
    out.push_str(&s[i..]);
    Cow::Owned(out)
}

/// The character a TEXT escape `\x` stands for (`None`: not an escape, the backslash is kept).
fn unescaped_char(x: u8) -> Option<&'static str> {
    match x {
        b'\\' => Some("\\"),
        b'n' | b'N' => Some("\n"),
        b';' => Some(";"),
        b',' => Some(","),
        b':' => Some(":"),
        _ => None,
    }
}

/// TEXT-unescaping as a sequence of pieces: `piece(decoded, raw_start, is_escape)` is called for
/// each run of literal text and for each escape, in order, until it returns `false`. Runs are
/// found with a byte search, so text without backslashes costs one call.
fn unescape_pieces(s: &str, mut piece: impl FnMut(&str, usize, bool) -> bool) {
    let bytes = s.as_bytes();
    let mut i = 0;
    // (Escapes come every few dozen bytes in a body: the inlined 16-byte scan beats a memchr
    // call per escape.)
    while let Some(p) = find_byte_in(&bytes[i..], b"\\") {
        let at = i + p;
        if at > i && !piece(&s[i..at], i, false) {
            return;
        }
        let go_on = match bytes.get(at + 1).copied().and_then(unescaped_char) {
            Some(c) => {
                i = at + 2;
                piece(c, at, true)
            }
            None => {
                i = at + 1;
                piece("\\", at, false)
            }
        };
        if !go_on {
            return;
        }
    }
    if i < s.len() {
        piece(&s[i..], i, false);
    }
}

/// TEXT-unescapes in one left-to-right pass (so `\\n` is a backslash then `n`). Lenient: `\:` is
/// a colon, an unknown escape keeps its backslash, a trailing lone backslash is kept.
pub fn unescape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    unescape_pieces(s, |piece, _, _| {
        out.push_str(piece);
        true
    });
    out
}

/// Unescapes and returns, for each byte offset of the output, the byte offset in the input where
/// the character it belongs to starts; plus one final entry for the end. Lets a caller splice
/// new text into the escaped value without touching any other byte.
pub fn unescape_text_mapped(s: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(s.len());
    let mut map = Vec::with_capacity(s.len() + 1);
    unescape_pieces(s, |piece, raw_start, is_escape| {
        out.push_str(piece);
        for (k, b) in piece.bytes().enumerate() {
            let start = if is_escape {
                raw_start
            } else if is_continuation_byte(b) {
                map.last().copied().unwrap_or(raw_start)
            } else {
                raw_start + k
            };
            map.push(start);
        }
        true
    });
    map.push(s.len());
    (out, map)
}

/// Where the escapes of a TEXT value stood: enough to map any offset of the unescaped text back
/// into the raw value without scanning it again.
#[derive(Debug, Clone, Default)]
pub struct EscapeIndex {
    /// (offset in the text, offset in the raw value) of each escape `\x`: two raw bytes that
    /// became one byte of text. Everything between escapes was copied byte for byte.
    escapes: Vec<(usize, usize)>,
    raw_len: usize,
}

impl EscapeIndex {
    /// Where the character at byte `offset` of `text` (the unescaped value) starts in the raw
    /// value; the raw value's length at or past the end. What `unescape_text_mapped(raw).1`
    /// holds at `offset`.
    pub fn raw_offset(&self, text: &str, offset: usize) -> usize {
        if offset >= text.len() {
            return self.raw_len;
        }
        // Runs between escapes are copied whole, so the character's start in the text maps to
        // its start in the raw value.
        let mut o = offset;
        while !text.is_char_boundary(o) {
            o -= 1;
        }
        match self.escapes.partition_point(|&(at, _)| at <= o) {
            0 => o,
            k => {
                let (at, raw) = self.escapes[k - 1];
                if at == o {
                    raw
                } else {
                    raw + 2 + (o - at - 1)
                }
            }
        }
    }
}

/// [`unescape_text`], also returning where the escapes were (see [`EscapeIndex`]).
pub fn unescape_text_indexed(s: &str) -> (String, EscapeIndex) {
    let mut out = String::with_capacity(s.len());
    // A body holds an escape a line or so (a count first would be a second pass over it).
    let mut escapes = Vec::with_capacity(s.len() / 48 + 4);
    unescape_pieces(s, |piece, raw_start, is_escape| {
        if is_escape {
            escapes.push((out.len(), raw_start));
        }
        out.push_str(piece);
        true
    });
    (
        out,
        EscapeIndex {
            escapes,
            raw_len: s.len(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parameter grammar byte by byte, as the definition reads: the model the fast walk
    /// must agree with.
    fn reference_pieces(s: &str) -> Vec<String> {
        let b = s.as_bytes();
        // The first byte at or after `i` that is one of `stops` (or the end), byte by byte.
        let until = |mut i: usize, stops: &[u8]| {
            while i < b.len() && !stops.contains(&b[i]) {
                i += 1;
            }
            i
        };
        let mut out = Vec::new();
        let mut i = until(0, b";");
        while i < b.len() {
            let start = i + 1;
            i = until(start, b"=;");
            out.push(format!("N{}", &s[start..i]));
            if i < b.len() && b[i] == b'=' {
                i += 1;
                loop {
                    if i < b.len() && b[i] == b'"' {
                        let end = until(i + 1, b"\"");
                        out.push(format!("V{}", &s[i + 1..end]));
                        i = (end + 1).min(b.len());
                    } else {
                        let end = until(i, b",;");
                        out.push(format!("V{}", &s[i..end]));
                        i = end;
                    }
                    if i < b.len() && b[i] == b',' {
                        i += 1;
                        continue;
                    }
                    break;
                }
            }
            i = until(i, b";");
            out.push(format!("W{}", &s[start..i]));
        }
        out
    }

    /// Every string of up to 6 symbols of `alphabet`, then 2,000 long random ones (the scans
    /// look at 16 bytes at a time).
    fn strings_of(alphabet: &[&str]) -> Vec<String> {
        let mut cases: Vec<String> = vec![String::new()];
        let mut frontier = cases.clone();
        for _ in 0..6 {
            frontier = frontier
                .iter()
                .flat_map(|p| alphabet.iter().map(move |a| format!("{p}{a}")))
                .collect();
            cases.extend(frontier.iter().cloned());
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            let len = (seed >> 58) as usize + 20;
            let mut s = String::new();
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                s.push_str(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            cases.push(s);
        }
        cases
    }

    #[test]
    fn line_split_agrees_with_toggling_quotes_byte_by_byte() {
        fn reference(b: &[u8]) -> (usize, Option<usize>) {
            let name_end = b
                .iter()
                .position(|&c| c == b';' || c == b':')
                .unwrap_or(b.len());
            let mut quoted = false;
            for (i, &c) in b.iter().enumerate().skip(name_end) {
                match c {
                    b'"' => quoted = !quoted,
                    b':' if !quoted => return (name_end, Some(i + 1)),
                    _ => {}
                }
            }
            let first = b[name_end..].iter().position(|&c| c == b':');
            (name_end, first.map(|p| name_end + p + 1))
        }
        for s in strings_of(&[";", ":", "\"", "a", "é", "="]) {
            assert_eq!(split_line(s.as_bytes()), reference(s.as_bytes()), "{s:?}");
        }
    }

    #[test]
    fn parameter_walk_agrees_with_the_byte_by_byte_grammar() {
        for s in &strings_of(&[";", "=", ",", "\"", "a", "é"]) {
            let mut walked = Vec::new();
            walk_params(s, |piece| {
                walked.push(match piece {
                    ParamPiece::Name(n) => format!("N{n}"),
                    ParamPiece::Value(v) => format!("V{v}"),
                    ParamPiece::Whole(w) => format!("W{w}"),
                });
                true
            });
            assert_eq!(walked, reference_pieces(s), "{s:?}");
        }
    }

    #[test]
    fn whole_parameters_cover_every_byte_after_the_first_semicolon() {
        for s in [
            "",
            ";A=1",
            ";A=1;;B=\"x;y\",z;C",
            ";CN=a\"b;c\";X=1",
            ";CN=\"unterminated;X=1",
            ";A=\"q\"junk;B",
            "junk;A=1,2,\"3;4\";",
            ";;;",
            ";A=é;B=\"ü;ß\"",
        ] {
            let mut rebuilt = String::new();
            walk_params(s, |piece| {
                if let ParamPiece::Whole(w) = piece {
                    rebuilt.push(';');
                    rebuilt.push_str(w);
                }
                true
            });
            let from = s.find(';').unwrap_or(s.len());
            assert_eq!(rebuilt, s[from..], "{s}");
        }
    }

    #[test]
    fn one_parameter_is_found_as_the_whole_list_would_give_it() {
        let cases = [
            ";TZID=\"Pacific Standard Time\";VALUE=DATE-TIME",
            ";CN=\"Shaw, A; x\";ROLE=REQ-PARTICIPANT;tzid=a,b",
            ";X;TZID;TZID=late",
            ";TZID=\"unterminated",
            ";VALUE=;TZID=\"\"",
            ";A=1,\"2;3\",4;B=\"q\"x;TZID=z",
            "no params;TZID=after",
            "",
        ];
        for c in cases {
            for name in ["TZID", "tzid", "VALUE", "CN", "A", "B", "X", "NONE"] {
                let want = parse_params(c)
                    .into_iter()
                    .find(|p| p.name.eq_ignore_ascii_case(name))
                    .and_then(|p| p.values.into_iter().next());
                assert_eq!(
                    first_param_value(c, name).map(str::to_string),
                    want,
                    "{c} {name}"
                );
            }
        }
    }

    #[test]
    fn values_are_text_when_utf8_and_lossy_or_refused_when_not() {
        let doc = Document::parse("A;X=é:café\r\nB:ok\r\n".as_bytes());
        assert_eq!(doc.lines[0].value_str().unwrap(), "café");
        assert_eq!(doc.lines[0].params_lossy(), ";X=é");
        // A fold inside a character: the file is not UTF-8, the unfolded line is.
        let split = "D:caf\u{e9}!\r\n".as_bytes();
        let at = split.iter().position(|&b| b == 0xA9).unwrap();
        let mut folded = split[..at].to_vec();
        folded.extend_from_slice(b"\r\n ");
        folded.extend_from_slice(&split[at..]);
        let doc = Document::parse(&folded);
        assert_eq!(doc.lines[0].value_str().unwrap(), "café!");
        // Not UTF-8 at all.
        let doc = Document::parse(b"E:caf\xe9\r\nF:fine\r\n");
        assert!(doc.lines[0].value_str().is_err());
        assert_eq!(doc.lines[0].value_lossy(), "caf\u{fffd}");
        assert_eq!(doc.lines[1].value_str().unwrap(), "fine");
    }

    #[test]
    fn layered_edits_replace_delete_and_insert_in_place_and_copy_the_rest() {
        let src = b"A:1\r\nB:2\r\n x\r\nC:3\r\nD:4\r\nE:5\r\n";
        let doc = Document::parse(src);
        assert_eq!(doc.lines.len(), 5);
        let mut first = Edits::default();
        first.set_folded(1, &doc, b"B:first");
        first.set_folded(1, &doc, b"B:two");
        first.delete(3);
        first.insert_folded_before(0, &doc, b"Z:0");
        first.insert_folded_before(5, &doc, b"END:1");
        first.insert_folded_before(9, &doc, b"NEVER:9");
        first.insert_folded_before(0, &doc, b"Z:1");
        let mut second = Edits::default();
        second.set_folded(1, &doc, b"B:last");
        second.insert_folded_before(0, &doc, b"Y:0");
        second.insert_folded_before(5, &doc, b"END:2");
        second.delete(2);
        second.set_folded(2, &doc, b"C:after-delete");
        assert_eq!(
            doc.write_layers(&[&first, &second]),
            b"Z:0\r\nZ:1\r\nY:0\r\nA:1\r\nB:last\r\nC:after-delete\r\nE:5\r\nEND:1\r\nEND:2\r\n"
                .to_vec()
        );
        assert_eq!(
            doc.write(&first),
            b"Z:0\r\nZ:1\r\nA:1\r\nB:two\r\nC:3\r\nE:5\r\nEND:1\r\n".to_vec()
        );
        assert_eq!(doc.write(&Edits::default()), src.to_vec());
    }

    #[test]
    fn unchanged_document_writes_back_identically() {
        let cases: [&[u8]; 6] = [
            b"BEGIN:VCALENDAR\r\nX:1\r\n a\r\nEND:VCALENDAR\r\n",
            b"\xEF\xBB\xBFBEGIN:VCALENDAR\nX:1\n\tb\nEND:VCALENDAR",
            b"A:\xff\xfe\r\r\n\n \n\r",
            b"",
            b" leading continuation\r\n",
            b"X;P=\"a:b\";Q=c:d\r\n",
        ];
        for c in cases {
            assert_eq!(Document::parse(c).write_unchanged(), c);
        }
    }

    #[test]
    fn unfold_keeps_bytes_including_split_utf8() {
        // "é" (C3 A9) split across a fold must come back whole.
        let src = b"SUMMARY:caf\xC3\r\n \xA9 ok\r\n";
        let d = Document::parse(src);
        assert_eq!(d.lines.len(), 1);
        assert_eq!(d.lines[0].value_str().unwrap(), "café ok");
    }

    #[test]
    fn unfold_does_not_trim_space_before_a_fold() {
        let d = Document::parse(b"DESCRIPTION:Join \r\n Microsoft\r\n");
        assert_eq!(d.lines[0].text_value(), "Join Microsoft");
    }

    #[test]
    fn escape_sequence_split_by_fold_is_restored() {
        let d = Document::parse(b"DESCRIPTION:a\\\r\n\tnb\\\n ,c\n");
        assert_eq!(d.lines[0].text_value(), "a\nb,c");
        assert_eq!(d.fold_char, b'\t');
        assert_eq!(d.newline, b"\r\n");
    }

    #[test]
    fn quoted_params_may_hold_colons_and_semicolons() {
        let d = Document::parse(
            b"ORGANIZER;CN=\"Doe; Jane: PhD\";SENT-BY=\"mailto:a@b.c\":mailto:j@b.c\r\n",
        );
        let l = &d.lines[0];
        assert!(l.is("organizer"));
        assert_eq!(l.value_lossy(), "mailto:j@b.c");
        assert_eq!(l.param("cn").as_deref(), Some("Doe; Jane: PhD"));
        assert_eq!(l.param("SENT-BY").as_deref(), Some("mailto:a@b.c"));
    }

    #[test]
    fn unescape_is_single_pass_and_lenient() {
        assert_eq!(unescape_text(r"a\\nb"), "a\\nb");
        assert_eq!(unescape_text(r"a\nb\Nc"), "a\nb\nc");
        assert_eq!(unescape_text(r"x\:y\,z\;w\q\"), "x:y,z;w\\q\\");
        let s = "C:\\dir; a,b\nline";
        assert_eq!(unescape_text(&escape_text(s)), s);
    }

    #[test]
    fn fold_never_splits_utf8_or_escapes_and_keeps_75_octets() {
        let text = "é€😀\\n".repeat(40);
        let folded = fold_line(format!("DESCRIPTION:{text}").as_bytes(), b"\r\n", b' ');
        for (i, phys) in folded.split(|&b| b == b'\n').enumerate() {
            let phys = phys.strip_suffix(b"\r").unwrap_or(phys);
            assert!(phys.len() <= 75, "line {i} has {} octets", phys.len());
            let body = if i == 0 {
                phys
            } else {
                phys.get(1..).unwrap_or(&[])
            };
            assert!(
                std::str::from_utf8(body).is_ok(),
                "line {i} splits a character"
            );
            assert!(!body.ends_with(b"\\") || body.ends_with(b"\\\\"));
        }
        let d = Document::parse(&folded);
        assert_eq!(d.lines.len(), 1);
        assert_eq!(d.lines[0].value_str().unwrap(), text);
    }

    #[test]
    fn mapped_unescape_points_back_into_the_raw_value() {
        let raw = r"ab\,c\nd";
        let (text, map) = unescape_text_mapped(raw);
        assert_eq!(text, "ab,c\nd");
        let comma = text.find(',').unwrap();
        assert_eq!(&raw[map[comma]..map[comma + 1]], r"\,");
        assert_eq!(map[text.len()], raw.len());
    }

    #[test]
    fn line_breaks_are_found_as_a_byte_by_byte_search_finds_them() {
        // Breaks at every distance from the 64-byte block edges, queried from every place a
        // parser can ask from (each query at or after the last answer).
        let naive =
            |s: &[u8], from: usize| s[from..].iter().position(|&b| b == b'\n' || b == b'\r');
        for len in [0, 1, 63, 64, 65, 127, 128, 129, 200] {
            for gap in [1, 2, 5, 63, 64, 65, 130] {
                let s: Vec<u8> = (0..len)
                    .map(|k| match k % gap {
                        0 if k % 2 == 0 => b'\n',
                        0 => b'\r',
                        _ => b'a',
                    })
                    .collect();
                for step in [1, 3, 64, 70] {
                    let mut breaks = ByteMarks::new(&s, *b"\r\n");
                    let mut from = 0;
                    while from <= s.len() {
                        let want = naive(&s, from).map(|p| from + p);
                        assert_eq!(
                            breaks.first_at_or_after(from),
                            want,
                            "{len} {gap} {step} {from}"
                        );
                        from = want.map_or(from + step, |w| w.max(from) + 1 + (step - 1) % 2);
                    }
                }
            }
        }
    }

    #[test]
    fn find_byte_in_finds_the_first_of_a_set() {
        let s = b"0123456789abcdefghijklmnop\r\nqrstuvwxyz;";
        for k in 0..s.len() {
            let want = s[k..].iter().position(|b| b"\n\r;".contains(b));
            assert_eq!(find_byte_in(&s[k..], b"\n\r;"), want, "from {k}");
        }
        assert_eq!(find_byte_in(b"", b"x"), None);
        assert_eq!(find_byte_in("aé€😀".as_bytes(), b"\x80"), Some(9));
        // One hit at every place of a long run, with a decoy byte before it.
        for at in 0..100 {
            let mut long = vec![b'a'; 100];
            long[at] = b',';
            if at > 0 {
                long[at - 1] = b'\xff';
            }
            assert_eq!(find_byte_in(&long, b"\\;,\r\n"), Some(at), "at {at}");
        }
        assert_eq!(find_byte_in(&[b'a'; 100], b"\\;,\r\n"), None);
    }

    #[test]
    fn escape_index_agrees_with_the_map_on_long_generated_values() {
        // Escapes, lone and trailing backslashes and multi-byte characters in values of every
        // length up to 120 bytes: the index and the plain unescape against the byte map.
        let alphabet = [
            "a", "\\n", "\\\\", "\\q", "\\,", "é", "😀", "\\;", "bcdefgh",
        ];
        let mut seed = 7u32;
        for len in 0..120 {
            for _ in 0..6 {
                let mut raw = String::new();
                while raw.len() < len {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    raw.push_str(alphabet[(seed >> 16) as usize % alphabet.len()]);
                }
                if seed % 3 == 0 {
                    raw.push('\\');
                }
                let (text, map) = unescape_text_mapped(&raw);
                assert_eq!(unescape_text(&raw), text, "{raw:?}");
                let (indexed, index) = unescape_text_indexed(&raw);
                assert_eq!(indexed, text, "{raw:?}");
                for (k, &m) in map.iter().enumerate() {
                    assert_eq!(index.raw_offset(&text, k), m, "{raw:?} at {k}");
                }
            }
        }
    }

    #[test]
    fn escape_index_agrees_with_the_map() {
        for raw in [
            r"ab\,c\nd",
            "é\\€\\q\\",
            r"\\n\N;x",
            "",
            "plain 😀 text",
            "\\",
            "\\,é\\n\\ü\\\\\\;😀",
            "x\\",
        ] {
            let (text, map) = unescape_text_mapped(raw);
            assert_eq!(text, unescape_text(raw));
            let (indexed, index) = unescape_text_indexed(raw);
            assert_eq!(indexed, text);
            for (k, &m) in map.iter().enumerate() {
                assert_eq!(index.raw_offset(&text, k), m, "{raw:?} at {k}");
            }
            assert_eq!(index.raw_offset(&text, text.len() + 5), raw.len());
        }
    }
}
