// SPDX-License-Identifier: GPL-3.0-or-later
//! What to do about an error or a station's notice, in the app's words: the domain crates name the
//! remedy ([`ledger::Remedy`](crate::ledger::Remedy)), only the app names its commands.

use crate::engine::PinError;
use crate::engine::station::EngineError;
use crate::ledger::import::ImportError;
use crate::ledger::{Remedy, StoreError};

/// The remedy named by an error in `e`'s chain: the ledger's, also behind the errors that carry one
/// transparently, the engine's and the PIN store's.
fn remedy(e: &anyhow::Error) -> Option<Remedy> {
    e.chain().find_map(|c| {
        if let Some(s) = c.downcast_ref::<StoreError>() {
            return s.remedy();
        }
        if let Some(ImportError::Store(s)) = c.downcast_ref::<ImportError>() {
            return s.remedy();
        }
        if let Some(e) = c.downcast_ref::<EngineError>() {
            return e.remedy();
        }
        c.downcast_ref::<PinError>().and_then(PinError::remedy)
    })
}

/// What to do about `e`, with the commands that do it, when an error in it names a remedy.
pub(crate) fn words(e: &anyhow::Error) -> Option<String> {
    remedy(e).map(|r| word(&r))
}

/// A remedy in the command line's words.
pub(crate) fn word(r: &Remedy) -> String {
    match r {
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
        Remedy::PullCodes(gtin) => format!(
            "pull more with `labelstation codes pull --gtin {gtin} --quantity N`, or import a code file with `labelstation codes import --gtin {gtin} FILE`"
        ),
        Remedy::ReviewRejects => "`labelstation review list` shows the rejected labels".into(),
        Remedy::SetSupervisorPin => {
            "a supervisor sets it with `labelstation supervisor set-pin`".into()
        }
        Remedy::PrintBoxLabel(sscc) => format!(
            "print it again with `labelstation box label {sscc}` (or Reprint box label on the touchscreen)"
        ),
        Remedy::CloseBox(sscc) => format!("close it first with `labelstation box close {sscc}`"),
    }
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

    #[test]
    fn the_engine_and_the_pin_store_name_a_remedy_the_command_line_words() {
        let gtin = gtin_from_number(460_700_000_123);
        let cases = [
            (
                anyhow::Error::from(EngineError::PoolEmpty(gtin.clone())).context("print"),
                format!("labelstation codes pull --gtin {gtin}"),
            ),
            (
                anyhow::Error::from(EngineError::BoxOpen("348700010000000011".into())),
                "labelstation box close 348700010000000011".into(),
            ),
            (
                anyhow::Error::from(PinError::NotSet),
                "labelstation supervisor set-pin".into(),
            ),
        ];
        for (e, command) in cases {
            let w = words(&e).unwrap_or_default();
            assert!(w.contains(&command), "{e:#}: {w}");
            assert!(!format!("{e:#}").contains("labelstation "), "{e:#}");
        }
        let notice = crate::engine::Notice::BoxLabelUnverified {
            sscc: "348700010000000011".into(),
            labels: 3,
        };
        let w = word(&notice.remedy().unwrap());
        assert!(
            w.contains("labelstation box label 348700010000000011"),
            "{w}"
        );
    }
}
