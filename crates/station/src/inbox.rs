// SPDX-License-Identifier: GPL-3.0-or-later
//! The command inbox: commands from the screens taken while a run waits. Those for the run set its
//! signals (stop, cancel the label, unreadable sticker); supervisor commands are taken at once; the rest
//! wait for the engine loop.

use super::*;

impl Station {
    /// Take commands from the screen; those for the run set signals, the rest wait for the engine loop.
    pub(crate) fn poll_commands(&mut self) {
        let Some(rx) = &self.commands else { return };
        loop {
            match rx.try_recv() {
                Ok(Command::Stop) => self.signals.stop = true,
                Ok(Command::Shutdown) => {
                    self.signals.stop = true;
                    self.deferred.push_back(Command::Shutdown);
                }
                Ok(Command::CancelLabel) => self.signals.cancel = true,
                Ok(Command::Unreadable) => self.signals.unreadable = true,
                Ok(Command::CloseBox) => self.signals.close_box = true,
                Ok(other) => self.deferred.push_back(other),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.signals.stop = true;
                    break;
                }
            }
        }
        // Sign-in, sign-out, unlock and write-off are taken at once, even mid-run: a stopped line needs them.
        let mut keep = VecDeque::new();
        while let Some(c) = self.deferred.pop_front() {
            if let Some(other) = self.session_command(c) {
                keep.push_back(other);
            }
        }
        self.deferred = keep;
    }
}
