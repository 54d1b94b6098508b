// SPDX-License-Identifier: GPL-3.0-or-later
//! The simulated older platform's code-ordering API (oms-v2): orders, buffers, code blocks and their
//! retry, application reports, on the same state as the xTrace side.

// Handler helpers return the axum `Response` to send as their error (see the parent module).
#![allow(clippy::result_large_err)]

use super::*;

pub(super) fn oms_router(state: Shared) -> Router {
    Router::new()
        .route(
            "/api/v2/{ext}/orders",
            post(oms_create_order).get(oms_orders),
        )
        .route("/api/v2/{ext}/buffer/status", get(oms_buffer))
        .route("/api/v2/{ext}/codes", get(oms_codes))
        .route("/api/v2/{ext}/codes/blocks", get(oms_blocks))
        .route("/api/v2/{ext}/codes/retry", get(oms_retry))
        .route("/api/v2/{ext}/buffer/close", post(oms_close))
        .route("/api/v2/{ext}/utilisation", post(oms_utilisation))
        .route("/api/v2/{ext}/report/info", get(oms_report_info))
        .route("/api/v2/{ext}/aggregation", post(oms_aggregation))
        .route("/api/v2/{ext}/aggregation/info", get(oms_aggregation_info))
        .route("/api/v2/{ext}/ping", get(oms_ping))
        .route_layer(middleware::from_fn_with_state(state.clone(), oms_gate))
        .route("/api/v2/{ext}/version", get(oms_version))
        .layer(middleware::from_fn_with_state(state.clone(), faults))
        .with_state(state)
}

/// Every call but the version passes here: the extension, the `clientToken` header and the `omsId`
/// parameter are checked before its handler runs.
async fn oms_gate(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let ext = req.uri().path().split('/').nth(3).unwrap_or("").to_owned();
    let q: HashMap<String, String> = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let refused = {
        let s = lock(&state);
        oms_authorised(&s, &ext, req.headers(), &q).err()
    };
    match refused {
        Some(r) => r,
        None => next.run(req).await,
    }
}

/// Check the extension, the `clientToken` header and the `omsId` parameter.
fn oms_authorised(
    s: &SimState,
    ext: &str,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
) -> Result<(), Response> {
    if ext != s.cfg.extension {
        return Err(error(
            StatusCode::NOT_FOUND,
            &format!("extension {ext} is not served here"),
        ));
    }
    let token = headers.get("clientToken").and_then(|v| v.to_str().ok());
    if token != Some(s.cfg.client_token.as_str()) {
        return Err(error(StatusCode::UNAUTHORIZED, "clientToken is invalid"));
    }
    if q.get("omsId") != Some(&s.cfg.oms_id) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "omsId is missing or unknown",
        ));
    }
    Ok(())
}

fn oms_buffer_json(o: &Order, oms_id: &str, pending: u32) -> serde_json::Value {
    json!({
        "omsId": oms_id,
        "orderId": o.id,
        "gtin": o.gtin,
        "bufferStatus": oms_buffer_status(o, pending),
        "totalCodes": o.quantity,
        "availableCodes": o.quantity - o.issued,
        "leftInBuffer": o.quantity - o.issued,
        "unavailableCodes": 0,
        "totalPassed": o.issued,
        "poolsExhausted": o.issued >= o.quantity,
        "rejectionReason": o.rejected,
        "expiredDate": 0,
        "poolInfos": [],
    })
}

/// Unlike xTrace, an OMS buffer that gave every code is EXHAUSTED until it is closed.
fn oms_buffer_status(o: &Order, pending: u32) -> &'static str {
    if o.rejected.is_some() {
        "REJECTED"
    } else if o.closed {
        "CLOSED"
    } else if o.polls <= pending {
        "PENDING"
    } else if o.issued >= o.quantity {
        "EXHAUSTED"
    } else {
        "ACTIVE"
    }
}

async fn oms_create_order(
    State(state): State<Shared>,
    Path(ext): Path<String>,
    body: Bytes,
) -> Response {
    let mut s = lock(&state);
    let req: labelstation_registry::oms::CreateOrder = match parse(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if req.products.is_empty() || req.products.len() > 10 {
        return error(StatusCode::BAD_REQUEST, "an order holds 1 to 10 GTINs");
    }
    if req.contact_person.trim().is_empty() {
        return error(StatusCode::BAD_REQUEST, "contactPerson is required");
    }
    for p in &req.products {
        if !(1..=150_000).contains(&p.quantity) {
            return error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "quantity {} for {}: must be 1 to 150000",
                    p.quantity, p.gtin
                ),
            );
        }
        if p.template_id != 1 {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("templateId {}: footwear uses template 1", p.template_id),
            );
        }
        if Gtin::parse(&p.gtin)
            .map(|g| g.as_str() != p.gtin)
            .unwrap_or(true)
        {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("gtin {:?} is not a valid GTIN-14", p.gtin),
            );
        }
    }
    let active: HashSet<&str> = s
        .orders
        .values()
        .filter(|o| !o.closed && o.rejected.is_none())
        .map(|o| o.id.as_str())
        .collect();
    if active.len() >= 100 {
        return error(
            StatusCode::BAD_REQUEST,
            "100 active orders at most: close finished orders first",
        );
    }
    if let Some(reason) = take_first(&mut s.cfg.orders.refuse) {
        return error(StatusCode::BAD_REQUEST, &reason);
    }
    let id = new_orders(
        &mut s,
        &req.products,
        req.production_order_id.as_deref(),
        &ext,
    );
    let expected = crate::ledger::now_ms() + 1_000;
    let answer = axum::Json(
        json!({ "omsId": s.cfg.oms_id, "orderId": id, "expectedCompleteTimestamp": expected }),
    )
    .into_response();
    lose_create_answer(&mut s, answer)
}

async fn oms_orders(State(state): State<Shared>) -> Response {
    let s = lock(&state);
    let pending = s.pending_polls();
    let mut by_id: BTreeMap<&str, Vec<&Order>> = BTreeMap::new();
    for o in searchable(&s) {
        by_id.entry(o.id.as_str()).or_default().push(o);
    }
    let keys: Vec<Option<&String>> = by_id
        .values()
        .map(|subs| subs[0].po_number.as_ref())
        .collect();
    let infos: Vec<_> = by_id
        .into_iter()
        .enumerate()
        .map(|(i, (id, subs))| {
            let first = subs[0];
            let status = if first.rejected.is_some() {
                "DECLINED"
            } else if subs.iter().all(|o| o.closed) {
                "CLOSED"
            } else {
                "READY"
            };
            // Misdirected: each order is listed under the next one's key.
            let key = match s.cfg.orders.search {
                OrderSearch::Misdirected => keys[(i + 1) % keys.len()],
                _ => first.po_number.as_ref(),
            };
            json!({
                "orderId": id,
                "orderStatus": status,
                "createdTimestamp": first.created_ms,
                "declineReason": first.rejected,
                "productionOrderId": key,
                "buffers": subs.iter().map(|o| oms_buffer_json(o, &s.cfg.oms_id, pending)).collect::<Vec<_>>(),
            })
        })
        .collect();
    axum::Json(json!({ "omsId": s.cfg.oms_id, "orderInfos": infos })).into_response()
}

/// The sub-order a query names (`orderId` and `gtin`), or the error to send.
fn oms_sub_order_key(q: &HashMap<String, String>) -> Result<String, Response> {
    match (q.get("orderId"), q.get("gtin")) {
        (Some(o), Some(g)) => Ok(format!("{o}/{g}")),
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            "orderId and gtin are required",
        )),
    }
}

async fn oms_buffer(
    State(state): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    let key = match oms_sub_order_key(&q) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let pending = s.pending_polls();
    let Some(o) = s.orders.get_mut(&key) else {
        return error(StatusCode::NOT_FOUND, &format!("sub-order {key} not found"));
    };
    o.polls = o.polls.saturating_add(1);
    axum::Json(oms_buffer_json(o, &s.cfg.oms_id, pending)).into_response()
}

async fn oms_codes(
    State(state): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    let key = match oms_sub_order_key(&q) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let Some(Ok(quantity)) = q.get("quantity").map(|v| v.parse::<u32>()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "quantity is required and must be a number",
        );
    };
    let pending = s.pending_polls();
    let Some(o) = s.orders.get_mut(&key) else {
        return error(StatusCode::NOT_FOUND, &format!("sub-order {key} not found"));
    };
    // lastBlockId names the newest block the client holds ("0": none); anything else means the
    // client missed a block: it must recover it through /codes/blocks and /codes/retry.
    let last = q.get("lastBlockId").map_or("0", String::as_str);
    let newest = o.packs.last().map_or("0", |p| p.id.as_str());
    if last != newest {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("lastBlockId {last} is not the last block issued ({newest})"),
        );
    }
    match oms_buffer_status(o, pending) {
        "ACTIVE" => {}
        other => return error(StatusCode::BAD_REQUEST, &format!("the buffer is {other}")),
    }
    let take = quantity.clamp(1, o.quantity - o.issued);
    let gtin = o.gtin.clone();
    let (block_id, codes) = match issue(s, &key, &gtin, take) {
        Ok(b) => b,
        Err(r) => return r,
    };
    axum::Json(json!({ "omsId": s.cfg.oms_id, "codes": codes, "blockId": block_id }))
        .into_response()
}

/// Issue `take` new codes for a sub-order as one pack (block). Returns its id and codes.
fn issue(
    s: &mut SimState,
    key: &str,
    gtin: &str,
    take: u32,
) -> Result<(String, Vec<String>), Response> {
    let gtin =
        Gtin::parse(gtin).map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))?;
    let mut codes = Vec::with_capacity(take as usize);
    while codes.len() < take as usize {
        let c = s.rng.element_string(&gtin);
        let ident = c.split('\u{1d}').next().unwrap_or_default().to_owned();
        if let std::collections::hash_map::Entry::Vacant(v) = s.idents.entry(ident) {
            v.insert(c.clone());
            s.codes.insert(c.clone(), SimCodeState::Received);
            codes.push(c);
        }
    }
    let id = s.id();
    let Some(o) = s.orders.get_mut(key) else {
        return Err(error(StatusCode::NOT_FOUND, "sub-order vanished"));
    };
    o.issued += take;
    o.packs.push(Pack {
        id: id.clone(),
        codes: codes.clone(),
    });
    Ok((id, codes))
}

async fn oms_blocks(
    State(state): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = lock(&state);
    let key = match oms_sub_order_key(&q) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let Some(o) = s.orders.get(&key) else {
        return error(StatusCode::NOT_FOUND, &format!("sub-order {key} not found"));
    };
    let blocks: Vec<_> = o
        .packs
        .iter()
        .map(|p| json!({ "blockId": p.id, "blockDateTime": 0, "quantity": p.codes.len() }))
        .collect();
    axum::Json(json!({ "omsId": s.cfg.oms_id, "orderId": o.id, "gtin": o.gtin, "blocks": blocks }))
        .into_response()
}

async fn oms_retry(
    State(state): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = lock(&state);
    let key = match oms_sub_order_key(&q) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let Some(block) = q.get("blockId") else {
        return error(StatusCode::BAD_REQUEST, "blockId is required");
    };
    match s
        .orders
        .get(&key)
        .and_then(|o| o.packs.iter().find(|p| p.id == *block))
    {
        Some(p) => axum::Json(json!({ "omsId": s.cfg.oms_id, "codes": p.codes, "blockId": p.id }))
            .into_response(),
        None => error(StatusCode::NOT_FOUND, &format!("block {block} not found")),
    }
}

async fn oms_close(
    State(state): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    let Some(order_id) = q.get("orderId") else {
        return error(StatusCode::BAD_REQUEST, "orderId is required");
    };
    let mut found = false;
    for o in s.orders.values_mut() {
        if o.id == *order_id && q.get("gtin").is_none_or(|g| *g == o.gtin) {
            found = true;
            if o.rejected.is_none() {
                o.closed = true;
            }
        }
    }
    if !found {
        return error(
            StatusCode::NOT_FOUND,
            &format!("order {order_id} not found"),
        );
    }
    axum::Json(json!({ "omsId": s.cfg.oms_id })).into_response()
}

async fn oms_utilisation(State(state): State<Shared>, body: Bytes) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    let req: labelstation_registry::oms::Utilisation = match parse(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if req.sntins.is_empty() || req.sntins.len() > 30_000 {
        return error(StatusCode::BAD_REQUEST, "sntins must hold 1 to 30000 codes");
    }
    if let Some(r) = refused_at_send(s) {
        return r;
    }
    let id = receive_report(
        s,
        req.sntins,
        String::from_utf8_lossy(&body).into_owned(),
        false,
    );
    axum::Json(json!({ "omsId": s.cfg.oms_id, "reportId": id })).into_response()
}

async fn oms_report_info(
    State(state): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    let Some(id) = q.get("reportId") else {
        return error(StatusCode::BAD_REQUEST, "reportId is required");
    };
    let polls = s.cfg.report_polls;
    let oms_id = s.cfg.oms_id.clone();
    let Some(r) = s.reports.get_mut(id) else {
        return error(StatusCode::NOT_FOUND, &format!("report {id} not found"));
    };
    r.polls += 1;
    // PENDING (first polls), then SENT: forwarded to the registry, not processed yet; then PROCESSED
    // (the RU enum's final state; Kazakhstan's enum stops at SENT, see README) or REJECTED. An
    // aggregation report stops at SENT however it went through, as Kazakhstan's enum does: only the
    // box lookup tells it was taken.
    let (status, reason) = match &r.outcome {
        _ if r.polls <= polls => ("PENDING", None),
        None => ("SENT", None),
        Some(Ok(())) if r.aggregation => ("SENT", None),
        Some(Ok(())) => ("PROCESSED", None),
        Some(Err(e)) => ("REJECTED", Some(e.clone())),
    };
    axum::Json(
        json!({ "omsId": oms_id, "reportId": id, "reportStatus": status, "errorReason": reason }),
    )
    .into_response()
}

/// `POST /api/v2/{ext}/aggregation`: boxes with their codes, processed later like a report, as strict
/// as the xTrace aggregation document (the same rules, `boxes::apply_aggregation`).
async fn oms_aggregation(State(state): State<Shared>, body: Bytes) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    let req: labelstation_registry::oms::AggregationReport = match parse(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if req.participant_id.trim().is_empty() {
        return error(StatusCode::BAD_REQUEST, "participantId is required");
    }
    if req.aggregation_units.is_empty() || req.aggregation_units.iter().any(|u| u.sntins.is_empty())
    {
        return error(
            StatusCode::BAD_REQUEST,
            "aggregationUnits and each unit's sntins are required",
        );
    }
    if let Some(u) = req
        .aggregation_units
        .iter()
        .find(|u| u.aggregation_type != "AGGREGATION" && u.aggregation_type != "UPDATE")
    {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "aggregationType {:?}: AGGREGATION or UPDATE",
                u.aggregation_type
            ),
        );
    }
    if let Some(r) = refused_at_send(s) {
        return r;
    }
    let units: Vec<xtrace::AggregationUnit> = req
        .aggregation_units
        .iter()
        .map(|u| xtrace::AggregationUnit {
            aggregation_items_count: u.aggregated_items_count,
            aggregation_unit_capacity: u.aggregation_unit_capacity,
            codes: u.sntins.clone(),
            should_be_unbundled: u.aggregation_type == "UPDATE",
            unit_serial_number: u.unit_serial_number.clone(),
        })
        .collect();
    let units = serde_json::to_string(&units).unwrap_or_default();
    let id = receive_report(
        s,
        vec![units],
        String::from_utf8_lossy(&body).into_owned(),
        true,
    );
    axum::Json(json!({ "omsId": s.cfg.oms_id, "reportId": id })).into_response()
}

/// `GET /api/v2/{ext}/aggregation/info?unitSerialNumber=…`: a box the registry knows, or 404.
async fn oms_aggregation_info(
    State(state): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    process_due(s);
    let Some(unit) = q.get("unitSerialNumber") else {
        return error(StatusCode::BAD_REQUEST, "unitSerialNumber is required");
    };
    let Some(a) = boxes::sscc_digits(unit).and_then(|d| s.aggregates.get(d)) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("aggregation {unit} not found"),
        );
    };
    axum::Json(json!({
        "omsId": s.cfg.oms_id,
        "aggregationUnit": { "unitSerialNumber": unit, "sntins": a.contents },
        "productsInfo": [],
    }))
    .into_response()
}

async fn oms_ping(State(state): State<Shared>) -> Response {
    let s = lock(&state);
    axum::Json(json!({ "omsId": s.cfg.oms_id })).into_response()
}

async fn oms_version() -> Response {
    axum::Json(json!({ "apiVersion": "2.0.0.54", "omsVersion": "3.1.8.0-sim" })).into_response()
}

/// Apply an application report: processed atomically, any bad code fails the whole report, as the
/// registry documents; so does a [`Refusal`]. Counts codes reported twice or after a write-off.
pub(super) fn apply_utilisation(s: &mut SimState, sntins: &[String]) -> Result<(), String> {
    if let Some(r) = s.cfg.refusal.clone() {
        s.refused_whole += 1;
        return Err(r.reason);
    }
    // Processed atomically: any bad code fails the whole report, as the registry documents.
    let mut seen = HashSet::new();
    let mut problems = Vec::new();
    for c in sntins {
        match s.codes.get(c) {
            _ if !seen.insert(c) => problems.push(format!(
                "{}: repeated in the report",
                crate::codes::redact_codes(c)
            )),
            None => problems.push(format!(
                "{}: not issued to this participant",
                crate::codes::redact_codes(c)
            )),
            Some(SimCodeState::Received) => {}
            Some(st) => {
                match st {
                    SimCodeState::Applied | SimCodeState::Introduced => s.reported_twice += 1,
                    SimCodeState::WrittenOff => s.reported_after_write_off += 1,
                    SimCodeState::Received => {}
                }
                problems.push(format!(
                    "{}: not in RECEIVED state ({st:?})",
                    crate::codes::redact_codes(c)
                ));
            }
        }
    }
    if problems.is_empty() {
        for c in sntins {
            s.codes.insert(c.clone(), SimCodeState::Applied);
        }
        Ok(())
    } else if s.cfg.refusals_name_codes {
        Err(problems.join("; "))
    } else {
        Err("the report holds codes that cannot be applied".into())
    }
}
