// SPDX-License-Identifier: GPL-3.0-or-later
//! The supervisor's review moves that print nothing: send a refused verified code's application again,
//! send a printed roll sticker that cannot be found to review, and close a second-sticker alert. The ledger checks and audits each; the
//! engine tells the screens the review queue changed.

use super::events::Event;
use super::pin::Supervisor;
use super::station::{EngineError, Station};
use crate::store::CodeId;
use crate::store::stickers::StickerAlertId;

impl Station {
    /// Supervisor: a verified code the registry refused is VERIFIED again and its application report
    /// queued again (after the cause was fixed). Never prints.
    pub fn send_again(&mut self, sup: &Supervisor, code: CodeId) -> Result<(), EngineError> {
        self.ledger_mut().send_again(code, sup.actor())?;
        self.emit(Event::Review {
            waiting: self.review_len(),
        });
        Ok(())
    }

    /// Supervisor: the printed sticker of a finished batch or no-verify run cannot be found; the code
    /// goes to review (then written off, or confirmed if the sticker turns up on an item).
    pub fn sticker_missing(
        &mut self,
        sup: &Supervisor,
        code: CodeId,
        note: &str,
    ) -> Result<(), EngineError> {
        self.ledger_mut().sticker_missing(code, note, sup.actor())?;
        self.emit(Event::Review {
            waiting: self.review_len(),
        });
        Ok(())
    }

    /// Supervisor: close a second-sticker alert with what was found (the second sticker destroyed, or
    /// only one sticker: the same one scanned again). The ledger audits it.
    pub fn close_sticker_alert(
        &mut self,
        sup: &Supervisor,
        alert: StickerAlertId,
        found: &str,
    ) -> Result<(), EngineError> {
        self.ledger_mut()
            .close_sticker_alert(alert, found, sup.actor())?;
        self.emit(Event::Review {
            waiting: self.review_len(),
        });
        Ok(())
    }
}

/// Consignments: what a supervisor does to one from the touchscreen (the PIN checked by the engine, the
/// ledger audits).
impl Station {
    /// Record (or correct) a consignment's customs declaration.
    pub fn declare_consignment(
        &mut self,
        sup: &Supervisor,
        consignment: &str,
        declaration: &crate::store::consignments::Declaration,
    ) -> Result<(), EngineError> {
        self.ledger_mut()
            .declare_consignment(consignment, declaration, sup.actor())?;
        Ok(())
    }

    /// File the import documents for a consignment's applied pairs (the sync sends and follows them).
    pub fn submit_consignment(
        &mut self,
        sup: &Supervisor,
        consignment: &str,
        api: &str,
        document_size: u32,
    ) -> Result<crate::store::documents::Submitted, EngineError> {
        Ok(self.ledger_mut().submit_consignment(
            consignment,
            api,
            document_size,
            false,
            false,
            sup.actor(),
        )?)
    }
}
