// SPDX-License-Identifier: GPL-3.0-or-later
//! The virtual scanner's eyes: it reads the labels the virtual printer rendered with a real image decoder,
//! as a phone or a hand scanner would, and transmits what it saw over a pseudo-terminal like a USB-CDC
//! scanner with AIM ids on. Nothing is taken from the expected code: a label printed wrongly scans wrongly.
//! It reads the GS1 DataMatrix of a pair's sticker ([`read_label`]) and the GS1-128 barcode of a box
//! label ([`read_gs1_128`]): `]C1` when FNC1 is first, later FNC1s sent as GS, as a scanner does.

use std::path::PathBuf;

use labelstation_scanner::virtual_cdc::{Fault, VirtualCdcScanner, VirtualScannerError};
use labelstation_zpl::render::Bitmap;
use rxing::{BarcodeFormat, DecodeHints, RXingResultMetadataType, RXingResultMetadataValue};
use serialport::TTYPort;

/// What a scanner reads from a label: the AIM symbology id and the data.
#[derive(Clone, PartialEq, Eq)]
pub struct Reading {
    pub aim: [u8; 3],
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Reading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The data is a whole marking code: never print it.
        f.debug_struct("Reading")
            .field("aim", &String::from_utf8_lossy(&self.aim))
            .field("len", &self.data.len())
            .finish()
    }
}

/// Find and decode the Data Matrix on a label image. `None` is a no-read.
pub fn read_label(label: &Bitmap) -> Option<Reading> {
    let result = rxing::helpers::detect_in_luma(
        label.to_luma(),
        label.width,
        label.height,
        Some(BarcodeFormat::DATA_MATRIX),
    )
    .ok()?;
    let aim = match result
        .getRXingResultMetadata()
        .get(&RXingResultMetadataType::SYMBOLOGY_IDENTIFIER)
    {
        Some(RXingResultMetadataValue::SymbologyIdentifier(s)) => {
            let b = s.as_bytes();
            [*b.first()?, *b.get(1)?, *b.get(2)?]
        }
        _ => *b"]d1",
    };
    Some(Reading {
        aim,
        data: result.getText().as_bytes().to_vec(),
    })
}

/// Find and decode a Code 128 barcode on a label image (a box label). With FNC1 first it is GS1-128:
/// the AIM id is `]C1` and later FNC1s come as GS. `None` is a no-read.
pub fn read_gs1_128(label: &Bitmap) -> Option<Reading> {
    let mut hints = DecodeHints {
        AssumeGs1: Some(true),
        TryHarder: Some(true),
        ..DecodeHints::default()
    };
    let result = rxing::helpers::detect_in_luma_with_hints(
        label.to_luma(),
        label.width,
        label.height,
        Some(BarcodeFormat::CODE_128),
        &mut hints,
    )
    .ok()?;
    let aim = match result
        .getRXingResultMetadata()
        .get(&RXingResultMetadataType::SYMBOLOGY_IDENTIFIER)
    {
        Some(RXingResultMetadataValue::SymbologyIdentifier(s)) => {
            let b = s.as_bytes();
            [*b.first()?, *b.get(1)?, *b.get(2)?]
        }
        _ => *b"]C0",
    };
    // The decoder writes the AIM id in front of GS1 data; a scanner sends it once, as its prefix.
    let text = result.getText();
    let data = text.strip_prefix("]C1").unwrap_or(text);
    Some(Reading {
        aim,
        data: data.as_bytes().to_vec(),
    })
}

/// A virtual USB-CDC scanner: reads label images and sends what it read down a pseudo-terminal.
pub struct VirtualScanner {
    emitter: VirtualCdcScanner<TTYPort>,
    path: PathBuf,
}

impl VirtualScanner {
    /// A scanner on a new pseudo-terminal; the station opens [`VirtualScanner::path`] as its serial port.
    pub fn pty(seed: u64) -> Result<VirtualScanner, VirtualScannerError> {
        let (emitter, path) = VirtualCdcScanner::pty()?;
        Ok(VirtualScanner {
            emitter: emitter.with_seed(seed),
            path,
        })
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Scan a label with `fault`; returns the bytes sent (0: nothing was read, or `Fault::NoRead`).
    pub fn scan_label(
        &mut self,
        label: &Bitmap,
        fault: &Fault,
    ) -> Result<usize, VirtualScannerError> {
        match read_label(label) {
            Some(r) => {
                self.emitter.set_aim(Some(r.aim));
                self.emitter.scan(&r.data, fault)
            }
            None => Ok(0),
        }
    }

    /// Scan a box label's GS1-128 barcode; returns the bytes sent (0: nothing was read).
    pub fn scan_box_label(&mut self, label: &Bitmap) -> Result<usize, VirtualScannerError> {
        match read_gs1_128(label) {
            Some(r) => {
                self.emitter.set_aim(Some(r.aim));
                self.emitter.scan(&r.data, &Fault::None)
            }
            None => Ok(0),
        }
    }

    /// Send bytes as if a symbol holding them were read with symbology `aim` (e.g. a retail EAN-13).
    pub fn scan_text(&mut self, aim: [u8; 3], data: &[u8]) -> Result<usize, VirtualScannerError> {
        self.emitter.set_aim(Some(aim));
        self.emitter.scan(data, &Fault::None)
    }
}
