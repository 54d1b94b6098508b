// SPDX-License-Identifier: GPL-3.0-or-later
//! RS-232 through `serialport` (built without libudev, so no system package is needed).

use std::io::{self, Read, Write};
use std::time::Duration;

use serialport::SerialPort;

use super::{Transport, TransportError, classify, open_hint, read_result};
use crate::uri::{DataBits, FlowControl, Parity, PrinterUri, SerialSettings, StopBits};

/// A printer on a serial port.
pub struct SerialTransport {
    port: Box<dyn SerialPort>,
    device: String,
    write_timeout: Duration,
}

impl std::fmt::Debug for SerialTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialTransport")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

impl SerialTransport {
    /// Opens the port exclusively with `settings`, so no other program can interleave bytes
    /// into a label.
    ///
    /// # Errors
    /// [`TransportError::Open`] (missing device, no permission, port busy) or
    /// [`TransportError::SerialSetting`].
    pub fn open(
        settings: &SerialSettings,
        write_timeout: Duration,
    ) -> Result<Self, TransportError> {
        let device = PrinterUri::Serial(settings.clone()).to_string();
        let path = settings.path.to_string_lossy();
        let port = serialport::new(path, settings.baud)
            .data_bits(match settings.data_bits {
                DataBits::Seven => serialport::DataBits::Seven,
                DataBits::Eight => serialport::DataBits::Eight,
            })
            .parity(match settings.parity {
                Parity::None => serialport::Parity::None,
                Parity::Odd => serialport::Parity::Odd,
                Parity::Even => serialport::Parity::Even,
            })
            .stop_bits(match settings.stop_bits {
                StopBits::One => serialport::StopBits::One,
                StopBits::Two => serialport::StopBits::Two,
            })
            .flow_control(match settings.flow {
                FlowControl::XonXoff => serialport::FlowControl::Software,
                FlowControl::RtsCts => serialport::FlowControl::Hardware,
                FlowControl::None => serialport::FlowControl::None,
            })
            .timeout(write_timeout)
            .open()
            .map_err(|err| open_error(&device, err))?;
        Ok(Self {
            port,
            device,
            write_timeout,
        })
    }

    fn set_timeout(&mut self, timeout: Duration) -> Result<(), TransportError> {
        self.port
            .set_timeout(timeout)
            .map_err(|err| TransportError::SerialSetting {
                device: self.device.clone(),
                setting: "timeout",
                detail: err.to_string(),
            })
    }
}

fn open_error(device: &str, err: serialport::Error) -> TransportError {
    match err.kind() {
        serialport::ErrorKind::Io(kind) => {
            let io_err = io::Error::new(kind, err.description);
            TransportError::Open {
                device: device.to_owned(),
                hint: open_hint(&io_err),
                source: io_err,
            }
        }
        serialport::ErrorKind::NoDevice => {
            let io_err = io::Error::new(io::ErrorKind::NotFound, err.description);
            TransportError::Open {
                device: device.to_owned(),
                hint: open_hint(&io_err),
                source: io_err,
            }
        }
        serialport::ErrorKind::InvalidInput | serialport::ErrorKind::Unknown => {
            TransportError::SerialSetting {
                device: device.to_owned(),
                setting: "line settings",
                detail: err.description,
            }
        }
    }
}

impl Transport for SerialTransport {
    fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), TransportError> {
        self.set_timeout(self.write_timeout)?;
        while !bytes.is_empty() {
            match self.port.write(bytes) {
                Ok(0) => {
                    return Err(TransportError::Disconnected {
                        device: self.device.clone(),
                        detail: "port took no bytes".to_owned(),
                    });
                }
                Ok(n) => bytes = &bytes[n..],
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) if err.kind() == io::ErrorKind::TimedOut => {
                    return Err(TransportError::WriteTimeout {
                        device: self.device.clone(),
                        timeout: self.write_timeout,
                    });
                }
                Err(err) => return Err(classify(&self.device, "write", err)),
            }
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        self.set_timeout(timeout)?;
        match self.port.read(buf) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => Ok(0),
            // The port said it was readable, yet gave nothing: the line hung up.
            read => read_result(&self.device, buf.len(), read, "end of stream"),
        }
    }

    fn describe(&self) -> String {
        self.device.clone()
    }

    fn has_status_channel(&self) -> bool {
        true
    }
}
