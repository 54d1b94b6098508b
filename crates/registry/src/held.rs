// SPDX-License-Identifier: GPL-3.0-or-later
//! Asking the registry about codes held after a restore (`ledger::holds`).
//!
//! A code the registry shows applied (APPLIED, INTRODUCED) or written off was used after the backup:
//! it goes to NEEDS_REVIEW with that reason. RECEIVED is no proof either way (a sticker printed and
//! applied but not yet reported shows RECEIVED), so such a code stays held until a supervisor releases
//! it; so does a code the registry does not know.

use serde::Serialize;

use super::client::{Registry, RegistryCodeState, RegistryError};
use crate::ledger::{Actor, CodeId, Ledger, StoreError};

/// Codes per lookup request (the registry documents no limit; this keeps each answer small).
pub const LOOKUP_CHUNK: u32 = 500;

/// What a check found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HeldCheck {
    pub checked: u64,
    /// Shown applied or written off: moved to NEEDS_REVIEW.
    pub used: u64,
    /// Shown RECEIVED: still held.
    pub received: u64,
    /// Not known to the registry, or in a state the station does not act on: still held.
    pub other: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum HeldCheckError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Ask the registry about every held code, `chunk` codes per request.
pub fn check_held(
    ledger: &mut Ledger,
    registry: &mut dyn Registry,
    actor: &Actor,
    chunk: u32,
) -> Result<HeldCheck, HeldCheckError> {
    let mut out = HeldCheck::default();
    let mut after = CodeId(0);
    loop {
        let batch = ledger.held_records(after, chunk.max(1))?;
        let Some(last) = batch.last() else {
            break;
        };
        after = last.id;
        let codes: Vec<String> = batch.iter().map(|r| r.code.as_str().to_owned()).collect();
        let states = registry.code_states(&codes)?;
        if states.len() != codes.len() {
            return Err(RegistryError::Protocol {
                what: "code lookup".into(),
                detail: format!(
                    "asked about {} codes, the answer has {}",
                    codes.len(),
                    states.len()
                ),
            }
            .into());
        }
        let mut used = Vec::new();
        let mut still = Vec::new();
        for (rec, state) in batch.iter().zip(states) {
            out.checked += 1;
            match state {
                RegistryCodeState::Applied => used.push((
                    rec.id,
                    "used after the backup the ledger was restored from: the registry shows it applied. \
                     Its sticker is on an item: confirm it by scanning, or write it off; never print it again"
                        .to_owned(),
                )),
                RegistryCodeState::WrittenOff => used.push((
                    rec.id,
                    "used after the backup the ledger was restored from: the registry shows it written off. \
                     Write it off here too (the registry already has it); never print it"
                        .to_owned(),
                )),
                RegistryCodeState::Received => {
                    out.received += 1;
                    still.push((rec.id, "RECEIVED".to_owned()));
                }
                RegistryCodeState::Other(s) => {
                    out.other += 1;
                    still.push((rec.id, s));
                }
            }
        }
        ledger.held_checked(&still)?;
        out.used += ledger.held_found_used(&used, "registry code lookup", actor)?;
    }
    Ok(out)
}
