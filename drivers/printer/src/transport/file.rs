// SPDX-License-Identifier: GPL-3.0-or-later
//! Bytes appended to a file or device node: how `/dev/usb/lp0` (the kernel's usblp driver) is
//! driven without libusb, and how print jobs are saved to a file to inspect or send on.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use super::{Transport, TransportError, classify, open_hint};
use crate::uri::PrinterUri;

/// Mode of a file this transport creates: print jobs hold complete marking codes, crypto tails
/// included, so only the station's user may read them (like the ledger).
const CREATED_FILE_MODE: u32 = 0o600;

/// A write-only link: the exact bytes are appended, nothing comes back.
#[derive(Debug)]
pub struct FileTransport {
    file: File,
    device: String,
}

impl FileTransport {
    /// Opens `path` for appending.
    ///
    /// A missing path under `/dev` is refused: creating it would turn an unplugged `/dev/usb/lp0`
    /// into a plain file that silently swallows labels. Any other missing path is created with
    /// mode 0600 (the station's user only); an existing file keeps its mode and gets the jobs
    /// appended.
    ///
    /// # Errors
    /// [`TransportError::Open`] naming the path and the reason.
    pub fn open(path: &Path) -> Result<Self, TransportError> {
        let device = PrinterUri::File {
            path: path.to_owned(),
        }
        .to_string();
        let fail = |source: io::Error| TransportError::Open {
            device: device.clone(),
            hint: hint(path, &source),
            source,
        };
        let file = match OpenOptions::new().append(true).open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound && !is_device_path(path) => {
                // O_EXCL: never follows a dangling link to create its target somewhere else.
                match OpenOptions::new()
                    .append(true)
                    .create_new(true)
                    .mode(CREATED_FILE_MODE)
                    .open(path)
                {
                    Ok(file) => file,
                    // Created by someone else meanwhile, or a dangling link: open what is there.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        OpenOptions::new().append(true).open(path).map_err(fail)?
                    }
                    Err(e) => return Err(fail(e)),
                }
            }
            Err(e) => return Err(fail(e)),
        };
        Ok(Self { file, device })
    }
}

/// Whether `path` names a device node's place (under /dev): such a path is never created, and a
/// `file://` printer there is a printer, not a file of labels.
pub fn is_device_path(path: &Path) -> bool {
    path.starts_with("/dev")
}

/// What to check when opening `path` failed.
fn hint(path: &Path, err: &io::Error) -> &'static str {
    if is_device_path(path) {
        return open_hint(err);
    }
    match err.kind() {
        io::ErrorKind::NotFound => {
            "its directory does not exist, or it is a link to nothing: create the directory, or \
             choose another path"
        }
        io::ErrorKind::PermissionDenied => {
            "no permission to write there: choose a path the station's user may write"
        }
        _ => "check the path is a file the station's user may write",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_under_dev_are_device_paths() {
        for (path, device) in [
            ("/dev/usb/lp0", true),
            ("/dev/zebra-ABC123", true),
            ("/dev", true),
            ("/devices/lp0", false),
            ("/tmp/dev/lp0", false),
            ("/home/op/out.zpl", false),
        ] {
            assert_eq!(is_device_path(Path::new(path)), device, "{path}");
        }
    }

    #[test]
    fn hints_tell_files_from_devices() {
        let missing = io::Error::from(io::ErrorKind::NotFound);
        assert!(hint(Path::new("/dev/usb/lp0"), &missing).contains("plug the printer in"));
        assert!(hint(Path::new("/srv/jobs/out.zpl"), &missing).contains("create the directory"));
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        assert!(hint(Path::new("/srv/out.zpl"), &denied).contains("may write"));
    }
}
