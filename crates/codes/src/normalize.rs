// SPDX-License-Identifier: GPL-3.0-or-later
//! Undoing what scanners, keyboard wedges, spreadsheets and copy-paste do to a marking code.
//!
//! A code can reach the station with an AIM symbology prefix, a mis-decoded FNC1 in front, its GS
//! separators spelt out as text, or with the separators dropped. This module only removes those
//! artefacts; [`super::MarkingCode::parse`] then checks the structure (and restores dropped separators).

use std::fmt;

use super::GS;

/// AIM symbology identifier that a scanner puts in front of the data, e.g. `]d2`.
///
/// Kept because it tells *what* was scanned: `]d1` means the label was printed as plain Data Matrix
/// without FNC1, a defect that is invisible in the data itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AimId(pub [u8; 3]);

impl AimId {
    /// `]d2`: Data Matrix with FNC1 in first position, i.e. GS1 DataMatrix, the only symbology a marking
    /// code may be printed in. (`]d5`, GS1 DataMatrix with an ECI, is not used for marking codes.)
    pub const GS1_DATAMATRIX: AimId = AimId(*b"]d2");
    /// `]d1`: Data Matrix without FNC1, i.e. not GS1.
    pub const PLAIN_DATAMATRIX: AimId = AimId(*b"]d1");

    pub fn is_gs1_datamatrix(&self) -> bool {
        *self == AimId::GS1_DATAMATRIX
    }
}

impl fmt::Display for AimId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The field is public, so any bytes can be in it: escape what is not printable.
        write!(f, "{}", self.0.escape_ascii())
    }
}

/// A code with its transport artefacts removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The AIM identifier the scanner sent, if any.
    pub aim: Option<AimId>,
    /// The element string: `01…21…`, separators as the byte 0x1D.
    pub bytes: Vec<u8>,
}

/// Undoes what transports do to a code, without validating it.
///
/// In order: trims surrounding CR, LF, space, tab and NUL; strips and records a leading AIM identifier
/// `]xy`; drops one leading FNC1 artefact (byte 0xE8, which is the FNC1 codeword 232 decoded as
/// Latin-1; its UTF-8 form `è`; a raw GS; `<FNC1>`, `{FNC1}`, `[FNC1]`; or a spelt-out separator);
/// replaces spelt-out separators `\x1d`, `\u001d`, `<GS>`, `{GS}`, `[GS]` (letters in any case) with
/// the byte 0x1D.
///
/// `<`, `G`, `S` and `>` are all legal serial characters, so `<GS>` is taken for a separator only when
/// the input carries no other kind of separator; [`super::MarkingCode::parse`] goes further and reads a
/// fixed-length serial literally, so a serial that happens to contain `<GS>` survives there.
///
/// Any AIM identifier is stripped, `]d1` included: rejecting the wrong symbology is the parser's job.
pub fn normalize(input: &[u8]) -> Normalized {
    let Stripped { aim, body } = strip_transport(input);
    let angle_gs = angle_gs_is_separator(body);
    let mut bytes = Vec::with_capacity(body.len());
    let mut rest = body;
    while let Some((&first, tail)) = rest.split_first() {
        if let Some(len) = separator_len(rest, angle_gs) {
            bytes.push(GS);
            rest = rest.get(len..).unwrap_or_default();
        } else {
            bytes.push(first);
            rest = tail;
        }
    }
    Normalized { aim, bytes }
}

/// The input with surrounding whitespace, the AIM identifier and a leading FNC1 artefact removed, but
/// separators still as they came, so the parser can decide what an ambiguous `<GS>` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stripped<'a> {
    pub aim: Option<AimId>,
    pub body: &'a [u8],
}

pub(super) fn strip_transport(input: &[u8]) -> Stripped<'_> {
    let trimmed = trim(input);
    let (aim, rest) = match trimmed {
        [b']', s, m, rest @ ..] if s.is_ascii_alphabetic() && m.is_ascii_alphanumeric() => {
            (Some(AimId([b']', *s, *m])), rest)
        }
        _ => (None, trimmed),
    };
    Stripped {
        aim,
        body: strip_fnc1_artefact(rest),
    }
}

/// Trims what line-based transports and terminals add around a code; none of it is in GS1 set 82.
fn trim(mut s: &[u8]) -> &[u8] {
    let junk = |b: &u8| matches!(b, b'\r' | b'\n' | b' ' | b'\t' | 0);
    while let [first, rest @ ..] = s
        && junk(first)
    {
        s = rest;
    }
    while let [rest @ .., last] = s
        && junk(last)
    {
        s = rest;
    }
    s
}

/// Spellings of the leading FNC1 that have been seen in the wild.
const FNC1_TEXT: [&[u8]; 3] = [b"<FNC1>", b"{FNC1}", b"[FNC1]"];

/// Drops one leading FNC1 artefact. A code always starts with `01`, so a leading separator of any
/// spelling can only be a mis-rendered FNC1.
fn strip_fnc1_artefact(s: &[u8]) -> &[u8] {
    let len = match s {
        [0xE8, ..] => 1,
        [0xC3, 0xA8, ..] => 2,
        _ => FNC1_TEXT
            .iter()
            .find(|t| starts_with_ignore_case(s, t))
            .map(|t| t.len())
            .or_else(|| separator_len(s, true))
            .unwrap_or(0),
    };
    s.get(len..).unwrap_or_default()
}

/// Separator spellings that contain a character outside GS1 set 82, so they can never be code content.
const UNAMBIGUOUS_SEPARATORS: [&[u8]; 4] = [b"\\x1d", b"\\u001d", b"{GS}", b"[GS]"];
/// The spelling that could also be four serial characters.
const ANGLE_GS: &[u8] = b"<GS>";

/// Length in bytes of the separator that `s` starts with, if any: the raw byte or a spelt-out form.
/// `<GS>` counts only when `angle_gs` (see [`angle_gs_is_separator`]).
pub(super) fn separator_len(s: &[u8], angle_gs: bool) -> Option<usize> {
    if s.first() == Some(&GS) {
        return Some(1);
    }
    UNAMBIGUOUS_SEPARATORS
        .iter()
        .copied()
        .chain(angle_gs.then_some(ANGLE_GS))
        .find(|t| starts_with_ignore_case(s, t))
        .map(<[u8]>::len)
}

/// Whether `<GS>` in `body` means a separator: only when no other kind of separator is present, since a
/// transport that spells separators out spells them all the same way.
pub(super) fn angle_gs_is_separator(body: &[u8]) -> bool {
    !(0..body.len()).any(|i| separator_len(body.get(i..).unwrap_or_default(), false).is_some())
}

fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(input: &[u8]) -> Normalized {
        normalize(input)
    }

    #[test]
    fn trims_and_strips_aim_and_fnc1_artefacts() {
        // Input, the AIM identifier found ("" for none), the element string.
        let cases: [(&[u8], &str, &[u8]); 13] = [
            (b"0104", "", b"0104"),
            (b" \t\r\n0104\r\n\0", "", b"0104"),
            (b"]d20104", "]d2", b"0104"),
            (b"]d10104", "]d1", b"0104"),
            (b"]Q3http", "]Q3", b"http"),
            (b"\xE80104", "", b"0104"),
            (b"\xC3\xA80104", "", b"0104"),
            (b"\x1D0104", "", b"0104"),
            (b"<FNC1>0104", "", b"0104"),
            (b"{fnc1}0104", "", b"0104"),
            (b"[FNC1]0104", "", b"0104"),
            (b"]d2\xE80104\r\n", "]d2", b"0104"),
            (b"\\x1d0104", "", b"0104"),
        ];
        for (input, aim, bytes) in cases {
            let got = n(input);
            let got_aim = got.aim.map(|a| a.to_string()).unwrap_or_default();
            assert_eq!(got_aim, aim, "{}", input.escape_ascii());
            assert_eq!(got.bytes, bytes, "{}", input.escape_ascii());
        }
    }

    #[test]
    fn only_one_leading_artefact_is_dropped() {
        assert_eq!(n(b"\x1D\x1D01").bytes, b"\x1D01");
    }

    #[test]
    fn spelt_out_separators_become_gs() {
        for sep in [
            "\\x1d", "\\x1D", "\\X1D", "\\u001d", "\\u001D", "<GS>", "<gs>", "{GS}", "{gs}",
            "[GS]", "[Gs]",
        ] {
            let input = format!("01A{sep}91B{sep}92C");
            assert_eq!(n(input.as_bytes()).bytes, b"01A\x1D91B\x1D92C", "{sep}");
        }
    }

    #[test]
    fn angle_gs_is_literal_when_other_separators_are_present() {
        assert_eq!(n(b"0121A<GS>B\x1D91").bytes, b"0121A<GS>B\x1D91");
        assert_eq!(n(b"0121A<GS>B\\x1d91").bytes, b"0121A<GS>B\x1D91");
        assert_eq!(n(b"0121A<GS>B<GS>91").bytes, b"0121A\x1DB\x1D91");
    }

    #[test]
    fn does_not_validate() {
        assert_eq!(n(b"").bytes, b"");
        assert_eq!(n(b"]d2").bytes, b"");
        assert_eq!(n(b"]").bytes, b"]");
        assert_eq!(n(b"]d").bytes, b"]d");
        assert_eq!(n(b"]\x001x").aim, None);
        assert_eq!(n(b"\xFF\xFE").bytes, b"\xFF\xFE");
    }

    #[test]
    fn aim_id_display_and_kind() {
        assert_eq!(AimId(*b"]d2").to_string(), "]d2");
        assert_eq!(AimId([b']', 0xFF, b'1']).to_string(), "]\\xff1");
        assert!(AimId(*b"]d2").is_gs1_datamatrix());
        assert!(!AimId(*b"]d1").is_gs1_datamatrix());
        assert!(!AimId(*b"]d5").is_gs1_datamatrix());
    }
}
