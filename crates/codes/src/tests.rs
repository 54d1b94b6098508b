// SPDX-License-Identifier: GPL-3.0-or-later
//! Tests of the code model as a whole: real-format codes in every form they arrive in, every error with
//! its exact message; properties over generated codes in `tests/properties.rs`.

use super::*;

mod properties;

const GTIN: &str = "04601234567893";
const KEY: &str = "AbC1";
const CRYPTO_44: &str = "pTyGJ+/HbEL31IeL2HPcHyGcFRl1SPnXNYvMIHa/2o==";
const CRYPTO_88: &str =
    "76umfXfKm/r5kJP1VrT+1FJors/6ILi8IHn5kxsC7tVO/HbkQfyy/KV5zjR3j1twdTKWTddB+XhkAS1voQG6yyz=";
/// Footwear serials with every awkward character of the alphabet, 13 characters each.
const SERIALS: [&str; 6] = [
    "!\"%&'*+-./,:;",
    "=<>?_AbC12xyz",
    "a\"b'c<d>e&f%g",
    "0000000000001",
    "(0)1*2+3,4-5.",
    "ABC<GS>defghi",
];

fn footwear() -> CodeFormat {
    CodeFormat::default()
}

fn variable() -> CodeFormat {
    CodeFormat {
        serial_length: SerialLength::Variable,
        ..CodeFormat::default()
    }
}

/// `01…21…<GS>91…<GS>92…` with raw GS.
fn crypto_code(gtin: &str, serial: &str, key: &str, crypto: &str) -> String {
    format!("01{gtin}21{serial}\x1D91{key}\x1D92{crypto}")
}

fn short_code(gtin: &str, serial: &str, check: &str) -> String {
    format!("01{gtin}21{serial}\x1D93{check}")
}

/// Every form a canonical code has been seen to arrive in.
fn transport_forms(canonical: &str) -> Vec<(String, Vec<u8>)> {
    let raw = canonical.as_bytes();
    let spelt = |sep: &str| canonical.replace('\x1D', sep).into_bytes();
    let prefixed = |prefix: &[u8]| [prefix, raw].concat();
    let mut forms = vec![
        ("raw GS".to_owned(), raw.to_vec()),
        ("]d2".to_owned(), prefixed(b"]d2")),
        ("0xE8".to_owned(), prefixed(b"\xE8")),
        ("UTF-8 è".to_owned(), prefixed("è".as_bytes())),
        ("leading GS".to_owned(), prefixed(b"\x1D")),
        ("<FNC1>".to_owned(), prefixed(b"<FNC1>")),
        (
            "]d2 + 0xE8 + CR LF".to_owned(),
            [b"]d2\xE8", raw, b"\r\n"].concat(),
        ),
        ("trailing CR LF".to_owned(), [raw, b"\r\n"].concat()),
        ("spaces and NUL".to_owned(), [b" \t", raw, b"\0\n"].concat()),
        ("no separators".to_owned(), spelt("")),
    ];
    for sep in [
        "\\x1d", "\\x1D", "\\u001d", "\\u001D", "<GS>", "<gs>", "{GS}", "[GS]",
    ] {
        forms.push((sep.to_owned(), spelt(sep)));
        forms.push((
            format!("]d2 and {sep}"),
            [b"]d2", spelt(sep).as_slice()].concat(),
        ));
    }
    // One of two separators missing, in either place.
    for skip in 0..canonical.matches('\x1D').count() {
        let mut n = 0;
        let one_missing: String = canonical
            .chars()
            .filter(|&c| {
                let keep = c != '\x1D' || n != skip;
                n += usize::from(c == '\x1D');
                keep
            })
            .collect();
        forms.push((
            format!("GS #{} missing", skip + 1),
            one_missing.clone().into_bytes(),
        ));
        forms.push((
            format!("GS #{} missing, <GS>", skip + 1),
            one_missing.replace('\x1D', "<GS>").into_bytes(),
        ));
    }
    forms
}

fn assert_all_forms_parse(canonical: &str, format: &CodeFormat) {
    for (name, input) in transport_forms(canonical) {
        match MarkingCode::parse(&input, format) {
            Ok(code) => assert_eq!(code.as_str(), canonical, "form {name}"),
            Err(e) => panic!("form {name} of {}: {e}", canonical.escape_debug()),
        }
    }
}

#[test]
fn real_format_codes_parse_from_every_form() {
    let gtins = [
        "04601234567893",
        "04006381333931",
        "00036000291452",
        "02900001234566",
    ];
    for (i, serial) in SERIALS.iter().enumerate() {
        assert_eq!(serial.len(), 13, "{serial}");
        let gtin = gtins[i % gtins.len()];
        for crypto in [CRYPTO_44, CRYPTO_88] {
            assert_all_forms_parse(&crypto_code(gtin, serial, KEY, crypto), &footwear());
        }
        assert_all_forms_parse(&short_code(gtin, serial, "x9Z0"), &footwear());
    }
}

#[test]
fn accessors_slice_the_canonical_string() {
    let canonical = crypto_code(GTIN, SERIALS[0], KEY, CRYPTO_44);
    let code = MarkingCode::parse(canonical.as_bytes(), &footwear()).expect("a valid code");
    assert_eq!(code.as_str(), canonical);
    assert_eq!(code.gtin().as_str(), GTIN);
    assert_eq!(code.serial(), SERIALS[0]);
    assert_eq!(code.identification(), format!("01{GTIN}21{}", SERIALS[0]));
    assert_eq!(code.identification().len(), 31);
    assert_eq!(code.tail(), Tail::Crypto);
    assert_eq!(code.verification_key(), Some(KEY));
    assert_eq!(code.crypto(), Some(CRYPTO_44));
    let masked = format!("(01){GTIN}(21){}(91)****(92)****", SERIALS[0]);
    assert_eq!(code.masked(), masked);
    assert_eq!(code.to_string(), masked);
    assert_eq!(format!("{code:?}"), format!("MarkingCode({masked})"));

    let short = MarkingCode::parse(short_code(GTIN, SERIALS[1], "x9Z0").as_bytes(), &footwear())
        .expect("a valid code");
    assert_eq!(short.tail(), Tail::ShortCheck);
    assert_eq!(short.serial(), SERIALS[1]);
    assert_eq!(short.verification_key(), None);
    assert_eq!(short.crypto(), None);
    assert_eq!(
        short.masked(),
        format!("(01){GTIN}(21){}(93)****", SERIALS[1])
    );
    assert!(!format!("{short:?}").contains("x9Z0"));
}

#[test]
fn a_serial_containing_angle_gs_survives_angle_gs_transport() {
    let canonical = crypto_code(GTIN, "ABC<GS>defghi", KEY, CRYPTO_44);
    let input = canonical.replace('\x1D', "<GS>");
    let code = MarkingCode::parse(input.as_bytes(), &footwear()).expect("a valid code");
    assert_eq!(code.serial(), "ABC<GS>defghi");
    // Read back from the ledger with the loosest format, raw GS makes `<GS>` literal.
    let stored = CodeFormat {
        serial_length: SerialLength::Variable,
        crypto_min: 1,
        crypto_max: 128,
    };
    assert_eq!(
        MarkingCode::parse(code.as_str().as_bytes(), &stored).expect("a valid code"),
        code
    );
}

#[test]
fn variable_serials_of_1_and_20_characters() {
    for serial in ["X", "ABCDEFGHIJ0123456789"] {
        let canonical = crypto_code(GTIN, serial, KEY, CRYPTO_44);
        let code = MarkingCode::parse(canonical.as_bytes(), &variable()).expect("a valid code");
        assert_eq!(code.serial(), serial);
        for sep in ["\\x1d", "<GS>", "{GS}"] {
            let input = canonical.replace('\x1D', sep);
            assert_eq!(
                MarkingCode::parse(input.as_bytes(), &variable()).expect("a valid code"),
                code
            );
        }
        // The separator after the key can still be restored.
        let one = format!("01{GTIN}21{serial}\x1D91{KEY}92{CRYPTO_44}");
        assert_eq!(
            MarkingCode::parse(one.as_bytes(), &variable()).expect("a valid code"),
            code
        );
    }
}

#[test]
fn other_fixed_serial_lengths() {
    let format = CodeFormat {
        serial_length: SerialLength::Fixed(20),
        crypto_min: 88,
        crypto_max: 88,
    };
    assert_all_forms_parse(
        &crypto_code(GTIN, "ABCDEFGHIJ0123456789", KEY, CRYPTO_88),
        &format,
    );
    let one = CodeFormat {
        serial_length: SerialLength::Fixed(1),
        ..footwear()
    };
    assert_all_forms_parse(&short_code(GTIN, "Z", "1234"), &one);
}

/// Input, format, the error and its message.
type ErrorCase = (Vec<u8>, CodeFormat, CodeError, &'static str);

/// Positions used below: `01` 1–2, GTIN 3–16, `21` 17–18, serial 19–31, GS 32, `91` 33–34,
/// key 35–38, GS 39, `92` 40–41, crypto from 42.
#[test]
fn every_error_with_its_exact_message() {
    let s = SERIALS[1];
    let ki = format!("01{GTIN}21{s}");
    let cases: Vec<ErrorCase> = vec![
        (
            b"".to_vec(),
            footwear(),
            CodeError::Empty,
            "the code is empty",
        ),
        (
            b" \r\n\0".to_vec(),
            footwear(),
            CodeError::Empty,
            "the code is empty",
        ),
        (
            b"]d2\r\n".to_vec(),
            footwear(),
            CodeError::Empty,
            "the code is empty",
        ),
        (
            format!("]d1{ki}").into_bytes(),
            footwear(),
            CodeError::PlainDataMatrix,
            "the symbol is plain Data Matrix (AIM ]d1): it was printed without FNC1, so it is not GS1 \
             DataMatrix and the registry will not accept it; reprint the label",
        ),
        (
            format!("]Q3{ki}").into_bytes(),
            footwear(),
            CodeError::WrongSymbology {
                aim: AimId(*b"]Q3"),
            },
            "the scanned symbol is a QR Code (AIM ]Q3), not GS1 DataMatrix (AIM ]d2): scan the marking code",
        ),
        (
            format!("]C1{ki}").into_bytes(),
            footwear(),
            CodeError::WrongSymbology {
                aim: AimId(*b"]C1"),
            },
            "the scanned symbol is a GS1-128 barcode (AIM ]C1), not GS1 DataMatrix (AIM ]d2): scan the marking \
             code",
        ),
        (
            b"]E04601234567893".to_vec(),
            footwear(),
            CodeError::WrongSymbology {
                aim: AimId(*b"]E0"),
            },
            "the scanned symbol is an EAN/UPC barcode (AIM ]E0), not GS1 DataMatrix (AIM ]d2): scan the marking \
             code",
        ),
        (
            format!("]d5{ki}").into_bytes(),
            footwear(),
            CodeError::WrongSymbology {
                aim: AimId(*b"]d5"),
            },
            "the scanned symbol is a Data Matrix with an ECI (AIM ]d5), not GS1 DataMatrix (AIM ]d2): scan the \
             marking code",
        ),
        (
            b"0".to_vec(),
            footwear(),
            CodeError::Truncated {
                position: 1,
                element: Element::Gtin,
            },
            "the code ends at position 1 before the GTIN is complete",
        ),
        (
            b"0104601234".to_vec(),
            footwear(),
            CodeError::Truncated {
                position: 10,
                element: Element::Gtin,
            },
            "the code ends at position 10 before the GTIN is complete",
        ),
        (
            format!("02{GTIN}").into_bytes(),
            footwear(),
            CodeError::ExpectedAi {
                position: 1,
                expected: "01",
                found: "02".into(),
            },
            "expected AI 01 at position 1, found \"02\"",
        ),
        (
            b"(01)04601234567893".to_vec(),
            footwear(),
            CodeError::ExpectedAi {
                position: 1,
                expected: "01",
                found: "(0".into(),
            },
            "expected AI 01 at position 1, found \"(0\"",
        ),
        (
            b"01046012345678A3".to_vec(),
            footwear(),
            CodeError::InvalidChar {
                position: 15,
                element: Element::Gtin,
                found: Found::Char('A'),
            },
            "character 'A' at position 15 is not allowed in the GTIN (digits only)",
        ),
        (
            format!("010460123456789021{s}").into_bytes(),
            footwear(),
            CodeError::BadGtin {
                position: 3,
                source: GtinError::CheckDigit {
                    found: 0,
                    expected: 3,
                },
            },
            "GTIN check digit is 0, expected 3 (GTIN at position 3)",
        ),
        (
            format!("01{GTIN}").into_bytes(),
            footwear(),
            CodeError::Truncated {
                position: 16,
                element: Element::Serial,
            },
            "the code ends at position 16 before the serial is complete",
        ),
        (
            format!("01{GTIN}2").into_bytes(),
            footwear(),
            CodeError::Truncated {
                position: 17,
                element: Element::Serial,
            },
            "the code ends at position 17 before the serial is complete",
        ),
        (
            format!("01{GTIN}\x1D21{s}").into_bytes(),
            footwear(),
            CodeError::ExpectedAi {
                position: 17,
                expected: "21",
                found: "\\u{1d}2".into(),
            },
            "expected AI 21 at position 17, found \"\\u{1d}2\"",
        ),
        (
            format!("01{GTIN}21A€CDEFGHIJKL").into_bytes(),
            footwear(),
            CodeError::InvalidChar {
                position: 20,
                element: Element::Serial,
                found: Found::Char('€'),
            },
            "character '€' at position 20 is not allowed in the serial (GS1 character set 82)",
        ),
        (
            [format!("01{GTIN}21A").as_bytes(), b"\xC3BCDEFGHIJKL"].concat(),
            footwear(),
            CodeError::InvalidChar {
                position: 20,
                element: Element::Serial,
                found: Found::Byte(0xC3),
            },
            "byte 0xC3 at position 20 is not allowed in the serial (GS1 character set 82)",
        ),
        (
            format!("01{GTIN}21A\x07CDEFGHIJKL").into_bytes(),
            footwear(),
            CodeError::InvalidChar {
                position: 20,
                element: Element::Serial,
                found: Found::Byte(0x07),
            },
            "byte 0x07 at position 20 is not allowed in the serial (GS1 character set 82)",
        ),
        (
            format!("01{GTIN}21ABC DEFGHIJKL").into_bytes(),
            footwear(),
            CodeError::InvalidChar {
                position: 22,
                element: Element::Serial,
                found: Found::Char(' '),
            },
            "character ' ' at position 22 is not allowed in the serial (GS1 character set 82)",
        ),
        (
            format!("01{GTIN}21ABCDEFGHIJ\x1D91{KEY}\x1D92{CRYPTO_44}").into_bytes(),
            footwear(),
            CodeError::WrongSerialLength {
                position: 19,
                length: 10,
                expected: 13,
            },
            "the serial at position 19 is 10 characters, but this product group's serials are 13",
        ),
        (
            format!("01{GTIN}21ABCDEFGH<GS>91{KEY}<GS>92{CRYPTO_44}").into_bytes(),
            footwear(),
            CodeError::WrongSerialLength {
                position: 19,
                length: 8,
                expected: 13,
            },
            "the serial at position 19 is 8 characters, but this product group's serials are 13",
        ),
        (
            format!("01{GTIN}21ABCDEFGH").into_bytes(),
            footwear(),
            CodeError::Truncated {
                position: 26,
                element: Element::Serial,
            },
            "the code ends at position 26 before the serial is complete",
        ),
        (
            ki.clone().into_bytes(),
            footwear(),
            CodeError::MissingTail { position: 31 },
            "the code ends at position 31 after the serial: the AI 91+92 or AI 93 tail is missing (an \
             identification code alone is not a marking code)",
        ),
        (
            format!("{ki}\x1D").into_bytes(),
            footwear(),
            CodeError::MissingTail { position: 32 },
            "the code ends at position 32 after the serial: the AI 91+92 or AI 93 tail is missing (an \
             identification code alone is not a marking code)",
        ),
        (
            format!("{ki}\x1D9X{KEY}").into_bytes(),
            footwear(),
            CodeError::ExpectedAi {
                position: 33,
                expected: "91 or 93",
                found: "9X".into(),
            },
            "expected AI 91 or 93 at position 33, found \"9X\"",
        ),
        (
            format!("01{GTIN}21ABCDEFGHIJKLMN91{KEY}92{CRYPTO_44}").into_bytes(),
            footwear(),
            CodeError::NoAiAfterSerial {
                position: 32,
                serial_length: 13,
            },
            "expected AI 91 or 93 at position 32, after the 13-character serial: the serial is not 13 \
             characters long, or the code is damaged",
        ),
        (
            format!("01{GTIN}21ABCDEFGHIJ91{KEY}92{CRYPTO_44}").into_bytes(),
            footwear(),
            CodeError::NoAiAfterSerial {
                position: 32,
                serial_length: 13,
            },
            "expected AI 91 or 93 at position 32, after the 13-character serial: the serial is not 13 \
             characters long, or the code is damaged",
        ),
        (
            format!("{ki}\x1D9").into_bytes(),
            footwear(),
            CodeError::ExpectedAi {
                position: 33,
                expected: "91 or 93",
                found: "9".into(),
            },
            "expected AI 91 or 93 at position 33, found \"9\"",
        ),
        (
            format!("{ki}\x1D91Ab\x1D92{CRYPTO_44}").into_bytes(),
            footwear(),
            CodeError::WrongFieldLength {
                element: Element::VerificationKey,
                position: 35,
                length: 2,
                expected: 4,
            },
            "the verification key at position 35 is 2 characters; it must be 4",
        ),
        (
            format!("{ki}\x1D91Ab€1\x1D92{CRYPTO_44}").into_bytes(),
            footwear(),
            CodeError::InvalidChar {
                position: 37,
                element: Element::VerificationKey,
                found: Found::Withheld,
            },
            "the character at position 37 is not allowed in the verification key (GS1 character set 82)",
        ),
        (
            format!("{ki}\x1D91Ab").into_bytes(),
            footwear(),
            CodeError::Truncated {
                position: 36,
                element: Element::VerificationKey,
            },
            "the code ends at position 36 before the verification key is complete",
        ),
        (
            format!("{ki}\x1D91{KEY}").into_bytes(),
            footwear(),
            CodeError::Truncated {
                position: 38,
                element: Element::Crypto,
            },
            "the code ends at position 38 before the crypto tail is complete",
        ),
        (
            format!("{ki}\x1D91{KEY}\x1D9").into_bytes(),
            footwear(),
            CodeError::Truncated {
                position: 40,
                element: Element::Crypto,
            },
            "the code ends at position 40 before the crypto tail is complete",
        ),
        (
            format!("{ki}\x1D91{KEY}\x1D93{CRYPTO_44}").into_bytes(),
            footwear(),
            CodeError::ExpectedCryptoAi { position: 40 },
            "expected AI 92 (crypto tail) at position 40, after the 4-character verification key",
        ),
        (
            format!("{ki}\x1D91{KEY}5\x1D92{CRYPTO_44}").into_bytes(),
            footwear(),
            CodeError::ExpectedCryptoAi { position: 39 },
            "expected AI 92 (crypto tail) at position 39, after the 4-character verification key",
        ),
        (
            crypto_code(GTIN, s, KEY, &CRYPTO_44[..43]).into_bytes(),
            footwear(),
            CodeError::CryptoLength {
                position: 42,
                length: 43,
                min: 44,
                max: 88,
            },
            "crypto tail is 43 characters; this product group needs 44 to 88 (tail starts at position 42)",
        ),
        (
            crypto_code(GTIN, s, KEY, &format!("{CRYPTO_88}A")).into_bytes(),
            footwear(),
            CodeError::CryptoLength {
                position: 42,
                length: 89,
                min: 44,
                max: 88,
            },
            "crypto tail is 89 characters; this product group needs 44 to 88 (tail starts at position 42)",
        ),
        (
            crypto_code(GTIN, s, KEY, CRYPTO_44).into_bytes(),
            CodeFormat {
                crypto_min: 88,
                ..footwear()
            },
            CodeError::CryptoLength {
                position: 42,
                length: 44,
                min: 88,
                max: 88,
            },
            "crypto tail is 44 characters; this product group needs 88 (tail starts at position 42)",
        ),
        (
            crypto_code(GTIN, s, KEY, "").into_bytes(),
            footwear(),
            CodeError::CryptoLength {
                position: 42,
                length: 0,
                min: 44,
                max: 88,
            },
            "crypto tail is 0 characters; this product group needs 44 to 88 (tail starts at position 42)",
        ),
        (
            crypto_code(
                GTIN,
                s,
                KEY,
                &format!("{}€{}", &CRYPTO_44[..10], &CRYPTO_44[10..]),
            )
            .into_bytes(),
            footwear(),
            CodeError::InvalidChar {
                position: 52,
                element: Element::Crypto,
                found: Found::Withheld,
            },
            "the character at position 52 is not allowed in the crypto tail (GS1 character set 82)",
        ),
        (
            format!("{}\x1D", crypto_code(GTIN, s, KEY, CRYPTO_44)).into_bytes(),
            footwear(),
            CodeError::UnexpectedData {
                position: 86,
                after: Element::Crypto,
            },
            "unexpected data at position 86: the code must end after the crypto tail",
        ),
        (
            format!("{}\x1D93ABCD", crypto_code(GTIN, s, KEY, CRYPTO_44)).into_bytes(),
            footwear(),
            CodeError::UnexpectedData {
                position: 86,
                after: Element::Crypto,
            },
            "unexpected data at position 86: the code must end after the crypto tail",
        ),
        (
            format!("{}\\x1d", crypto_code(GTIN, s, KEY, CRYPTO_44)).into_bytes(),
            footwear(),
            CodeError::UnexpectedData {
                position: 86,
                after: Element::Crypto,
            },
            "unexpected data at position 86: the code must end after the crypto tail",
        ),
        (
            format!("{ki}\x1D93ABCDE").into_bytes(),
            footwear(),
            CodeError::UnexpectedData {
                position: 39,
                after: Element::ShortCheck,
            },
            "unexpected data at position 39: the code must end after the AI 93 check code",
        ),
        (
            format!("{ki}\x1D93AB").into_bytes(),
            footwear(),
            CodeError::Truncated {
                position: 36,
                element: Element::ShortCheck,
            },
            "the code ends at position 36 before the AI 93 check code is complete",
        ),
        (
            format!("{ki}\x1D93AB\x1DCD").into_bytes(),
            footwear(),
            CodeError::WrongFieldLength {
                element: Element::ShortCheck,
                position: 35,
                length: 2,
                expected: 4,
            },
            "the AI 93 check code at position 35 is 2 characters; it must be 4",
        ),
        (
            crypto_code(GTIN, "ABCDEFGHIJ0123456789K", KEY, CRYPTO_44).into_bytes(),
            variable(),
            CodeError::SerialOutOfRange {
                position: 19,
                length: 21,
            },
            "the serial at position 19 is 21 characters; a GS1 serial (AI 21) is 1 to 20",
        ),
        (
            crypto_code(GTIN, "", KEY, CRYPTO_44).into_bytes(),
            variable(),
            CodeError::SerialOutOfRange {
                position: 19,
                length: 0,
            },
            "the serial at position 19 is 0 characters; a GS1 serial (AI 21) is 1 to 20",
        ),
        (
            crypto_code(GTIN, s, KEY, CRYPTO_44)
                .replace('\x1D', "")
                .into_bytes(),
            variable(),
            CodeError::MissingSeparator { position: 19 },
            "no GS separator after the serial at position 19: a serial of variable length must end with GS, \
             it cannot be restored",
        ),
        (
            crypto_code(GTIN, s, KEY, CRYPTO_44).into_bytes(),
            CodeFormat {
                serial_length: SerialLength::Fixed(0),
                ..footwear()
            },
            CodeError::InvalidFormat {
                detail: "serial length 0 is outside 1 to 20".into(),
            },
            "the code format for this product group is invalid: serial length 0 is outside 1 to 20",
        ),
        (
            crypto_code(GTIN, s, KEY, CRYPTO_44).into_bytes(),
            CodeFormat {
                serial_length: SerialLength::Fixed(21),
                ..footwear()
            },
            CodeError::InvalidFormat {
                detail: "serial length 21 is outside 1 to 20".into(),
            },
            "the code format for this product group is invalid: serial length 21 is outside 1 to 20",
        ),
        (
            crypto_code(GTIN, s, KEY, CRYPTO_44).into_bytes(),
            CodeFormat {
                crypto_min: 0,
                ..footwear()
            },
            CodeError::InvalidFormat {
                detail: "the crypto tail's minimum length is 0".into(),
            },
            "the code format for this product group is invalid: the crypto tail's minimum length is 0",
        ),
        (
            crypto_code(GTIN, s, KEY, CRYPTO_44).into_bytes(),
            CodeFormat {
                crypto_min: 88,
                crypto_max: 44,
                ..footwear()
            },
            CodeError::InvalidFormat {
                detail: "crypto tail length 88 to 44 is an empty range".into(),
            },
            "the code format for this product group is invalid: crypto tail length 88 to 44 is an empty range",
        ),
    ];
    for (input, format, error, message) in cases {
        let got = MarkingCode::parse(&input, &format).expect_err("an invalid code");
        assert_eq!(got, error, "{}", input.escape_ascii());
        assert_eq!(got.to_string(), message);
        assert!(
            !message.contains(KEY) && !message.contains(&CRYPTO_44[..8]),
            "{message}"
        );
    }
}

#[test]
fn plain_data_matrix_is_distinct_from_other_symbologies() {
    let code = crypto_code(GTIN, SERIALS[0], KEY, CRYPTO_44);
    let plain = MarkingCode::parse(format!("]d1{code}").as_bytes(), &footwear())
        .expect_err("an invalid code");
    assert_eq!(plain, CodeError::PlainDataMatrix);
    assert!(plain.to_string().contains("without FNC1"));
    assert!(plain.to_string().contains("reprint"));
    assert!(MarkingCode::parse(format!("]d2{code}").as_bytes(), &footwear()).is_ok());
}

#[test]
fn normalize_gives_the_element_string_the_parser_reads() {
    let canonical = crypto_code(GTIN, SERIALS[0], KEY, CRYPTO_44);
    for (name, input) in transport_forms(&canonical) {
        let n = normalize(&input);
        assert!(n.aim.is_none() || n.aim == Some(AimId(*b"]d2")), "{name}");
        let reparsed = MarkingCode::parse(&n.bytes, &footwear()).expect("a valid code");
        assert_eq!(reparsed.as_str(), canonical, "{name}");
    }
}
