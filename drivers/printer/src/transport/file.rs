// SPDX-License-Identifier: GPL-3.0-or-later
//! Bytes appended to a file or device node: how `/dev/usb/lp0` (the kernel's usblp driver) is
//! driven without libusb, and how a print run is captured to disk.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use super::{Transport, TransportError, classify, open_hint};
use crate::uri::PrinterUri;

/// A write-only link: the exact bytes are appended, nothing comes back.
#[derive(Debug)]
pub struct FileTransport {
    file: File,
    device: String,
}

impl FileTransport {
    /// Opens `path` for appending. The file must exist: creating it would turn an unplugged
    /// `/dev/usb/lp0` into a plain file that silently swallows labels.
    ///
    /// # Errors
    /// [`TransportError::Open`] naming the path and the reason.
    pub fn open(path: &Path) -> Result<Self, TransportError> {
        let device = PrinterUri::File {
            path: path.to_owned(),
        }
        .to_string();
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|source| TransportError::Open {
                device: device.clone(),
                hint: open_hint(&source),
                source,
            })?;
        Ok(Self { file, device })
    }
}

impl Transport for FileTransport {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        self.file
            .write_all(bytes)
            .and_then(|()| self.file.flush())
            .map_err(|err| classify(&self.device, "write", err))
    }

    fn read(&mut self, _buf: &mut [u8], _timeout: Duration) -> Result<usize, TransportError> {
        Err(TransportError::NoStatusChannel {
            device: self.device.clone(),
        })
    }

    fn describe(&self) -> String {
        self.device.clone()
    }

    fn has_status_channel(&self) -> bool {
        false
    }
}
