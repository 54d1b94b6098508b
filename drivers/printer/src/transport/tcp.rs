// SPDX-License-Identifier: GPL-3.0-or-later
//! Raw ZPL over TCP (port 9100), with std sockets.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::{Transport, TransportConfig, TransportError, classify, read_result};
use crate::uri::PrinterUri;

/// A printer on a raw TCP socket.
#[derive(Debug)]
pub struct TcpTransport {
    stream: TcpStream,
    device: String,
    write_timeout: Duration,
}

impl TcpTransport {
    /// Connects to `host:port`, trying each resolved address within the connect timeout.
    ///
    /// `TCP_NODELAY` is set because status queries are a few bytes each and must not wait for
    /// Nagle's algorithm.
    ///
    /// # Errors
    /// [`TransportError::Connect`] naming the address and the last reason.
    pub fn connect(
        host: &str,
        port: u16,
        config: &TransportConfig,
    ) -> Result<Self, TransportError> {
        let device = PrinterUri::Tcp {
            host: host.to_owned(),
            port,
        }
        .to_string();
        let connect_error = |source: io::Error| {
            let hint = match source.kind() {
                io::ErrorKind::ConnectionRefused => {
                    "nothing listens on that port: check the port (usually 9100) and that the \
                     printer's network interface is on"
                }
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                    "no answer: check the printer is on and its IP address, and that no other \
                     program holds its raw port"
                }
                _ => "check the printer's IP address, the network cable and the switch",
            };
            TransportError::Connect {
                device: device.clone(),
                source,
                hint,
            }
        };
        let addrs = (host, port).to_socket_addrs().map_err(connect_error)?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "host name resolved to no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, config.connect_timeout) {
                Ok(stream) => {
                    let setup = stream
                        .set_nodelay(true)
                        .and_then(|()| stream.set_write_timeout(Some(config.write_timeout)));
                    setup.map_err(connect_error)?;
                    return Ok(Self {
                        stream,
                        device,
                        write_timeout: config.write_timeout,
                    });
                }
                Err(err) => last = err,
            }
        }
        Err(connect_error(last))
    }
}

impl Transport for TcpTransport {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        self.stream
            .write_all(bytes)
            .map_err(|err| match err.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                    TransportError::WriteTimeout {
                        device: self.device.clone(),
                        timeout: self.write_timeout,
                    }
                }
                io::ErrorKind::WriteZero => TransportError::Disconnected {
                    device: self.device.clone(),
                    detail: err.to_string(),
                },
                _ => classify(&self.device, "write", err),
            })
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        // A zero timeout means "block forever" to std, the opposite of what a drain wants.
        let timeout = timeout.max(Duration::from_millis(1));
        self.stream
            .set_read_timeout(Some(timeout))
            .map_err(|err| classify(&self.device, "read", err))?;
        loop {
            match self.stream.read(buf) {
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                read => {
                    let closed = "the printer closed the connection";
                    return read_result(&self.device, buf.len(), read, closed);
                }
            }
        }
    }

    fn describe(&self) -> String {
        self.device.clone()
    }

    fn has_status_channel(&self) -> bool {
        true
    }
}
