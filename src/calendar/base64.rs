//! Standard base64 (RFC 4648 §4, with padding): the iMIP message's parts (RFC 2045 lines of 76
//! symbols), RFC 2047 header words, and HTTP Basic / SMTP AUTH credentials.
//!
//! The message parts are most of the bytes a migration writes, so the encoder is fast: on x86-64
//! with AVX2 (checked at run time) 24 input bytes become 32 symbols per step with byte shuffles
//! and a range-offset lookup; elsewhere a 12-bit table makes two symbols per lookup. Both give
//! the same bytes (tested against the 6-bit definition for every length).

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

/// Input bytes per 76-symbol line of a MIME body.
const LINE_INPUT: usize = 57;

/// The encoded length of `n` input bytes (padded, no line breaks).
pub const fn encoded_len(n: usize) -> usize {
    (n + 2) / 3 * 4
}

/// Standard base64 of `data`, without line breaks.
pub fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(encoded_len(data.len()));
    push(&mut out, data);
    out
}

/// Appends the standard base64 of `data`, without line breaks.
pub fn push(out: &mut String, data: &[u8]) {
    // Through a small buffer, 48 input bytes (64 symbols, no padding but in the last) at a
    // time: neither a check of all of `out` per call nor a heap buffer.
    const CHUNK: usize = 48;
    out.reserve(encoded_len(data.len()));
    let mut symbols = [b'='; encoded_len(CHUNK)];
    for piece in data.chunks(CHUNK) {
        let n = encoded_len(piece.len());
        encode_into(&mut symbols[..n], piece);
        // The alphabet is ASCII: each byte is its own character.
        out.extend(symbols[..n].iter().map(|&b| char::from(b)));
    }
}

/// The length of [`push_lines`]' output for `n` input bytes: the symbols and a CRLF per line.
pub fn encoded_lines_len(n: usize) -> usize {
    encoded_len(n) + 2 * ((n + LINE_INPUT - 1) / LINE_INPUT)
}

/// Appends base64 in 76-symbol lines, each ended by CRLF (RFC 2045 §6.8).
pub fn push_lines(out: &mut Vec<u8>, data: &[u8]) {
    let start = out.len();
    let total = encoded_lines_len(data.len());
    out.reserve(total);
    #[allow(unused_mut)]
    let mut k = 0;
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // The whole lines are written straight into the spare capacity (filling the
            // output first took nearly as many instructions as the encoding itself).
            // SAFETY: AVX2 is present (checked just above); the encoder initialises exactly
            // the first `78 * k` bytes of the spare capacity, which `set_len` then covers.
            unsafe {
                k = wide::encode_lines_avx2(out.spare_capacity_mut(), data);
                out.set_len(start + k * 78);
            }
        }
    }
    out.resize(start + total, b'=');
    let dst = &mut out[start..];
    for (k, line) in data.chunks(LINE_INPUT).enumerate().skip(k) {
        let at = k * 78;
        let symbols = encoded_len(line.len());
        encode_into(&mut dst[at..at + symbols], line);
        dst[at + symbols..at + symbols + 2].copy_from_slice(b"\r\n");
    }
}

/// Encodes `data` into `dst` (exactly `encoded_len(data.len())` bytes, padding included).
pub(crate) fn encode_into(dst: &mut [u8], data: &[u8]) {
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    {
        if data.len() >= 28 && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is present (checked just above).
            done = unsafe { wide::encode_avx2(dst, data) };
        }
    }
    encode_scalar(&mut dst[done / 3 * 4..], &data[done..]);
}

/// The 12-bit-table encoder for `data` into `dst` (`encoded_len(data.len())` bytes).
fn encode_scalar(dst: &mut [u8], data: &[u8]) {
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
        dst[last + 2] = if tail.len() == 2 { lo[0] } else { b'=' };
        dst[last + 3] = b'=';
    }
}

#[cfg(target_arch = "x86_64")]
mod wide {
    use std::arch::x86_64::*;

    /// Encodes 24-byte steps of `src` into `dst` while 28 bytes can be read from the step's
    /// start (each 128-bit lane loads 16 bytes and uses 12); returns the input bytes done (a
    /// multiple of 24).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn encode_avx2(dst: &mut [u8], src: &[u8]) -> usize {
        let mut done = 0;
        while done + 28 <= src.len() && done / 3 * 4 + 32 <= dst.len() {
            // SAFETY: 28 bytes at `done` are in `src`, 32 at `done / 3 * 4` in `dst` (above).
            step(dst.as_mut_ptr().add(done / 3 * 4), src.as_ptr().add(done));
            done += 24;
        }
        done
    }

    /// Encodes the whole 57-byte lines of `src` that have 4 readable bytes after them (the
    /// steps read 28 bytes to use 24) as 76 symbols and CRLF each, from the start of `dst`;
    /// returns how many lines `k` it did, having initialised exactly `dst[..78 * k]`. One loop
    /// with the steps inlined: called line by line, the call and its bounds checks cost more
    /// than the encoding.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn encode_lines_avx2(
        dst: &mut [std::mem::MaybeUninit<u8>],
        src: &[u8],
    ) -> usize {
        const IN: usize = super::LINE_INPUT;
        const OUT: usize = 78;
        let lines = if src.len() >= IN + 4 {
            (src.len() - IN - 4) / IN + 1
        } else {
            0
        };
        let lines = lines.min(dst.len() / OUT);
        for k in 0..lines {
            // SAFETY: line k reads src[57k .. 57k + 61] (k < lines: 57k + 61 <= len) and writes
            // dst[78k .. 78k + 78] (k < dst.len() / 78). The steps at input offsets 0, 24 and
            // 33 write symbols 0..32, 32..64 and 44..76 (the last re-encodes four groups of the
            // second to the same symbols).
            let (s, d) = (
                src.as_ptr().add(k * IN),
                dst.as_mut_ptr().add(k * OUT) as *mut u8,
            );
            step(d, s);
            step(d.add(32), s.add(24));
            step(d.add(44), s.add(33));
            *d.add(76) = b'\r';
            *d.add(77) = b'\n';
        }
        lines
    }

    /// 24 bytes at `src` (28 readable) to 32 symbols at `dst`.
    ///
    /// # Safety
    /// AVX2; `src..src+28` readable, `dst..dst+32` writable.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn step(dst: *mut u8, src: *const u8) {
        // Per 32-bit lane, from the group (a, b, c): bytes b, a, c, b, so that the four 6-bit
        // fields can be moved into place with two 16-bit multiplies.
        let shuffle = _mm256_setr_epi8(
            1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10, //
            1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,
        );
        // What to add to a 6-bit value (by its range, computed below) to get its symbol.
        let offsets = _mm256_setr_epi8(
            71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 65, 0, 0, //
            71, -4, -4, -4, -4, -4, -4, -4, -4, -4, -4, -19, -16, 65, 0, 0,
        );
        let lo = _mm_loadu_si128(src as *const __m128i);
        let hi = _mm_loadu_si128(src.add(12) as *const __m128i);
        let input = _mm256_shuffle_epi8(_mm256_set_m128i(hi, lo), shuffle);
        let t0 = _mm256_and_si256(input, _mm256_set1_epi32(0x0fc0_fc00));
        let t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x0400_0040));
        let t2 = _mm256_and_si256(input, _mm256_set1_epi32(0x003f_03f0));
        let t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x0100_0010));
        let sextets = _mm256_or_si256(t1, t3);
        // 0 for 26..=51, 1..=12 for 52..=63, 13 for 0..=25.
        let range = _mm256_subs_epu8(sextets, _mm256_set1_epi8(51));
        let below_26 = _mm256_cmpgt_epi8(_mm256_set1_epi8(26), sextets);
        let range = _mm256_or_si256(range, _mm256_and_si256(below_26, _mm256_set1_epi8(13)));
        let symbols = _mm256_add_epi8(sextets, _mm256_shuffle_epi8(offsets, range));
        _mm256_storeu_si256(dst as *mut __m256i, symbols);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Base64 straight from RFC 4648's definition, one 6-bit group at a time.
    fn reference(src: &[u8]) -> String {
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
        expect
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..=255u8)
            .chain((0..=255u8).rev())
            .cycle()
            .skip(len % 7)
            .take(len)
            .collect()
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(i.as_bytes()), o);
        }
    }

    #[test]
    fn base64_agrees_with_the_six_bit_definition_for_every_length_and_byte() {
        // Long enough for many wide steps and every remainder after them.
        for len in 0..700 {
            let src = sample(len);
            assert_eq!(encode(&src), reference(&src), "length {len}");
            let mut narrow = vec![0u8; encoded_len(len)];
            encode_scalar(&mut narrow, &src);
            assert_eq!(narrow, reference(&src).into_bytes(), "scalar, length {len}");
        }
        // Every symbol from every position of a wide step.
        let all: Vec<u8> = (0..64u32)
            .flat_map(|v| {
                let n = v << 18 | (63 - v) << 12 | v << 6 | (v * 7 % 64);
                [(n >> 16) as u8, (n >> 8) as u8, n as u8]
            })
            .collect();
        assert_eq!(encode(&all), reference(&all));
    }

    #[test]
    fn base64_body_breaks_lines_at_76_and_never_encodes_past_a_line() {
        // Every length across the first lines (the wide path needs 4 bytes after a line).
        for len in (0..300).chain([1000, 4096]) {
            let data = sample(len);
            let mut body = b"head".to_vec();
            push_lines(&mut body, &data);
            assert_eq!(body.len() - 4, encoded_lines_len(len), "{len}");
            let text = String::from_utf8(body[4..].to_vec()).unwrap();
            assert!(text.is_empty() || text.ends_with("\r\n"), "{len}");
            let lines: Vec<&str> = text.split_terminator("\r\n").collect();
            assert!(lines[..lines.len().saturating_sub(1)]
                .iter()
                .all(|l| l.len() == 76));
            for (k, l) in lines.iter().enumerate() {
                let chunk = &data[k * 57..((k + 1) * 57).min(len)];
                assert_eq!(*l, reference(chunk), "{len}: line {k}");
            }
            assert_eq!(&body[..4], b"head");
        }
    }
}
