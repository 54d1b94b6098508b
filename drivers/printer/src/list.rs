// SPDX-License-Identifier: GPL-3.0-or-later
//! Printers the settings screen can offer: serial ports, `/dev/usb/lp*` nodes and Zebra USB
//! devices. Listing never fails: a machine with nothing attached gets an empty list, and a
//! source that cannot be read is skipped.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::uri::{PrinterUri, SerialSettings};

/// One printer the worker can choose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Address to store in the settings.
    pub uri: PrinterUri,
    /// What to show next to it.
    pub description: String,
}

/// Everything that might be a printer, stable names first.
#[must_use]
pub fn list_candidates() -> Vec<Candidate> {
    let mut out = serial_by_id(Path::new("/dev/serial/by-id"));
    let taken: HashSet<PathBuf> = out
        .iter()
        .filter_map(|c| match &c.uri {
            PrinterUri::Serial(s) => fs::canonicalize(&s.path).ok(),
            _ => None,
        })
        .collect();
    out.extend(serial_ports().into_iter().filter(|c| match &c.uri {
        PrinterUri::Serial(s) => !taken.contains(&s.path),
        _ => true,
    }));
    out.extend(usb_lp_nodes(Path::new("/dev/usb")));
    out.extend(usb_printers());
    out
}

/// `/dev/serial/by-id` links: names that survive replugging and reboots, unlike `ttyUSB0`.
fn serial_by_id(dir: &Path) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = sorted_entries(dir)
        .into_iter()
        .map(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let now = fs::canonicalize(&path)
                .map(|t| format!(" (now {})", t.display()))
                .unwrap_or_default();
            Candidate {
                description: format!("USB serial adapter {name}{now}"),
                uri: PrinterUri::Serial(SerialSettings::factory_default(path)),
            }
        })
        .collect();
    out.dedup_by(|a, b| a.uri == b.uri);
    out
}

/// Serial ports from `serialport` (a /sys/class/tty scan without libudev).
fn serial_ports() -> Vec<Candidate> {
    // serialport panics when /sys/class/tty is missing (containers without /sys).
    if !Path::new("/sys/class/tty").is_dir() {
        return Vec::new();
    }
    let mut ports = serialport::available_ports().unwrap_or_default();
    ports.sort_by(|a, b| a.port_name.cmp(&b.port_name));
    ports
        .into_iter()
        .filter(|port| !is_placeholder_uart(Path::new("/sys/class/tty"), &port.port_name))
        .map(|port| {
            let kind = match &port.port_type {
                serialport::SerialPortType::UsbPort(usb) => {
                    let name = [usb.manufacturer.as_deref(), usb.product.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ");
                    format!("USB serial {:04x}:{:04x} {name}", usb.vid, usb.pid)
                        .trim_end()
                        .to_owned()
                }
                serialport::SerialPortType::PciPort => "serial port".to_owned(),
                serialport::SerialPortType::BluetoothPort => "Bluetooth serial".to_owned(),
                serialport::SerialPortType::Unknown => "serial port".to_owned(),
            };
            Candidate {
                description: format!("{kind} {}", port.port_name),
                uri: PrinterUri::Serial(SerialSettings::factory_default(port.port_name)),
            }
        })
        .collect()
}

/// Whether `port` is one of the `ttyS*` slots the 8250 driver registers whether or not a
/// UART is fitted (sysfs `type` 0 = unknown); listing them would offer dead ports.
fn is_placeholder_uart(sys_tty: &Path, port: &str) -> bool {
    let Some(name) = Path::new(port).file_name() else {
        return false;
    };
    fs::read_to_string(sys_tty.join(name).join("type")).is_ok_and(|t| t.trim() == "0")
}

/// Printers the kernel's usblp driver exposes; written to as files.
fn usb_lp_nodes(dir: &Path) -> Vec<Candidate> {
    sorted_entries(dir)
        .into_iter()
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("lp"))
                .is_some_and(|digits| {
                    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
                })
        })
        .map(|path| Candidate {
            description: format!(
                "USB printer {} (kernel driver, print only: no status)",
                path.display()
            ),
            uri: PrinterUri::File { path },
        })
        .collect()
}

#[cfg(feature = "usb")]
fn usb_printers() -> Vec<Candidate> {
    use crate::transport::usb::{RusbBus, list_printers};
    let Ok(bus) = RusbBus::new("usb://auto") else {
        return Vec::new();
    };
    list_printers(&bus)
        .into_iter()
        .map(|(choice, product)| Candidate {
            description: format!(
                "Zebra {} on USB bus {} address {}",
                product.as_deref().unwrap_or("printer"),
                choice.bus,
                choice.address
            ),
            uri: choice.uri(),
        })
        .collect()
}

#[cfg(not(feature = "usb"))]
fn usb_printers() -> Vec<Candidate> {
    Vec::new()
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.sort();
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_directories_give_empty_lists() {
        let dir = tempfile::tempdir().expect("temp dir");
        let absent = dir.path().join("absent");
        assert!(serial_by_id(&absent).is_empty());
        assert!(usb_lp_nodes(&absent).is_empty());
    }

    #[test]
    fn lp_nodes_become_file_uris() {
        let dir = tempfile::tempdir().expect("temp dir");
        for name in ["lp1", "lp0", "lpx", "hiddev0", "lp"] {
            fs::write(dir.path().join(name), b"").expect("create node stand-in");
        }
        let found = usb_lp_nodes(dir.path());
        let uris: Vec<String> = found.iter().map(|c| c.uri.to_string()).collect();
        assert_eq!(
            uris,
            vec![
                format!("file://{}/lp0", dir.path().display()),
                format!("file://{}/lp1", dir.path().display()),
            ]
        );
        assert!(found[0].description.contains("no status"));
    }

    #[test]
    fn by_id_links_name_their_current_target() {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join("ttyUSB0");
        fs::write(&target, b"").expect("create tty stand-in");
        let link = dir.path().join("usb-FTDI_FT232R-if00-port0");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let found = serial_by_id(dir.path());
        let link_uri = PrinterUri::Serial(SerialSettings::factory_default(&link));
        let hit = found
            .iter()
            .find(|c| c.uri == link_uri)
            .expect("link listed");
        assert!(
            hit.description
                .ends_with(&format!("(now {})", target.display())),
            "{}",
            hit.description
        );
    }

    #[test]
    fn empty_8250_slots_are_not_offered() {
        let sys = tempfile::tempdir().expect("temp dir");
        for (name, uart) in [("ttyS0", "4\n"), ("ttyS1", "0\n")] {
            fs::create_dir(sys.path().join(name)).expect("mkdir");
            fs::write(sys.path().join(name).join("type"), uart).expect("write type");
        }
        assert!(!is_placeholder_uart(sys.path(), "/dev/ttyS0"));
        assert!(is_placeholder_uart(sys.path(), "/dev/ttyS1"));
        // USB adapters have no `type` file.
        assert!(!is_placeholder_uart(sys.path(), "/dev/ttyUSB0"));
    }

    #[test]
    fn listing_this_machine_does_not_fail() {
        // Whatever is attached, the call returns and every entry parses back.
        for c in list_candidates() {
            assert_eq!(PrinterUri::parse(&c.uri.to_string()), Ok(c.uri.clone()));
            assert!(!c.description.is_empty());
        }
    }
}
