// SPDX-License-Identifier: GPL-3.0-or-later
//! The done-criterion: code → ZPL (both modes) → interpreter → renderer → bitmap → rxing decode
//! gives exactly the original element string with `]d2` (GS1 DataMatrix), for every awkward serial
//! character, 44- and 88-character crypto tails, at 203, 300 and 600 dpi.

mod common;

use labelstation_zpl::interpret::{Interpreter, Label};
use labelstation_zpl::preview;
use labelstation_zpl::render::{Bitmap, render};
use labelstation_zpl::template::{BuiltinTemplate, Dpi, Template};
use labelstation_zpl::write::{
    LabelData, ProductText, full_label, recall_code, recall_label, stored_format,
    stored_product_format,
};
use rxing::{BarcodeFormat, RXingResultMetadataType, RXingResultMetadataValue};

/// Decodes the whole label image, as a phone would see the sticker.
fn decode(bitmap: &Bitmap) -> (Vec<u8>, String) {
    let result = rxing::helpers::detect_in_luma(
        bitmap.to_luma(),
        bitmap.width,
        bitmap.height,
        Some(BarcodeFormat::DATA_MATRIX),
    )
    .expect("DataMatrix decodes");
    let symbology = match result
        .getRXingResultMetadata()
        .get(&RXingResultMetadataType::SYMBOLOGY_IDENTIFIER)
    {
        Some(RXingResultMetadataValue::SymbologyIdentifier(s)) => s.clone(),
        other => panic!("no symbology identifier: {other:?}"),
    };
    (result.getText().as_bytes().to_vec(), symbology)
}

fn only_label(interpreter: &mut Interpreter, zpl: &str) -> Label {
    let job = interpreter.read(zpl.as_bytes()).expect("reads");
    assert_eq!(
        job.warnings().count(),
        0,
        "{:?}",
        job.warnings().collect::<Vec<_>>()
    );
    let labels: Vec<_> = job.labels().cloned().collect();
    assert_eq!(labels.len(), 1);
    labels.into_iter().next().expect("one label")
}

#[test]
fn every_awkward_code_scans_back_exactly() {
    let gtin = common::gtin("0460123456789");
    let serials = common::awkward_serials();
    let mut decoded = 0;
    for dpi in Dpi::ALL {
        for (i, serial) in serials.iter().enumerate() {
            for crypto_len in [44, 88] {
                let which = if i % 2 == 0 {
                    BuiltinTemplate::Label58x40
                } else {
                    BuiltinTemplate::Label43x25
                };
                let template = Template::builtin(which)
                    .and_then(|t| t.with_dpi(dpi))
                    .expect("template");
                let code = common::code(&gtin, serial, &common::crypto(crypto_len, i));
                let data = LabelData {
                    code: &code,
                    name: "Кроссовки / Кроссовкалар ^~\\_ әғқңөұүһі",
                    size: "42½",
                    gtin_text: &gtin,
                    serial_text: serial,
                };
                let mut interpreter = Interpreter::new();
                let full = only_label(
                    &mut interpreter,
                    &full_label(&template, &data).expect("writes"),
                );
                interpreter
                    .read(stored_format(&template).as_bytes())
                    .expect("stores");
                let recalled = only_label(
                    &mut interpreter,
                    &recall_label(&template, &data).expect("writes"),
                );
                let product = ProductText {
                    name: data.name,
                    size: data.size,
                    gtin_text: data.gtin_text,
                };
                interpreter
                    .read(
                        stored_product_format(&template, &product)
                            .expect("writes")
                            .as_bytes(),
                    )
                    .expect("stores");
                let by_code = only_label(
                    &mut interpreter,
                    &recall_code(&template, &code, serial).expect("writes"),
                );
                assert_eq!(
                    full.texts().collect::<Vec<_>>(),
                    by_code.texts().collect::<Vec<_>>()
                );
                for (mode, label) in [
                    ("full", &full),
                    ("stored", &recalled),
                    ("product", &by_code),
                ] {
                    // No second sticker after paper out, ribbon out or an open head (^JZN).
                    assert_eq!(label.settings.reprint_after_error, Some(false), "{mode}");
                    let bitmap = render(label).expect("renders");
                    assert_eq!(
                        (bitmap.width, bitmap.height),
                        (template.width_dots(), template.height_dots())
                    );
                    let (bytes, symbology) = decode(&bitmap);
                    assert_eq!(
                        bytes,
                        code.as_bytes(),
                        "{mode} {dpi} serial {serial:?} crypto {crypto_len}"
                    );
                    assert_eq!(symbology, "]d2", "{mode} {dpi} serial {serial:?}");
                    decoded += 1;
                }
            }
        }
    }
    assert_eq!(decoded, 3 * serials.len() * 2 * 3);
}

#[test]
fn check_form_code_scans_back() {
    // `…21 serial GS 93 check4` form.
    let gtin = common::gtin("2900001234567");
    let code = format!("01{gtin}21_a%b&c'd*e+f\u{1d}93Ab/=");
    let template = Template::builtin(BuiltinTemplate::Label58x40).expect("template");
    let data = LabelData {
        code: &code,
        name: "Туфли",
        size: "38",
        gtin_text: &gtin,
        serial_text: "_a%b&c'd*e+f",
    };
    let bitmap = preview(&template, &data).expect("preview");
    assert_eq!(decode(&bitmap), (code.into_bytes(), "]d2".to_owned()));
}

#[test]
fn preview_png_is_written() {
    let gtin = common::gtin("0460123456789");
    let code = common::code(&gtin, "ABC_def!%&'*+", &common::crypto(88, 1));
    let template = Template::builtin(BuiltinTemplate::Label58x40)
        .and_then(|t| t.with_dpi(Dpi::D300))
        .expect("template");
    let data = LabelData {
        code: &code,
        name: "Кроссовки / Кроссовкалар әғқңөұүһі",
        size: "Размер 42",
        gtin_text: &gtin,
        serial_text: "ABC_def!%&'*+",
    };
    let png = preview(&template, &data)
        .and_then(|b| Ok(b.to_png()?))
        .expect("png");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    if let Ok(dir) = std::env::var("LABELSTATION_PREVIEW_DIR") {
        std::fs::write(format!("{dir}/label-58x40-300dpi.png"), &png).expect("write png");
    }
}

#[test]
fn bytes_per_label() {
    let gtin = common::gtin("0460123456789");
    let name = "Кроссовки мужские / Ерлер кроссовкалары";
    println!(
        "| template | crypto | full label | ^DF once | ^XF recall, 5 fields | product ^DF once | ^XF recall, code + serial |"
    );
    println!("|---|---|---|---|---|---|---|");
    for which in BuiltinTemplate::ALL {
        let template = Template::builtin(which).expect("template");
        for crypto_len in [44, 88] {
            let code = common::code(&gtin, "5Ab_c!%&'*+-.", &common::crypto(crypto_len, 3));
            let data = LabelData {
                code: &code,
                name,
                size: "42",
                gtin_text: &gtin,
                serial_text: "5Ab_c!%&'*+-.",
            };
            let full = full_label(&template, &data).expect("writes").len();
            let stored = stored_format(&template).len();
            let recall = recall_label(&template, &data).expect("writes").len();
            let product = ProductText {
                name,
                size: "42",
                gtin_text: &gtin,
            };
            let product_stored = stored_product_format(&template, &product)
                .expect("writes")
                .len();
            let by_code = recall_code(&template, &code, data.serial_text)
                .expect("writes")
                .len();
            println!(
                "| {} | {crypto_len} | {full} B | {stored} B | {recall} B | {product_stored} B | {by_code} B |",
                template.name()
            );
            assert!(by_code < recall && recall < full);
            // 9600 8N1 sends 960 bytes a second; a label must go in well under a second.
            assert!(full < 600, "{full}");
        }
    }
}
