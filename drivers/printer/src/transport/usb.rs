// SPDX-License-Identifier: GPL-3.0-or-later
//! Zebra printers on USB through libusb (`rusb`, behind the `usb` feature).
//!
//! Choosing the device and endpoints works on plain descriptor data ([`UsbDeviceInfo`]) behind
//! the [`UsbBus`] trait, so it is tested without a bus; only [`RusbBus`] and the transport
//! touch libusb. We never call rusb's global helpers (`rusb::devices()`, `has_capability()`):
//! they panic on a machine without usbfs, so a context is created and its error handled.

use super::{Transport, TransportConfig, TransportError};
use crate::uri::{PrinterUri, UsbSelector, ZEBRA_VENDOR_ID};

/// USB interface class of printers.
pub const PRINTER_CLASS: u8 = 7;

/// One endpoint of an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsbEndpointInfo {
    /// Endpoint address, direction bit included.
    pub address: u8,
    /// Device-to-host.
    pub is_in: bool,
    /// Bulk transfer type.
    pub is_bulk: bool,
}

/// One alternate setting of an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsbInterfaceInfo {
    /// Interface number.
    pub number: u8,
    /// Alternate setting.
    pub alt_setting: u8,
    /// Interface class.
    pub class: u8,
    /// Interface protocol (printer class: 1 unidirectional, 2 bidirectional, 3 IEEE 1284.4).
    pub protocol: u8,
    /// Its endpoints.
    pub endpoints: Vec<UsbEndpointInfo>,
}

/// What the station needs to know about one USB device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsbDeviceInfo {
    /// Bus number.
    pub bus: u8,
    /// Address on the bus.
    pub address: u8,
    /// Vendor ID.
    pub vendor_id: u16,
    /// Product ID.
    pub product_id: u16,
    /// Product name, when the device could be asked.
    pub product: Option<String>,
    /// Interfaces of the active configuration.
    pub interfaces: Vec<UsbInterfaceInfo>,
}

/// The interface and endpoints to drive a chosen printer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsbPrinterChoice {
    /// Bus number.
    pub bus: u8,
    /// Address on the bus.
    pub address: u8,
    /// Product ID, for the printer's address.
    pub product_id: u16,
    /// Interface to claim.
    pub interface: u8,
    /// Alternate setting to select.
    pub alt_setting: u8,
    /// Bulk OUT endpoint for ZPL.
    pub bulk_out: u8,
    /// Bulk IN endpoint for status replies, when the printer has one.
    pub bulk_in: Option<u8>,
}

impl UsbPrinterChoice {
    /// The address that names exactly this printer.
    #[must_use]
    pub fn uri(&self) -> PrinterUri {
        PrinterUri::Usb(UsbSelector::Product(self.product_id))
    }
}

/// A source of USB descriptor data: libusb in the product, plain lists in tests.
pub trait UsbBus {
    /// Every device on every bus.
    ///
    /// # Errors
    /// [`TransportError::UsbUnavailable`] when there is no bus to ask.
    fn devices(&self) -> Result<Vec<UsbDeviceInfo>, TransportError>;
}

/// The printer interface of `device`, if it is a Zebra printer: printer class with a bulk OUT
/// endpoint, preferring a bidirectional setting (status comes back only there).
#[must_use]
pub fn printer_interface(device: &UsbDeviceInfo) -> Option<UsbPrinterChoice> {
    if device.vendor_id != ZEBRA_VENDOR_ID {
        return None;
    }
    let bulk = |iface: &UsbInterfaceInfo, is_in: bool| {
        iface
            .endpoints
            .iter()
            .find(|ep| ep.is_bulk && ep.is_in == is_in)
            .map(|ep| ep.address)
    };
    device
        .interfaces
        .iter()
        .filter(|iface| iface.class == PRINTER_CLASS)
        .filter_map(|iface| {
            let bulk_out = bulk(iface, false)?;
            Some(UsbPrinterChoice {
                bus: device.bus,
                address: device.address,
                product_id: device.product_id,
                interface: iface.number,
                alt_setting: iface.alt_setting,
                bulk_out,
                bulk_in: bulk(iface, true),
            })
        })
        .max_by_key(|choice| {
            (
                choice.bulk_in.is_some(),
                std::cmp::Reverse(choice.alt_setting),
            )
        })
}

/// Picks the printer `selector` names among `devices`.
///
/// # Errors
/// [`TransportError::UsbNotFound`] when none matches, [`TransportError::UsbAmbiguous`] when
/// `usb://auto` matches several.
pub fn choose_printer(
    devices: &[UsbDeviceInfo],
    selector: UsbSelector,
) -> Result<UsbPrinterChoice, TransportError> {
    let device = PrinterUri::Usb(selector).to_string();
    let matching: Vec<UsbPrinterChoice> = devices
        .iter()
        .filter_map(printer_interface)
        .filter(|choice| match selector {
            UsbSelector::Auto => true,
            UsbSelector::Product(pid) => choice.product_id == pid,
        })
        .collect();
    match matching[..] {
        [choice] => Ok(choice),
        [] => Err(TransportError::UsbNotFound {
            device,
            seen: devices.len(),
        }),
        _ => Err(TransportError::UsbAmbiguous {
            device,
            candidates: matching
                .iter()
                .map(|c| format!("{} on bus {} address {}", c.uri(), c.bus, c.address))
                .collect(),
        }),
    }
}

/// Zebra printers on the bus, for the settings screen; empty when there is no bus.
#[must_use]
pub fn list_printers(bus: &dyn UsbBus) -> Vec<(UsbPrinterChoice, Option<String>)> {
    bus.devices()
        .unwrap_or_default()
        .iter()
        .filter_map(|device| printer_interface(device).map(|c| (c, device.product.clone())))
        .collect()
}

/// Opens the printer `selector` names.
///
/// # Errors
/// [`TransportError`]: no bus, no such printer, or libusb refused access.
#[cfg(feature = "usb")]
pub fn open(
    selector: UsbSelector,
    config: &TransportConfig,
) -> Result<Box<dyn Transport>, TransportError> {
    let bus = RusbBus::new(&PrinterUri::Usb(selector).to_string())?;
    let choice = choose_printer(&bus.devices()?, selector)?;
    Ok(Box::new(UsbTransport::open(&bus, choice, config)?))
}

/// Without the `usb` feature, says how to get USB support.
///
/// # Errors
/// Always [`TransportError::UsbSupportMissing`].
#[cfg(not(feature = "usb"))]
pub fn open(
    selector: UsbSelector,
    _config: &TransportConfig,
) -> Result<Box<dyn Transport>, TransportError> {
    Err(TransportError::UsbSupportMissing {
        device: PrinterUri::Usb(selector).to_string(),
    })
}

#[cfg(feature = "usb")]
pub use with_rusb::{RusbBus, UsbTransport};

#[cfg(feature = "usb")]
mod with_rusb {
    use std::time::Duration;

    use rusb::UsbContext;

    use super::{
        Transport, TransportConfig, TransportError, UsbBus, UsbDeviceInfo, UsbEndpointInfo,
        UsbInterfaceInfo, UsbPrinterChoice,
    };

    /// How long to wait for a product name when listing devices.
    const DESCRIPTOR_TIMEOUT: Duration = Duration::from_millis(200);

    /// The USB buses, through a libusb context of our own.
    pub struct RusbBus {
        context: rusb::Context,
        device: String,
    }

    impl std::fmt::Debug for RusbBus {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("RusbBus")
                .field("device", &self.device)
                .finish()
        }
    }

    impl RusbBus {
        /// A libusb context; `device` names the printer address in errors.
        ///
        /// # Errors
        /// [`TransportError::UsbUnavailable`] when libusb finds no USB bus (no usbfs).
        pub fn new(device: &str) -> Result<Self, TransportError> {
            let context = rusb::Context::new().map_err(|err| TransportError::UsbUnavailable {
                device: device.to_owned(),
                detail: format!("libusb: {err}"),
            })?;
            Ok(Self {
                context,
                device: device.to_owned(),
            })
        }

        fn usb_error(&self, operation: &'static str, err: rusb::Error) -> TransportError {
            usb_error(&self.device, operation, err)
        }
    }

    fn usb_error(device: &str, operation: &'static str, err: rusb::Error) -> TransportError {
        let hint = match err {
            rusb::Error::NoDevice | rusb::Error::Io | rusb::Error::Pipe => {
                return TransportError::Disconnected {
                    device: device.to_owned(),
                    detail: format!("USB {operation}: {err}"),
                };
            }
            rusb::Error::Access => {
                "no permission: add a udev rule giving the station's user access to Zebra \
                 devices (vendor 0a5f)"
            }
            rusb::Error::Busy => {
                "another driver or program holds the printer: close it, or use \
                 file:///dev/usb/lp0 instead"
            }
            _ => "unplug and replug the printer, then reconnect",
        };
        TransportError::Usb {
            device: device.to_owned(),
            operation,
            detail: err.to_string(),
            hint,
        }
    }

    impl UsbBus for RusbBus {
        fn devices(&self) -> Result<Vec<UsbDeviceInfo>, TransportError> {
            let list = self
                .context
                .devices()
                .map_err(|err| self.usb_error("device list", err))?;
            let mut out = Vec::new();
            for device in list.iter() {
                // A device that vanishes or refuses its descriptors is skipped, not fatal:
                // the printer we want may still be there.
                let Ok(desc) = device.device_descriptor() else {
                    continue;
                };
                let interfaces = device
                    .active_config_descriptor()
                    .map(|config| {
                        config
                            .interfaces()
                            .flat_map(|iface| {
                                iface
                                    .descriptors()
                                    .map(|d| UsbInterfaceInfo {
                                        number: d.interface_number(),
                                        alt_setting: d.setting_number(),
                                        class: d.class_code(),
                                        protocol: d.protocol_code(),
                                        endpoints: d
                                            .endpoint_descriptors()
                                            .map(|ep| UsbEndpointInfo {
                                                address: ep.address(),
                                                is_in: ep.direction() == rusb::Direction::In,
                                                is_bulk: ep.transfer_type()
                                                    == rusb::TransferType::Bulk,
                                            })
                                            .collect(),
                                    })
                                    .collect::<Vec<_>>()
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let product = (desc.vendor_id() == crate::uri::ZEBRA_VENDOR_ID)
                    .then(|| device.open().ok())
                    .flatten()
                    .and_then(|handle| {
                        let lang = handle.read_languages(DESCRIPTOR_TIMEOUT).ok()?;
                        handle
                            .read_product_string(*lang.first()?, &desc, DESCRIPTOR_TIMEOUT)
                            .ok()
                    });
                out.push(UsbDeviceInfo {
                    bus: device.bus_number(),
                    address: device.address(),
                    vendor_id: desc.vendor_id(),
                    product_id: desc.product_id(),
                    product,
                    interfaces,
                });
            }
            Ok(out)
        }
    }

    /// Size of one bulk IN read: a multiple of every USB packet size, so libusb never
    /// reports an overflow.
    const IN_CHUNK: usize = 512;

    /// A claimed printer interface.
    pub struct UsbTransport {
        handle: rusb::DeviceHandle<rusb::Context>,
        choice: UsbPrinterChoice,
        device: String,
        write_timeout: Duration,
        pending: Vec<u8>,
    }

    impl std::fmt::Debug for UsbTransport {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("UsbTransport")
                .field("device", &self.device)
                .field("choice", &self.choice)
                .finish_non_exhaustive()
        }
    }

    impl UsbTransport {
        /// Opens and claims the chosen interface, detaching the kernel's usblp driver (it
        /// would otherwise own the printer).
        ///
        /// # Errors
        /// [`TransportError`] when the printer vanished or access is refused.
        pub fn open(
            bus: &RusbBus,
            choice: UsbPrinterChoice,
            config: &TransportConfig,
        ) -> Result<Self, TransportError> {
            let device = choice.uri().to_string();
            let err = |op, e| usb_error(&device, op, e);
            let list = bus.context.devices().map_err(|e| err("device list", e))?;
            let found = list
                .iter()
                .find(|d| d.bus_number() == choice.bus && d.address() == choice.address)
                .ok_or(TransportError::UsbNotFound {
                    device: device.clone(),
                    seen: list.len(),
                })?;
            let handle = found.open().map_err(|e| err("open", e))?;
            match handle.set_auto_detach_kernel_driver(true) {
                Ok(()) | Err(rusb::Error::NotSupported) => {}
                Err(e) => return Err(err("detach kernel driver", e)),
            }
            handle
                .claim_interface(choice.interface)
                .map_err(|e| err("claim interface", e))?;
            if choice.alt_setting != 0 {
                handle
                    .set_alternate_setting(choice.interface, choice.alt_setting)
                    .map_err(|e| err("select alternate setting", e))?;
            }
            Ok(Self {
                handle,
                choice,
                device,
                write_timeout: config.write_timeout,
                pending: Vec::new(),
            })
        }
    }

    impl Transport for UsbTransport {
        fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), TransportError> {
            while !bytes.is_empty() {
                match self
                    .handle
                    .write_bulk(self.choice.bulk_out, bytes, self.write_timeout)
                {
                    Ok(n) => bytes = &bytes[n..],
                    Err(rusb::Error::Timeout) => {
                        return Err(TransportError::WriteTimeout {
                            device: self.device.clone(),
                            timeout: self.write_timeout,
                        });
                    }
                    Err(e) => return Err(usb_error(&self.device, "bulk write", e)),
                }
            }
            Ok(())
        }

        fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
            let Some(endpoint) = self.choice.bulk_in else {
                return Err(TransportError::NoStatusChannel {
                    device: self.device.clone(),
                });
            };
            if self.pending.is_empty() {
                let mut chunk = [0_u8; IN_CHUNK];
                // libusb treats 0 as "wait forever".
                let timeout = timeout.max(Duration::from_millis(1));
                match self.handle.read_bulk(endpoint, &mut chunk, timeout) {
                    Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
                    Err(rusb::Error::Timeout) => return Ok(0),
                    Err(e) => return Err(usb_error(&self.device, "bulk read", e)),
                }
            }
            let n = buf.len().min(self.pending.len());
            buf[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            Ok(n)
        }

        fn describe(&self) -> String {
            self.device.clone()
        }

        fn has_status_channel(&self) -> bool {
            self.choice.bulk_in.is_some()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(address: u8) -> UsbEndpointInfo {
        UsbEndpointInfo {
            address,
            is_in: address & 0x80 != 0,
            is_bulk: true,
        }
    }

    fn printer(address: u8, product_id: u16, protocols: &[(u8, &[u8])]) -> UsbDeviceInfo {
        UsbDeviceInfo {
            bus: 1,
            address,
            vendor_id: ZEBRA_VENDOR_ID,
            product_id,
            product: Some("ZD421".into()),
            interfaces: protocols
                .iter()
                .enumerate()
                .map(|(alt, &(protocol, eps))| UsbInterfaceInfo {
                    number: 0,
                    alt_setting: alt as u8,
                    class: PRINTER_CLASS,
                    protocol,
                    endpoints: eps.iter().copied().map(endpoint).collect(),
                })
                .collect(),
        }
    }

    struct FixedBus(Result<Vec<UsbDeviceInfo>, ()>);

    impl UsbBus for FixedBus {
        fn devices(&self) -> Result<Vec<UsbDeviceInfo>, TransportError> {
            self.0.clone().map_err(|()| TransportError::UsbUnavailable {
                device: "usb://auto".into(),
                detail: "libusb: Other error".into(),
            })
        }
    }

    #[test]
    fn prefers_the_bidirectional_setting() {
        let dev = printer(4, 0x0166, &[(1, &[0x01]), (2, &[0x01, 0x82])]);
        let choice = printer_interface(&dev).expect("a printer interface");
        assert_eq!(choice.alt_setting, 1);
        assert_eq!(choice.bulk_out, 0x01);
        assert_eq!(choice.bulk_in, Some(0x82));
        assert_eq!(choice.uri().to_string(), "usb://0a5f:0166");
    }

    #[test]
    fn unidirectional_printer_has_no_status_endpoint() {
        let dev = printer(4, 0x0166, &[(1, &[0x01])]);
        assert_eq!(printer_interface(&dev).and_then(|c| c.bulk_in), None);
    }

    #[test]
    fn rejects_other_vendors_classes_and_missing_bulk_out() {
        let mut other_vendor = printer(2, 0x0166, &[(2, &[0x01, 0x82])]);
        other_vendor.vendor_id = 0x04b8;
        assert_eq!(printer_interface(&other_vendor), None);

        let mut hid = printer(3, 0x0166, &[(2, &[0x01, 0x82])]);
        hid.interfaces[0].class = 3;
        assert_eq!(printer_interface(&hid), None);

        let in_only = printer(5, 0x0166, &[(2, &[0x82])]);
        assert_eq!(printer_interface(&in_only), None);

        let mut interrupt_out = printer(6, 0x0166, &[(2, &[0x01])]);
        interrupt_out.interfaces[0].endpoints[0].is_bulk = false;
        assert_eq!(printer_interface(&interrupt_out), None);
    }

    #[test]
    fn selector_picks_by_product_and_auto_needs_exactly_one() {
        let a = printer(4, 0x0166, &[(2, &[0x01, 0x81])]);
        let b = printer(7, 0x00d1, &[(2, &[0x02, 0x83])]);
        let both = vec![a.clone(), b];
        let picked = choose_printer(&both, UsbSelector::Product(0x00d1)).expect("found");
        assert_eq!((picked.address, picked.bulk_out), (7, 0x02));
        let err = choose_printer(&both, UsbSelector::Auto).expect_err("ambiguous");
        assert_eq!(
            err.to_string(),
            "usb://auto matches 2 Zebra printers (usb://0a5f:0166 on bus 1 address 4, \
             usb://0a5f:00d1 on bus 1 address 7): name one as usb://0a5f:PID"
        );
        assert_eq!(
            choose_printer(&[a], UsbSelector::Auto)
                .map(|c| c.address)
                .ok(),
            Some(4)
        );
        let err = choose_printer(&both, UsbSelector::Product(0x0001)).expect_err("absent");
        assert_eq!(
            err.to_string(),
            "no Zebra printer for usb://0a5f:0001 among 2 USB devices: plug the printer in, \
             switch it on, and check the product ID in the address"
        );
    }

    #[test]
    fn listing_is_empty_without_a_bus() {
        assert!(list_printers(&FixedBus(Err(()))).is_empty());
        let found = list_printers(&FixedBus(Ok(vec![printer(4, 0x0166, &[(2, &[0x01])])])));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1.as_deref(), Some("ZD421"));
    }

    /// This machine kind has no USB bus: opening must fail with a message, never panic.
    #[test]
    fn opening_without_a_usb_bus_explains_itself() {
        let no_bus = !std::path::Path::new("/dev/bus/usb").exists();
        match open(UsbSelector::Auto, &TransportConfig::default()) {
            Ok(t) => panic!("opened {} with no printer attached", t.describe()),
            Err(err) => {
                let msg = err.to_string();
                assert!(msg.contains("usb://auto"), "{msg}");
                if cfg!(feature = "usb") && no_bus {
                    assert!(
                        matches!(
                            err,
                            TransportError::UsbUnavailable { .. }
                                | TransportError::UsbNotFound { seen: 0, .. }
                        ),
                        "{msg}"
                    );
                }
                if !cfg!(feature = "usb") {
                    assert!(matches!(err, TransportError::UsbSupportMissing { .. }));
                }
            }
        }
    }
}
