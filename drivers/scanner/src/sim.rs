// SPDX-License-Identifier: GPL-3.0-or-later
//! In-process simulated scanner for the app's demo and for tests of the app: the caller pushes
//! scans and state changes through a [`SimHandle`].

use std::time::Duration;

use crate::reader::{ChannelScanner, Feed};
use crate::{Scan, Scanner, ScannerError, ScannerEvent, ScannerState};

/// A scanner fed from a [`SimHandle`]. It reports `Connected` at once.
#[derive(Debug)]
pub struct SimScanner(ChannelScanner);

/// Pushes events into a [`SimScanner`]. Cloneable, so the demo's virtual printer and UI can
/// both hold one.
#[derive(Debug, Clone)]
pub struct SimHandle {
    feed: Feed,
    source: String,
}

impl SimScanner {
    /// A simulated scanner labelled `source`, and the handle that feeds it.
    pub fn new(source: impl Into<String>) -> (SimScanner, SimHandle) {
        let source = source.into();
        let (scanner, feed) = ChannelScanner::new(source.clone());
        let handle = SimHandle { feed, source };
        handle.state(ScannerState::Connected);
        (SimScanner(scanner), handle)
    }
}

impl SimHandle {
    /// Delivers `bytes` as one scan; false once the scanner was dropped.
    pub fn scan(&self, bytes: impl Into<Vec<u8>>) -> bool {
        self.event(ScannerEvent::Scan(Scan::new(
            bytes.into(),
            self.source.clone(),
        )))
    }

    /// Reports a state change (to show disconnects in the demo); false once the scanner was dropped.
    pub fn state(&self, state: ScannerState) -> bool {
        self.event(ScannerEvent::State(state))
    }

    /// Delivers any event; false once the scanner was dropped.
    pub fn event(&self, event: ScannerEvent) -> bool {
        self.feed.send(event)
    }
}

impl Scanner for SimScanner {
    fn source(&self) -> &str {
        self.0.source()
    }

    fn state(&self) -> &ScannerState {
        self.0.state()
    }

    fn next_event(&mut self, timeout: Duration) -> Result<Option<ScannerEvent>, ScannerError> {
        self.0.next_event(timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushed_scans_come_out_in_order() {
        let (mut scanner, handle) = SimScanner::new("sim:demo");
        let t = Duration::from_secs(5);
        assert_eq!(
            scanner.next_event(t).unwrap(),
            Some(ScannerEvent::State(ScannerState::Connected))
        );
        assert_eq!(scanner.state(), &ScannerState::Connected);
        assert!(handle.scan(b"]d2010\x1d91".to_vec()));
        assert!(handle.clone().scan("second"));
        match scanner.next_event(t).unwrap() {
            Some(ScannerEvent::Scan(s)) => {
                assert_eq!(s.bytes, b"]d2010\x1d91");
                assert_eq!(s.aim, Some(*b"]d2"));
                assert_eq!(s.source, "sim:demo");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(scanner.next_event(t).unwrap(), Some(ScannerEvent::Scan(s)) if s.bytes == b"second")
        );
        assert_eq!(scanner.next_event(Duration::from_millis(1)).unwrap(), None);
    }

    #[test]
    fn ends_when_every_handle_is_gone() {
        let (mut scanner, handle) = SimScanner::new("sim:");
        drop(handle);
        let t = Duration::from_secs(5);
        assert!(matches!(
            scanner.next_event(t),
            Ok(Some(ScannerEvent::State(_)))
        ));
        let err = scanner.next_event(t).unwrap_err();
        assert_eq!(
            err.to_string(),
            "scanner sim: has stopped: reopen it from the settings screen"
        );
    }

    #[test]
    fn sim_address_opens_with_its_handle() {
        let uri = crate::ScannerUri::parse("sim:demo").unwrap();
        let mut opened = crate::open(&uri).unwrap();
        let handle = opened.sim.take().expect("sim: gives a handle");
        assert_eq!(opened.scanner.source(), "sim:demo");
        handle.scan("x");
        let t = Duration::from_secs(5);
        assert!(matches!(
            opened.scanner.next_event(t).unwrap(),
            Some(ScannerEvent::State(ScannerState::Connected))
        ));
        assert!(
            matches!(opened.scanner.next_event(t).unwrap(), Some(ScannerEvent::Scan(s)) if s.bytes == b"x")
        );
    }

    #[test]
    fn handle_notices_a_dropped_scanner() {
        let (scanner, handle) = SimScanner::new("sim:");
        drop(scanner);
        assert!(!handle.scan("x"));
    }
}
