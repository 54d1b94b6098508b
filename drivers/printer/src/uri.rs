// SPDX-License-Identifier: GPL-3.0-or-later
//! Printer addresses as one line of text, so the settings screen, the config file and the logs
//! all name a printer the same way.
//!
//! | form | meaning |
//! |---|---|
//! | `serial:///dev/ttyUSB0?baud=9600&flow=xonxoff&parity=none&data=8&stop=1` | RS-232; defaults are Zebra's factory 9600 8N1 with XON/XOFF |
//! | `tcp://HOST[:PORT]` | raw ZPL socket, port 9100 by default |
//! | `file:///dev/usb/lp0` | bytes appended to a device node or a file (created `0600` if missing, never under `/dev`); no status channel |
//! | `usb://0a5f:PID` or `usb://auto` | a Zebra printer on USB, driven through libusb |
//! | `sim:` | the in-process virtual printer |
//!
//! Parsing is strict: an unknown parameter or value is an error naming it, because a typo that
//! silently fell back to a default would print garbage at the wrong baud rate.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

/// Zebra's USB vendor ID.
pub const ZEBRA_VENDOR_ID: u16 = 0x0a5f;
/// Zebra's raw ZPL port.
pub const DEFAULT_TCP_PORT: u16 = 9100;
/// Baud rates the station offers; Zebra's factory default is the first.
pub const BAUD_RATES: [u32; 5] = [9600, 19200, 38400, 57600, 115_200];

/// Where a printer is and how to talk to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PrinterUri {
    /// An RS-232 port.
    Serial(SerialSettings),
    /// A raw ZPL TCP socket.
    Tcp {
        /// Host name or IP address (IPv6 without brackets).
        host: String,
        /// TCP port.
        port: u16,
    },
    /// A device node (`/dev/usb/lp0`) or a file that takes the exact bytes; see
    /// [`crate::transport::FileTransport::open`] for which missing paths are created.
    File {
        /// Absolute path.
        path: PathBuf,
    },
    /// A Zebra printer on USB.
    Usb(UsbSelector),
    /// The in-process virtual printer.
    Sim,
}

/// Serial line settings; both ends must match exactly or the printer prints garbage.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SerialSettings {
    /// Device path, e.g. `/dev/ttyUSB0`.
    pub path: PathBuf,
    /// One of [`BAUD_RATES`].
    pub baud: u32,
    /// Flow control.
    pub flow: FlowControl,
    /// Parity.
    pub parity: Parity,
    /// Data bits per character.
    pub data_bits: DataBits,
    /// Stop bits.
    pub stop_bits: StopBits,
}

impl SerialSettings {
    /// Zebra's factory settings (9600 8N1, XON/XOFF) on `path`.
    #[must_use]
    pub fn factory_default(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            baud: 9600,
            flow: FlowControl::XonXoff,
            parity: Parity::None,
            data_bits: DataBits::Eight,
            stop_bits: StopBits::One,
        }
    }
}

/// Serial flow control. XON/XOFF is the default because Zebra's DTR handshake only works with a
/// cable that routes the printer's DTR to the host's CTS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowControl {
    /// Software flow control.
    XonXoff,
    /// Hardware flow control on RTS/CTS.
    RtsCts,
    /// None.
    None,
}

/// Serial parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Parity {
    /// No parity bit.
    None,
    /// Odd parity.
    Odd,
    /// Even parity.
    Even,
}

/// Data bits per character (Zebra supports 7 and 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataBits {
    /// 7 data bits.
    Seven,
    /// 8 data bits.
    Eight,
}

/// Stop bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopBits {
    /// 1 stop bit.
    One,
    /// 2 stop bits.
    Two,
}

/// Which USB printer to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsbSelector {
    /// The only Zebra printer on the bus.
    Auto,
    /// The Zebra printer with this product ID.
    Product(u16),
}

/// Why a printer address was rejected. Every message quotes the address and says what to
/// write instead.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UriError {
    /// Empty text.
    #[error(
        "printer address is empty: write serial:///dev/ttyUSB0, tcp://HOST:9100, \
         file:///dev/usb/lp0, usb://auto or sim:"
    )]
    Empty,
    /// No `scheme:` prefix, or one this driver does not know.
    #[error(
        "unknown printer address scheme in {uri}: use serial://, tcp://, file://, usb:// or sim:"
    )]
    UnknownScheme {
        /// The address as given.
        uri: String,
    },
    /// A scheme that needs a path or host has none.
    #[error("{uri} names no {what}: write {example}")]
    Missing {
        /// The address as given.
        uri: String,
        /// What is missing (device path, host, …).
        what: &'static str,
        /// A correct address of this kind.
        example: &'static str,
    },
    /// A path that is not absolute.
    #[error("path in {uri} is not absolute: write three slashes, e.g. {example}")]
    RelativePath {
        /// The address as given.
        uri: String,
        /// A correct address of this kind.
        example: &'static str,
    },
    /// A query parameter this scheme does not take.
    #[error("unknown parameter {name:?} in {uri}: use {allowed}")]
    UnknownParameter {
        /// The address as given.
        uri: String,
        /// The parameter name.
        name: String,
        /// The parameters this scheme takes.
        allowed: &'static str,
    },
    /// The same parameter twice, so we cannot tell which one was meant.
    #[error("parameter {name:?} given twice in {uri}: keep one")]
    DuplicateParameter {
        /// The address as given.
        uri: String,
        /// The parameter name.
        name: String,
    },
    /// A parameter without `=value`.
    #[error("parameter {name:?} in {uri} has no value: write {name}=VALUE")]
    ParameterWithoutValue {
        /// The address as given.
        uri: String,
        /// The parameter name.
        name: String,
    },
    /// A baud rate outside [`BAUD_RATES`].
    #[error("unknown baud rate {value} in {uri}: use 9600, 19200, 38400, 57600 or 115200")]
    BaudRate {
        /// The address as given.
        uri: String,
        /// The value as written.
        value: String,
    },
    /// A parameter value outside its allowed set.
    #[error("unknown {name} {value:?} in {uri}: use {allowed}")]
    Value {
        /// The address as given.
        uri: String,
        /// The parameter name.
        name: &'static str,
        /// The value as written.
        value: String,
        /// The accepted values.
        allowed: &'static str,
    },
    /// A TCP port that is not 1..=65535.
    #[error("bad TCP port {value:?} in {uri}: use a number from 1 to 65535, usually 9100")]
    Port {
        /// The address as given.
        uri: String,
        /// The port as written.
        value: String,
    },
    /// Something after the address that this scheme does not take.
    #[error("unexpected {what} in {uri}: {hint}")]
    Unexpected {
        /// The address as given.
        uri: String,
        /// What was found (a path, a query, …).
        what: &'static str,
        /// How to write it instead.
        hint: &'static str,
    },
    /// A USB selector that is not `auto` or `0a5f:PID`.
    #[error(
        "bad USB printer {value:?} in {uri}: write usb://auto or usb://0a5f:PID with PID in hex"
    )]
    UsbId {
        /// The address as given.
        uri: String,
        /// The selector as written.
        value: String,
    },
    /// A USB vendor other than Zebra.
    #[error(
        "USB vendor {vendor:04x} in {uri} is not Zebra: this driver speaks ZPL to Zebra printers \
         (vendor 0a5f); write usb://0a5f:PID or usb://auto"
    )]
    NotZebra {
        /// The address as given.
        uri: String,
        /// The vendor ID as written.
        vendor: u16,
    },
}

const SERIAL_EXAMPLE: &str = "serial:///dev/ttyUSB0?baud=9600";
const TCP_EXAMPLE: &str = "tcp://192.0.2.10:9100";
const FILE_EXAMPLE: &str = "file:///dev/usb/lp0";
const SERIAL_PARAMS: &str = "baud, flow, parity, data or stop";

impl PrinterUri {
    /// Parses a printer address (surrounding whitespace is ignored).
    ///
    /// # Errors
    /// [`UriError`] quoting the address and naming the part that is wrong.
    pub fn parse(text: &str) -> Result<Self, UriError> {
        let uri = text.trim();
        if uri.is_empty() {
            return Err(UriError::Empty);
        }
        let owned = || uri.to_owned();
        if let Some(rest) = uri.strip_prefix("serial://") {
            parse_serial(uri, rest)
        } else if let Some(rest) = uri.strip_prefix("tcp://") {
            parse_tcp(uri, rest)
        } else if let Some(rest) = uri.strip_prefix("file://") {
            if rest.contains('?') {
                return Err(UriError::Unexpected {
                    uri: owned(),
                    what: "parameters",
                    hint: "file:// takes a path only",
                });
            }
            Ok(Self::File {
                path: absolute_path(uri, rest, FILE_EXAMPLE)?,
            })
        } else if let Some(rest) = uri.strip_prefix("usb://") {
            parse_usb(uri, rest)
        } else if let Some(rest) = uri.strip_prefix("sim:") {
            if rest.is_empty() {
                Ok(Self::Sim)
            } else {
                Err(UriError::Unexpected {
                    uri: owned(),
                    what: "text after sim:",
                    hint: "write sim: alone",
                })
            }
        } else {
            Err(UriError::UnknownScheme { uri: owned() })
        }
    }

    /// Whether this kind of link can carry replies. `file://` cannot, so the station can never
    /// confirm a label printed through it; a USB printer without a bulk IN endpoint cannot
    /// either, which only the open transport knows ([`crate::Transport::has_status_channel`]).
    #[must_use]
    pub fn has_status_channel(&self) -> bool {
        !matches!(self, Self::File { .. })
    }
}

impl std::str::FromStr for PrinterUri {
    type Err = UriError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn absolute_path(uri: &str, path: &str, example: &'static str) -> Result<PathBuf, UriError> {
    if path.is_empty() || path == "/" {
        return Err(UriError::Missing {
            uri: uri.to_owned(),
            what: "device path",
            example,
        });
    }
    if !path.starts_with('/') {
        return Err(UriError::RelativePath {
            uri: uri.to_owned(),
            example,
        });
    }
    Ok(PathBuf::from(path))
}

fn parse_serial(uri: &str, rest: &str) -> Result<PrinterUri, UriError> {
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut settings = SerialSettings::factory_default(absolute_path(uri, path, SERIAL_EXAMPLE)?);
    let mut seen: Vec<&str> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(UriError::ParameterWithoutValue {
                uri: uri.to_owned(),
                name: pair.to_owned(),
            });
        };
        if seen.contains(&name) {
            return Err(UriError::DuplicateParameter {
                uri: uri.to_owned(),
                name: name.to_owned(),
            });
        }
        seen.push(name);
        let bad = |name: &'static str, allowed: &'static str| UriError::Value {
            uri: uri.to_owned(),
            name,
            value: value.to_owned(),
            allowed,
        };
        match name {
            "baud" => {
                settings.baud = value
                    .parse()
                    .ok()
                    .filter(|b| BAUD_RATES.contains(b))
                    .ok_or_else(|| UriError::BaudRate {
                        uri: uri.to_owned(),
                        value: value.to_owned(),
                    })?;
            }
            "flow" => {
                settings.flow = match value {
                    "xonxoff" => FlowControl::XonXoff,
                    "rtscts" => FlowControl::RtsCts,
                    "none" => FlowControl::None,
                    _ => return Err(bad("flow control", "xonxoff, rtscts or none")),
                }
            }
            "parity" => {
                settings.parity = match value {
                    "none" => Parity::None,
                    "odd" => Parity::Odd,
                    "even" => Parity::Even,
                    _ => return Err(bad("parity", "none, odd or even")),
                }
            }
            "data" => {
                settings.data_bits = match value {
                    "8" => DataBits::Eight,
                    "7" => DataBits::Seven,
                    _ => return Err(bad("data bits", "7 or 8")),
                }
            }
            "stop" => {
                settings.stop_bits = match value {
                    "1" => StopBits::One,
                    "2" => StopBits::Two,
                    _ => return Err(bad("stop bits", "1 or 2")),
                }
            }
            _ => {
                return Err(UriError::UnknownParameter {
                    uri: uri.to_owned(),
                    name: name.to_owned(),
                    allowed: SERIAL_PARAMS,
                });
            }
        }
    }
    Ok(PrinterUri::Serial(settings))
}

fn parse_tcp(uri: &str, rest: &str) -> Result<PrinterUri, UriError> {
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '?', '#']) {
        return Err(UriError::Unexpected {
            uri: uri.to_owned(),
            what: "path or parameters",
            hint: "tcp:// takes HOST:PORT only, e.g. tcp://192.0.2.10:9100",
        });
    }
    let missing_host = || UriError::Missing {
        uri: uri.to_owned(),
        what: "host",
        example: TCP_EXAMPLE,
    };
    // `[v6]:port` or `[v6]`; otherwise the last colon splits host and port.
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or_else(|| UriError::Unexpected {
                uri: uri.to_owned(),
                what: "unclosed [",
                hint: "write an IPv6 host as tcp://[::1]:9100",
            })?;
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => {
                    return Err(UriError::Unexpected {
                        uri: uri.to_owned(),
                        what: "text after ]",
                        hint: "write an IPv6 host as tcp://[::1]:9100",
                    });
                }
            },
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(missing_host());
    }
    let port = match port {
        None => DEFAULT_TCP_PORT,
        Some(text) => text
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| UriError::Port {
                uri: uri.to_owned(),
                value: text.to_owned(),
            })?,
    };
    Ok(PrinterUri::Tcp {
        host: host.to_owned(),
        port,
    })
}

fn parse_usb(uri: &str, rest: &str) -> Result<PrinterUri, UriError> {
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest == "auto" {
        return Ok(PrinterUri::Usb(UsbSelector::Auto));
    }
    let bad = || UriError::UsbId {
        uri: uri.to_owned(),
        value: rest.to_owned(),
    };
    let hex = |s: &str| {
        (s.len() == 4 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u16::from_str_radix(s, 16).ok())
            .flatten()
    };
    let (vendor, product) = rest.split_once(':').ok_or_else(bad)?;
    let vendor = hex(vendor).ok_or_else(bad)?;
    let product = hex(product).ok_or_else(bad)?;
    if vendor != ZEBRA_VENDOR_ID {
        return Err(UriError::NotZebra {
            uri: uri.to_owned(),
            vendor,
        });
    }
    Ok(PrinterUri::Usb(UsbSelector::Product(product)))
}

impl fmt::Display for FlowControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::XonXoff => "xonxoff",
            Self::RtsCts => "rtscts",
            Self::None => "none",
        })
    }
}

impl fmt::Display for Parity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "none",
            Self::Odd => "odd",
            Self::Even => "even",
        })
    }
}

/// The canonical form: every serial parameter spelled out, so a logged address reproduces the
/// exact line settings. Parsing it gives back the same value.
impl fmt::Display for PrinterUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Serial(s) => write!(
                f,
                "serial://{}?baud={}&flow={}&parity={}&data={}&stop={}",
                s.path.display(),
                s.baud,
                s.flow,
                s.parity,
                match s.data_bits {
                    DataBits::Seven => 7,
                    DataBits::Eight => 8,
                },
                match s.stop_bits {
                    StopBits::One => 1,
                    StopBits::Two => 2,
                },
            ),
            Self::Tcp { host, port } if host.contains(':') => write!(f, "tcp://[{host}]:{port}"),
            Self::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Self::File { path } => write!(f, "file://{}", path.display()),
            Self::Usb(UsbSelector::Auto) => f.write_str("usb://auto"),
            Self::Usb(UsbSelector::Product(pid)) => {
                write!(f, "usb://{ZEBRA_VENDOR_ID:04x}:{pid:04x}")
            }
            Self::Sim => f.write_str("sim:"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serial(path: &str) -> SerialSettings {
        SerialSettings::factory_default(path)
    }

    #[test]
    fn good_uris() {
        let cases: Vec<(&str, PrinterUri)> = vec![
            (
                "serial:///dev/ttyUSB0",
                PrinterUri::Serial(serial("/dev/ttyUSB0")),
            ),
            (
                "  serial:///dev/ttyS0?baud=115200&flow=rtscts&parity=even&data=7&stop=2 ",
                PrinterUri::Serial(SerialSettings {
                    baud: 115_200,
                    flow: FlowControl::RtsCts,
                    parity: Parity::Even,
                    data_bits: DataBits::Seven,
                    stop_bits: StopBits::Two,
                    ..serial("/dev/ttyS0")
                }),
            ),
            (
                "serial:///dev/serial/by-id/usb-Zebra-if00?flow=none&parity=odd",
                PrinterUri::Serial(SerialSettings {
                    flow: FlowControl::None,
                    parity: Parity::Odd,
                    ..serial("/dev/serial/by-id/usb-Zebra-if00")
                }),
            ),
            (
                "serial:///dev/ttyUSB0?",
                PrinterUri::Serial(serial("/dev/ttyUSB0")),
            ),
            (
                "tcp://printer-3.local",
                PrinterUri::Tcp {
                    host: "printer-3.local".into(),
                    port: 9100,
                },
            ),
            (
                "tcp://192.0.2.10:6101/",
                PrinterUri::Tcp {
                    host: "192.0.2.10".into(),
                    port: 6101,
                },
            ),
            (
                "tcp://[::1]:9100",
                PrinterUri::Tcp {
                    host: "::1".into(),
                    port: 9100,
                },
            ),
            (
                "tcp://[fe80::1]",
                PrinterUri::Tcp {
                    host: "fe80::1".into(),
                    port: 9100,
                },
            ),
            (
                "file:///dev/usb/lp0",
                PrinterUri::File {
                    path: "/dev/usb/lp0".into(),
                },
            ),
            ("usb://auto", PrinterUri::Usb(UsbSelector::Auto)),
            (
                "usb://0a5f:0166",
                PrinterUri::Usb(UsbSelector::Product(0x0166)),
            ),
            (
                "usb://0A5F:00D1/",
                PrinterUri::Usb(UsbSelector::Product(0x00d1)),
            ),
            ("sim:", PrinterUri::Sim),
        ];
        for (text, expected) in cases {
            assert_eq!(PrinterUri::parse(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn bad_uris_have_exact_messages() {
        let cases = [
            (
                "serial:///dev/ttyS0?baud=9601",
                "unknown baud rate 9601 in serial:///dev/ttyS0?baud=9601: use 9600, 19200, 38400, 57600 or 115200",
            ),
            (
                "",
                "printer address is empty: write serial:///dev/ttyUSB0, tcp://HOST:9100, file:///dev/usb/lp0, usb://auto or sim:",
            ),
            (
                "lpt1",
                "unknown printer address scheme in lpt1: use serial://, tcp://, file://, usb:// or sim:",
            ),
            (
                "http://printer/",
                "unknown printer address scheme in http://printer/: use serial://, tcp://, file://, usb:// or sim:",
            ),
            (
                "serial://",
                "serial:// names no device path: write serial:///dev/ttyUSB0?baud=9600",
            ),
            (
                "serial://dev/ttyS0",
                "path in serial://dev/ttyS0 is not absolute: write three slashes, e.g. serial:///dev/ttyUSB0?baud=9600",
            ),
            (
                "serial:///dev/ttyS0?speed=9600",
                "unknown parameter \"speed\" in serial:///dev/ttyS0?speed=9600: use baud, flow, parity, data or stop",
            ),
            (
                "serial:///dev/ttyS0?baud=9600&baud=19200",
                "parameter \"baud\" given twice in serial:///dev/ttyS0?baud=9600&baud=19200: keep one",
            ),
            (
                "serial:///dev/ttyS0?baud",
                "parameter \"baud\" in serial:///dev/ttyS0?baud has no value: write baud=VALUE",
            ),
            (
                "serial:///dev/ttyS0?baud=fast",
                "unknown baud rate fast in serial:///dev/ttyS0?baud=fast: use 9600, 19200, 38400, 57600 or 115200",
            ),
            (
                "serial:///dev/ttyS0?flow=dtr",
                "unknown flow control \"dtr\" in serial:///dev/ttyS0?flow=dtr: use xonxoff, rtscts or none",
            ),
            (
                "serial:///dev/ttyS0?parity=mark",
                "unknown parity \"mark\" in serial:///dev/ttyS0?parity=mark: use none, odd or even",
            ),
            (
                "serial:///dev/ttyS0?data=9",
                "unknown data bits \"9\" in serial:///dev/ttyS0?data=9: use 7 or 8",
            ),
            (
                "serial:///dev/ttyS0?stop=1.5",
                "unknown stop bits \"1.5\" in serial:///dev/ttyS0?stop=1.5: use 1 or 2",
            ),
            (
                "tcp://",
                "tcp:// names no host: write tcp://192.0.2.10:9100",
            ),
            (
                "tcp://:9100",
                "tcp://:9100 names no host: write tcp://192.0.2.10:9100",
            ),
            (
                "tcp://printer:0",
                "bad TCP port \"0\" in tcp://printer:0: use a number from 1 to 65535, usually 9100",
            ),
            (
                "tcp://printer:70000",
                "bad TCP port \"70000\" in tcp://printer:70000: use a number from 1 to 65535, usually 9100",
            ),
            (
                "tcp://printer:9100/pstprnt",
                "unexpected path or parameters in tcp://printer:9100/pstprnt: tcp:// takes HOST:PORT only, e.g. tcp://192.0.2.10:9100",
            ),
            (
                "tcp://[::1:9100",
                "unexpected unclosed [ in tcp://[::1:9100: write an IPv6 host as tcp://[::1]:9100",
            ),
            (
                "file://lp0",
                "path in file://lp0 is not absolute: write three slashes, e.g. file:///dev/usb/lp0",
            ),
            (
                "file:///dev/usb/lp0?append=1",
                "unexpected parameters in file:///dev/usb/lp0?append=1: file:// takes a path only",
            ),
            (
                "usb://04b8:0202",
                "USB vendor 04b8 in usb://04b8:0202 is not Zebra: this driver speaks ZPL to Zebra printers (vendor 0a5f); write usb://0a5f:PID or usb://auto",
            ),
            (
                "usb://zebra",
                "bad USB printer \"zebra\" in usb://zebra: write usb://auto or usb://0a5f:PID with PID in hex",
            ),
            (
                "usb://0a5f:16",
                "bad USB printer \"0a5f:16\" in usb://0a5f:16: write usb://auto or usb://0a5f:PID with PID in hex",
            ),
            (
                "sim:fast",
                "unexpected text after sim: in sim:fast: write sim: alone",
            ),
        ];
        for (text, message) in cases {
            match PrinterUri::parse(text) {
                Ok(uri) => panic!("{text:?} parsed as {uri:?}"),
                Err(err) => assert_eq!(err.to_string(), message, "{text:?}"),
            }
        }
    }

    #[test]
    fn display_round_trips_and_spells_out_defaults() {
        let texts = [
            "serial:///dev/ttyUSB0",
            "serial:///dev/ttyS0?baud=57600&flow=none&parity=odd&data=7&stop=2",
            "tcp://printer",
            "tcp://[::1]:6101",
            "file:///dev/usb/lp0",
            "usb://auto",
            "usb://0a5f:0166",
            "sim:",
        ];
        for text in texts {
            let uri = PrinterUri::parse(text).expect("valid address");
            let shown = uri.to_string();
            assert_eq!(PrinterUri::parse(&shown), Ok(uri), "{text} -> {shown}");
        }
        assert_eq!(
            PrinterUri::parse("serial:///dev/ttyUSB0")
                .expect("valid address")
                .to_string(),
            "serial:///dev/ttyUSB0?baud=9600&flow=xonxoff&parity=none&data=8&stop=1"
        );
    }

    #[test]
    fn only_file_has_no_status_channel() {
        for (text, expected) in [
            ("file:///dev/usb/lp0", false),
            ("serial:///dev/ttyS0", true),
            ("tcp://p", true),
            ("usb://auto", true),
            ("sim:", true),
        ] {
            let uri: PrinterUri = text.parse().expect("valid address");
            assert_eq!(uri.has_status_channel(), expected, "{text}");
        }
    }
}
