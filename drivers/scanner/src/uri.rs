// SPDX-License-Identifier: GPL-3.0-or-later
//! Scanner addresses as typed in the settings screen, e.g. `serial:///dev/ttyACM0?term=cr`.
//!
//! One string says which backend, which device and how frames end, so it fits one settings field
//! and one config line.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::frame::{DEFAULT_MAX_FRAME, Terminator};

/// Baud rate when the address names none; USB CDC scanners ignore it, RS-232 ones default to it.
pub const DEFAULT_BAUD: u32 = 9600;

/// Which key a keyboard-wedge scanner sends for the GS separator (0x1D), which has no key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GsKey {
    /// Ctrl+] (the ASCII control-key form of 0x1D); the default.
    CtrlBracket,
    /// A function key F1..F12 configured in the scanner as the GS substitute.
    F(u8),
    /// The scanner sends nothing usable for GS: any Ctrl+] is flagged, never guessed.
    None,
}

/// Where a HID POS scanner is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HidTarget {
    /// By USB vendor and product id; resolved to a `/dev/hidraw*` node at open.
    UsbId {
        /// USB vendor id.
        vid: u16,
        /// USB product id.
        pid: u16,
    },
    /// A `/dev/hidraw*` path.
    Path(PathBuf),
}

/// A parsed scanner address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerUri {
    /// USB CDC virtual COM or RS-232: `serial:///dev/ttyACM0?baud=9600&term=cr&max=4096`.
    Serial {
        /// Device path (a `/dev/serial/by-id/...` link survives replugging).
        path: PathBuf,
        /// Line speed.
        baud: u32,
        /// How frames end.
        term: Terminator,
        /// Longest frame kept.
        max: usize,
    },
    /// Keyboard wedge read from an input device: `evdev:///dev/input/by-id/...-event-kbd?gs=f8`.
    Evdev {
        /// Input device path.
        path: PathBuf,
        /// GS substitute key.
        gs: GsKey,
    },
    /// HID point-of-sale scanner: `hidpos://0c2e:0b61` or `hidpos:///dev/hidraw0`.
    HidPos(HidTarget),
    /// Lines typed on standard input (manual tests): `stdin:`.
    Stdin,
    /// In-process simulator: `sim:` or `sim:NAME`.
    Sim {
        /// Label for the simulated scanner (empty when unnamed).
        name: String,
    },
}

/// Why a scanner address was refused. Messages quote the address and say how to write it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// Nothing entered.
    #[error("scanner address is empty: enter one such as serial:///dev/ttyACM0")]
    Empty,
    /// Scheme not known.
    #[error(
        "scanner address `{uri}` has unknown scheme `{scheme}`: use serial://, evdev://, hidpos://, stdin: or sim:"
    )]
    UnknownScheme {
        /// The address.
        uri: String,
        /// The scheme found.
        scheme: String,
    },
    /// No device path, or not an absolute one.
    #[error(
        "scanner address `{uri}` names no absolute device path: write it as {scheme}:///dev/... (three slashes)"
    )]
    BadPath {
        /// The address.
        uri: String,
        /// The scheme.
        scheme: String,
    },
    /// A parameter this scheme does not take.
    #[error("scanner address `{uri}` has unknown parameter `{param}`: {scheme}: takes {allowed}")]
    UnknownParam {
        /// The address.
        uri: String,
        /// The scheme.
        scheme: String,
        /// The parameter found.
        param: String,
        /// The parameters it takes.
        allowed: &'static str,
    },
    /// A parameter given twice.
    #[error("scanner address `{uri}` gives `{param}` twice: keep one")]
    DuplicateParam {
        /// The address.
        uri: String,
        /// The parameter.
        param: String,
    },
    /// A parameter value that does not parse.
    #[error("scanner address `{uri}` has {param}=`{value}`: expected {expected}")]
    BadValue {
        /// The address.
        uri: String,
        /// The parameter.
        param: String,
        /// The value found.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// `hidpos://` with something that is neither a path nor VID:PID.
    #[error(
        "scanner address `{uri}`: `{value}` is not a USB id: write VID:PID as four hex digits each (hidpos://0c2e:0b61) or a path (hidpos:///dev/hidraw0)"
    )]
    BadUsbId {
        /// The address.
        uri: String,
        /// The text found.
        value: String,
    },
    /// Parameters on a scheme that takes none.
    #[error("scanner address `{uri}`: {scheme}: takes no parameters: write it as {form}")]
    NoParams {
        /// The address.
        uri: String,
        /// The scheme.
        scheme: String,
        /// The accepted forms.
        form: &'static str,
    },
}

const SERIAL_PARAMS: &str = "baud, term, max";
const EVDEV_PARAMS: &str = "gs";
const TERM_EXPECTED: &str = "cr, lf, crlf, any or silence:<N>ms";

impl ScannerUri {
    /// Parses an address; see the variants for the forms.
    pub fn parse(input: &str) -> Result<ScannerUri, UriError> {
        let uri = input.trim();
        if uri.is_empty() {
            return Err(UriError::Empty);
        }
        let Some((scheme, rest)) = uri.split_once(':') else {
            return Err(UriError::UnknownScheme {
                uri: uri.to_string(),
                scheme: uri.to_string(),
            });
        };
        let (body, query) = match rest.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (rest, None),
        };
        let params = parse_query(uri, query)?;
        let own = |s: &str| s.to_string();
        match scheme {
            "serial" => {
                let path = device_path(uri, scheme, body)?;
                let mut baud = DEFAULT_BAUD;
                let mut term = Terminator::AnyCrLf;
                let mut max = DEFAULT_MAX_FRAME;
                for (k, v) in params {
                    match k {
                        "baud" => {
                            baud = v.parse().ok().filter(|b| *b > 0).ok_or_else(|| {
                                UriError::BadValue {
                                    uri: own(uri),
                                    param: own(k),
                                    value: own(v),
                                    expected: "a positive whole number such as 9600 or 115200",
                                }
                            })?;
                        }
                        "term" => {
                            term = parse_term(v).ok_or_else(|| UriError::BadValue {
                                uri: own(uri),
                                param: own(k),
                                value: own(v),
                                expected: TERM_EXPECTED,
                            })?;
                        }
                        "max" => {
                            max = v
                                .parse()
                                .ok()
                                .filter(|m| (16..=65536).contains(m))
                                .ok_or_else(|| UriError::BadValue {
                                    uri: own(uri),
                                    param: own(k),
                                    value: own(v),
                                    expected: "a frame cap in bytes from 16 to 65536",
                                })?;
                        }
                        _ => return Err(unknown(uri, scheme, k, SERIAL_PARAMS)),
                    }
                }
                Ok(ScannerUri::Serial {
                    path,
                    baud,
                    term,
                    max,
                })
            }
            "evdev" => {
                let path = device_path(uri, scheme, body)?;
                let mut gs = GsKey::CtrlBracket;
                for (k, v) in params {
                    match k {
                        "gs" => {
                            gs = parse_gs(v).ok_or_else(|| UriError::BadValue {
                                uri: own(uri),
                                param: own(k),
                                value: own(v),
                                expected: "ctrl-bracket, none or a function key f1..f12",
                            })?;
                        }
                        _ => return Err(unknown(uri, scheme, k, EVDEV_PARAMS)),
                    }
                }
                Ok(ScannerUri::Evdev { path, gs })
            }
            "hidpos" => {
                if !params.is_empty() {
                    return Err(UriError::NoParams {
                        uri: own(uri),
                        scheme: own(scheme),
                        form: no_params_form(scheme),
                    });
                }
                let Some(target) = body.strip_prefix("//") else {
                    return Err(UriError::BadUsbId {
                        uri: own(uri),
                        value: own(body),
                    });
                };
                if target.starts_with('/') {
                    return Ok(ScannerUri::HidPos(HidTarget::Path(device_path(
                        uri, scheme, body,
                    )?)));
                }
                parse_usb_id(target)
                    .map(|(vid, pid)| ScannerUri::HidPos(HidTarget::UsbId { vid, pid }))
                    .ok_or_else(|| UriError::BadUsbId {
                        uri: own(uri),
                        value: own(target),
                    })
            }
            "stdin" | "sim" => {
                if query.is_some() {
                    return Err(UriError::NoParams {
                        uri: own(uri),
                        scheme: own(scheme),
                        form: no_params_form(scheme),
                    });
                }
                if scheme == "stdin" {
                    if !body.is_empty() {
                        return Err(UriError::NoParams {
                            uri: own(uri),
                            scheme: own(scheme),
                            form: no_params_form(scheme),
                        });
                    }
                    Ok(ScannerUri::Stdin)
                } else {
                    Ok(ScannerUri::Sim { name: own(body) })
                }
            }
            _ => Err(UriError::UnknownScheme {
                uri: own(uri),
                scheme: own(scheme),
            }),
        }
    }
}

fn no_params_form(scheme: &str) -> &'static str {
    match scheme {
        "hidpos" => "hidpos://VID:PID or hidpos:///dev/hidrawN",
        "stdin" => "stdin:",
        _ => "sim: or sim:NAME",
    }
}

fn unknown(uri: &str, scheme: &str, param: &str, allowed: &'static str) -> UriError {
    UriError::UnknownParam {
        uri: uri.to_string(),
        scheme: scheme.to_string(),
        param: param.to_string(),
        allowed,
    }
}

fn parse_query<'a>(uri: &str, query: Option<&'a str>) -> Result<Vec<(&'a str, &'a str)>, UriError> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if out.iter().any(|(seen, _)| *seen == k) {
            return Err(UriError::DuplicateParam {
                uri: uri.to_string(),
                param: k.to_string(),
            });
        }
        out.push((k, v));
    }
    Ok(out)
}

fn device_path(uri: &str, scheme: &str, body: &str) -> Result<PathBuf, UriError> {
    match body.strip_prefix("//") {
        Some(path) if path.len() > 1 && path.starts_with('/') => Ok(PathBuf::from(path)),
        _ => Err(UriError::BadPath {
            uri: uri.to_string(),
            scheme: scheme.to_string(),
        }),
    }
}

fn parse_term(v: &str) -> Option<Terminator> {
    match v {
        "cr" => Some(Terminator::Cr),
        "lf" => Some(Terminator::Lf),
        "crlf" => Some(Terminator::CrLf),
        "any" => Some(Terminator::AnyCrLf),
        _ => {
            let gap = v.strip_prefix("silence:")?;
            let ms: u64 = if let Some(ms) = gap.strip_suffix("ms") {
                ms.parse().ok()?
            } else {
                gap.strip_suffix('s')?
                    .parse::<u64>()
                    .ok()?
                    .checked_mul(1000)?
            };
            // Below 5 ms a USB poll interval can split a scan; above 10 s nobody waits.
            (5..=10_000)
                .contains(&ms)
                .then(|| Terminator::Silence(Duration::from_millis(ms)))
        }
    }
}

fn parse_gs(v: &str) -> Option<GsKey> {
    match v {
        "ctrl-bracket" => Some(GsKey::CtrlBracket),
        "none" => Some(GsKey::None),
        _ => {
            let n: u8 = v.strip_prefix('f')?.parse().ok()?;
            (1..=12).contains(&n).then_some(GsKey::F(n))
        }
    }
}

fn parse_usb_id(s: &str) -> Option<(u16, u16)> {
    let (v, p) = s.split_once(':')?;
    let hex = |x: &str| {
        (x.len() == 4 && x.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u16::from_str_radix(x, 16).ok())
            .flatten()
    };
    Some((hex(v)?, hex(p)?))
}

fn term_text(t: Terminator) -> String {
    match t {
        Terminator::Cr => "cr".into(),
        Terminator::Lf => "lf".into(),
        Terminator::CrLf => "crlf".into(),
        Terminator::AnyCrLf => "any".into(),
        Terminator::Silence(d) => format!("silence:{}ms", d.as_millis()),
    }
}

impl fmt::Display for ScannerUri {
    /// The canonical address; parsing it gives the same value back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScannerUri::Serial {
                path,
                baud,
                term,
                max,
            } => {
                write!(
                    f,
                    "serial://{}?baud={baud}&term={}",
                    path.display(),
                    term_text(*term)
                )?;
                if *max != DEFAULT_MAX_FRAME {
                    write!(f, "&max={max}")?;
                }
                Ok(())
            }
            ScannerUri::Evdev { path, gs } => {
                let gs = match gs {
                    GsKey::CtrlBracket => "ctrl-bracket".to_string(),
                    GsKey::F(n) => format!("f{n}"),
                    GsKey::None => "none".to_string(),
                };
                write!(f, "evdev://{}?gs={gs}", path.display())
            }
            ScannerUri::HidPos(HidTarget::UsbId { vid, pid }) => {
                write!(f, "hidpos://{vid:04x}:{pid:04x}")
            }
            ScannerUri::HidPos(HidTarget::Path(p)) => write!(f, "hidpos://{}", p.display()),
            ScannerUri::Stdin => write!(f, "stdin:"),
            ScannerUri::Sim { name } => write!(f, "sim:{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    #[test]
    fn valid_addresses() {
        let ms = Duration::from_millis;
        let cases = [
            (
                "serial:///dev/ttyACM0",
                ScannerUri::Serial {
                    path: p("/dev/ttyACM0"),
                    baud: 9600,
                    term: Terminator::AnyCrLf,
                    max: 4096,
                },
            ),
            (
                "serial:///dev/ttyACM0?baud=115200&term=cr",
                ScannerUri::Serial {
                    path: p("/dev/ttyACM0"),
                    baud: 115200,
                    term: Terminator::Cr,
                    max: 4096,
                },
            ),
            (
                " serial:///dev/serial/by-id/usb-Honeywell_1950g-if00?term=crlf&max=512 ",
                ScannerUri::Serial {
                    path: p("/dev/serial/by-id/usb-Honeywell_1950g-if00"),
                    baud: 9600,
                    term: Terminator::CrLf,
                    max: 512,
                },
            ),
            (
                "serial:///dev/ttyUSB0?term=lf",
                ScannerUri::Serial {
                    path: p("/dev/ttyUSB0"),
                    baud: 9600,
                    term: Terminator::Lf,
                    max: 4096,
                },
            ),
            (
                "serial:///dev/ttyACM1?term=silence:50ms",
                ScannerUri::Serial {
                    path: p("/dev/ttyACM1"),
                    baud: 9600,
                    term: Terminator::Silence(ms(50)),
                    max: 4096,
                },
            ),
            (
                "serial:///dev/ttyACM1?term=silence:1s",
                ScannerUri::Serial {
                    path: p("/dev/ttyACM1"),
                    baud: 9600,
                    term: Terminator::Silence(ms(1000)),
                    max: 4096,
                },
            ),
            (
                "evdev:///dev/input/by-id/usb-Scanner-event-kbd",
                ScannerUri::Evdev {
                    path: p("/dev/input/by-id/usb-Scanner-event-kbd"),
                    gs: GsKey::CtrlBracket,
                },
            ),
            (
                "evdev:///dev/input/event3?gs=f8",
                ScannerUri::Evdev {
                    path: p("/dev/input/event3"),
                    gs: GsKey::F(8),
                },
            ),
            (
                "evdev:///dev/input/event3?gs=none",
                ScannerUri::Evdev {
                    path: p("/dev/input/event3"),
                    gs: GsKey::None,
                },
            ),
            (
                "evdev:///dev/input/event3?gs=ctrl-bracket",
                ScannerUri::Evdev {
                    path: p("/dev/input/event3"),
                    gs: GsKey::CtrlBracket,
                },
            ),
            (
                "hidpos://0C2E:0b61",
                ScannerUri::HidPos(HidTarget::UsbId {
                    vid: 0x0c2e,
                    pid: 0x0b61,
                }),
            ),
            (
                "hidpos:///dev/hidraw2",
                ScannerUri::HidPos(HidTarget::Path(p("/dev/hidraw2"))),
            ),
            ("stdin:", ScannerUri::Stdin),
            (
                "sim:",
                ScannerUri::Sim {
                    name: String::new(),
                },
            ),
            (
                "sim:demo",
                ScannerUri::Sim {
                    name: "demo".into(),
                },
            ),
        ];
        for (text, want) in cases {
            let got = ScannerUri::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(got, want, "{text}");
            let again =
                ScannerUri::parse(&got.to_string()).unwrap_or_else(|e| panic!("{got}: {e}"));
            assert_eq!(again, want, "display of {text} parses back");
        }
    }

    #[test]
    fn refused_addresses_say_why() {
        let cases = [
            (
                "",
                "scanner address is empty: enter one such as serial:///dev/ttyACM0",
            ),
            (
                "/dev/ttyACM0",
                "scanner address `/dev/ttyACM0` has unknown scheme `/dev/ttyACM0`: use serial://, evdev://, hidpos://, stdin: or sim:",
            ),
            (
                "usb://0c2e:0b61",
                "scanner address `usb://0c2e:0b61` has unknown scheme `usb`: use serial://, evdev://, hidpos://, stdin: or sim:",
            ),
            (
                "serial://dev/ttyACM0",
                "scanner address `serial://dev/ttyACM0` names no absolute device path: write it as serial:///dev/... (three slashes)",
            ),
            (
                "serial:",
                "scanner address `serial:` names no absolute device path: write it as serial:///dev/... (three slashes)",
            ),
            (
                "serial:///dev/ttyACM0?speed=9600",
                "scanner address `serial:///dev/ttyACM0?speed=9600` has unknown parameter `speed`: serial: takes baud, term, max",
            ),
            (
                "serial:///dev/ttyACM0?baud=0",
                "scanner address `serial:///dev/ttyACM0?baud=0` has baud=`0`: expected a positive whole number such as 9600 or 115200",
            ),
            (
                "serial:///dev/ttyACM0?term=tab",
                "scanner address `serial:///dev/ttyACM0?term=tab` has term=`tab`: expected cr, lf, crlf, any or silence:<N>ms",
            ),
            (
                "serial:///dev/ttyACM0?term=silence:2ms",
                "scanner address `serial:///dev/ttyACM0?term=silence:2ms` has term=`silence:2ms`: expected cr, lf, crlf, any or silence:<N>ms",
            ),
            (
                "serial:///dev/ttyACM0?max=8",
                "scanner address `serial:///dev/ttyACM0?max=8` has max=`8`: expected a frame cap in bytes from 16 to 65536",
            ),
            (
                "serial:///dev/ttyACM0?term=cr&term=lf",
                "scanner address `serial:///dev/ttyACM0?term=cr&term=lf` gives `term` twice: keep one",
            ),
            (
                "evdev:///dev/input/event3?gs=f13",
                "scanner address `evdev:///dev/input/event3?gs=f13` has gs=`f13`: expected ctrl-bracket, none or a function key f1..f12",
            ),
            (
                "evdev:///dev/input/event3?term=cr",
                "scanner address `evdev:///dev/input/event3?term=cr` has unknown parameter `term`: evdev: takes gs",
            ),
            (
                "hidpos://c2e:b61",
                "scanner address `hidpos://c2e:b61`: `c2e:b61` is not a USB id: write VID:PID as four hex digits each (hidpos://0c2e:0b61) or a path (hidpos:///dev/hidraw0)",
            ),
            (
                "hidpos://0c2e:0b61?x=1",
                "scanner address `hidpos://0c2e:0b61?x=1`: hidpos: takes no parameters: write it as hidpos://VID:PID or hidpos:///dev/hidrawN",
            ),
            (
                "stdin:x",
                "scanner address `stdin:x`: stdin: takes no parameters: write it as stdin:",
            ),
            (
                "sim:?a=b",
                "scanner address `sim:?a=b`: sim: takes no parameters: write it as sim: or sim:NAME",
            ),
        ];
        for (text, want) in cases {
            match ScannerUri::parse(text) {
                Ok(u) => panic!("{text} parsed as {u:?}"),
                Err(e) => assert_eq!(e.to_string(), want, "{text}"),
            }
        }
    }
}
