// SPDX-License-Identifier: GPL-3.0-or-later
//! The supervisor session at the station: sign-in with the PIN (locked out for a while after too many
//! wrong PINs, each refusal audited), the session that ends after [`SESSION_IDLE`] without an action,
//! sign-out, and the commands only a signed-in supervisor may give (unlock the line, write a code off).

use super::*;
use crate::notice::Notice;

/// A supervisor session ends after this long without an action.
pub const SESSION_IDLE: Duration = Duration::from_secs(300);
const MAX_WRONG_PINS: u32 = 5;
const PIN_LOCKOUT: Duration = Duration::from_secs(60);

impl Station {
    /// Supervisor: clear the failure count so the line runs again. Audited.
    pub fn unlock(&mut self, sup: &Supervisor) -> Result<(), EngineError> {
        let detail = serde_json::json!({ "failures": self.failures, "last": self.last_failure });
        let station = self.ledger.station().to_owned();
        self.ledger
            .audit_note(sup.actor(), "line.unlock", &station, &detail)?;
        self.failures = 0;
        self.last_failure.clear();
        self.emit_line(LineState::Idle);
        Ok(())
    }

    /// The supervisor signed in now, if any (sessions end after [`SESSION_IDLE`] without an action).
    pub fn supervisor(&mut self) -> Option<Supervisor> {
        match &self.session {
            Some((s, at)) if at.elapsed() < SESSION_IDLE => {
                let s = s.clone();
                self.session = Some((s.clone(), Instant::now()));
                Some(s)
            }
            Some(_) => {
                self.end_session();
                None
            }
            None => None,
        }
    }

    /// The supervisor's session ends (signed out, or idle too long).
    fn end_session(&mut self) {
        self.session = None;
        self.emit(Event::Supervisor {
            active: false,
            name: None,
        });
    }

    /// Handle a supervisor command; others are handed back.
    pub(crate) fn session_command(&mut self, c: Command) -> Option<Command> {
        match c {
            Command::SupervisorLogin { name, pin } => {
                self.login(&name, &pin);
                None
            }
            Command::SupervisorLogout => {
                self.end_session();
                None
            }
            Command::Unlock => {
                match self.supervisor() {
                    Some(s) => self.signals.unlock = Some(s),
                    None => self.notice(Notice::UnlockNeedsPin),
                }
                None
            }
            Command::WriteOff { code, reason } => {
                match self.supervisor() {
                    Some(s) => {
                        if let Err(e) = self.write_off(&s, code, &reason) {
                            self.notice(Notice::WriteOffFailed {
                                error: e.to_string(),
                            });
                        }
                    }
                    None => self.notice(Notice::WriteOffNeedsPin),
                }
                None
            }
            other => Some(other),
        }
    }

    pub(super) fn login(&mut self, name: &str, pin: &str) {
        let Some(store) = &self.pins else {
            self.notice(Notice::SignInUnavailable);
            return;
        };
        if let Some(until) = self.pin_locked_until
            && Instant::now() < until
        {
            let secs = until.saturating_duration_since(Instant::now()).as_secs() + 1;
            self.notice(Notice::PinLocked { secs });
            return;
        }
        let name = if name.trim().is_empty() {
            "supervisor"
        } else {
            name.trim()
        };
        match store.check(pin, name) {
            Ok(sup) => {
                self.wrong_pins = 0;
                let station = self.ledger.station().to_owned();
                let _ = self.ledger.audit_note(
                    sup.actor(),
                    "supervisor.login",
                    &station,
                    &serde_json::json!({}),
                );
                self.emit(Event::Supervisor {
                    active: true,
                    name: Some(name.to_owned()),
                });
                self.session = Some((sup, Instant::now()));
            }
            Err(e) => {
                if matches!(e, crate::pin::PinError::Wrong) {
                    self.wrong_pins += 1;
                    if self.wrong_pins >= MAX_WRONG_PINS {
                        self.wrong_pins = 0;
                        self.pin_locked_until = Some(Instant::now() + PIN_LOCKOUT);
                    }
                    let station = self.ledger.station().to_owned();
                    let _ = self.ledger.audit_note(
                        &self.actor,
                        "supervisor.pin_refused",
                        &station,
                        &serde_json::json!({ "name": name }),
                    );
                }
                self.notice(e.notice());
            }
        }
    }
}
