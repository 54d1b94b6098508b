// SPDX-License-Identifier: GPL-3.0-or-later
//! Packing on the line (`print --box-capacity`): the open box a verified pair goes into, the product
//! line of a box's label, and a box label scanned back (LABEL_PRINTED → LABEL_VERIFIED, with what the
//! scanner read in the log).

use rusqlite::params;

use super::boxes::{BoxLevel, BoxRecord, BoxState};
use super::{Actor, Ledger, StoreError, audit, begin, now_ms};

impl Ledger {
    /// The open box of `consignment` the next pair goes into: the oldest open box (level 1) with
    /// room. A box left open by a run that ended (or a crash) is filled before a new one is opened.
    pub fn open_box_with_room(&self, consignment: &str) -> Result<Option<BoxRecord>, StoreError> {
        Ok(self.boxes(Some(consignment))?.into_iter().find(|b| {
            b.level == BoxLevel::Box && b.state == BoxState::Open && b.count < b.capacity
        }))
    }

    /// The product line of a box's label: its pairs' product (name, size, GTIN), or how many products
    /// are mixed in it.
    pub fn box_product_text(&self, sscc: &str) -> Result<String, StoreError> {
        let mut gtins = Vec::new();
        for id in self.box_items(sscc)? {
            let gtin = self.code(id)?.code.gtin().clone();
            if !gtins.contains(&gtin) {
                gtins.push(gtin);
            }
        }
        Ok(match gtins.as_slice() {
            [one] => match self.product(one)? {
                Some(p) => match &p.size {
                    Some(size) => format!("{}, {size}, GTIN {one}", p.name),
                    None => format!("{}, GTIN {one}", p.name),
                },
                None => format!("GTIN {one}"),
            },
            [] => String::new(),
            many => format!("{} products", many.len()),
        })
    }

    /// A printed box label was scanned back as GS1-128 (`aim`) with `read` (`00` and this SSCC):
    /// LABEL_PRINTED → LABEL_VERIFIED, the reading kept in the log (`box.label_verified`). The caller
    /// checked the reading; the ledger checks the step.
    pub fn box_label_verified(
        &mut self,
        sscc: &str,
        aim: &str,
        read: &str,
        tries: u32,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let b = self.box_record(sscc)?;
        if b.state != BoxState::LabelPrinted {
            return Err(StoreError::BoxState {
                sscc: sscc.to_owned(),
                detail: format!(
                    "is {}: only a box whose label is printed has it verified",
                    b.state.as_str()
                ),
            });
        }
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        tx.execute(
            "UPDATE boxes SET state = 'LABEL_VERIFIED', label_verified_at = ?2 WHERE sscc = ?1",
            params![sscc, at],
        )?;
        audit::append(
            &tx,
            at,
            actor,
            "box.label_verified",
            sscc,
            &serde_json::json!({ "aim": aim, "read": read, "labels": tries }).to_string(),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// A supervisor printed box `sscc`'s label again (`box.label_reprint`, audited).
    pub fn box_label_reprinted(&mut self, sscc: &str, actor: &Actor) -> Result<(), StoreError> {
        let b = self.box_record(sscc)?;
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        audit::append(
            &tx,
            at,
            actor,
            "box.label_reprint",
            sscc,
            &serde_json::json!({ "state": b.state.as_str() }).to_string(),
        )?;
        tx.commit()?;
        Ok(())
    }
}
