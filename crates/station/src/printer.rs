// SPDX-License-Identifier: GPL-3.0-or-later
//! The printer side of the line: trouble that needs a person (what happened and what to do, as the
//! screens show it), the link found down and waited for, and a label dropped from the printer (`~JA`)
//! before its code is rejected.

use super::*;
use crate::notice::Notice;

/// A printer problem as (what, what to do), the action starting with a capital as the screens show it.
fn split_remedy(p: &labelstation_printer::status::Problem) -> (String, String) {
    let mut todo = p.action().to_owned();
    if let Some(first) = todo.get(..1) {
        todo.replace_range(..1, &first.to_uppercase());
    }
    (p.what().to_owned(), todo)
}

/// A printer that needs a person: its key and value for screens, and (what, what to do) in English.
#[derive(Debug, Clone)]
pub(crate) struct Trouble {
    pub key: &'static str,
    /// The key's value (an error text), if it takes one.
    pub arg: Option<String>,
    pub what: String,
    pub todo: String,
}

impl Trouble {
    pub(crate) fn of(p: &labelstation_printer::status::Problem) -> Trouble {
        let (what, todo) = split_remedy(p);
        Trouble {
            key: p.key(),
            arg: None,
            what,
            todo,
        }
    }

    pub(crate) fn new(
        key: &'static str,
        arg: Option<String>,
        what: impl Into<String>,
        todo: impl Into<String>,
    ) -> Trouble {
        Trouble {
            key,
            arg,
            what: what.into(),
            todo: todo.into(),
        }
    }

    pub(crate) fn args(&self) -> Vec<String> {
        self.arg.iter().cloned().collect()
    }

    /// The printer link is down (`detail`: why); the line goes on by itself when it is back.
    pub(crate) fn link_down(detail: &str) -> Trouble {
        Trouble::new(
            "link-down",
            Some(detail.to_owned()),
            format!("printer link down: {detail}"),
            "Check the printer is on and its cable or network: the line goes on by itself when it is back",
        )
    }

    /// Whether the printer may have stopped in the middle of the label: every trouble but a pause
    /// (a Zebra finishes the label under the head before it pauses).
    pub(super) fn interrupts(&self) -> bool {
        self.key != "paused"
    }
}

impl Station {
    /// Whether the printer link is there, looked at without sending anything.
    pub(super) fn link_ready(&mut self) -> bool {
        if !matches!(self.printer.link(), LinkState::Up) {
            return false;
        }
        match self.printer.probe() {
            Ok(()) => true,
            Err(e) if e.is_disconnect() => false,
            // Not a lost link: the send says what it is.
            Err(_) => true,
        }
    }

    /// The printer link is down: show it, reopen it with the driver's backoff, and come back when the
    /// printer answers again (true) or the worker stopped or cancelled (false). The pause timeout ends
    /// the run.
    pub(super) fn await_link(&mut self) -> Result<bool, EngineError> {
        let since = Instant::now();
        let limit = Duration::from_secs(self.line.pause_timeout_secs);
        let mut shown: Option<String> = None;
        loop {
            if self.restore_link() {
                self.emit_printer(PrinterState::Ready, None);
                return Ok(true);
            }
            let detail = match self.printer.link() {
                LinkState::Lost { detail, .. } => detail,
                _ => "the printer does not answer".to_owned(),
            };
            if shown.as_deref() != Some(detail.as_str()) {
                let trouble = Trouble::link_down(&detail);
                self.emit_printer(PrinterState::Offline, Some(&trouble));
                self.emit_line(LineState::Paused {
                    reason: trouble.what.clone(),
                    remedy: trouble.todo.clone(),
                    key: trouble.key,
                    args: trouble.args(),
                });
                shown = Some(detail.clone());
            }
            self.poll_commands();
            if self.signals.stop || self.signals.cancel {
                // Nothing is in the printer: cancelling here ends the run.
                self.signals.cancel = false;
                self.signals.stop = true;
                return Ok(false);
            }
            if since.elapsed() >= limit {
                return Err(EngineError::PrinterOffline { reason: detail });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Reopen a lost printer link when its backoff allows, and ask the printer whether it is there.
    /// True when it answers (or the link carries no replies). A cancel that could not reach the printer
    /// goes first.
    pub(crate) fn restore_link(&mut self) -> bool {
        match self.printer.reconnect() {
            Ok(Reconnect::Reopened) => {
                // The printer may have restarted: it forgot the stored format.
                self.stored_for = None;
                tracing::info!("printer link to {} reopened", self.printer_name);
            }
            Ok(_) => {}
            Err(e) => {
                tracing::debug!("printer link still down: {e}");
                return false;
            }
        }
        if !matches!(self.printer.link(), LinkState::Up) {
            return false;
        }
        let answered = match self.printer.host_status() {
            Ok(_) | Err(PrinterError::NoStatusChannel { .. }) => true,
            Err(e) => !e.is_disconnect(),
        };
        if answered && self.pending_cancel && self.printer.send(b"~JA").is_ok() {
            self.pending_cancel = false;
        }
        answered
    }

    /// Tell the printer to drop every label it holds (`~JA`), before the label of `rec` is rejected, and
    /// wait until it has. When the link is down the cancel waits, and goes first when the link is back.
    pub(super) fn clear_printer(&mut self, rec: &CodeRecord) {
        if matches!(self.printer.link(), LinkState::Up) && self.printer.send(b"~JA").is_ok() {
            if !self.cancel_confirmed() {
                let masked = rec.code.masked();
                self.notice(Notice::CancelNotConfirmed { masked });
            }
            return;
        }
        self.pending_cancel = true;
        let masked = rec.code.masked();
        self.notice(Notice::CancelNotDelivered { masked });
    }

    /// Whether the printer has acted on the `~JA` just sent. Bytes handed to the link are not yet at the
    /// printer (a routed or wireless link, a busy printer): a worker who loads the paper meanwhile gets
    /// the dropped label's sticker. A Zebra acts on `~` commands in the order they come, so an answer to
    /// a question sent behind the `~JA` proves it was done: `~HQES` (answered in an error state too), or
    /// `~HS` from firmware without it. A link that carries no replies cannot tell: taken as done, as
    /// everything else on it is.
    fn cancel_confirmed(&mut self) -> bool {
        match self.printer.extended_status() {
            Ok(Some(_)) | Err(PrinterError::NoStatusChannel { .. }) => return true,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!("the printer's cancel (~JA) is not confirmed: {e}");
                return false;
            }
        }
        match self.printer.host_status() {
            Ok(labelstation_printer::status::StatusReply::Host(_)) => true,
            Ok(_) => {
                tracing::warn!("the printer's cancel (~JA) is not confirmed: no answer behind it");
                false
            }
            Err(e) => {
                tracing::warn!("the printer's cancel (~JA) is not confirmed: {e}");
                false
            }
        }
    }

    /// Show printer trouble: the printer offline (link down) or with a problem, and the line paused with
    /// what happened and what to do.
    pub(crate) fn show_trouble(&self, trouble: &Trouble) {
        let state = if trouble.key == "link-down" {
            PrinterState::Offline
        } else {
            PrinterState::Problem
        };
        self.emit_printer(state, Some(trouble));
        self.emit_line(LineState::Paused {
            reason: trouble.what.clone(),
            remedy: trouble.todo.clone(),
            key: trouble.key,
            args: trouble.args(),
        });
    }

    pub(crate) fn emit_printer(&self, state: PrinterState, trouble: Option<&Trouble>) {
        self.emit(Event::Printer {
            printer: PrinterView {
                device: self.printer_name.clone(),
                state,
                detail: trouble.map(|t| t.what.clone()),
                remedy: trouble.map(|t| t.todo.clone()),
                key: trouble.map(|t| t.key),
                args: trouble.map(Trouble::args).unwrap_or_default(),
            },
        });
    }
}
