// SPDX-License-Identifier: GPL-3.0-or-later
//! What to do about a ledger error, in the app's words: the ledger names the remedy
//! ([`store::Remedy`](crate::store::Remedy)), only the app names its commands.

use crate::engine::station::EngineError;
use crate::store::import::ImportError;
use crate::store::{Remedy, StoreError};

/// The ledger error in `e`'s chain, also behind the errors that carry one transparently.
fn store_error(e: &anyhow::Error) -> Option<&StoreError> {
    e.chain().find_map(|c| {
        c.downcast_ref::<StoreError>()
            .or_else(|| match c.downcast_ref::<ImportError>() {
                Some(ImportError::Store(s)) => Some(s),
                _ => None,
            })
            .or_else(|| match c.downcast_ref::<EngineError>() {
                Some(EngineError::Store(s)) => Some(s),
                _ => None,
            })
    })
}

/// What to do about `e`, with the commands that do it, when the ledger names a remedy.
pub(crate) fn words(e: &anyhow::Error) -> Option<String> {
    Some(match store_error(e)?.remedy()? {
        Remedy::AddProduct(gtin) => {
            format!("add it with `labelstation products add --gtin {gtin} --name ...`")
        }
        Remedy::CheckHeldCodes(gtin) => format!(
            "`labelstation codes held` lists the held codes of GTIN {gtin}; `labelstation codes held check` asks the registry; a supervisor releases the rest with `labelstation codes held release` (README: Restore)"
        ),
        Remedy::CheckDataDir(path) => format!(
            "check that {} is the data directory meant (`--data-dir`, or the config's) and that this user may write there",
            path.display()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::generate::gtin_from_number;

    #[test]
    fn a_ledger_error_behind_an_import_or_engine_error_gets_its_remedy_worded() {
        let gtin = gtin_from_number(460_700_000_123);
        let unknown = || StoreError::UnknownProduct(gtin.clone());
        for e in [
            anyhow::Error::from(unknown()),
            anyhow::Error::from(ImportError::Store(unknown())),
            anyhow::Error::from(EngineError::Store(unknown())).context("print"),
        ] {
            let w = words(&e).unwrap_or_default();
            assert!(
                w.contains(&format!("labelstation products add --gtin {gtin}")),
                "{e:#}: {w}"
            );
            assert!(!format!("{e:#}").contains("labelstation "), "{e:#}");
        }
        assert_eq!(words(&anyhow::Error::from(StoreError::DiskFull)), None);
    }
}
