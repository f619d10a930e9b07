//! Property tests of the line editor: parse-then-write of an unchanged calendar is the identity
//! (100,000 cases over calendar-like bytes: CRLF/LF/CR, SPACE/TAB folds, BOM, multi-byte and
//! invalid UTF-8), and folding then unfolding gives back the logical line.
//!
//! `MMS_PROPTEST_CASES` overrides the identity cases (`make torture` passes 1,000,000); the fold
//! property then runs a fifth of that.

use mms::calendar::lines::{escape_text, fold_line, unescape_text, Document};
use proptest::prelude::*;

/// 100,000 cases in --release (`make test-rust`); fewer in debug builds to keep `cargo test` quick.
const IDENTITY_CASES: u32 = if cfg!(debug_assertions) {
    3_000
} else {
    100_000
};
const FOLD_CASES: u32 = if cfg!(debug_assertions) {
    1_000
} else {
    20_000
};

/// `MMS_PROPTEST_CASES` if set (identity cases), else `default`.
fn identity_cases() -> u32 {
    std::env::var("MMS_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(IDENTITY_CASES)
}

fn fold_cases() -> u32 {
    match std::env::var("MMS_PROPTEST_CASES") {
        Ok(_) => (identity_cases() / 5).max(1),
        Err(_) => FOLD_CASES,
    }
}

fn calendar_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\r\n ".to_vec()),
        Just(b"\r\n\t".to_vec()),
        Just(b"\n ".to_vec()),
        Just(b"BEGIN:VEVENT".to_vec()),
        Just(b"DESCRIPTION;LANGUAGE=fr:".to_vec()),
        Just(b"X;P=\"a:b;c\":".to_vec()),
        Just(b"\\n".to_vec()),
        Just(b"\\,".to_vec()),
        Just("é".as_bytes().to_vec()),
        Just("😀".as_bytes().to_vec()),
        Just("e\u{301}".as_bytes().to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(b"\xC3".to_vec()),
        Just(b"\xff".to_vec()),
        "[ -~]{0,12}".prop_map(|s| s.into_bytes()),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: identity_cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn unchanged_parse_then_write_is_identity(bytes in calendar_bytes()) {
        prop_assert_eq!(Document::parse(&bytes).write_unchanged(), bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: fold_cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn fold_then_unfold_restores_the_logical_line(text in "\\PC{0,300}", tab in any::<bool>(), crlf in any::<bool>()) {
        let logical = format!("DESCRIPTION:{}", escape_text(&text));
        let folded = fold_line(logical.as_bytes(), if crlf { b"\r\n" } else { b"\n" }, if tab { b'\t' } else { b' ' });
        let d = Document::parse(&folded);
        prop_assert_eq!(d.lines.len(), 1);
        prop_assert_eq!(&d.lines[0].unfolded().to_vec(), &logical.as_bytes().to_vec());
        prop_assert_eq!(unescape_text(d.lines[0].value_str().unwrap()), text);
    }
}

/// Prints the case counts (for `make torture`'s summary).
#[test]
fn case_counts() {
    println!(
        "cases: {} identity, {} fold (MMS_PROPTEST_CASES={:?})",
        identity_cases(),
        fold_cases(),
        std::env::var("MMS_PROPTEST_CASES").ok()
    );
}
