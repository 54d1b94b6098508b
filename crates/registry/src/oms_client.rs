// SPDX-License-Identifier: GPL-3.0-or-later
//! The older platform's code-ordering API v2 (`/api/v2/{extension}/...`), behind the same [`Registry`]
//! trait as xTrace (shared research, registry API section 2).
//!
//! Every call carries the `clientToken` header (a long-lived token issued in the OMS web UI, read from
//! the environment variable named by `registry.oms.client_token_env`) and the `omsId` parameter.
//! Same retry rule as the xTrace client: requests that change nothing are retried with backoff and
//! jitter; requests that change something are sent once. Taking a block of codes changes something (the
//! codes are issued), so a lost block is recovered by listing the blocks issued (`/codes/blocks`) and
//! downloading the missing one again (`/codes/retry`), never by asking for new codes blindly.
//!
//! What this API cannot do, the client says plainly ([`RegistryError::Unsupported`]):
//! - write-offs (Kazakhstan's `shoes` extension has no dropout endpoint): a supervisor withdraws the
//!   code in the registry's web cabinet and marks it done in the station;
//! - looking up codes or searching reports: a report whose answer was lost is settled by a supervisor
//!   from the cabinet.
//!
//! Utilisation is sent in the RU v2 shape (`{sntins, usageType: VERIFIED}`); Kazakhstan's `shoes`
//! swagger has no utilisation endpoint, so against the real KZ platform it may answer 404 (see README).
//! A report's status SENT means the OMS passed it on, not that it was processed: only PROCESSED (the RU
//! enum; Kazakhstan's enum ends at SENT) counts as accepted.

use std::time::Duration;

use reqwest::Method;
use reqwest::blocking::Client;

use std::time::SystemTime;

use super::client::{
    AggregateSpec, AggregationMeta, BufferState, CodePack, DocumentOutcome, ImportMeta, NewOrder,
    Refusal, Registry, RegistryCodeState, RegistryError, ReportOutcome, RetryPolicy,
    UtilisationMeta, WriteOffMeta, api_error, check_url, decode, decode_change, identification,
    retry_after_header,
};
use super::oms;
use super::wire::{ErrorClass, Secret};
use crate::codes::Gtin;
use crate::ledger::reports::ReportKind;

/// The API's name in the ledger and in messages.
pub const API: &str = "oms-v2";

/// Settings of the oms-v2 client.
#[derive(Debug, Clone)]
pub struct OmsSettings {
    /// Base URL, e.g. `https://omscloud.ismet.kz`.
    pub url: String,
    pub oms_id: String,
    pub client_token: Secret,
    /// Product extension in the path (`shoes`).
    pub extension: String,
    /// Sent with orders (`contactPerson` is required).
    pub contact_person: String,
    /// The taxpayer id aggregation reports are filed under when they name no owner.
    pub participant_id: String,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

/// The oms-v2 client.
pub struct OmsClient {
    http: Client,
    base: reqwest::Url,
    s: OmsSettings,
}

impl std::fmt::Debug for OmsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OmsClient")
            .field("base", &self.base.as_str())
            .field("oms_id", &self.s.oms_id)
            .finish()
    }
}

impl OmsClient {
    pub fn new(settings: OmsSettings) -> Result<OmsClient, RegistryError> {
        let base = check_url(&settings.url)?;
        if settings.oms_id.trim().is_empty() || settings.client_token.is_empty() {
            return Err(RegistryError::Config(
                "registry.oms.oms_id and the client token (environment variable named by registry.oms.client_token_env) must be set".into(),
            ));
        }
        if settings.contact_person.trim().is_empty() {
            return Err(RegistryError::Config(
                "registry.oms.contact_person must be set: the registry requires it with every order"
                    .into(),
            ));
        }
        let ext = &settings.extension;
        if ext.is_empty() || !ext.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(RegistryError::Config(format!(
                "registry.oms.extension {ext:?}: use the product extension, e.g. shoes"
            )));
        }
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_static("*/*"),
        );
        let mut token = reqwest::header::HeaderValue::from_str(settings.client_token.expose())
            .map_err(|_| {
                RegistryError::Config(
                    "the client token holds characters a header cannot carry".into(),
                )
            })?;
        token.set_sensitive(true);
        headers.insert("clientToken", token);
        let http = super::client::http_client(headers, settings.timeout)?;
        Ok(OmsClient {
            http,
            base,
            s: settings,
        })
    }

    fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&serde_json::Value>,
        changes: bool,
    ) -> Result<Vec<u8>, RegistryError> {
        let url = self
            .base
            .join(&format!("/api/v2/{}/{path}", self.s.extension))
            .map_err(|e| RegistryError::Config(format!("bad path {path}: {e}")))?;
        // OMS compares ids case-sensitively and issues them lower-case (shared research, section 2).
        let mut q: Vec<(&str, String)> = vec![("omsId", self.s.oms_id.to_lowercase())];
        q.extend(query.iter().cloned());
        let mut req = self.http.request(method.clone(), url).query(&q);
        if let Some(b) = body {
            req = req.json(b);
        }
        let transport = |e: reqwest::Error| {
            // A request that never connected cannot have taken effect.
            let connected = !e.is_connect();
            RegistryError::Transport {
                url: self.base.to_string(),
                detail: e.without_url().to_string(),
                maybe_committed: changes && connected,
            }
        };
        let resp = req.send().map_err(transport)?;
        let status = resp.status();
        let retry_after = retry_after_header(resp.headers());
        let bytes = resp.bytes().map_err(transport)?;
        tracing::debug!(%method, path, status = status.as_u16(), bytes = bytes.len(), "registry (oms-v2)");
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        let err = api_error(status.as_u16(), &retry_after, &bytes, changes);
        let RegistryError::Api { error, .. } = &err else {
            return Err(err);
        };
        if error.class() == ErrorClass::Unauthorized {
            // The token is static: refreshing cannot help, a person must issue a new one.
            return Err(RegistryError::Config(format!(
                "the registry refused the client token ({error}): issue a new one in the OMS web UI and put it in the environment variable named by registry.oms.client_token_env"
            )));
        }
        Err(err)
    }

    /// A request that changes nothing, retried on transient errors.
    fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Vec<u8>, RegistryError> {
        let mut attempt = 0;
        loop {
            match self.send(Method::GET, path, query, None, false) {
                Err(e) if e.is_transient() && attempt + 1 < self.s.retry.attempts => {
                    let Some(wait) = self.s.retry.wait(attempt, e.retry_after()) else {
                        return Err(e);
                    };
                    tracing::warn!("registry: {e}; retrying in {} ms", wait.as_millis());
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn order_gtin(order_id: &str, gtin: &Gtin) -> [(&'static str, String); 2] {
        [
            ("orderId", order_id.to_lowercase()),
            ("gtin", gtin.as_str().to_owned()),
        ]
    }

    /// The block issued right after `last` (the first block when `None`), downloaded again, if the
    /// registry issued one: how an answer lost on its way is recovered.
    fn recover_block(
        &self,
        order_id: &str,
        gtin: &Gtin,
        last: Option<&str>,
    ) -> Result<Option<CodePack>, RegistryError> {
        let answer = self.get("codes/blocks", &Self::order_gtin(order_id, gtin))?;
        let blocks: oms::Blocks = decode("codes/blocks", &answer)?;
        let next = match last {
            None => blocks.blocks.first(),
            Some(l) => blocks
                .blocks
                .iter()
                .position(|b| b.block_id == l)
                .and_then(|i| blocks.blocks.get(i + 1)),
        };
        let Some(next) = next else {
            return Ok(None);
        };
        let mut q = Self::order_gtin(order_id, gtin).to_vec();
        q.push(("blockId", next.block_id.clone()));
        let answer = self.get("codes/retry", &q)?;
        let block: oms::CodesBlock = decode("codes/retry", &answer)?;
        tracing::info!(
            "registry: block {} recovered after a lost answer",
            block.block_id
        );
        Ok(Some(CodePack {
            id: block.block_id,
            codes: block.codes,
        }))
    }
}

fn unsupported(what: &'static str, remedy: &'static str) -> RegistryError {
    RegistryError::Unsupported {
        api: API,
        what,
        remedy,
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, RegistryError> {
    serde_json::to_value(v).map_err(|e| RegistryError::Config(e.to_string()))
}

impl Registry for OmsClient {
    fn api(&self) -> &'static str {
        API
    }

    fn create_order(&mut self, order: &NewOrder<'_>) -> Result<String, RegistryError> {
        let req = oms::CreateOrder {
            contact_person: self.s.contact_person.clone(),
            release_method_type: oms::ReleaseMethod::Import,
            create_method_type: oms::CreateMethod::SelfMade,
            country: None,
            production_order_id: Some(order.key.to_owned()),
            products: vec![oms::OrderProduct {
                gtin: order.gtin.as_str().to_owned(),
                quantity: order.quantity,
                serial_number_type: "OPERATOR".into(),
                template_id: 1,
            }],
        };
        let answer = self.send(Method::POST, "orders", &[], Some(&json(&req)?), true)?;
        Ok(decode::<oms::OrderResult>("create order", &answer)?.order_id)
    }

    fn find_order(&mut self, key: &str, gtin: &Gtin) -> Result<Option<String>, RegistryError> {
        let answer = self.get("orders", &[])?;
        let orders: oms::OrderSummaries = decode("list orders", &answer)?;
        // Without `productionOrderId` in the listing (not documented either way) nothing can be found.
        let listed: Vec<oms::OrderSummary> = orders
            .order_infos
            .into_iter()
            .filter(|o| o.production_order_id.as_deref() == Some(key))
            .collect();
        let [order] = listed.as_slice() else {
            if listed.is_empty() {
                return Ok(None);
            }
            return Err(RegistryError::Protocol {
                what: "order list".into(),
                detail: format!(
                    "{} orders show the station's key: the order cannot be told from the others",
                    listed.len()
                ),
            });
        };
        let gtins: Vec<&str> = order
            .buffers
            .iter()
            .filter_map(|b| b.gtin.as_deref())
            .collect();
        if !gtins.is_empty() && !gtins.contains(&gtin.as_str()) {
            return Err(RegistryError::Protocol {
                what: "order list".into(),
                detail: format!(
                    "the registry shows order {} under the station's key, but for GTIN {} instead of {gtin}: it is not the order the station made",
                    order.order_id,
                    gtins.join(", ")
                ),
            });
        }
        Ok(Some(order.order_id.clone()))
    }

    fn buffer(&mut self, order_id: &str, gtin: &Gtin) -> Result<BufferState, RegistryError> {
        let answer = self.get("buffer/status", &Self::order_gtin(order_id, gtin))?;
        let b: oms::BufferInfo = decode("buffer status", &answer)?;
        Ok(match b.buffer_status {
            oms::BufferStatus::Active => BufferState::Ready,
            oms::BufferStatus::Exhausted => BufferState::Exhausted,
            oms::BufferStatus::Closed => BufferState::Closed,
            oms::BufferStatus::Rejected => BufferState::Rejected(crate::codes::clean_message(
                b.rejection_reason.as_deref().unwrap_or("no reason given"),
            )),
            oms::BufferStatus::Expired => BufferState::Rejected(
                "the order expired before its codes were taken; order again".into(),
            ),
            oms::BufferStatus::Pending | oms::BufferStatus::Unknown => BufferState::Pending,
        })
    }

    fn lost_pack(
        &mut self,
        order_id: &str,
        gtin: &Gtin,
        last_pack: Option<&str>,
    ) -> Result<Option<CodePack>, RegistryError> {
        self.recover_block(order_id, gtin, last_pack)
    }

    fn take_pack(
        &mut self,
        order_id: &str,
        gtin: &Gtin,
        quantity: u32,
        last_pack: Option<&str>,
    ) -> Result<CodePack, RegistryError> {
        let mut q = Self::order_gtin(order_id, gtin).to_vec();
        q.push(("quantity", quantity.to_string()));
        q.push(("lastBlockId", last_pack.unwrap_or("0").to_owned()));
        let mut attempt = 0;
        loop {
            let e = match self.send(Method::GET, "codes", &q, None, true) {
                Ok(answer) => {
                    let block: oms::CodesBlock = decode("take codes", &answer)?;
                    return Ok(CodePack {
                        id: block.block_id,
                        codes: block.codes,
                    });
                }
                Err(e) => e,
            };
            // 400 is also how the registry says lastBlockId is not its newest block: an earlier
            // answer was lost. Either way, look for a block issued after ours before anything else.
            let mismatch = matches!(&e, RegistryError::Api { error, .. } if error.status == 400);
            if !(e.maybe_committed() || e.is_transient() || mismatch) {
                return Err(e);
            }
            match self.recover_block(order_id, gtin, last_pack) {
                Ok(Some(pack)) => return Ok(pack),
                // Nothing was issued: a refusal stands; a transient failure may be asked again.
                Ok(None) if mismatch => return Err(e),
                Ok(None) => {}
                Err(r) if r.is_transient() => {}
                Err(r) => return Err(r),
            }
            attempt += 1;
            if attempt >= self.s.retry.attempts {
                return Err(e);
            }
            let wait = self.s.retry.delay(attempt);
            tracing::warn!("registry: {e}; asking again in {} ms", wait.as_millis());
            std::thread::sleep(wait);
        }
    }

    fn close_order(
        &mut self,
        order_id: &str,
        gtin: &Gtin,
        last_pack: Option<&str>,
    ) -> Result<(), RegistryError> {
        let mut q = Self::order_gtin(order_id, gtin).to_vec();
        q.push(("lastBlockId", last_pack.unwrap_or("0").to_owned()));
        // Closing twice is harmless, and an order left open counts against the registry's 100 active
        // orders: retried like a read.
        let mut attempt = 0;
        loop {
            match self.send(Method::POST, "buffer/close", &q, None, true) {
                Ok(_) => return Ok(()),
                Err(e)
                    if (e.is_transient() || e.maybe_committed())
                        && attempt + 1 < self.s.retry.attempts =>
                {
                    std::thread::sleep(self.s.retry.delay(attempt));
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn send_utilisation(
        &mut self,
        codes: &[String],
        _meta: &UtilisationMeta,
    ) -> Result<String, RegistryError> {
        let req = oms::Utilisation {
            sntins: codes.to_vec(),
            usage_type: oms::UsageType::Verified,
        };
        let answer = match self.send(Method::POST, "utilisation", &[], Some(&json(&req)?), true) {
            Err(RegistryError::Api { error, .. }) if error.class() == ErrorClass::NotFound => {
                return Err(unsupported(
                    "an application (utilisation) report",
                    "this registry has no utilisation endpoint for the configured extension; ask the operator whether application is recorded automatically",
                ));
            }
            other => other?,
        };
        Ok(decode_change::<oms::ReportResult>("utilisation", &answer)?.report_id)
    }

    fn report_outcome(&mut self, report_id: &str) -> Result<ReportOutcome, RegistryError> {
        let answer = match self.get("report/info", &[("reportId", report_id.to_owned())]) {
            Err(RegistryError::Api { error, .. }) if error.class() == ErrorClass::NotFound => {
                return Ok(ReportOutcome::NotFound);
            }
            other => other?,
        };
        let r: oms::ReportInfo = decode("report info", &answer)?;
        Ok(match r.report_status {
            // PROCESSED is the documented final state of a utilisation report (RU enum). SENT only
            // means the OMS passed the report on: not processed as far as anyone can tell (the KZ enum
            // has no PROCESSED; see the README).
            oms::ReportStatus::Processed => ReportOutcome::Accepted,
            oms::ReportStatus::Sent => ReportOutcome::Forwarded,
            oms::ReportStatus::Rejected => ReportOutcome::Rejected(Refusal {
                reason: crate::codes::clean_message(
                    r.error_reason.as_deref().unwrap_or("no reason given"),
                ),
                named: Vec::new(),
            }),
            oms::ReportStatus::Draft
            | oms::ReportStatus::Pending
            | oms::ReportStatus::Check
            | oms::ReportStatus::ReadyToSend
            | oms::ReportStatus::Unknown => ReportOutcome::InProcess,
        })
    }

    fn ping(&mut self) -> Result<(), RegistryError> {
        self.get("ping", &[]).map(|_| ())
    }

    fn code_states(&mut self, _codes: &[String]) -> Result<Vec<RegistryCodeState>, RegistryError> {
        Err(unsupported(
            "looking up codes",
            "the API has no code lookup",
        ))
    }

    fn find_report(
        &mut self,
        _kind: ReportKind,
        _codes: &[String],
        _window: (SystemTime, SystemTime),
    ) -> Result<Option<String>, RegistryError> {
        Err(unsupported(
            "searching reports",
            "the API has no report search",
        ))
    }

    fn send_write_off(
        &mut self,
        _codes: &[String],
        _meta: &WriteOffMeta,
    ) -> Result<String, RegistryError> {
        Err(unsupported(
            "write-off",
            "withdraw the code in the registry's web cabinet, then mark it done",
        ))
    }

    fn write_off_outcome(&mut self, _document_id: &str) -> Result<ReportOutcome, RegistryError> {
        Err(unsupported(
            "write-off",
            "withdraw the code in the registry's web cabinet, then mark it done",
        ))
    }

    fn send_import(
        &mut self,
        _codes: &[String],
        _meta: &ImportMeta,
    ) -> Result<String, RegistryError> {
        Err(unsupported("import documents", IMPORT_REMEDY))
    }

    fn import_outcome(&mut self, _document_id: &str) -> Result<DocumentOutcome, RegistryError> {
        Err(unsupported("import documents", IMPORT_REMEDY))
    }

    fn find_import(
        &mut self,
        _codes: &[String],
        _window: (SystemTime, SystemTime),
    ) -> Result<Option<String>, RegistryError> {
        Err(unsupported("import documents", IMPORT_REMEDY))
    }

    fn send_aggregation(
        &mut self,
        units: &[AggregateSpec<'_>],
        meta: &AggregationMeta,
    ) -> Result<String, RegistryError> {
        let participant = meta
            .owner_tin
            .clone()
            .unwrap_or_else(|| self.s.participant_id.clone());
        if participant.trim().is_empty() {
            return Err(RegistryError::Config(
                "an aggregation report names its participant: set registry.oms.participant_id (the warehouse's IIN/BIN), or aggregation.file_for_importer".into(),
            ));
        }
        let Some(first) = units.first() else {
            return Err(RegistryError::Config("an aggregation without boxes".into()));
        };
        let req = oms::AggregationReport {
            participant_id: participant,
            aggregation_units: units
                .iter()
                .map(|u| oms::AggregationUnit {
                    aggregated_items_count: u32::try_from(u.codes.len()).unwrap_or(u32::MAX),
                    aggregation_type: "AGGREGATION".into(),
                    aggregation_unit_capacity: u.capacity,
                    sntins: u
                        .codes
                        .iter()
                        .map(|c| identification(c).to_owned())
                        .collect(),
                    unit_serial_number: u.sscc.to_owned(),
                })
                .collect(),
        };
        let answer = match self.send(Method::POST, "aggregation", &[], Some(&json(&req)?), true) {
            Err(RegistryError::Api { error, .. }) if error.class() == ErrorClass::NotFound => {
                return Err(unsupported(
                    "aggregation reports",
                    "this registry has no aggregation endpoint for the configured extension; report the boxes in its web cabinet",
                ));
            }
            other => other?,
        };
        let id = decode_change::<oms::ReportResult>("aggregation", &answer)?.report_id;
        // The report's id and the first box: a box the registry knows is aggregated whatever the
        // report's status says (its KZ statuses stop at SENT).
        Ok(format!("{id}{UNIT_MARK}{}", first.sscc))
    }

    fn send_disaggregation(
        &mut self,
        _ssccs: &[String],
        _date_time: &str,
    ) -> Result<String, RegistryError> {
        Err(unsupported("disaggregation", AGGREGATION_REMEDY))
    }

    fn aggregation_outcome(&mut self, document_id: &str) -> Result<DocumentOutcome, RegistryError> {
        let Some((report, unit)) = document_id.split_once(UNIT_MARK) else {
            return Err(unsupported("disaggregation", AGGREGATION_REMEDY));
        };
        if report != FOUND {
            let answer = match self.get("report/info", &[("reportId", report.to_owned())]) {
                Err(RegistryError::Api { error, .. }) if error.class() == ErrorClass::NotFound => {
                    return Ok(DocumentOutcome::NotFound);
                }
                other => other?,
            };
            let r: oms::ReportInfo = decode("report info", &answer)?;
            match r.report_status {
                oms::ReportStatus::Processed => return Ok(DocumentOutcome::Success),
                oms::ReportStatus::Rejected => {
                    return Ok(DocumentOutcome::Error(Refusal {
                        reason: crate::codes::clean_message(
                            r.error_reason.as_deref().unwrap_or("no reason given"),
                        ),
                        named: Vec::new(),
                    }));
                }
                oms::ReportStatus::Sent => {}
                _ => return Ok(DocumentOutcome::InProcess),
            }
        }
        // Passed on (SENT), or found after a lost answer: done once the registry knows the box.
        Ok(match self.aggregation_info(unit)? {
            Some(_) => DocumentOutcome::Success,
            None => DocumentOutcome::InProcess,
        })
    }

    fn find_aggregation(
        &mut self,
        units: &[AggregateSpec<'_>],
        _window: (SystemTime, SystemTime),
    ) -> Result<Option<String>, RegistryError> {
        // The API has no report search; a box the registry knows with exactly these codes is ours
        // (an SSCC is never used twice). Every box of the report must be known.
        for u in units {
            let Some(known) = self.aggregation_info(u.sscc)? else {
                return Ok(None);
            };
            let mut ours: Vec<&str> = u.codes.iter().map(|c| identification(c)).collect();
            let mut theirs: Vec<&str> = known.sntins.iter().map(|c| identification(c)).collect();
            ours.sort_unstable();
            theirs.sort_unstable();
            if ours != theirs {
                return Ok(None);
            }
        }
        Ok(units
            .first()
            .map(|u| format!("{FOUND}{UNIT_MARK}{}", u.sscc)))
    }

    fn find_disaggregation(
        &mut self,
        _ssccs: &[String],
        _window: (SystemTime, SystemTime),
    ) -> Result<Option<String>, RegistryError> {
        Err(unsupported("aggregation", AGGREGATION_REMEDY))
    }
}

/// The older platform's aggregation report (`POST /api/v2/shoes/aggregation`) is not built yet.
/// Between a report's id and its first box in the id an aggregation gets in the ledger.
const UNIT_MARK: char = '#';
/// The report id of an aggregation found by its boxes after a lost answer.
const FOUND: &str = "found";

impl OmsClient {
    /// What the registry knows of box `sscc` (as sent), or `None` (404).
    fn aggregation_info(
        &self,
        sscc: &str,
    ) -> Result<Option<oms::AggregationInfoUnit>, RegistryError> {
        match self.get("aggregation/info", &[("unitSerialNumber", sscc.to_owned())]) {
            Err(RegistryError::Api { error, .. }) if error.class() == ErrorClass::NotFound => {
                Ok(None)
            }
            Err(e) => Err(e),
            Ok(answer) => Ok(decode::<oms::AggregationInfo>("aggregation info", &answer)?
                .aggregation_unit
                .or(Some(oms::AggregationInfoUnit {
                    unit_serial_number: Some(sscc.to_owned()),
                    sntins: Vec::new(),
                }))),
        }
    }
}

const AGGREGATION_REMEDY: &str = "report the boxes in the registry's web cabinet (Агрегация) with the box CSV of the consignment's hand-over export";

/// What to do instead of an import document on the older platform, whose API has none.
pub const IMPORT_REMEDY: &str = "file the import notice («Уведомление о ввозе») in the registry's web cabinet with the identification-code CSV of the consignment's hand-over export";
