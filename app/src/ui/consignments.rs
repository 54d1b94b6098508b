// SPDX-License-Identifier: GPL-3.0-or-later
//! Consignments on the touchscreen: the worker chooses the consignment the pairs are labelled for and
//! sees the product's line of it (declared vs labelled); the supervisor sees every consignment with its
//! status and problems, records the customs declaration and files the import notice. The engine checks
//! the PIN and the ledger checks and audits; this file only asks and shows.

use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

use super::errands::Ask;
use super::{AppWindow, ConsignmentRow, LineAdapter, ReviewAdapter, Shared};
use crate::config::{Config, RegistryApi};
use crate::engine::{Command, Event};
use crate::ledger::consignments::{Consignment, Declaration};
use crate::ledger::documents::DocumentSummary;

pub(super) fn wire(app: &AppWindow, shared: &Shared, config: &Config) {
    {
        let shared = shared.clone();
        app.global::<LineAdapter>()
            .on_select_consignment(move |id| {
                let id = id.trim().to_owned();
                shared.send(Command::LabelFor((!id.is_empty()).then_some(id)));
            });
    }
    let r = app.global::<ReviewAdapter>();
    {
        let shared = shared.clone();
        r.on_declare_consignment(move |id, number, date, office| {
            let office = office.trim();
            shared.send(Command::DeclareConsignment {
                consignment: id.to_string(),
                declaration: Declaration {
                    number: number.trim().to_owned(),
                    date: date.trim().to_owned(),
                    customs_office: (!office.is_empty()).then(|| office.to_owned()),
                },
            });
        });
    }
    {
        let (shared, weak) = (shared.clone(), app.as_weak());
        let oms = config.registry.api == RegistryApi::OmsV2;
        let document_size = config.registry.report.import_document_size;
        r.on_submit_consignment(move |id| {
            if oms {
                if let Some(app) = weak.upgrade() {
                    let r = app.global::<ReviewAdapter>();
                    r.set_result(
                        format!(
                            "The older platform has no import document: {}",
                            crate::registry::oms_client::IMPORT_REMEDY
                        )
                        .into(),
                    );
                    r.set_result_key(SharedString::new());
                }
                return;
            }
            shared.send(Command::SubmitConsignment {
                consignment: id.to_string(),
                api: "xtrace".into(),
                document_size,
            });
        });
    }
}

/// An engine event about consignments.
pub(super) fn apply_event(app: &AppWindow, shared: &Shared, e: &Event) {
    match e {
        Event::Consignment { consignment } => {
            let l = app.global::<LineAdapter>();
            match consignment {
                Some(c) => {
                    l.set_consignment_id(c.id.as_str().into());
                    l.set_consignment_declared(n(c.declared));
                    l.set_consignment_labelled(n(c.labelled));
                    l.set_consignment_listed(c.listed);
                }
                None => {
                    l.set_consignment_id(SharedString::new());
                    l.set_consignment_listed(false);
                }
            }
        }
        Event::Consignments => shared.ask(Ask::Consignments),
        _ => {}
    }
}

/// The consignments as the errands thread found them, with their documents.
pub(super) fn set_list(app: &AppWindow, list: Vec<(Consignment, Vec<DocumentSummary>)>) {
    let rows: Vec<ConsignmentRow> = list
        .into_iter()
        .map(|(c, docs)| {
            let sum = |f: fn(&crate::ledger::consignments::LineProgress) -> u64| {
                n(c.lines.iter().map(f).sum())
            };
            let problem = docs
                .iter()
                .rev()
                .filter(|d| d.refused > 0 || d.returned > 0)
                .find_map(|d| d.reason.clone())
                .unwrap_or_default();
            ConsignmentRow {
                id: c.id.as_str().into(),
                status: c.status.as_str().into(),
                importer: match &c.importer_name {
                    Some(name) => format!("{name} · {}", c.importer_bin),
                    None => c.importer_bin.clone(),
                }
                .into(),
                declaration: c
                    .declaration
                    .as_ref()
                    .map(|d| format!("{} · {}", d.number, d.date))
                    .unwrap_or_default()
                    .into(),
                declared: sum(|l| l.declared),
                labelled: sum(|l| l.labelled),
                verified: sum(|l| l.verified),
                reported: sum(|l| l.reported),
                introduced: sum(|l| l.introduced),
                refused: sum(|l| l.refused),
                returned: sum(|l| l.returned),
                submitted: sum(|l| l.submitted),
                problem: problem.into(),
            }
        })
        .collect();
    app.global::<LineAdapter>()
        .set_consignments(ModelRc::new(VecModel::from(rows)));
}

fn n(v: u64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}
