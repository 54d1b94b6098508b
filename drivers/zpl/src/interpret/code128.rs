// SPDX-License-Identifier: GPL-3.0-or-later
//! `^BC` Code 128 field data as the firmware encodes it: the symbol's codewords (start, data, mod-103
//! check, stop) and what a scanner transmits.
//!
//! Mode N (the default) takes the ZPL manual's invocation codes: `>9` `>:` `>;` start in subset A, B or
//! C (only first; without one the symbol starts in B), `>5` `>6` `>7` switch to C, B, A (`>6` is FNC4
//! in B, `>7` FNC4 in A), `>4` shifts one character between A and B, `>8` is FNC1, `>3` FNC2, `>2`
//! FNC3, `>1` the value 95 (US in A, DEL in B), `><` and `>0` the character `>`, `>=` the character
//! `~`. Subset C takes digits in pairs. Mode A (automatic) and mode D (GS1: FNC1 first, AI
//! parentheses and spaces dropped from the bars) choose subsets themselves: C for runs of four digits or
//! more, B otherwise. Mode U (UCC case mode) is not read.
//!
//! GS1-128 is Code 128 with FNC1 first: scanners report `]C1` and send later FNC1s as GS.

use super::label::{C128Element, Code128Mode};

/// Bar and space widths in modules for each symbol value (0–105; 106 is the stop, 7 widths), from
/// ISO/IEC 15417 (the table every Code 128 implementation carries).
const PATTERNS: [&str; 107] = [
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212",
    "221213", "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221",
    "223211", "221132", "221231", "213212", "223112", "312131", "311222", "321122", "321221",
    "312212", "322112", "322211", "212123", "212321", "232121", "111323", "131123", "131321",
    "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331", "132131",
    "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131",
    "311123", "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111",
    "111224", "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114",
    "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111", "111242",
    "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311",
    "113141", "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
];

const SHIFT: u8 = 98;
const CODE_C: u8 = 99;
const CODE_B: u8 = 100;
const CODE_A: u8 = 101;
const FNC1: u8 = 102;
const START_A: u8 = 103;
const START_B: u8 = 104;
const START_C: u8 = 105;
const STOP: u8 = 106;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subset {
    A,
    B,
    C,
}

/// Why field data cannot be a Code 128 symbol: `at` is the index in the field data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Code128Fault {
    pub(super) at: usize,
    pub(super) what: String,
}

fn fault(at: usize, what: impl Into<String>) -> Code128Fault {
    Code128Fault {
        at,
        what: what.into(),
    }
}

/// The value of byte `b` in subset A or B, if it has one.
fn value_in(subset: Subset, b: u8) -> Option<u8> {
    match (subset, b) {
        (Subset::A, 32..=95) | (Subset::B, 32..=127) => Some(b - 32),
        (Subset::A, 0..=31) => Some(b + 64),
        _ => None,
    }
}

/// The symbol's codewords without check and stop, and what it carries.
type Encoded = (Vec<u8>, Vec<C128Element>);

/// Encodes field data in `mode`.
pub(super) fn encode(mode: Code128Mode, data: &[u8]) -> Result<Encoded, Code128Fault> {
    match mode {
        Code128Mode::Invocations => invocations(data),
        Code128Mode::Automatic => Ok(automatic(data, false)),
        Code128Mode::Gs1 => {
            let kept: Vec<u8> = data
                .iter()
                .copied()
                .filter(|b| !matches!(b, b'(' | b')' | b' '))
                .collect();
            Ok(automatic(&kept, true))
        }
    }
}

/// Mode N: the data with the manual's invocation codes.
fn invocations(data: &[u8]) -> Result<Encoded, Code128Fault> {
    let mut codewords = Vec::with_capacity(data.len() + 2);
    let mut elements = Vec::with_capacity(data.len());
    let (mut subset, mut i) = match data.get(..2) {
        Some(b">9") => (Subset::A, 2),
        Some(b">;") => (Subset::C, 2),
        Some(b">:") => (Subset::B, 2),
        _ => (Subset::B, 0),
    };
    codewords.push(match subset {
        Subset::A => START_A,
        Subset::B => START_B,
        Subset::C => START_C,
    });
    let mut shifted = false;
    while i < data.len() {
        let b = data[i];
        if b == b'>' {
            let Some(&code) = data.get(i + 1) else {
                return Err(fault(
                    i,
                    "a lone > at the end (write >< or >0 for the character >)",
                ));
            };
            let here = i;
            i += 2;
            let as_char = |c: u8| -> Result<(u8, C128Element), Code128Fault> {
                match subset {
                    Subset::C => Err(fault(
                        here,
                        "a character in subset C, which takes digit pairs",
                    )),
                    s => value_in(s, c)
                        .map(|v| (v, C128Element::Byte(c)))
                        .ok_or_else(|| fault(here, "a character its subset does not have")),
                }
            };
            let (value, element) = match code {
                b'<' | b'0' => as_char(b'>')?,
                b'=' => as_char(b'~')?,
                b'1' => match subset {
                    Subset::A => (95, C128Element::Byte(0x1F)),
                    Subset::B => (95, C128Element::Byte(0x7F)),
                    Subset::C => (95, C128Element::Byte(b'9')),
                },
                b'2' => (96, C128Element::Fnc3),
                b'3' => (97, C128Element::Fnc2),
                b'4' => {
                    if subset == Subset::C {
                        return Err(fault(here, ">4 (shift) in subset C"));
                    }
                    codewords.push(SHIFT);
                    shifted = true;
                    continue;
                }
                b'5' => {
                    codewords.push(CODE_C);
                    subset = Subset::C;
                    continue;
                }
                b'6' if subset == Subset::B => (CODE_B, C128Element::Fnc4),
                b'6' => {
                    codewords.push(CODE_B);
                    subset = Subset::B;
                    continue;
                }
                b'7' if subset == Subset::A => (CODE_A, C128Element::Fnc4),
                b'7' => {
                    codewords.push(CODE_A);
                    subset = Subset::A;
                    continue;
                }
                b'8' => (FNC1, C128Element::Fnc1),
                b'9' | b':' | b';' => {
                    return Err(fault(here, "a start code (>9 >: >;) after the start"));
                }
                _ => return Err(fault(here, "an invocation code the manual does not list")),
            };
            codewords.push(value);
            elements.push(element);
            continue;
        }
        if subset == Subset::C {
            let pair = data
                .get(i..i + 2)
                .filter(|p| p.iter().all(u8::is_ascii_digit));
            let Some(pair) = pair else {
                return Err(fault(i, "subset C takes digits in pairs"));
            };
            codewords.push((pair[0] - b'0') * 10 + (pair[1] - b'0'));
            elements.extend(pair.iter().map(|d| C128Element::Byte(*d)));
            i += 2;
            continue;
        }
        let now = if std::mem::take(&mut shifted) {
            if subset == Subset::A {
                Subset::B
            } else {
                Subset::A
            }
        } else {
            subset
        };
        let Some(value) = value_in(now, b) else {
            return Err(fault(i, "a byte Code 128 cannot carry in this subset"));
        };
        codewords.push(value);
        elements.push(C128Element::Byte(b));
        i += 1;
    }
    Ok((codewords, elements))
}

/// Modes A and D: subset C for runs of four digits or more (an even count of them), B otherwise;
/// FNC1 first in mode D. Bytes B cannot carry go through A.
fn automatic(data: &[u8], gs1: bool) -> Encoded {
    let digits_at = |i: usize| data[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    let mut codewords = Vec::with_capacity(data.len() + 3);
    let mut elements = Vec::with_capacity(data.len() + 1);
    let mut subset = if digits_at(0) >= 4 || (gs1 && digits_at(0) >= 2) {
        codewords.push(START_C);
        Subset::C
    } else {
        codewords.push(START_B);
        Subset::B
    };
    if gs1 {
        codewords.push(FNC1);
        elements.push(C128Element::Fnc1);
    }
    let mut i = 0;
    while i < data.len() {
        let run = digits_at(i);
        if run >= 4 || (subset == Subset::C && run >= 2) {
            if subset != Subset::C {
                codewords.push(CODE_C);
                subset = Subset::C;
            }
            for pair in data[i..i + run - run % 2].chunks(2) {
                codewords.push((pair[0] - b'0') * 10 + (pair[1] - b'0'));
                elements.extend(pair.iter().map(|d| C128Element::Byte(*d)));
            }
            i += run - run % 2;
            continue;
        }
        let b = data[i];
        let want = if value_in(Subset::B, b).is_some() {
            Subset::B
        } else {
            Subset::A
        };
        if subset != want {
            codewords.push(if want == Subset::B { CODE_B } else { CODE_A });
            subset = want;
        }
        // Bytes above 127 have no Code 128 value without FNC4: carried as their low 7 bits.
        let c = b & 0x7F;
        let value = value_in(subset, c).unwrap_or(0);
        codewords.push(value);
        elements.push(C128Element::Byte(c));
        i += 1;
    }
    (codewords, elements)
}

/// The mod-103 check value of codewords that begin with a start code.
pub(super) fn check_value(codewords: &[u8]) -> u8 {
    let sum = codewords.iter().enumerate().fold(0u32, |sum, (i, v)| {
        let weight = i.max(1) as u32;
        (sum + weight * u32::from(*v)) % 103
    });
    sum as u8
}

/// The whole symbol: codewords, check, stop.
pub(super) fn finish(mut codewords: Vec<u8>) -> Vec<u8> {
    let check = check_value(&codewords);
    codewords.push(check);
    codewords.push(STOP);
    codewords
}

/// Alternating bar and space widths (in modules) of a symbol's codewords, bars first.
pub(super) fn widths(codewords: &[u8]) -> Vec<u8> {
    codewords
        .iter()
        .filter_map(|v| PATTERNS.get(usize::from(*v)))
        .flat_map(|p| p.bytes().map(|d| d - b'0'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(data: &str) -> Result<Encoded, Code128Fault> {
        encode(Code128Mode::Invocations, data.as_bytes())
    }

    #[test]
    fn invocation_codes_as_the_manual_lists_them() {
        // GS1-128 with the SSCC: start C, FNC1, then the digits in pairs.
        let (cw, el) = n(">;>800376104250021234569").unwrap();
        assert_eq!(&cw[..4], &[START_C, FNC1, 0, 37]);
        assert_eq!(cw.len(), 2 + 10);
        assert_eq!(el[0], C128Element::Fnc1);
        assert_eq!(el.len(), 1 + 20);
        // No start code: subset B.
        let (cw, el) = n("AB>8c").unwrap();
        assert_eq!(cw, vec![START_B, 33, 34, FNC1, 67]);
        assert_eq!(
            el,
            vec![
                C128Element::Byte(b'A'),
                C128Element::Byte(b'B'),
                C128Element::Fnc1,
                C128Element::Byte(b'c')
            ]
        );
        // `><` and `>0` are `>`; `>=` is `~`; `>5` switches to C and `>6` back to B.
        let (cw, el) = n("><>0>=>51234>6x").unwrap();
        assert_eq!(cw, vec![START_B, 30, 30, 94, CODE_C, 12, 34, CODE_B, 88]);
        assert_eq!(el.len(), 3 + 4 + 1);
        // Subset A carries control characters; >4 shifts one character to B.
        let (cw, _) = n(">9A\u{1}>4a").unwrap();
        assert_eq!(cw, vec![START_A, 33, 65, SHIFT, 65]);
        // Faults, each where it is.
        assert_eq!(n(">;123").unwrap_err().at, 4);
        assert_eq!(n("ab>").unwrap_err().at, 2);
        assert_eq!(n("a>;b").unwrap_err().at, 1);
        assert_eq!(n("a>x").unwrap_err().at, 1);
        assert_eq!(n("é").unwrap_err().at, 0);
    }

    #[test]
    fn check_values_of_known_symbols() {
        // "PJJ123C" in B, by hand: 104 + 48·1 + 42·2 + 42·3 + 17·4 + 18·5 + 19·6 + 35·7 = 879,
        // and 879 mod 103 = 55.
        let (cw, _) = n("PJJ123C").unwrap();
        assert_eq!(cw, vec![START_B, 48, 42, 42, 17, 18, 19, 35]);
        assert_eq!(check_value(&cw), 55);
        let whole = finish(cw);
        assert_eq!(whole.last(), Some(&STOP));
        // 11 modules a codeword, 13 for the stop.
        let w = widths(&whole);
        let modules: u32 = w.iter().map(|x| u32::from(*x)).sum();
        assert_eq!(modules, 11 * (whole.len() as u32 - 1) + 13);
    }

    #[test]
    fn gs1_mode_puts_fnc1_first_and_drops_parentheses() {
        let (cw, el) = encode(Code128Mode::Gs1, b"(00) 376104250021234569").unwrap();
        assert_eq!(&cw[..3], &[START_C, FNC1, 0]);
        assert_eq!(el.first(), Some(&C128Element::Fnc1));
        assert_eq!(el.len(), 21);
        let (auto, _) = encode(Code128Mode::Automatic, b"AB123456").unwrap();
        assert_eq!(auto, vec![START_B, 33, 34, CODE_C, 12, 34, 56]);
    }
}
