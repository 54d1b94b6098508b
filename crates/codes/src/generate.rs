// SPDX-License-Identifier: GPL-3.0-or-later
//! Codes in the registry's real format, made up: for the registry simulator, the demo and tests.
//!
//! Deterministic from a seed (SplitMix64), so a failing test or a demo run can be replayed. Serials use
//! the footwear alphabet (digits, Latin letters and `! " % & ' * + - . / _ , : ; = < > ?`), keys digits
//! and letters, crypto tails a base64-like alphabet, as the registry issues them.

use super::{CodeFormat, GS, Gtin, MarkingCode, gs1_check_digit};

const SERIAL_ALPHABET: &[u8] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!\"%&'*+-./_,:;=<>?";
const KEY_ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const CRYPTO_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";

/// The GTIN-14 whose first 13 digits are `n` (zero-padded), with its check digit.
pub fn gtin_from_number(n: u64) -> Gtin {
    let body = format!("{:013}", n % 10_000_000_000_000);
    let check = gs1_check_digit(body.as_bytes());
    let s = format!("{body}{check}");
    // `s` is 14 digits with a correct check digit by construction.
    match Gtin::parse(&s) {
        Ok(g) => g,
        Err(e) => unreachable!("constructed GTIN {s} rejected: {e}"),
    }
}

/// Makes valid marking codes.
#[derive(Debug, Clone)]
pub struct CodeGenerator {
    state: u64,
    serial_len: usize,
    crypto_len: usize,
}

impl CodeGenerator {
    /// Footwear-shaped codes: 13-character serials, 44-character crypto tails.
    pub fn new(seed: u64) -> CodeGenerator {
        CodeGenerator {
            state: seed,
            serial_len: 13,
            crypto_len: 44,
        }
    }

    pub fn with_crypto_len(mut self, n: usize) -> CodeGenerator {
        self.crypto_len = n.clamp(1, 128);
        self
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    fn pick(&mut self, alphabet: &[u8], len: usize, out: &mut String) {
        for _ in 0..len {
            let i = self.below(alphabet.len() as u64) as usize;
            out.push(char::from(alphabet[i]));
        }
    }

    /// The element string of a new code for `gtin`: `01…21…<GS>91…<GS>92…`.
    pub fn element_string(&mut self, gtin: &Gtin) -> String {
        let mut s = String::with_capacity(40 + self.crypto_len);
        s.push_str("01");
        s.push_str(gtin.as_str());
        s.push_str("21");
        self.pick(SERIAL_ALPHABET, self.serial_len, &mut s);
        s.push(char::from(GS));
        s.push_str("91");
        self.pick(KEY_ALPHABET, 4, &mut s);
        s.push(char::from(GS));
        s.push_str("92");
        self.pick(CRYPTO_ALPHABET, self.crypto_len, &mut s);
        s
    }

    /// A new code for `gtin`, parsed and validated like any code from outside.
    pub fn code(&mut self, gtin: &Gtin) -> MarkingCode {
        let s = self.element_string(gtin);
        let format = CodeFormat {
            serial_length: super::SerialLength::Fixed(self.serial_len),
            crypto_min: self.crypto_len,
            crypto_max: self.crypto_len,
        };
        match MarkingCode::parse(s.as_bytes(), &format) {
            Ok(c) => c,
            Err(e) => unreachable!("generated code rejected: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_are_valid_distinct_and_replayable() {
        let g = gtin_from_number(460_123_456_789);
        assert_eq!(g.as_str().len(), 14);
        let mut a = CodeGenerator::new(7);
        let mut b = CodeGenerator::new(7);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..500 {
            let c = a.code(&g);
            assert_eq!(c, b.code(&g));
            assert_eq!(c.gtin(), &g);
            assert_eq!(c.serial().len(), 13);
            assert_eq!(c.crypto().map(str::len), Some(44));
            assert!(seen.insert(c.as_str().to_owned()));
        }
        let long = CodeGenerator::new(1).with_crypto_len(88).code(&g);
        assert_eq!(long.crypto().map(str::len), Some(88));
    }
}
