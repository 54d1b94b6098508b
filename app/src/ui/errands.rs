// SPDX-License-Identifier: GPL-3.0-or-later
//! The screens' errands: a thread with its own read-only view of the ledger (`Ledger::open_read_only`: it cannot
//! write a code's state) that answers the screens' questions (product list, review queue, audit log, a
//! rejected label's image), writes the shift report file, lists devices, tests the registry and saves
//! settings, so none of that runs on the UI thread.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Sender, channel};
use std::time::Duration;

use anyhow::{Context, Result};
use labelstation_zpl::template::Template;

use super::{UiContext, Update};
use crate::compose::RegistryTest;
use crate::config::Config;
use crate::engine::Counters;
use crate::ledger::{CodeId, Ledger, now_ms};

/// An errand for the thread.
pub(super) enum Ask {
    Products,
    Review,
    /// Reports the registry refused as a whole, held for the supervisor.
    Held,
    /// Every consignment with its documents.
    Consignments,
    ReviewImage(CodeId),
    Audit,
    Export(Counters),
    Devices,
    RegistryTest,
    Save {
        printer: String,
        scanner: String,
        template: String,
        dpi: u32,
    },
}

/// A product for the chooser.
#[derive(Debug, Clone)]
pub struct ProductInfo {
    pub gtin: String,
    pub name: String,
    pub size: String,
    pub available: u64,
}

/// One audit entry for the list (subjects are masked codes or ids, never a crypto tail).
#[derive(Debug, Clone)]
pub struct AuditLine {
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
}

struct Errands {
    data_dir: PathBuf,
    station: String,
    config: Config,
    config_file: Option<PathBuf>,
    template: Option<Template>,
    registry_test: Option<RegistryTest>,
    ledger: Option<Ledger>,
    started_ms: i64,
}

pub(super) fn spawn(ctx: &UiContext, out: Sender<Update>) -> Result<Sender<Ask>> {
    let (tx, rx) = channel::<Ask>();
    let mut errands = Errands {
        data_dir: ctx.data_dir.clone(),
        station: ctx.config.station.id.clone(),
        config: ctx.config.clone(),
        config_file: ctx.config_file.clone(),
        template: ctx.config.label.template().ok(),
        registry_test: ctx.registry_test.clone(),
        ledger: None,
        started_ms: now_ms(),
    };
    std::thread::Builder::new()
        .name("ui-errands".into())
        .spawn(move || {
            for ask in rx {
                let update = errands.answer(ask);
                if out.send(update).is_err() {
                    break;
                }
            }
        })
        .context("cannot start the touchscreen's errands thread")?;
    Ok(tx)
}

impl Errands {
    fn ledger(&mut self) -> Result<&Ledger> {
        if self.ledger.is_none() {
            let path = self.data_dir.join(crate::ledger::LEDGER_FILE);
            self.ledger = Some(Ledger::open_read_only(
                &path,
                &self.station,
                Duration::from_secs(10),
            )?);
        }
        self.ledger
            .as_ref()
            .context("the ledger connection went away")
    }

    fn answer(&mut self, ask: Ask) -> Update {
        let failed = |e: anyhow::Error| Update::Failed(format!("{e:#}"));
        match ask {
            Ask::Products => self.products().map_or_else(failed, Update::Products),
            // The review queue, then the roll stickers still waiting for a scan (PRINTED).
            Ask::Review => self
                .ledger()
                .and_then(|l| {
                    let mut items = l.review_queue(200)?;
                    items.extend(l.roll_waiting(200)?);
                    let alerts = l.open_sticker_alerts()?;
                    Ok(Update::Review { items, alerts })
                })
                .unwrap_or_else(failed),
            Ask::Held => self
                .ledger()
                .and_then(|l| Ok(l.held_reports()?))
                .map_or_else(failed, Update::Held),
            Ask::Consignments => self
                .ledger()
                .and_then(|l| {
                    let mut out = Vec::new();
                    for c in l.consignments()? {
                        let docs = l.documents_of(&c.id)?;
                        out.push((c, docs));
                    }
                    Ok(out)
                })
                .map_or_else(failed, Update::Consignments),
            Ask::ReviewImage(id) => Update::ReviewImage {
                id,
                image: self.label_image(id).ok().map(Arc::new),
            },
            Ask::Audit => self.audit(200).map_or_else(failed, Update::Audit),
            Ask::Export(counters) => Update::Exported(
                self.export(&counters)
                    .map_err(|e| format!("The report was not saved: {e:#}")),
            ),
            Ask::Devices => Update::Devices {
                printers: labelstation_printer::list_candidates()
                    .into_iter()
                    .map(|c| (c.uri.to_string(), c.description))
                    .collect(),
                scanners: labelstation_scanner::list_candidates()
                    .into_iter()
                    .map(|c| (c.uri.to_string(), c.label))
                    .collect(),
            },
            Ask::RegistryTest => Update::RegistryTested(match &self.registry_test {
                Some(test) => match test() {
                    Ok(line) => line,
                    Err(e) => e,
                },
                None => format!(
                    "Registry: {} (the background sync reports its state in the status strip)",
                    self.config.registry.url
                ),
            }),
            Ask::Save {
                printer,
                scanner,
                template,
                dpi,
            } => Update::Saved(
                self.save(printer, scanner, template, dpi)
                    .map_err(|e| format!("{e:#}")),
            ),
        }
    }

    fn products(&mut self) -> Result<Vec<ProductInfo>> {
        let ledger = self.ledger()?;
        let balance = ledger.balance()?;
        Ok(ledger
            .products()?
            .into_iter()
            .map(|p| {
                let gtin = p.gtin.to_string();
                let available = balance
                    .iter()
                    .find(|b| b.gtin == gtin)
                    .and_then(|b| b.states.get("AVAILABLE").copied())
                    .unwrap_or(0);
                ProductInfo {
                    gtin,
                    name: p.name,
                    size: p.size.unwrap_or_default(),
                    available,
                }
            })
            .collect())
    }

    /// The code's label as the station prints it, drawn from the template.
    fn label_image(&mut self, id: CodeId) -> Result<labelstation_zpl::render::Bitmap> {
        let template = self
            .template
            .clone()
            .context("the label template cannot be loaded")?;
        let ledger = self.ledger()?;
        let rec = ledger.code(id)?;
        let product = ledger
            .product(rec.code.gtin())?
            .context("the code's product is not registered")?;
        Ok(
            product
                .with_label_data(&rec.code, |data| labelstation_zpl::preview(&template, data))?,
        )
    }

    fn audit(&mut self, limit: u32) -> Result<Vec<AuditLine>> {
        let ledger = self.ledger()?;
        Ok(ledger
            .recent_audit(limit)?
            .into_iter()
            .map(|e| AuditLine {
                at_ms: e.at_ms,
                actor: e.actor,
                action: e.action,
                subject: e.subject,
            })
            .collect())
    }

    /// The shift report: this run's counters, the pool by product and state, and the audit entries of
    /// the shift. Written to `reports/` in the data dir.
    fn export(&mut self, c: &Counters) -> Result<PathBuf> {
        let since = self.started_ms;
        let dir = self.data_dir.join("reports");
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
        let path = dir.join(format!("shift-{stamp}.csv"));
        let ledger = self.ledger()?;
        let mut text = String::from("section,time,gtin,item,value,actor\n");
        let now = super::local_time(now_ms());
        for (item, value) in [
            ("sent", c.sent),
            ("printed", c.printed),
            ("verified", c.verified),
            ("rejected", c.rejected),
            ("warnings", c.warnings),
            ("alerts", c.alerts),
            ("written_off", c.written_off),
            ("confirmed", c.confirmed),
        ] {
            row(
                &mut text,
                ["counter", &now, "", item, &value.to_string(), ""],
            );
        }
        for b in ledger.balance()? {
            for (state, n) in &b.states {
                if *n > 0 {
                    row(
                        &mut text,
                        ["pool", &now, &b.gtin, state, &n.to_string(), ""],
                    );
                }
            }
        }
        for e in ledger.audit_since(since)? {
            row(
                &mut text,
                [
                    "audit",
                    &super::local_time(e.at_ms),
                    "",
                    &e.action,
                    &e.subject,
                    &e.actor,
                ],
            );
        }
        write_new(&path, text.as_bytes())?;
        Ok(path)
    }

    fn save(
        &mut self,
        printer: String,
        scanner: String,
        template: String,
        dpi: u32,
    ) -> Result<PathBuf> {
        let path = self
            .config_file
            .clone()
            .context("this station's settings are not saved from the screen (demo)")?;
        let mut config = self.config.clone();
        config.printer.uri = printer;
        config.scanner.uri = scanner;
        config.label.template = template;
        config.label.dpi = dpi;
        config.label.template()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, config.to_toml())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path)
            .with_context(|| format!("cannot replace {}", path.display()))?;
        self.config = config;
        Ok(path)
    }
}

fn row<const N: usize>(out: &mut String, fields: [&str; N]) {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                (*f).to_owned()
            }
        })
        .collect();
    out.push_str(&quoted.join(","));
    out.push('\n');
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}
