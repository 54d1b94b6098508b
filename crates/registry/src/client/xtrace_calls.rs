// SPDX-License-Identifier: GPL-3.0-or-later
//! [`Registry`] as xTrace answers it: each call of the trait as the xTrace requests that make it
//! (orders and code packs, application reports, write-offs, the import notice, aggregation and
//! disaggregation documents, the lookups that find a lost one), over [`XtraceClient`]'s HTTP plumbing.

use super::*;

impl Registry for XtraceClient {
    fn api(&self) -> &'static str {
        "xtrace"
    }

    fn create_order(&mut self, order: &NewOrder<'_>) -> Result<String, RegistryError> {
        let req = xtrace::CreateOrder {
            product_group: self.s.product_group.clone(),
            products: vec![xtrace::OrderProduct {
                gtin: order.gtin.as_str().to_owned(),
                quantity: order.quantity,
                serial_number_type: xtrace::SerialNumberType::Operator,
                serial_numbers: None,
                cis_type: xtrace::CisType::Unit,
            }],
            business_place_id: self.s.business_place_id,
            release_method_type: xtrace::ReleaseMethod::Commission,
            po_number: Some(order.key.to_owned()),
        };
        let body = serde_json::to_value(&req).map_err(|e| RegistryError::Config(e.to_string()))?;
        let answer = self.call(Method::POST, "/api/orders", &[], Some(&body))?;
        Ok(decode::<xtrace::OrderCreated>("create order", &answer)?.order_id)
    }

    fn find_order(&mut self, key: &str, gtin: &Gtin) -> Result<Option<String>, RegistryError> {
        let q = [
            ("poNumber", key.to_owned()),
            ("productGroup", self.s.product_group.clone()),
        ];
        let answer = self.call(Method::GET, "/api/orders", &q, None)?;
        let orders: xtrace::Orders = decode("list orders", &answer)?;
        // Whether the listing carries `poNumber` is not documented: an order that shows another key is
        // not ours; one that shows none may be, if it has a sub-order for this GTIN.
        let mut candidates: Vec<(String, bool)> = Vec::new();
        for o in orders.order_infos {
            let says_ours = match o.po_number.as_deref() {
                Some(p) if p != key => continue,
                Some(_) => true,
                None => false,
            };
            if !candidates.iter().any(|(id, _)| *id == o.order_id) {
                candidates.push((o.order_id, says_ours));
            }
        }
        if candidates.len() > MAX_FOUND_ORDERS {
            return Err(RegistryError::Protocol {
                what: "order search".into(),
                detail: format!(
                    "the search for the station's order key answered {} orders that do not show their key: the registry ignored the filter, so the order cannot be told from others",
                    candidates.len()
                ),
            });
        }
        let mut ours = Vec::new();
        for (order_id, says_ours) in candidates {
            let subs = self.sub_orders(&order_id)?;
            if subs.iter().any(|s| s.gtin == gtin.as_str()) {
                ours.push(order_id);
            } else if says_ours {
                return Err(RegistryError::Protocol {
                    what: "order search".into(),
                    detail: format!(
                        "the registry shows order {order_id} under the station's key, but it has no sub-order for GTIN {gtin} (it has {}): it is not the order the station made",
                        subs.iter()
                            .map(|s| s.gtin.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        }
        match ours.len() {
            0 | 1 => Ok(ours.pop()),
            n => Err(RegistryError::Protocol {
                what: "order search".into(),
                detail: format!(
                    "the search for the station's order key answered {n} orders for GTIN {gtin}: the order cannot be told from the others"
                ),
            }),
        }
    }

    fn buffer(&mut self, order_id: &str, gtin: &Gtin) -> Result<BufferState, RegistryError> {
        let subs = self.sub_orders(order_id)?;
        let Some(sub) = subs.into_iter().find(|s| s.gtin == gtin.as_str()) else {
            return Err(RegistryError::Protocol {
                what: "sub-orders".into(),
                detail: format!("order {order_id} has no sub-order for GTIN {gtin}"),
            });
        };
        Ok(match sub.buffer_status {
            xtrace::BufferStatus::Active => BufferState::Ready,
            xtrace::BufferStatus::Exhausted => BufferState::Exhausted,
            xtrace::BufferStatus::Closed => BufferState::Closed,
            xtrace::BufferStatus::Rejected => BufferState::Rejected(
                sub.rejection_reason
                    .unwrap_or_else(|| "no reason given".into()),
            ),
            xtrace::BufferStatus::Pending | xtrace::BufferStatus::Unknown => BufferState::Pending,
        })
    }

    fn take_pack(
        &mut self,
        order_id: &str,
        gtin: &Gtin,
        quantity: u32,
        last_pack: Option<&str>,
    ) -> Result<CodePack, RegistryError> {
        let mut q = vec![
            ("orderId", order_id.to_owned()),
            ("gtin", gtin.as_str().to_owned()),
            ("quantity", quantity.to_string()),
        ];
        if let Some(l) = last_pack {
            q.push(("lastPackId", l.to_owned()));
        }
        let answer = self.call(Method::GET, "/api/codes", &q, None)?;
        let pack: xtrace::CodesPack = decode("take codes", &answer)?;
        Ok(CodePack {
            id: pack.pack_id,
            codes: pack.codes,
        })
    }

    fn lost_pack(
        &mut self,
        order_id: &str,
        gtin: &Gtin,
        last_pack: Option<&str>,
    ) -> Result<Option<CodePack>, RegistryError> {
        let q = [
            ("orderId", order_id.to_owned()),
            ("gtin", gtin.as_str().to_owned()),
        ];
        let answer = self.call(Method::GET, "/api/codes/packs", &q, None)?;
        let packs: xtrace::Packs = decode("list packs", &answer)?;
        let next = match last_pack {
            None => packs.packs.first(),
            Some(l) => match packs.packs.iter().position(|p| p.pack_id == l) {
                Some(i) => packs.packs.get(i + 1),
                None => {
                    return Err(RegistryError::Protocol {
                        what: "list packs".into(),
                        detail: format!(
                            "the registry does not list pack {l}, the last one stored for order {order_id}: ask the registry's support which packs it issued"
                        ),
                    });
                }
            },
        };
        let Some(next) = next else {
            return Ok(None);
        };
        // The documented repeat: the same `lastPackId` again returns the pack issued after it.
        let quantity = u32::try_from(next.quantity.max(1)).unwrap_or(u32::MAX);
        let pack = self.take_pack(order_id, gtin, quantity, last_pack)?;
        if pack.id != next.pack_id {
            return Err(RegistryError::Protocol {
                what: "take codes again".into(),
                detail: format!(
                    "asked again for pack {}, the registry answered pack {}",
                    next.pack_id, pack.id
                ),
            });
        }
        tracing::info!("registry: pack {} recovered after a lost answer", pack.id);
        Ok(Some(pack))
    }

    fn close_order(
        &mut self,
        order_id: &str,
        gtin: &Gtin,
        _last_pack: Option<&str>,
    ) -> Result<(), RegistryError> {
        let q = [
            ("orderId", order_id.to_owned()),
            ("gtin", gtin.as_str().to_owned()),
        ];
        self.call(Method::POST, "/api/order/close", &q, None)
            .map(|_| ())
    }

    fn send_utilisation(
        &mut self,
        codes: &[String],
        meta: &UtilisationMeta,
    ) -> Result<String, RegistryError> {
        let req = xtrace::Utilisation {
            product_group: self.s.product_group.clone(),
            sntins: codes.to_vec(),
            business_place_id: self.s.business_place_id,
            release_type: xtrace::ReleaseType::Import,
            production_date: meta.production_date.clone(),
            expiration_date: meta.expiration_date.clone(),
            manufacturer_country: meta.country.clone(),
        };
        let body = serde_json::to_value(&req).map_err(|e| RegistryError::Config(e.to_string()))?;
        let answer = self.call(Method::POST, "/api/utilisation", &[], Some(&body))?;
        Ok(decode_change::<xtrace::ReportCreated>("utilisation", &answer)?.report_id)
    }

    fn report_outcome(&mut self, report_id: &str) -> Result<ReportOutcome, RegistryError> {
        let path = format!("/api/utilisation/{report_id}");
        let answer = match self.call(Method::GET, &path, &[], None) {
            Err(RegistryError::Api { error, .. }) if error.class() == ErrorClass::NotFound => {
                return Ok(ReportOutcome::NotFound);
            }
            other => other?,
        };
        let st: xtrace::UtilisationStatus = decode("utilisation status", &answer)?;
        Ok(match st.report_status {
            xtrace::ReportStatus::Success => ReportOutcome::Accepted,
            xtrace::ReportStatus::Error => ReportOutcome::Rejected(Refusal {
                reason: crate::codes::clean_message(
                    st.reject_reason.as_deref().unwrap_or("no reason given"),
                ),
                named: Vec::new(),
            }),
            xtrace::ReportStatus::InProcess | xtrace::ReportStatus::Unknown => {
                ReportOutcome::InProcess
            }
        })
    }

    fn code_states(&mut self, codes: &[String]) -> Result<Vec<RegistryCodeState>, RegistryError> {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let body = serde_json::json!({ "codes": codes });
        // A lookup changes nothing, so it may be retried although it is a POST.
        let answer = match self.call_with(
            Method::POST,
            "/public/api/cod/public/codes",
            &[],
            Some(&body),
            true,
        ) {
            // The registry caps the codes per lookup at a value it does not publish: ask in halves.
            Err(RegistryError::Api { error, .. })
                if error.class() == ErrorClass::Rejected && codes.len() > 1 =>
            {
                tracing::debug!(
                    "registry: lookup of {} codes refused ({error}); asking in halves",
                    codes.len()
                );
                let (a, b) = codes.split_at(codes.len() / 2);
                let mut out = self.code_states(a)?;
                out.extend(self.code_states(b)?);
                return Ok(out);
            }
            other => other?,
        };
        let value: serde_json::Value = decode("code lookup", &answer)?;
        let found = xtrace::parse_code_lookup(&value).ok_or_else(|| RegistryError::Protocol {
            what: "code lookup".into(),
            detail: "no list of codes with their status".into(),
        })?;
        let matcher = IdentMatcher::new(codes.iter().map(String::as_str));
        let mut states = vec![None; codes.len()];
        for f in &found {
            if let Some(i) = matcher.find(&f.code) {
                states[i] = Some(f.status.as_str());
            }
        }
        Ok(states
            .into_iter()
            .map(|st| match st {
                Some("RECEIVED") => RegistryCodeState::Received,
                // Introduced into circulation or withdrawn from it afterwards: applied before.
                Some("APPLIED" | "INTRODUCED" | "WITHDRAWN") => RegistryCodeState::Applied,
                Some("WRITTEN_OFF") => RegistryCodeState::WrittenOff,
                Some(other) => RegistryCodeState::Other(other.to_owned()),
                None => RegistryCodeState::Other("not known to the registry".into()),
            })
            .collect())
    }

    fn find_report(
        &mut self,
        kind: ReportKind,
        codes: &[String],
        window: (SystemTime, SystemTime),
    ) -> Result<Option<String>, RegistryError> {
        let doc_type = match kind {
            ReportKind::Utilisation => DocumentType::Utilisation,
            ReportKind::WriteOff => DocumentType::Withdrawal,
        };
        self.find_document(doc_type, codes, window)
    }

    fn ping(&mut self) -> Result<(), RegistryError> {
        // xTrace documents no ping: the smallest read is an order listing with a filter that matches
        // nothing of ours (an empty list with 200 is normal).
        let q = [
            ("poNumber", "labelstation-link-check".to_owned()),
            ("productGroup", self.s.product_group.clone()),
        ];
        self.call(Method::GET, "/api/orders", &q, None).map(|_| ())
    }

    fn send_write_off(
        &mut self,
        codes: &[String],
        meta: &WriteOffMeta,
    ) -> Result<String, RegistryError> {
        let doc = xtrace::Withdrawal {
            business_place_id: self.s.business_place_id,
            withdrawal_type: xtrace::WithdrawalType::WriteOff,
            withdrawal_date: meta.date.clone(),
            withdrawal_reason: meta.reason.clone(),
            withdrawal_reason_other: meta.reason_other.clone(),
            codes: codes
                .iter()
                .map(|c| xtrace::WithdrawalCode {
                    code: identification(c).to_owned(),
                })
                .collect(),
        };
        self.send_document(DocumentType::Withdrawal, &doc)
    }

    fn write_off_outcome(&mut self, document_id: &str) -> Result<ReportOutcome, RegistryError> {
        self.document_outcome(document_id)
    }

    fn send_import(
        &mut self,
        codes: &[String],
        meta: &ImportMeta,
    ) -> Result<String, RegistryError> {
        let doc = xtrace::ImportDocument {
            business_place_id: self.s.business_place_id,
            codes: codes.iter().map(|c| identification(c).to_owned()).collect(),
            customs_declaration: xtrace::CustomsDeclaration {
                number: meta.number.clone(),
                date: format!("{}T00:00:00Z", meta.date),
                authority_code: meta.customs_office.clone(),
            },
        };
        self.send_document(DocumentType::Import, &doc)
    }

    fn import_outcome(&mut self, document_id: &str) -> Result<DocumentOutcome, RegistryError> {
        self.document_result(document_id)
    }

    fn find_import(
        &mut self,
        codes: &[String],
        window: (SystemTime, SystemTime),
    ) -> Result<Option<String>, RegistryError> {
        let idents: Vec<String> = codes.iter().map(|c| identification(c).to_owned()).collect();
        self.find_document(DocumentType::Import, &idents, window)
    }

    fn send_aggregation(
        &mut self,
        units: &[AggregateSpec<'_>],
        meta: &AggregationMeta,
    ) -> Result<String, RegistryError> {
        let doc = xtrace::AggregationDocument {
            aggregation_units: units
                .iter()
                .map(|u| xtrace::AggregationUnit {
                    aggregation_items_count: u32::try_from(u.codes.len()).unwrap_or(u32::MAX),
                    aggregation_unit_capacity: u.capacity,
                    codes: u
                        .codes
                        .iter()
                        .map(|c| identification(c).to_owned())
                        .collect(),
                    should_be_unbundled: u.unbundle,
                    unit_serial_number: u.sscc.to_owned(),
                })
                .collect(),
            business_place_id: self.s.business_place_id,
            document_date: meta.date_time.clone(),
            owner_tin: meta.owner_tin.clone(),
        };
        self.send_document(DocumentType::Aggregation, &doc)
    }

    fn send_disaggregation(
        &mut self,
        ssccs: &[String],
        date_time: &str,
    ) -> Result<String, RegistryError> {
        let doc = xtrace::TransportDisaggregation {
            business_datetime: date_time.to_owned(),
            codes: ssccs.to_vec(),
        };
        self.send_document(DocumentType::Disaggregation, &doc)
    }

    fn aggregation_outcome(&mut self, document_id: &str) -> Result<DocumentOutcome, RegistryError> {
        self.document_result(document_id)
    }

    fn find_aggregation(
        &mut self,
        units: &[AggregateSpec<'_>],
        window: (SystemTime, SystemTime),
    ) -> Result<Option<String>, RegistryError> {
        // Matched by everything it carries: each unit's SSCC, then its contents.
        let mut codes = Vec::new();
        for u in units {
            codes.push(u.sscc.to_owned());
            codes.extend(u.codes.iter().map(|c| identification(c).to_owned()));
        }
        self.find_document(DocumentType::Aggregation, &codes, window)
    }

    fn find_disaggregation(
        &mut self,
        ssccs: &[String],
        window: (SystemTime, SystemTime),
    ) -> Result<Option<String>, RegistryError> {
        self.find_document(DocumentType::Disaggregation, ssccs, window)
    }
}
