// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A box label end to end: the SSCC composed from a KZ prefix → the box-label ZPL → the project's ZPL
//! interpreter and renderer (as the virtual printer prints it) → the virtual scanner reads GS1-128:
//! `]C1`, `00` and exactly that SSCC, at each size and resolution a box label is printed at.

use labelstation_codes::{CompanyPrefix, Sscc};
use labelstation_sim::scanner::read_gs1_128;
use labelstation_zpl::interpret::Interpreter;
use labelstation_zpl::render::render;
use labelstation_zpl::template::Dpi;
use labelstation_zpl::{BoxLabelData, box_label};

#[test]
fn a_box_label_renders_and_reads_as_gs1_128_with_its_sscc() {
    let prefix = CompanyPrefix::parse("4870001").unwrap();
    for (serial, dpi, (w, h)) in [
        (1, Dpi::D203, (105.0, 148.0)),
        (2, Dpi::D203, (100.0, 150.0)),
        (999_999_999, Dpi::D300, (105.0, 148.0)),
    ] {
        let sscc = Sscc::compose(&prefix, 1, serial).unwrap();
        let zpl = box_label(
            w,
            h,
            dpi,
            &BoxLabelData {
                sscc: sscc.as_str(),
                consignment: "CN-0142",
                count: 3,
                capacity: 4,
                product: "Ботинки мужские, 42",
            },
        )
        .unwrap();
        let job = Interpreter::new().read(zpl.as_bytes()).unwrap();
        let label = job.labels().next().unwrap();
        let image = render(label).unwrap();
        let read = read_gs1_128(&image).expect("the box label's barcode reads");
        assert_eq!(&read.aim, b"]C1", "{dpi:?} {w}x{h}");
        assert_eq!(
            String::from_utf8(read.data).unwrap(),
            sscc.element_string(),
            "{dpi:?} {w}x{h}"
        );
        // The human-readable line is on the label too.
        assert!(label.texts().any(|t| t == sscc.human_readable()));
    }
}
