// SPDX-License-Identifier: GPL-3.0-or-later
//! The simulated xTrace orders and codes: orders created (and refused, declined, lost, searched for as
//! the registry does), sub-order buffers, packs of codes handed out with their documented repeat, and
//! orders closed.

// Handler helpers return the axum `Response` to send as their error (see the parent module).
#![allow(clippy::result_large_err)]

use super::*;

pub(super) async fn create_order(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = lock(&state);
    if let Err(r) = authorised(&s, &headers) {
        return r;
    }
    let req: xtrace::CreateOrder = match parse(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if req.products.is_empty() || req.products.len() > 10 {
        return error(StatusCode::BAD_REQUEST, "an order holds 1 to 10 GTINs");
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
    if let Some(reason) = take_first(&mut s.cfg.orders.refuse) {
        return error(StatusCode::BAD_REQUEST, &reason);
    }
    let id = new_orders(
        &mut s,
        &req.products,
        req.po_number.as_deref(),
        &req.product_group,
    );
    let answer = axum::Json(json!({ "orderId": id })).into_response();
    lose_create_answer(&mut s, answer)
}

/// The first of a queue of scripted faults, taken off it.
pub(super) fn take_first(queue: &mut Vec<String>) -> Option<String> {
    (!queue.is_empty()).then(|| queue.remove(0))
}

/// Record a new order (one sub-order per product), refused for unknown GTINs or by a scripted decline.
/// Returns its id.
pub(super) fn new_orders<P: OrderedProduct>(
    s: &mut SimState,
    products: &[P],
    key: Option<&str>,
    product_group: &str,
) -> String {
    let id = s.id();
    let declined = take_first(&mut s.cfg.orders.decline).map(|r| format!("Order declined: {r}"));
    for p in products {
        let rejected = match &s.cfg.known_gtins {
            Some(known) if !known.contains(p.gtin()) => Some(format!(
                "Order declined: 0106: GTIN {} not found in the GTIN registry",
                p.gtin()
            )),
            _ => declined.clone(),
        };
        s.orders.insert(
            format!("{id}/{}", p.gtin()),
            Order {
                id: id.clone(),
                po_number: key.map(str::to_owned),
                product_group: product_group.to_owned(),
                gtin: p.gtin().to_owned(),
                quantity: p.quantity(),
                issued: 0,
                polls: 0,
                rejected,
                closed: false,
                packs: Vec::new(),
                created_ms: crate::ledger::now_ms(),
                seq: s.orders.len(),
            },
        );
    }
    id
}

/// A product line of a create request, in either API.
pub(super) trait OrderedProduct {
    fn gtin(&self) -> &str;
    fn quantity(&self) -> u32;
}

impl OrderedProduct for xtrace::OrderProduct {
    fn gtin(&self) -> &str {
        &self.gtin
    }
    fn quantity(&self) -> u32 {
        self.quantity
    }
}

impl OrderedProduct for labelstation_registry::oms::OrderProduct {
    fn gtin(&self) -> &str {
        &self.gtin
    }
    fn quantity(&self) -> u32 {
        self.quantity
    }
}

/// The order is made; a scripted fault loses the answer mid-body.
pub(super) fn lose_create_answer(s: &mut SimState, answer: Response) -> Response {
    if s.cfg.orders.lose_create_answers == 0 {
        return answer;
    }
    s.cfg.orders.lose_create_answers -= 1;
    s.answers_dropped += 1;
    let (parts, _) = answer.into_parts();
    let mut r = Response::from_parts(parts, broken_body());
    r.headers_mut().remove(header::CONTENT_LENGTH);
    r
}

/// Orders a search may show: old enough to be past the creation lag.
pub(super) fn searchable(s: &SimState) -> impl Iterator<Item = &Order> {
    let lag = i64::try_from(s.cfg.orders.search_lag.as_millis()).unwrap_or(i64::MAX);
    let now = crate::ledger::now_ms();
    s.orders
        .values()
        .filter(move |o| now.saturating_sub(o.created_ms) >= lag)
}

pub(super) async fn list_orders(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = lock(&state);
    if let Err(r) = authorised(&s, &headers) {
        return r;
    }
    let info = |o: &Order, po: Option<&String>| {
        let mut v = json!({
            "orderId": o.id,
            "productGroup": o.product_group,
            "orderStatus": if o.closed { "CLOSED" } else if o.rejected.is_some() { "REJECTED" } else { "READY" },
            "releaseMethodType": "COMISSION",
        });
        if s.cfg.orders.echo_po_number
            && let Some(p) = po
        {
            v["poNumber"] = json!(p);
        }
        v
    };
    let by_id = q.get("orderId");
    let by_key = q.get("poNumber");
    let mut seen = HashSet::new();
    let infos: Vec<_> = match s.cfg.orders.search {
        // Someone else's order, under the key asked for.
        OrderSearch::Misdirected if by_key.is_some() => searchable(&s)
            .filter(|o| o.po_number.as_ref() != by_key)
            .max_by_key(|o| o.seq)
            .map(|o| info(o, by_key))
            .into_iter()
            .collect(),
        search => searchable(&s)
            .filter(|o| by_id.is_none_or(|id| *id == o.id))
            .filter(|o| {
                search == OrderSearch::IgnoresKey
                    || by_key.is_none_or(|p| o.po_number.as_ref() == Some(p))
            })
            .filter(|o| seen.insert(o.id.clone()))
            .map(|o| info(o, o.po_number.as_ref()))
            .collect(),
    };
    axum::Json(json!({ "orderInfos": infos })).into_response()
}

pub(super) fn buffer_status(o: &Order, pending_polls: u32) -> &'static str {
    if o.rejected.is_some() {
        "REJECTED"
    } else if o.closed {
        "CLOSED"
    } else if o.polls <= pending_polls {
        "PENDING"
    } else if o.issued >= o.quantity {
        "EXHAUSTED"
    } else {
        "ACTIVE"
    }
}

pub(super) async fn sub_orders(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    if let Err(r) = authorised(&s, &headers) {
        return r;
    }
    let Some(order_id) = q.get("orderId") else {
        return error(StatusCode::BAD_REQUEST, "orderId is required");
    };
    let pending = s.pending_polls();
    let infos: Vec<_> = s
        .orders
        .values_mut()
        .filter(|o| o.id == *order_id)
        .map(|o| {
            o.polls = o.polls.saturating_add(1);
            json!({
                "parentOrderId": o.id,
                "gtin": o.gtin,
                "bufferStatus": buffer_status(o, pending),
                "cisType": "UNIT",
                "availableCodes": o.quantity - o.issued,
                "leftInBuffer": o.quantity - o.issued,
                "totalPassed": o.issued,
                "lastPackId": o.packs.last().map(|p| p.id.clone()),
                "rejectionReason": o.rejected,
            })
        })
        .collect();
    if infos.is_empty() {
        return error(
            StatusCode::NOT_FOUND,
            &format!("order {order_id} not found"),
        );
    }
    axum::Json(json!({ "subOrderInfos": infos })).into_response()
}

pub(super) async fn take_codes(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    if let Err(r) = authorised(s, &headers) {
        return r;
    }
    let (Some(order_id), Some(gtin), Some(quantity)) =
        (q.get("orderId"), q.get("gtin"), q.get("quantity"))
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "orderId, gtin and quantity are required",
        );
    };
    let Ok(quantity) = quantity.parse::<u32>() else {
        return error(StatusCode::BAD_REQUEST, "quantity must be a number");
    };
    let pending = s.pending_polls();
    let Some(o) = s.orders.get_mut(&format!("{order_id}/{gtin}")) else {
        return error(
            StatusCode::NOT_FOUND,
            &format!("sub-order {order_id}/{gtin} not found"),
        );
    };
    let last = q.get("lastPackId").filter(|v| !v.is_empty() && *v != "0");
    // The documented repeat: asking again after the newest pack's predecessor returns the newest pack.
    let n = o.packs.len();
    let repeat = match (last, n) {
        (None, 1) => true,
        (Some(l), n) if n >= 2 => o.packs[n - 2].id == *l,
        _ => false,
    };
    if repeat {
        let p = &o.packs[n - 1];
        let resp = axum::Json(json!({ "codes": p.codes, "packId": p.id })).into_response();
        return lose_pack_answer(s, resp);
    }
    let expected = o.packs.last().map(|p| &p.id);
    if last != expected {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "lastPackId {:?} does not match the last pack issued ({:?})",
                last, expected
            ),
        );
    }
    match buffer_status(o, pending) {
        "ACTIVE" => {}
        "EXHAUSTED" => return error(StatusCode::BAD_REQUEST, "no codes left in the buffer"),
        other => return error(StatusCode::BAD_REQUEST, &format!("the buffer is {other}")),
    }
    let take = quantity.clamp(1, o.quantity - o.issued);
    let gtin = match Gtin::parse(&o.gtin) {
        Ok(g) => g,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let mut codes = Vec::with_capacity(take as usize);
    while codes.len() < take as usize {
        let c = s.rng.element_string(&gtin);
        // Serials are unique per GTIN: a new one is drawn in the (rare) case of a repeat.
        let ident = c.split('\u{1d}').next().unwrap_or_default().to_owned();
        if let std::collections::hash_map::Entry::Vacant(v) = s.idents.entry(ident) {
            v.insert(c.clone());
            s.codes.insert(c.clone(), SimCodeState::Received);
            codes.push(c);
        }
    }
    let pack_id = s.id();
    let Some(o) = s.orders.get_mut(&format!("{order_id}/{gtin}")) else {
        return error(StatusCode::NOT_FOUND, "sub-order vanished");
    };
    o.issued += take;
    // The registry closes an order by itself once every code is taken (user manual); a repeat of the
    // last pack is still answered.
    o.closed = o.issued >= o.quantity;
    o.packs.push(Pack {
        id: pack_id.clone(),
        codes: codes.clone(),
    });
    let resp = axum::Json(json!({ "codes": codes, "packId": pack_id })).into_response();
    lose_pack_answer(s, resp)
}

/// `OrderFaults::lose_pack_answers`: the pack is issued (and saved), its answer lost mid-body.
pub(super) fn lose_pack_answer(s: &mut SimState, resp: Response) -> Response {
    if s.cfg.orders.lose_pack_answers == 0 {
        return resp;
    }
    s.cfg.orders.lose_pack_answers -= 1;
    s.answers_dropped += 1;
    // The fault layer saves the state before this goes out, as for any change.
    let (parts, _) = resp.into_parts();
    let mut r = Response::from_parts(parts, broken_body());
    r.headers_mut().remove(header::CONTENT_LENGTH);
    r
}

pub(super) async fn list_packs(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = lock(&state);
    if let Err(r) = authorised(&s, &headers) {
        return r;
    }
    let (Some(order_id), Some(gtin)) = (q.get("orderId"), q.get("gtin")) else {
        return error(StatusCode::BAD_REQUEST, "orderId and gtin are required");
    };
    let Some(o) = s.orders.get(&format!("{order_id}/{gtin}")) else {
        return error(StatusCode::NOT_FOUND, "sub-order not found");
    };
    let packs: Vec<_> = o
        .packs
        .iter()
        .map(|p| json!({ "packId": p.id, "quantity": p.codes.len() }))
        .collect();
    axum::Json(json!({ "orderId": o.id, "gtin": o.gtin, "packs": packs })).into_response()
}

pub(super) async fn close_order(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut s = lock(&state);
    if let Err(r) = authorised(&s, &headers) {
        return r;
    }
    let (Some(order_id), Some(gtin)) = (q.get("orderId"), q.get("gtin")) else {
        return error(StatusCode::BAD_REQUEST, "orderId and gtin are required");
    };
    let pending = s.pending_polls();
    let Some(o) = s.orders.get_mut(&format!("{order_id}/{gtin}")) else {
        return error(StatusCode::NOT_FOUND, "sub-order not found");
    };
    if o.rejected.is_some() {
        return error(StatusCode::BAD_REQUEST, "a rejected order cannot be closed");
    }
    // The description: only a READY order's ACTIVE or EXHAUSTED sub-order can be closed. A closed one
    // is answered as closed, so closing stays harmless to repeat.
    if buffer_status(o, pending) == "PENDING" {
        return error(
            StatusCode::BAD_REQUEST,
            "the sub-order is PENDING: only an ACTIVE or EXHAUSTED sub-order can be closed",
        );
    }
    o.closed = true;
    axum::Json(json!({ "orderId": o.id })).into_response()
}
