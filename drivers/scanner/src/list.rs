// SPDX-License-Identifier: GPL-3.0-or-later
//! Devices that may be a scanner, for the settings screen's picker.
//!
//! Reads `/dev` (and `/sys` for names) directly instead of asking libudev, so the build needs no
//! system package. A machine with no candidates gives an empty list, not an error.

use std::path::{Path, PathBuf};

use crate::uri::{GsKey, HidTarget, ScannerUri};

/// What kind of device a candidate is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateKind {
    /// A serial port (USB CDC virtual COM, or a USB-serial adapter).
    Serial,
    /// A keyboard-like input device (a keyboard-wedge scanner, or a real keyboard).
    Keyboard,
    /// A raw HID node (a HID POS scanner, among other HID devices).
    HidRaw,
}

/// One device the worker may pick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Kind of device.
    pub kind: CandidateKind,
    /// Device path (the stable by-id link when there is one).
    pub path: PathBuf,
    /// What to show: the by-id name or the HID name, else the node name.
    pub label: String,
    /// The address to store when picked.
    pub uri: ScannerUri,
}

/// Candidates on this machine: `/dev/serial/by-id/*` (then `/dev/ttyACM*` and `/dev/ttyUSB*`
/// not behind one), `/dev/input/by-id/*-event-kbd`, `/dev/hidraw*`.
pub fn list_candidates() -> Vec<Candidate> {
    list_candidates_in(Path::new("/dev"), Path::new("/sys"))
}

/// [`list_candidates`] under other roots, for tests.
pub fn list_candidates_in(dev: &Path, sys: &Path) -> Vec<Candidate> {
    let mut out = Vec::new();

    let by_id = entries(&dev.join("serial/by-id"), |_| true);
    let linked: Vec<PathBuf> = by_id
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    for path in by_id {
        out.push(serial(path.clone(), file_name(&path)));
    }
    let nodes = entries(dev, |n| n.starts_with("ttyACM") || n.starts_with("ttyUSB"));
    for path in nodes {
        // A node already listed through its stable by-id link is not listed twice.
        let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if !linked.contains(&real) {
            out.push(serial(path.clone(), file_name(&path)));
        }
    }

    for path in entries(&dev.join("input/by-id"), |n| n.ends_with("-event-kbd")) {
        out.push(Candidate {
            kind: CandidateKind::Keyboard,
            label: file_name(&path),
            uri: ScannerUri::Evdev {
                path: path.clone(),
                gs: GsKey::CtrlBracket,
            },
            path,
        });
    }

    for path in entries(dev, |n| n.starts_with("hidraw")) {
        let name = file_name(&path);
        let label =
            std::fs::read_to_string(sys.join("class/hidraw").join(&name).join("device/uevent"))
                .ok()
                .and_then(|u| {
                    u.lines()
                        .find_map(|l| l.strip_prefix("HID_NAME=").map(str::to_string))
                })
                .map_or_else(|| name.clone(), |hid| format!("{hid} ({name})"));
        out.push(Candidate {
            kind: CandidateKind::HidRaw,
            label,
            uri: ScannerUri::HidPos(HidTarget::Path(path.clone())),
            path,
        });
    }
    out
}

fn serial(path: PathBuf, label: String) -> Candidate {
    Candidate {
        kind: CandidateKind::Serial,
        label,
        uri: ScannerUri::Serial {
            path: path.clone(),
            baud: crate::uri::DEFAULT_BAUD,
            term: crate::Terminator::AnyCrLf,
            max: crate::frame::DEFAULT_MAX_FRAME,
        },
        path,
    }
}

/// Entries of `dir` whose names pass `keep`, sorted; none when `dir` is absent.
fn entries(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = read
        .filter_map(|e| e.ok())
        .filter(|e| keep(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn empty_machine_gives_an_empty_list() {
        let root = tempfile::tempdir().unwrap();
        assert!(list_candidates_in(root.path(), root.path()).is_empty());
        assert!(
            list_candidates_in(&root.path().join("absent"), &root.path().join("absent")).is_empty()
        );
    }

    #[test]
    fn lists_each_kind_and_prefers_by_id_links() {
        let root = tempfile::tempdir().unwrap();
        let dev = root.path().join("dev");
        let sys = root.path().join("sys");
        for d in ["serial/by-id", "input/by-id"] {
            std::fs::create_dir_all(dev.join(d)).unwrap();
        }
        for node in [
            "ttyACM0",
            "ttyACM1",
            "ttyS0",
            "hidraw0",
            "tty1",
            "input/event3",
            "input/event4",
        ] {
            std::fs::write(dev.join(node), b"").unwrap();
        }
        symlink(
            dev.join("ttyACM0"),
            dev.join("serial/by-id/usb-Honeywell_1950g-if00"),
        )
        .unwrap();
        symlink(
            dev.join("input/event3"),
            dev.join("input/by-id/usb-Datalogic_QD2430-event-kbd"),
        )
        .unwrap();
        symlink(
            dev.join("input/event4"),
            dev.join("input/by-id/usb-Logitech_Mouse-event-mouse"),
        )
        .unwrap();
        let uevent = sys.join("class/hidraw/hidraw0/device");
        std::fs::create_dir_all(&uevent).unwrap();
        std::fs::write(
            uevent.join("uevent"),
            "HID_ID=0003:00000C2E:00000B61\nHID_NAME=Honeywell Scanner\n",
        )
        .unwrap();

        let got: Vec<(CandidateKind, String, String)> = list_candidates_in(&dev, &sys)
            .into_iter()
            .map(|c| (c.kind, c.label, c.uri.to_string()))
            .collect();
        let d = dev.display();
        assert_eq!(
            got,
            vec![
                (
                    CandidateKind::Serial,
                    "usb-Honeywell_1950g-if00".to_string(),
                    format!(
                        "serial://{d}/serial/by-id/usb-Honeywell_1950g-if00?baud=9600&term=any"
                    )
                ),
                (
                    CandidateKind::Serial,
                    "ttyACM1".to_string(),
                    format!("serial://{d}/ttyACM1?baud=9600&term=any")
                ),
                (
                    CandidateKind::Keyboard,
                    "usb-Datalogic_QD2430-event-kbd".to_string(),
                    format!(
                        "evdev://{d}/input/by-id/usb-Datalogic_QD2430-event-kbd?gs=ctrl-bracket"
                    )
                ),
                (
                    CandidateKind::HidRaw,
                    "Honeywell Scanner (hidraw0)".to_string(),
                    format!("hidpos://{d}/hidraw0")
                ),
            ]
        );
    }

    #[test]
    fn this_machine_lists_without_failing() {
        // No assertion on content: CI machines have no scanners; it must simply not fail.
        let _ = list_candidates();
    }
}
