// SPDX-License-Identifier: GPL-3.0-or-later
//! The box label: a GS1 logistic label for a box (or pallet) of pairs.
//!
//! The SSCC goes in a GS1-128 barcode as the lowest element (GS1 logistic-label rules: the SSCC at the
//! bottom; KZ rules name GS1-128 with AI 00 for transport packages): `^BC` in mode N with `>;` (start in
//! subset C) and `>8` (FNC1 first, which makes it GS1-128, so scanners report `]C1`), then `00` and the
//! 18 digits in pairs. The module is the narrowest whole number of dots of at least 0.495 mm (GS1's
//! logistic range is 0.495 to 1.016 mm): 4 dots at 203 dpi, 6 at 300; at 600 dpi `^BY` stops at 10
//! dots (0.423 mm), under GS1's logistic minimum, so box labels belong on a 203 or 300 dpi printer. The
//! bars are 32 mm high, quiet zones of at least 10 modules
//! either side. Under the bars, the human-readable `(00) …`; above them, the consignment, the count
//! and the product, in 7 mm type. Sizes: A6 (105 x 148 mm) or 100 x 150 mm, at the printer's dpi.

use std::fmt::Write as _;

use crate::template::{Dpi, FieldName};
use crate::write::{NO_REPRINT_AFTER_ERROR, WriteError, escape_text};

/// What a box label says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoxLabelData<'a> {
    /// The SSCC's 18 digits (without the AI).
    pub sscc: &'a str,
    /// The consignment the box belongs to.
    pub consignment: &'a str,
    /// Pairs in the box.
    pub count: u32,
    /// Pairs it holds when full.
    pub capacity: u32,
    /// The product, for people (name, size, GTIN).
    pub product: &'a str,
}

/// Margin around the label's edge.
const MARGIN_MM: f64 = 5.0;
/// Data titles on a logistic label are at least 7 mm.
const TEXT_MM: f64 = 7.0;
/// The human-readable line under the bars.
const HRI_MM: f64 = 6.0;
/// GS1-128 on a logistic label: at least 32 mm high.
const BARS_MM: f64 = 32.0;
/// The narrowest module GS1 allows on a logistic label.
const MIN_X_UM: u32 = 495;

/// Modules of the SSCC's GS1-128 symbol: start C, FNC1, ten digit pairs, check (11 each), stop (13).
const SSCC_MODULES: u32 = 13 * 11 + 13;

/// `^BY` takes a module of 1 to 10 dots.
const MAX_BY_DOTS: u32 = 10;

/// Dots per module: the fewest with X ≥ 0.495 mm (4 at 203 dpi, 6 at 300), at most `^BY`'s 10 (600
/// dpi: 0.423 mm).
pub fn box_module_dots(dpi: Dpi) -> u32 {
    (MIN_X_UM * dpi.value()).div_ceil(25_400).min(MAX_BY_DOTS)
}

/// One self-contained box label (`^XA … ^XZ`) of `width_mm` x `height_mm` at `dpi`.
pub fn box_label(
    width_mm: f64,
    height_mm: f64,
    dpi: Dpi,
    data: &BoxLabelData<'_>,
) -> Result<String, WriteError> {
    if data.sscc.len() != 18 || !data.sscc.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WriteError::Sscc {
            found: data.sscc.chars().take(24).collect(),
        });
    }
    let consignment = escape_text(
        FieldName::Consignment,
        &format!("Партия / Consignment: {}", data.consignment),
        false,
    )?;
    let product = escape_text(FieldName::Product, data.product, true)?;
    let (w, h) = (dpi.dots(width_mm), dpi.dots(height_mm));
    let margin = dpi.dots(MARGIN_MM);
    let text = dpi.dots(TEXT_MM);
    let line = dpi.dots(TEXT_MM + 2.0);
    let inner = w.saturating_sub(2 * margin);
    let x_dots = box_module_dots(dpi);
    let bars_w = SSCC_MODULES * x_dots;
    let bars_h = dpi.dots(BARS_MM);
    let hri_y = h.saturating_sub(margin + dpi.dots(HRI_MM));
    let bars_y = hri_y.saturating_sub(dpi.dots(2.0) + bars_h);
    let bars_x = w.saturating_sub(bars_w) / 2;

    let mut out = String::with_capacity(512);
    let _ = write!(
        out,
        "^XA^CI28{NO_REPRINT_AFTER_ERROR}^PW{w}^LL{h}^FO{margin},{margin}^A0N,{text}"
    );
    consignment.push_fd(&mut out);
    let _ = write!(out, "^FO{margin},{}^A0N,{text}", margin + line);
    let _ = write!(out, "^FDПар / Pairs: {} / {}^FS", data.count, data.capacity);
    let _ = write!(
        out,
        "^FO{margin},{}^A0N,{text}^FB{inner},3,0,L,0",
        margin + 2 * line
    );
    product.push_fd(&mut out);
    let _ = write!(
        out,
        "^BY{x_dots}^FO{bars_x},{bars_y}^BCN,{bars_h},N,N,N,N^FD>;>800{}^FS",
        data.sscc
    );
    let _ = write!(
        out,
        "^FO{margin},{hri_y}^A0N,{}^FB{inner},1,0,C,0^FD(00) {}^FS^PQ1^XZ",
        dpi.dots(HRI_MM),
        data.sscc
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interpret::{FieldContent, Interpreter};

    const SSCC: &str = "376104250021234569";

    fn data() -> BoxLabelData<'static> {
        BoxLabelData {
            sscc: SSCC,
            consignment: "CN-0142",
            count: 4,
            capacity: 4,
            product: "Ботинки мужские, 42, 04601234567893",
        }
    }

    #[test]
    fn the_sscc_is_the_lowest_element_and_fits_with_its_quiet_zones() {
        for dpi in Dpi::ALL {
            for (w, h) in [(105.0, 148.0), (100.0, 150.0)] {
                let zpl = box_label(w, h, dpi, &data()).unwrap();
                let job = Interpreter::new().read(zpl.as_bytes()).unwrap();
                let label = job.labels().next().unwrap();
                assert_eq!(label.settings.width, Some(dpi.dots(w)));
                let bars = label
                    .fields
                    .iter()
                    .find(|f| matches!(f.content, FieldContent::Code128(_)))
                    .unwrap();
                let FieldContent::Code128(c) = &bars.content else {
                    unreachable!()
                };
                assert_eq!(
                    c.gs1_element_string().unwrap(),
                    format!("00{SSCC}").into_bytes()
                );
                // Only the human-readable line is below the bars.
                let below: Vec<&str> = label
                    .fields
                    .iter()
                    .filter(|f| f.origin.y > bars.origin.y)
                    .filter_map(|f| match &f.content {
                        FieldContent::Text { text, .. } => Some(text.as_str()),
                        _ => None,
                    })
                    .collect();
                assert_eq!(below, vec![format!("(00) {SSCC}")], "{dpi:?}");
                // X between 0.495 and 1.016 mm (600 dpi: ^BY's largest, 10 dots), ten modules of
                // quiet zone either side.
                let x_mm = dpi.mm(c.params.module);
                if dpi == Dpi::D600 {
                    assert_eq!(c.params.module, 10);
                } else {
                    assert!((0.495..=1.016).contains(&x_mm), "{x_mm}");
                }
                let modules: u32 = c.widths().iter().map(|m| u32::from(*m)).sum();
                assert_eq!(modules, SSCC_MODULES);
                let left = bars.origin.x;
                let right = dpi.dots(w) - left - modules * c.params.module;
                assert!(left.min(right) >= 10 * c.params.module, "{dpi:?} {w}");
                assert!(dpi.mm(c.params.height) >= 31.9);
            }
        }
    }

    #[test]
    fn a_bad_sscc_or_text_is_refused() {
        let bad = BoxLabelData {
            sscc: "00376104250021234569",
            ..data()
        };
        assert!(matches!(
            box_label(105.0, 148.0, Dpi::D203, &bad),
            Err(WriteError::Sscc { .. })
        ));
        let bad = BoxLabelData {
            product: "a\u{7}b",
            ..data()
        };
        assert!(matches!(
            box_label(105.0, 148.0, Dpi::D203, &bad),
            Err(WriteError::TextControl {
                field: FieldName::Product,
                ..
            })
        ));
        // ^ and ~ in a text go hex-escaped, never as commands.
        let odd = BoxLabelData {
            consignment: "CN^XZ~JA",
            ..data()
        };
        let zpl = box_label(105.0, 148.0, Dpi::D203, &odd).unwrap();
        let job = Interpreter::new().read(zpl.as_bytes()).unwrap();
        let label = job.labels().next().unwrap();
        assert!(label.texts().any(|t| t.ends_with("CN^XZ~JA")));
    }
}
