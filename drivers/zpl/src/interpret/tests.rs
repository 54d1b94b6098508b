// SPDX-License-Identifier: GPL-3.0-or-later
//! The interpreter read by its public door: streams in, jobs and errors out.

use super::*;

fn read(input: &str) -> Result<Job, ReadError> {
    Interpreter::new().read(input.as_bytes())
}

fn one_label(input: &str) -> Label {
    let job = read(input).unwrap();
    let labels: Vec<_> = job.labels().cloned().collect();
    assert_eq!(labels.len(), 1, "{job:?}");
    labels.into_iter().next().unwrap()
}

#[test]
fn datamatrix_field_with_gs1_escapes() {
    let label = one_label(
        "^XA^CI28^PW464^LL320^FO16,16^BXN,3,200,44,44,,_^FD_10104600000000017211___191AB_192x^FS^PQ1^XZ",
    );
    let dm = label.datamatrices().next().unwrap();
    assert_eq!(dm.params.module, 3);
    assert_eq!((dm.params.columns, dm.params.rows), (44, 44));
    assert!(dm.params.escape_given);
    assert_eq!(
        dm.gs1_element_string().unwrap(),
        b"0104600000000017211_\x1d91AB\x1d92x"
    );
    assert_eq!(label.settings.width, Some(464));
    assert_eq!(label.quantity, 1);
}

#[test]
fn fh_runs_before_datamatrix_escapes() {
    // With ^FH_ the `_10` of `_101…` is the hex byte 0x10, not FNC1 + "0": the research's pitfall.
    let label = one_label("^XA^FO0,0^BXN,3,200,,,,_^FH_^FD_1010460^FS^XZ");
    let dm = label.datamatrices().next().unwrap();
    assert_eq!(dm.elements[0], DmElement::Byte(0x10));
    assert!(dm.gs1_element_string().is_none());
    // ^FH with a different indicator leaves the DataMatrix escapes alone.
    let label = one_label("^XA^FO0,0^BXN,3,200,,,,_^FH\\^FD_101\\5F\\5F^FS^XZ");
    let dm = label.datamatrices().next().unwrap();
    assert_eq!(dm.gs1_element_string().unwrap(), b"01_");
}

#[test]
fn text_with_fh_and_utf8() {
    let label = one_label("^XA^CI28^FO10,20^A0N,30^FH\\^FDОбувь \\5EXZ\\7E ә^FS^XZ");
    let f = &label.fields[0];
    assert_eq!(
        f.origin,
        Origin {
            x: 10,
            y: 20,
            baseline: false
        }
    );
    match &f.content {
        FieldContent::Text { font, text, block } => {
            assert_eq!(*block, None);
            assert_eq!(text, "Обувь ^XZ~ ә");
            assert_eq!((font.name, font.height, font.width), (b'0', 30, None));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn label_home_and_ft() {
    let label = one_label("^XA^LH5,7^FT10,20^A0N,30,20^FDx^FS^XZ");
    assert_eq!(
        label.fields[0].origin,
        Origin {
            x: 15,
            y: 27,
            baseline: true
        }
    );
}

#[test]
fn stored_format_recall() {
    let mut interpreter = Interpreter::new();
    let job = interpreter
        .read(b"^XA^DFR:LS.ZPL^FS^CI28^PW464^FO16,16^BXN,3,200,44,44,,_^FN1^FS^FO100,10^A0N,24^FN2^FS^PQ1^XZ")
        .unwrap();
    assert_eq!(
        job.events,
        vec![Event::Stored {
            name: "R:LS.ZPL".into(),
            offset: 3
        }]
    );
    assert_eq!(
        interpreter.stored_formats().collect::<Vec<_>>(),
        ["R:LS.ZPL"]
    );
    let job = interpreter
        .read("^XA^XFR:LS.ZPL^FN1^FD_101234567890123421a__b^FS^FN2^FH\\^FDы\\5E^FS^XZ".as_bytes())
        .unwrap();
    let label = job.labels().next().unwrap();
    assert_eq!(label.recalled.as_deref(), Some("R:LS.ZPL"));
    assert_eq!(label.settings.charset, 28);
    let dm = label.datamatrices().next().unwrap();
    assert_eq!(dm.gs1_element_string().unwrap(), b"01234567890123421a_b");
    assert_eq!(label.texts().collect::<Vec<_>>(), ["ы^"]);
    assert_eq!(label.fields[1].origin.x, 100);
    assert_eq!(label.fields[0].number, Some(1));

    interpreter.power_cycle();
    let job = interpreter.read(b"^XA^XFR:LS.ZPL^FN1^FDx^FS^XZ").unwrap();
    assert!(matches!(
        job.warnings().next(),
        Some(Warning::UnknownFormat { offset: 3, .. })
    ));
}

#[test]
fn immediate_and_unknown_commands_are_reported() {
    let job = read("~HS^XA^FO1,1^GB10,10,1^FS~HQES^XZ~JA~PP~PS~HI~WC^MMT").unwrap();
    let kinds: Vec<_> = job
        .events
        .iter()
        .map(|e| match e {
            Event::Immediate { command, offset } => format!("{command:?}@{offset}"),
            Event::Warning(Warning::Skipped {
                command, offset, ..
            }) => format!("skip {command}@{offset}"),
            Event::Label(_) => "label".into(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "HostStatus@0",
            "skip ^GB@12",
            "HostQuery(\"ES\")@25",
            "label",
            "CancelAll@33",
            "Pause@36",
            "PrintStart@39",
            "HostIdentification@42",
            "skip ~WC@45",
            "skip ^MM@48",
        ]
    );
}

#[test]
fn settings_persist_and_parse() {
    let mut interpreter = Interpreter::new();
    interpreter.read(b"^XA^PR4^MD-2.5^LL400^XZ").unwrap();
    assert_eq!(interpreter.settings().print_speed, Some(4));
    assert_eq!(interpreter.settings().darkness_tenths, Some(-25));
    let job = interpreter.read(b"^XA^PRC^FO1,1^A0N,20^FDx^FS^XZ").unwrap();
    let label = job.labels().next().unwrap();
    assert_eq!(label.settings.length, Some(400));
    assert_eq!(label.settings.print_speed, Some(4));
}

#[test]
fn reprint_after_error_is_a_setting_until_power_off() {
    let mut interpreter = Interpreter::new();
    // Never set: the firmware default (reprint) applies.
    assert_eq!(interpreter.settings().reprint_after_error, None);
    interpreter.read(b"^XA^JZN^FO1,1^A0N,20^FDx^FS^XZ").unwrap();
    assert_eq!(interpreter.settings().reprint_after_error, Some(false));
    let job = interpreter.read(b"^XA^FO1,1^A0N,20^FDy^FS^XZ").unwrap();
    assert_eq!(
        job.labels().next().unwrap().settings.reprint_after_error,
        Some(false),
        "^JZ stays in force for later formats"
    );
    interpreter.read(b"^JZY").unwrap();
    assert_eq!(interpreter.settings().reprint_after_error, Some(true));
    interpreter.read(b"^JZ").unwrap();
    assert_eq!(interpreter.settings().reprint_after_error, Some(true));
    assert!(matches!(
        interpreter.read(b"^XA^JZQ^XZ"),
        Err(ReadError::Parameter { .. })
    ));
    interpreter.read(b"^JZN").unwrap();
    interpreter.power_cycle();
    assert_eq!(interpreter.settings().reprint_after_error, None);
}

#[test]
fn line_breaks_between_commands_are_ignored_but_data_keeps_them() {
    let label = one_label("^XA\r\n^FO1,2\r\n^BXN,3,200,,,,_^FD_101\r\n^FS\r\n^XZ\r\n");
    let dm = label.datamatrices().next().unwrap();
    assert_eq!(dm.gs1_element_string().unwrap(), b"01\r\n");
}

#[test]
fn last_field_without_fs_prints() {
    let label = one_label("^XA^FO1,1^A0N,20^FDx^XZ");
    assert_eq!(label.texts().collect::<Vec<_>>(), ["x"]);
}

#[test]
fn field_block() {
    let label = one_label("^XA^FO1,2^A0N,20^FB300,2,-3,C,5^FDa\\&b\\\\c\\d^FS^XZ");
    match &label.fields[0].content {
        FieldContent::Text { block, text, .. } => {
            let expected = TextBlock {
                width: 300,
                lines: 2,
                spacing: -3,
                justify: Justify::Center,
                hanging: 5,
            };
            assert_eq!(*block, Some(expected));
            assert_eq!(text, "a\nb\\c\\d");
        }
        other => panic!("{other:?}"),
    }
    // Without ^FB the same bytes are plain text.
    let label = one_label("^XA^FO1,2^A0N,20^FDa\\&b^FS^XZ");
    assert_eq!(label.texts().next(), Some("a\\&b"));
}

#[test]
fn malformed_input_errors_with_offsets() {
    let cases: &[(&str, ReadError)] = &[
        ("^XA^FO1,1^FDx^FS", ReadError::Unterminated { offset: 0 }),
        ("^XA^FO1", ReadError::Unterminated { offset: 0 }),
        ("^XA^", ReadError::Truncated { offset: 3 }),
        ("^XA^F", ReadError::Truncated { offset: 3 }),
        ("^XA^XA^XZ", ReadError::Nested { offset: 3, open: 0 }),
        ("^XA^FO1^FH\\^FDa\\4^FS^XZ", ReadError::Hex { offset: 15 }),
        (
            "^XA^FO1^BXN,3,200,,,,_^FDab_x^FS^XZ",
            ReadError::Escape {
                offset: 27,
                sequence: "_x".into(),
            },
        ),
        (
            "^XA^CI28^FO1^FH^FD_D0_D0^FS^XZ",
            ReadError::Utf8 { offset: 18 },
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(read(input).unwrap_err(), *expected, "{input}");
    }
    let e = read("^XA^FOx,1^XZ").unwrap_err();
    assert!(
        matches!(
            e,
            ReadError::Parameter {
                index: 1,
                offset: 3,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("^FO at byte 3"), "{e}");
    let e = read("^XA^FO1,1^BXN,3,200,43,43,,_^FDx^FS^XZ").unwrap_err();
    assert!(matches!(e, ReadError::Parameter { index: 4, .. }), "{e}");
}

#[test]
fn field_data_is_cut_at_3072() {
    let long = "a".repeat(4000);
    let job = read(&format!("^XA^FO1,1^A0N,20^FD{long}^FS^XZ")).unwrap();
    assert!(matches!(
        job.warnings().next(),
        Some(Warning::Truncated { len: 4000, .. })
    ));
    assert_eq!(
        job.labels().next().unwrap().texts().next().unwrap().len(),
        3072
    );
}

#[test]
fn implicit_escape_warns() {
    let job = read("^XA^FO1,1^BXN,3,200^FD_1x^FS^XZ").unwrap();
    assert!(matches!(
        job.warnings().next(),
        Some(Warning::ImplicitEscape { offset: 9 })
    ));
}

#[test]
fn limits_hold() {
    let limits = Limits {
        max_stored_formats: 1,
        max_fields_per_label: 2,
        ..Limits::default()
    };
    let mut p = Interpreter::with_limits(limits);
    p.read(b"^XA^DFA^FO1,1^FN1^FS^FO1,1^FN2^FS^FO1,1^FN3^FS^XZ")
        .unwrap();
    assert!(matches!(
        p.read(b"^XA^DFB^FS^XZ"),
        Err(ReadError::StoredLimit { offset: 3, .. })
    ));
    assert!(matches!(
        p.read(b"^XA^XFA^XZ"),
        Err(ReadError::FieldLimit { .. })
    ));
}

#[test]
fn recall_cannot_recurse() {
    let mut p = Interpreter::new();
    p.read(b"^XA^DFA^XFA^FO1,1^A0N,20^FDx^FS^XZ").unwrap();
    let job = p.read(b"^XA^XFA^XZ").unwrap();
    assert!(matches!(
        job.warnings().next(),
        Some(Warning::Skipped {
            reason: SkipReason::NestedRecall,
            offset: 3,
            ..
        })
    ));
    assert_eq!(
        job.labels().next().unwrap().texts().collect::<Vec<_>>(),
        ["x"]
    );
}

#[test]
fn code128_fields_take_by_and_their_parameters() {
    let label = one_label(
        "^XA^PW840^LL1184^BY3,,150^FO40,900^BCN,,N,N,N,N^FD>;>800376104250021234569^FS^XZ",
    );
    let c = label.code128s().next().unwrap();
    assert_eq!(
        c.params,
        Code128Params {
            orientation: Orientation::Normal,
            height: 150,
            module: 3,
            interpretation: false,
            above: false,
            mode: Code128Mode::Invocations,
        }
    );
    assert_eq!(
        c.gs1_element_string().unwrap(),
        b"00376104250021234569".to_vec()
    );
    assert_eq!(c.text(), "00376104250021234569");
    // Start C, FNC1, ten pairs, check, stop.
    assert_eq!(c.codewords.len(), 14);
    assert_eq!(c.codewords.last(), Some(&106));
    // Defaults: ^BY's height, the interpretation line below, mode N.
    let label = one_label("^XA^FO0,0^BCN^FDAB12^FS^XZ");
    let c = label.code128s().next().unwrap();
    assert_eq!((c.params.height, c.params.module), (10, 2));
    assert!(c.params.interpretation && !c.params.above);
    assert!(c.gs1_element_string().is_none());
    // Mode D: FNC1 first, parentheses out of the bars.
    let label = one_label("^XA^FO0,0^BCN,100,Y,N,N,D^FD(00)376104250021234569^FS^XZ");
    let c = label.code128s().next().unwrap();
    assert_eq!(
        c.gs1_element_string().unwrap(),
        b"00376104250021234569".to_vec()
    );
}

#[test]
fn code128_errors_say_where_and_what() {
    // Subset C with an odd digit out: the byte of the odd digit.
    let e = read("^XA^FO0,0^BCN^FD>;>8123^FS^XZ").unwrap_err();
    assert!(
        matches!(e, ReadError::Code128 { offset: 22, .. }),
        "{e:?}: {e}"
    );
    assert!(e.to_string().contains("pairs"), "{e}");
    assert!(matches!(
        read("^XA^FO0,0^BCN,100,Y,N,N,U^FD123^FS^XZ").unwrap_err(),
        ReadError::Parameter { index: 6, .. }
    ));
    assert!(matches!(
        read("^XA^FO0,0^BCN,100,X^FD123^FS^XZ").unwrap_err(),
        ReadError::Parameter { index: 3, .. }
    ));
}
