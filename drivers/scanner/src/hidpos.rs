// SPDX-License-Identifier: GPL-3.0-or-later
//! HID point-of-sale scanners (USB-IF HID POS, Bar Code Scanner usage page 0x8C), read from
//! `/dev/hidraw*`.
//!
//! HID POS sends each scan as fixed-size input reports with a length byte and a "more data"
//! flag, so GS and every other byte arrive intact, with no keyboard layout in between. A long
//! code spans several reports (a 130-byte footwear code takes three); [`HidPosAssembler`] joins
//! them into one scan.
//!
//! The report layout is vendor-specific. [`HidPosLayout::ACCESS_IS`] follows the layout the
//! Access-IS LSR118/ATR110 manuals document (report id 2, length, 3 AIM bytes, 56 data bytes,
//! vendor byte, reserved, continuation bit 0 of byte 63). Other scanners may differ (whether the
//! length counts the AIM bytes, where the flag sits), so the layout is a plain value to adjust
//! per model; check a new model against a capture before trusting it.
//!
//! The AIM id from the report's own field is put in front of the data, so a HID POS scan reads
//! exactly like the same scan from a serial scanner with "transmit AIM id" on.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::frame::{FrameBuf, FrameEvent, aim_prefix};
use crate::reader::{self, Backend, ChannelScanner, Poll};
use crate::uri::HidTarget;
use crate::{ScannerError, ScannerEvent};

/// Where the fields sit in one input report as read from hidraw (report id byte included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HidPosLayout {
    /// Report id of scan data; reports with another id (status, vendor) are skipped.
    pub report_id: u8,
    /// Offset of the byte giving how many data bytes this report carries.
    pub len_offset: usize,
    /// Offset of the 3-byte AIM id (`]` code modifier), if the layout has one.
    pub aim_offset: Option<usize>,
    /// Offset of the data field.
    pub data_offset: usize,
    /// Size of the data field.
    pub data_capacity: usize,
    /// Offset of the byte holding the "more data follows" flag.
    pub more_offset: usize,
    /// Bits of that byte that mean "more data follows".
    pub more_mask: u8,
}

impl HidPosLayout {
    /// Access-IS LSR118/ATR110 "barcode only" reports (64 bytes).
    pub const ACCESS_IS: HidPosLayout = HidPosLayout {
        report_id: 2,
        len_offset: 1,
        aim_offset: Some(2),
        data_offset: 5,
        data_capacity: 56,
        more_offset: 63,
        more_mask: 0x01,
    };

    /// Smallest report holding every field.
    pub fn min_report_len(&self) -> usize {
        let aim_end = self.aim_offset.map_or(0, |o| o + 3);
        [
            self.len_offset + 1,
            aim_end,
            self.data_offset + self.data_capacity,
            self.more_offset + 1,
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }
}

/// Joins HID POS reports into scans. Pure, so it is tested from captured reports.
#[derive(Debug, Clone)]
pub struct HidPosAssembler {
    layout: HidPosLayout,
    buf: FrameBuf,
    started: bool,
}

impl HidPosAssembler {
    /// An assembler for `layout`, labelling scans with `source`; scans over 4 KiB are overlong.
    pub fn new(layout: HidPosLayout, source: impl Into<String>) -> Self {
        HidPosAssembler {
            layout,
            buf: FrameBuf::new(source),
            started: false,
        }
    }

    /// Feeds one report as read; returns an event when a report without the "more" flag ends
    /// a scan, or when a report cannot be read (the partial scan is then dropped).
    pub fn feed(&mut self, report: &[u8]) -> Option<ScannerEvent> {
        let l = self.layout;
        if report.first() != Some(&l.report_id) {
            return None;
        }
        if report.len() < l.min_report_len() {
            return Some(self.bad(format!(
                "report of {} bytes is shorter than the {} the layout needs: set the HID POS layout for this scanner model",
                report.len(),
                l.min_report_len()
            )));
        }
        let len = usize::from(report[l.len_offset]);
        if len > l.data_capacity {
            return Some(self.bad(format!(
                "report says {len} data bytes but the field holds {}: set the HID POS layout for this scanner model",
                l.data_capacity
            )));
        }
        if !self.started {
            self.started = true;
            if let Some(o) = l.aim_offset
                && aim_prefix(&report[o..o + 3]).is_some()
            {
                self.buf.extend(&report[o..o + 3]);
            }
        }
        self.buf.extend(&report[l.data_offset..l.data_offset + len]);
        if report[l.more_offset] & l.more_mask != 0 {
            return None;
        }
        self.started = false;
        self.buf.end_as(FrameEvent::Scan).map(ScannerEvent::from)
    }

    /// The device went away: a scan still waiting for continuation reports is incomplete.
    pub fn finish(&mut self) -> Option<ScannerEvent> {
        self.started = false;
        self.buf
            .end_as(FrameEvent::Incomplete)
            .map(ScannerEvent::from)
    }

    fn bad(&mut self, reason: String) -> ScannerEvent {
        self.buf.clear();
        self.started = false;
        ScannerEvent::BadReport {
            source: self.buf.source().to_owned(),
            reason,
        }
    }
}

/// The `/dev/hidraw*` node of a USB device, looked up under a sysfs root (`/sys` on a station).
/// When the scanner has several HID interfaces, the one whose report descriptor declares the
/// Bar Code Scanner usage page (0x8C) wins.
pub fn find_hidraw(sys_root: &Path, vid: u16, pid: u16) -> Option<PathBuf> {
    let want = format!("HID_ID=0003:{:08X}:{:08X}", vid, pid);
    let dir = std::fs::read_dir(sys_root.join("class/hidraw")).ok()?;
    let mut names: Vec<String> = dir
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            std::fs::read_to_string(
                sys_root
                    .join("class/hidraw")
                    .join(name)
                    .join("device/uevent"),
            )
            .is_ok_and(|u| u.lines().any(|l| l.eq_ignore_ascii_case(&want)))
        })
        .collect();
    names.sort();
    let is_pos = |name: &String| {
        std::fs::read(
            sys_root
                .join("class/hidraw")
                .join(name)
                .join("device/report_descriptor"),
        )
        .is_ok_and(|d| declares_barcode_page(&d))
    };
    let best = names.iter().find(|n| is_pos(n)).or(names.first())?;
    Some(PathBuf::from("/dev").join(best))
}

/// True when a HID report descriptor selects usage page 0x8C (short item 0x05 or 0x06).
fn declares_barcode_page(d: &[u8]) -> bool {
    d.windows(2).any(|w| w == [0x05, 0x8c]) || d.windows(3).any(|w| w == [0x06, 0x8c, 0x00])
}

/// Starts reading a HID POS scanner; retries in the background while it is absent.
pub fn open_hidpos(
    target: HidTarget,
    layout: HidPosLayout,
    source: String,
) -> Result<ChannelScanner, ScannerError> {
    let mut hidpos = HidPos {
        target,
        assembler: HidPosAssembler::new(layout, source.clone()),
        report: [0; 4096],
    };
    ChannelScanner::spawn(source, true, move |feed| reader::run(&feed, &mut hidpos))
}

/// A HID POS scanner as its reader thread drives it.
struct HidPos {
    target: HidTarget,
    assembler: HidPosAssembler,
    /// One report as read.
    report: [u8; 4096],
}

impl Backend for HidPos {
    type Device = (PathBuf, File);

    fn open(&mut self) -> Result<(PathBuf, File), String> {
        resolve(&self.target)
            .and_then(|p| open_hidraw(&p).map(|f| (p, f)))
            .map_err(|e| e.to_string())
    }

    fn read(&mut self, (path, file): &mut (PathBuf, File)) -> Poll {
        match file.read(&mut self.report) {
            Ok(0) => Poll::Gone(reader::went_away(path, "end of data")),
            Ok(n) => Poll::Events(self.assembler.feed(&self.report[..n]).into_iter().collect()),
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                Poll::Nothing
            }
            Err(e) => Poll::Gone(reader::went_away(path, e)),
        }
    }

    fn finish(&mut self) -> Option<ScannerEvent> {
        self.assembler.finish()
    }
}

fn resolve(target: &HidTarget) -> Result<PathBuf, ScannerError> {
    match target {
        HidTarget::Path(p) => Ok(p.clone()),
        HidTarget::UsbId { vid, pid } => {
            find_hidraw(Path::new("/sys"), *vid, *pid).ok_or(ScannerError::HidNotFound {
                vid: *vid,
                pid: *pid,
            })
        }
    }
}

/// Opens a hidraw node without blocking reads, so the reader can notice a stop request.
pub fn open_hidraw(path: &Path) -> Result<File, ScannerError> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|cause| ScannerError::Open {
            path: path.to_path_buf(),
            cause,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(len: u8, aim: &[u8; 3], data: &[u8], more: bool) -> Vec<u8> {
        let mut r = vec![0u8; 64];
        r[0] = 2;
        r[1] = len;
        r[2..5].copy_from_slice(aim);
        r[5..5 + data.len()].copy_from_slice(data);
        r[63] = u8::from(more);
        r
    }

    #[test]
    fn single_report_scan_gets_the_aim_id_in_front() {
        let mut a = HidPosAssembler::new(HidPosLayout::ACCESS_IS, "hidpos://0c2e:0b61");
        match a.feed(&report(4, b"]d2", b"01\x1d9", false)) {
            Some(ScannerEvent::Scan(s)) => {
                assert_eq!(s.bytes, b"]d201\x1d9");
                assert_eq!(s.aim, Some(*b"]d2"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_aim_id_field_means_data_only() {
        let mut a = HidPosAssembler::new(HidPosLayout::ACCESS_IS, "t");
        let ev = a.feed(&report(2, &[0, 0, 0], b"ab", false));
        assert!(matches!(ev, Some(ScannerEvent::Scan(s)) if s.bytes == b"ab" && s.aim.is_none()));
    }

    #[test]
    fn malformed_reports_are_reported_and_drop_the_partial_scan() {
        let mut a = HidPosAssembler::new(HidPosLayout::ACCESS_IS, "t");
        assert_eq!(a.feed(&report(56, b"]d2", &[b'x'; 56], true)), None);
        match a.feed(&report(57, b"]d2", b"", false)) {
            Some(ScannerEvent::BadReport { reason, .. }) => assert_eq!(
                reason,
                "report says 57 data bytes but the field holds 56: set the HID POS layout for this scanner model"
            ),
            other => panic!("{other:?}"),
        }
        match a.feed(&[2, 1, b']']) {
            Some(ScannerEvent::BadReport { reason, .. }) => assert_eq!(
                reason,
                "report of 3 bytes is shorter than the 64 the layout needs: set the HID POS layout for this scanner model"
            ),
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(a.feed(&report(1, b"]d2", b"z", false)), Some(ScannerEvent::Scan(s)) if s.bytes == b"]d2z")
        );
    }

    #[test]
    fn overlong_and_incomplete() {
        let mut a = HidPosAssembler::new(HidPosLayout::ACCESS_IS, "t");
        for _ in 0..80 {
            assert_eq!(a.feed(&report(56, b"]d2", &[b'x'; 56], true)), None);
            assert!(a.buf.len() <= crate::frame::DEFAULT_MAX_FRAME);
        }
        assert!(matches!(
            a.feed(&report(0, b"]d2", b"", false)),
            Some(ScannerEvent::Overlong { len, .. }) if len == 3 + 80 * 56
        ));
        a.feed(&report(56, b"]d2", &[b'y'; 56], true));
        assert!(matches!(a.finish(), Some(ScannerEvent::Incomplete(s)) if s.bytes.len() == 59));
        assert_eq!(a.finish(), None);
    }

    #[test]
    fn finds_the_pos_interface_of_a_usb_id() {
        let sys = tempfile::tempdir().unwrap();
        let add = |name: &str, id: &str, descriptor: &[u8]| {
            let d = sys.path().join("class/hidraw").join(name).join("device");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(
                d.join("uevent"),
                format!("DRIVER=hid-generic\nHID_ID={id}\nHID_NAME=Scanner\n"),
            )
            .unwrap();
            std::fs::write(d.join("report_descriptor"), descriptor).unwrap();
        };
        add(
            "hidraw0",
            "0003:00000C2E:00000B61",
            &[0x05, 0x01, 0x09, 0x06],
        ); // keyboard interface
        add(
            "hidraw1",
            "0003:00000C2E:00000B61",
            &[0x06, 0x8c, 0x00, 0x09, 0x02],
        ); // POS interface
        add("hidraw2", "0003:0000046D:0000C52B", &[0x05, 0x8c]);
        assert_eq!(
            find_hidraw(sys.path(), 0x0c2e, 0x0b61),
            Some(PathBuf::from("/dev/hidraw1"))
        );
        assert_eq!(find_hidraw(sys.path(), 0x1234, 0x5678), None);
        assert_eq!(
            find_hidraw(&sys.path().join("absent"), 0x0c2e, 0x0b61),
            None
        );
    }

    #[test]
    fn missing_hidraw_says_which_and_what_to_do() {
        let err = open_hidraw(Path::new("/nonexistent/hidraw9"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("cannot open scanner device /nonexistent/hidraw9: "),
            "{err}"
        );
        let err = ScannerError::HidNotFound {
            vid: 0x0c2e,
            pid: 0x0b61,
        }
        .to_string();
        assert_eq!(
            err,
            "no HID POS scanner with USB id 0c2e:0b61 is plugged in: plug it in and set it to HID POS mode, or name its /dev/hidraw path"
        );
    }
}
