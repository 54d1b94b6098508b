// SPDX-License-Identifier: GPL-3.0-or-later
//! Properties over generated codes: valid codes round-trip through every form they arrive in, any bytes
//! parse or fail cleanly, and a damaged code never leaks its crypto tail.

use proptest::prelude::*;

use super::*;

const SET_82: &[u8] =
    b"!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";

fn text(
    alphabet: &'static [u8],
    len: impl Into<proptest::sample::SizeRange>,
) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(alphabet), len)
        .prop_map(|bytes| bytes.into_iter().map(char::from).collect())
}

fn gtin() -> impl Strategy<Value = String> {
    "[0-9]{13}".prop_map(|body| format!("{body}{}", gs1_check_digit(body.as_bytes())))
}

/// A valid canonical code and its key and crypto ("" for the AI 93 form).
fn valid_code(
    serial_len: impl Into<proptest::sample::SizeRange>,
) -> impl Strategy<Value = (String, String, String)> {
    let crypto_tail = (text(ALNUM, 4), text(BASE64, 44..=88));
    (
        gtin(),
        text(SET_82, serial_len),
        prop::option::weighted(0.8, crypto_tail),
        text(ALNUM, 4),
    )
        .prop_map(|(gtin, serial, tail, check)| match tail {
            Some((key, crypto)) => (crypto_code(&gtin, &serial, &key, &crypto), key, crypto),
            None => (short_code(&gtin, &serial, &check), check, String::new()),
        })
}

/// A valid code with one byte replaced, inserted or removed.
fn mutated_code() -> impl Strategy<Value = Vec<u8>> {
    (
        valid_code(13),
        any::<prop::sample::Index>(),
        any::<u8>(),
        0..3u8,
    )
        .prop_map(|((code, _, _), at, byte, op)| {
            let mut bytes = code.into_bytes();
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => {
                    bytes.remove(i);
                }
            }
            bytes
        })
}

/// The properties every successful parse must have.
fn assert_consistent(code: &MarkingCode, format: &CodeFormat) {
    let again = MarkingCode::parse(code.as_str().as_bytes(), format).expect("a valid code");
    assert_eq!(&again, code);
    assert!(code.as_str().starts_with(code.identification()));
    let tail = match code.tail() {
        Tail::Crypto => "(91)****(92)****",
        Tail::ShortCheck => "(93)****",
    };
    assert_eq!(
        code.masked(),
        format!("(01){}(21){}{tail}", code.gtin(), code.serial())
    );
}

proptest! {
    #[test]
    fn valid_codes_round_trip_through_every_form((canonical, key, crypto) in valid_code(13)) {
        for (name, input) in transport_forms(&canonical) {
            let code = MarkingCode::parse(&input, &footwear())
                .map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
            prop_assert_eq!(code.as_str(), canonical.as_str(), "{}", name);
            assert_consistent(&code, &footwear());
            if !crypto.is_empty() {
                prop_assert_eq!(code.verification_key(), Some(key.as_str()));
                prop_assert_eq!(code.crypto(), Some(crypto.as_str()));
                prop_assert!(!code.masked().contains(&crypto));
                let debug = format!("{code:?}");
                prop_assert!(!debug.contains(&crypto));
                prop_assert!(!code.to_string().contains(&crypto));
            }
        }
    }

    #[test]
    fn variable_serials_round_trip((canonical, _key, _crypto) in valid_code(1..=20)) {
        for sep in ["\x1D", "\\u001d", "{GS}"] {
            let input = canonical.replace('\x1D', sep);
            let code = MarkingCode::parse(input.as_bytes(), &variable())
                .map_err(|e| TestCaseError::fail(format!("{sep}: {e}")))?;
            prop_assert_eq!(code.as_str(), canonical.as_str());
        }
    }

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        for format in [footwear(), variable()] {
            if let Ok(code) = MarkingCode::parse(&bytes, &format) {
                assert_consistent(&code, &format);
            }
        }
        let _ = normalize(&bytes);
    }

    #[test]
    fn damaged_codes_fail_cleanly_without_leaking_the_crypto(bytes in mutated_code()) {
        for format in [footwear(), variable()] {
            match MarkingCode::parse(&bytes, &format) {
                Ok(code) => assert_consistent(&code, &format),
                Err(e) => {
                    let message = e.to_string();
                    // No run of 6 crypto characters may appear in a message.
                    if let Some(crypto) = bytes.windows(2).position(|w| w == b"92").map(|i| &bytes[i + 2..]) {
                        for run in crypto.windows(6).filter(|r| r.iter().all(|b| BASE64.contains(b))) {
                            let run = String::from_utf8_lossy(run);
                            prop_assert!(!message.contains(run.as_ref()), "{message}");
                        }
                    }
                }
            }
        }
    }
}
