// SPDX-License-Identifier: GPL-3.0-or-later
//! Test codes shaped like registry-issued footwear codes, with valid GTIN check digits.
#![allow(dead_code)]

/// GS1 mod-10 check digit for the first 13 digits of a GTIN-14.
pub fn check_digit(digits13: &str) -> u8 {
    let sum: u32 = digits13
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// A GTIN-14 with a valid check digit.
pub fn gtin(digits13: &str) -> String {
    assert_eq!(digits13.len(), 13);
    format!("{digits13}{}", check_digit(digits13))
}

/// Characters a crypto tail may contain (GS1 set 82 minus nothing: tails are base64-like).
pub const CRYPTO_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";

/// Deterministic crypto tail of `len` characters.
pub fn crypto(len: usize, seed: usize) -> String {
    (0..len)
        .map(|i| char::from(CRYPTO_ALPHABET[(i * 7 + seed * 13 + i * i) % CRYPTO_ALPHABET.len()]))
        .collect()
}

/// `01 gtin 21 serial GS 91 key GS 92 crypto`.
pub fn code(gtin: &str, serial: &str, crypto: &str) -> String {
    format!("01{gtin}21{serial}\u{1d}91EE11\u{1d}92{crypto}")
}

/// Thirteen-character serials covering every awkward set-82 character.
pub fn awkward_serials() -> Vec<String> {
    let awkward = "!\"%&'*+-./,:;=<>?_";
    awkward
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let base: String = format!("{c}aB3{c}xY_{c}9z{c}{c}");
            let mut s: String = base.chars().take(13).collect();
            if i % 2 == 1 {
                s = s.chars().rev().collect();
            }
            s
        })
        .chain(std::iter::once("!\"%&'*+-./,:;".to_owned()))
        .chain(std::iter::once("=<>?_!\"%&'*+-".to_owned()))
        .collect()
}

#[test]
fn check_digits() {
    // GS1's worked example: 629104150021 → 3 (GTIN-13); padded to 13 digits for GTIN-14.
    assert_eq!(check_digit("0629104150021"), 3);
    assert_eq!(gtin("0460000000001"), "04600000000015");
    for s in awkward_serials() {
        assert_eq!(s.chars().count(), 13, "{s}");
    }
}
