// SPDX-License-Identifier: GPL-3.0-or-later
//! Arbitrary bytes, as a scanner or an import file could send them, through the marking-code parser
//! and the SSCC parser.
//! Whatever is accepted must be canonical, and its masked form must not depend on the secret tail.
#![no_main]

use labelstation::codes::{CodeFormat, GS, MarkingCode, SerialLength, Sscc, SsccForm, Tail, normalize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Undoing transport artefacts only ever removes bytes or shortens spelt-out separators.
    assert!(normalize(data).bytes.len() <= data.len());

    // Footwear, and the loosest format (the one the ledger reads its own codes back with).
    let loose = CodeFormat {
        serial_length: SerialLength::Variable,
        crypto_min: 1,
        crypto_max: 128,
    };
    for format in [CodeFormat::default(), loose] {
        if let Ok(code) = MarkingCode::parse(data, &format) {
            check(&code, &format);
        }
    }

    // A box code (SSCC) as the registry or a scanner gives it: what is accepted reads back the same
    // in every form it is written in.
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(sscc) = Sscc::parse(text)
    {
        assert_eq!(sscc.as_str().len(), 18);
        for written in [
            sscc.registry_form(SsccForm::WithAi),
            sscc.registry_form(SsccForm::Bare),
            sscc.human_readable(),
        ] {
            assert_eq!(Sscc::parse(&written).as_ref(), Ok(&sscc));
        }
    }
});

fn check(code: &MarkingCode, format: &CodeFormat) {
    let again = MarkingCode::parse(code.as_str().as_bytes(), format)
        .expect("the canonical form of an accepted code is accepted");
    assert_eq!(&again, code);
    assert_eq!(again.as_str(), code.as_str());

    let identification = code.identification();
    assert!(code.as_str().starts_with(identification));
    assert_eq!(
        identification,
        format!("01{}21{}", code.gtin(), code.serial())
    );

    let masked = code.masked();
    let tail = match code.tail() {
        Tail::Crypto => "(91)****(92)****",
        Tail::ShortCheck => "(93)****",
    };
    assert_eq!(
        masked,
        format!("(01){}(21){}{tail}", code.gtin(), code.serial())
    );
    assert_eq!(format!("{code}"), masked);
    assert_eq!(format!("{code:?}"), format!("MarkingCode({masked})"));

    // The same code with every byte of its secret tail changed masks the same: no byte of it leaks.
    let twin = with_other_secrets(code);
    let twin = MarkingCode::parse(twin.as_bytes(), format).expect("the twin code is valid too");
    assert_ne!(twin.as_str(), code.as_str());
    assert_eq!(twin.masked(), masked);

    if let Some(crypto) = code.crypto()
        && crypto.len() >= CodeFormat::default().crypto_min
        && !crypto.contains("(21)")
    {
        // A stretch of the mask this long always spans its "(21)": only a crypto tail that spells the
        // mask itself could be found in it.
        assert!(!masked.contains(crypto));
    }
}

/// The code with each character of its key, crypto tail or AI 93 check replaced by a different one.
fn with_other_secrets(code: &MarkingCode) -> String {
    let flip = |s: &str| -> String {
        s.chars()
            .map(|c| if c == 'A' { 'B' } else { 'A' })
            .collect()
    };
    let gs = char::from(GS);
    let identification = code.identification();
    match (code.verification_key(), code.crypto()) {
        (Some(key), Some(crypto)) => {
            format!("{identification}{gs}91{}{gs}92{}", flip(key), flip(crypto))
        }
        _ => {
            let check = code
                .as_str()
                .get(identification.len() + 3..)
                .unwrap_or_default();
            format!("{identification}{gs}93{}", flip(check))
        }
    }
}
