// SPDX-License-Identifier: GPL-3.0-or-later
//! Properties of the interpreter: it never panics, and whatever the writer emits reads back to
//! the same data in both modes.

mod common;

use labelstation_zpl::interpret::{FieldContent, Interpreter};
use labelstation_zpl::template::{BuiltinTemplate, Dpi, Template};
use labelstation_zpl::write::{
    LabelData, ProductText, full_label, recall_code, recall_label, stored_format,
    stored_product_format,
};
use proptest::prelude::*;

/// Fragments that make random input look like ZPL so the fuzzing reaches deep states.
const FRAGMENTS: &[&str] = &[
    "^XA",
    "^XZ",
    "^FO10,20",
    "^FT5,5",
    "^A0N,30",
    "^A0R,10,10",
    "^FD",
    "^FS",
    "^FH",
    "^FH\\",
    "^BXN,3,200,44,44,,_",
    "^BXN,0,200",
    "^BY2,3,50",
    "^DFR:LS.ZPL",
    "^XFR:LS.ZPL",
    "^FN1",
    "^FN2",
    "^PQ1",
    "^XGE:LOGO.GRF,1,1",
    "^IME:L.PNG",
    "^PR4",
    "^MD-3",
    "^CI28",
    "^PW400",
    "^LL300",
    "^LH1,1",
    "~HS",
    "~HQES",
    "~JA",
    "^GB1,1",
    "_1",
    "__",
    "_d232",
    "_5",
    "\\5E",
    "_D0_94",
    "ы",
    "\u{1d}",
    ",",
    "\r\n",
    "^",
    "~",
    "_",
    "0",
    "x",
];

fn zplish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(FRAGMENTS).prop_map(|s| s.as_bytes().to_vec()),
            1 => prop::collection::vec(any::<u8>(), 0..4),
        ],
        0..60,
    )
    .prop_map(|parts| parts.concat())
}

const SET82: &str =
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

fn set82(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(SET82.as_bytes()), len)
        .prop_map(|v| v.into_iter().map(char::from).collect())
}

fn gtin() -> impl Strategy<Value = String> {
    "[0-9]{13}".prop_map(|d| common::gtin(&d))
}

/// Any printable text, with ZPL's special characters made likely.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            2 => prop::sample::select(vec!['^', '~', '\\', '_', ',', 'ә', 'қ', 'Ё', ' ']),
            3 => any::<char>().prop_filter("printable", |c| !c.is_control()),
        ],
        0..40,
    )
    .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn interpreter_never_panics(input in zplish()) {
        let mut interpreter = Interpreter::new();
        let _ = interpreter.read(&input);
        // Memory survives errors; a second read must not panic either.
        let _ = interpreter.read(&input);
    }

    #[test]
    fn interpreter_never_panics_on_bytes(input in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = Interpreter::new().read(&input);
    }

    #[test]
    fn writer_output_reads_back(
        gtin in gtin(),
        serial in set82(1..=20),
        crypto in prop_oneof![set82(44..=44), set82(88..=88)],
        check_form in any::<bool>(),
        name in text(),
        size in text(),
        dpi in prop::sample::select(Dpi::ALL.to_vec()),
        small in any::<bool>(),
    ) {
        let code = if check_form {
            format!("01{gtin}21{serial}\u{1d}93{}", &crypto[..4])
        } else {
            format!("01{gtin}21{serial}\u{1d}91{}\u{1d}92{crypto}", &crypto[..4])
        };
        let data = LabelData {
            code: &code,
            name: &name,
            size: &size,
            gtin_text: &gtin,
            serial_text: &serial,
        };
        let which = if small { BuiltinTemplate::Label43x25 } else { BuiltinTemplate::Label58x40 };
        let template = Template::builtin(which).and_then(|t| t.with_dpi(dpi)).unwrap();

        let full = full_label(&template, &data).unwrap();
        let mut interpreter = Interpreter::new();
        let job = interpreter.read(full.as_bytes()).unwrap();
        prop_assert_eq!(job.warnings().count(), 0);
        let full_label = job.labels().next().unwrap().clone();

        let mut stored = stored_format(&template);
        stored.push_str(&recall_label(&template, &data).unwrap());
        let job = interpreter.read(stored.as_bytes()).unwrap();
        prop_assert_eq!(job.warnings().count(), 0);
        let recalled = job.labels().next().unwrap().clone();

        let product = ProductText { name: &name, size: &size, gtin_text: &gtin };
        let mut by_code = stored_product_format(&template, &product).unwrap();
        by_code.push_str(&recall_code(&template, &code, &serial).unwrap());
        let job = interpreter.read(by_code.as_bytes()).unwrap();
        prop_assert_eq!(job.warnings().count(), 0);
        let by_code = job.labels().next().unwrap().clone();

        for label in [&full_label, &recalled, &by_code] {
            let dm: Vec<_> = label.datamatrices().collect();
            prop_assert_eq!(dm.len(), 1);
            prop_assert_eq!(dm[0].gs1_element_string().unwrap(), code.as_bytes().to_vec());
            prop_assert_eq!(dm[0].params.module, dpi.module_dots());
            let texts: Vec<_> = label.texts().collect();
            prop_assert_eq!(texts, vec![name.as_str(), size.as_str(), gtin.as_str(), serial.as_str()]);
            prop_assert_eq!(label.quantity, 1);
        }
        // Same fields in both modes, apart from the ^FN numbers the stored format carries.
        let strip = |l: &labelstation_zpl::interpret::Label| -> Vec<(u32, u32, FieldContent)> {
            l.fields.iter().map(|f| (f.origin.x, f.origin.y, f.content.clone())).collect()
        };
        prop_assert_eq!(strip(&full_label), strip(&recalled));
        prop_assert_eq!(strip(&full_label), strip(&by_code));
        prop_assert_eq!(full_label.settings, recalled.settings);
    }
}
