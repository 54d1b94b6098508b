// SPDX-License-Identifier: GPL-3.0-or-later
//! The simulated document storage (`/public/api/v1/doc/*`): a withdrawal (write-off) and an import
//! notice taken as the registry takes them (token, envelope, body with its keys in A-Z order, no crypto
//! tails), processed on the registry's clock, and their status, errors, search and stored body.

// Handler helpers return the axum `Response` to send as their error (see the parent module).
#![allow(clippy::result_large_err)]

use super::*;

/// `POST /public/api/v1/doc/withdrawal`: a base64 document; only `WRITE_OFF` is simulated. Processed as a
/// whole, asynchronously: any bad code refuses the document, with per-code errors.
pub(super) async fn withdrawal(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_document(&state, &headers, &body, |s, doc: xtrace::Withdrawal| {
        if doc.withdrawal_type != xtrace::WithdrawalType::WriteOff {
            return error(
                StatusCode::BAD_REQUEST,
                "the simulator handles withdrawalType WRITE_OFF only",
            );
        }
        if doc.codes.is_empty() || doc.withdrawal_reason.trim().is_empty() {
            return error(
                StatusCode::BAD_REQUEST,
                "codes and withdrawalReason are required",
            );
        }
        if let Some(r) = refused_at_send(s) {
            return r;
        }
        let codes = doc.codes.into_iter().map(|c| c.code).collect();
        receive_document(s, SimDocKind::Withdrawal, codes, &body)
    })
}

/// A document POST's common part: the bearer token, the envelope, and its body decoded as the registry
/// does (keys A-Z at every level, counted when not).
fn document_request<T: serde::de::DeserializeOwned>(
    s: &mut SimState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, Response> {
    authorised(s, headers)?;
    let env: xtrace::DocumentEnvelope = parse(body)?;
    strict_body(s, &env.document_body)
}

/// The opening every xTrace document handler shares: the state locked, the caller authorised, the
/// document's base64 body decoded strictly; `then` answers with it.
pub(super) fn with_document<T: serde::de::DeserializeOwned>(
    state: &Shared,
    headers: &HeaderMap,
    body: &Bytes,
    then: impl FnOnce(&mut SimState, T) -> Response,
) -> Response {
    let mut guard = lock(state);
    match document_request(&mut guard, headers, body) {
        Ok(doc) => then(&mut guard, doc),
        Err(r) => r,
    }
}

/// Take a document for processing on the registry's clock (now, without a processing delay) and
/// answer its id.
pub(super) fn receive_document(
    s: &mut SimState,
    kind: SimDocKind,
    codes: Vec<String>,
    body: &Bytes,
) -> Response {
    s.documents_received += 1;
    let id = s.id();
    let now = crate::ledger::now_ms();
    let delay = i64::try_from(s.cfg.processing_delay.as_millis()).unwrap_or(i64::MAX);
    s.documents.insert(
        id.clone(),
        Document {
            kind,
            partial: false,
            polls: 0,
            codes,
            created_ms: now,
            due_ms: now.saturating_add(delay),
            errors: None,
            body: String::from_utf8_lossy(body).into_owned(),
        },
    );
    process_due(s);
    axum::Json(json!({ "documentId": id })).into_response()
}

/// A code carries a crypto tail: with its GS separators, or glued on after a known identification
/// code.
pub(super) fn tailed(s: &SimState, c: &str) -> bool {
    c.contains('\u{1d}')
        || (!s.idents.contains_key(c)
            && (16..c.len()).any(|n| c.is_char_boundary(n) && s.idents.contains_key(&c[..n])))
}

/// Process a write-off document: every code must be RECEIVED, or the whole document is refused with an
/// error per bad code (by its index). Returns the errors (none: written off).
pub(super) fn apply_write_off(s: &mut SimState, idents: &[String]) -> Vec<serde_json::Value> {
    if let Some(r) = s.cfg.refusal.clone() {
        s.refused_whole += 1;
        return vec![
            json!({ "propertyName": null, "index": null, "errorCode": "DOCUMENT_REFUSED", "errorTags": [r.reason] }),
        ];
    }
    let mut seen = HashSet::new();
    let mut errors = Vec::new();
    let mut full = Vec::new();
    for (i, ident) in idents.iter().enumerate() {
        let problem = match s.idents.get(ident) {
            _ if !seen.insert(ident) => Some("DUPLICATE_IN_DOCUMENT"),
            None => Some("CODE_NOT_FOUND"),
            Some(code) => match s.codes.get(code) {
                Some(SimCodeState::Received) => {
                    full.push(code.clone());
                    None
                }
                Some(SimCodeState::WrittenOff) => {
                    s.written_off_twice += 1;
                    Some("CODE_ALREADY_WRITTEN_OFF")
                }
                _ => Some("CODE_NOT_RECEIVED"),
            },
        };
        match problem {
            Some(p) if s.cfg.refusals_name_codes => errors.push(
                json!({ "propertyName": "codes", "index": i, "errorCode": p, "errorTags": [] }),
            ),
            Some(_) if errors.is_empty() => {
                errors.push(json!({ "errorCode": "CODES_NOT_VALID", "errorTags": [] }));
            }
            _ => {}
        }
    }
    if errors.is_empty() {
        for c in full {
            s.codes.insert(c, SimCodeState::WrittenOff);
        }
    }
    errors
}

/// A document body decoded as the registry does: base64, keys in A-Z order at every level (counted
/// when not), then the expected JSON.
pub(super) fn strict_body<T: serde::de::DeserializeOwned>(
    s: &mut SimState,
    b64: &str,
) -> Result<T, Response> {
    xtrace::decode_document_strict(b64).map_err(|e| {
        if e.contains("A-Z order") {
            s.documents_unsorted += 1;
        }
        error(StatusCode::BAD_REQUEST, &e)
    })
}

/// `POST /public/api/v1/doc/import`: an import notice, base64 with sorted keys. Codes must be
/// identification codes without their crypto tail (refused with 400 otherwise, and counted), with a
/// customs declaration (number and date). Processed asynchronously: applied codes are introduced, the
/// others named by index (not applied yet, introduced already, written off, unknown, repeated).
pub(super) async fn import_document(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_document(&state, &headers, &body, |s, doc: xtrace::ImportDocument| {
        if doc.codes.is_empty() {
            return error(StatusCode::BAD_REQUEST, "codes are required");
        }
        let decl = &doc.customs_declaration;
        if decl.number.trim().is_empty() || parse_iso(&decl.date).is_none() {
            return error(
                StatusCode::BAD_REQUEST,
                "customsDeclaration needs its number and its date as a date-time (e.g. 2026-03-02T00:00:00Z)",
            );
        }
        if let Some(i) = doc.codes.iter().position(|c| tailed(s, c)) {
            s.documents_with_tails += 1;
            return error(
                StatusCode::BAD_REQUEST,
                &format!("codes[{i}]: an identification code without its crypto tail is expected"),
            );
        }
        if let Some(r) = refused_at_send(s) {
            return r;
        }
        receive_document(s, SimDocKind::Import, doc.codes, &body)
    })
}

/// Process an import document: applied codes are introduced, each other code gets an error by its
/// index. Returns the errors, and whether some codes were introduced beside them.
pub(super) fn apply_import(s: &mut SimState, idents: &[String]) -> (Vec<serde_json::Value>, bool) {
    if let Some(r) = s.cfg.refusal.clone() {
        s.refused_whole += 1;
        return (
            vec![
                json!({ "propertyName": "customsDeclaration", "index": null, "errorCode": "DOCUMENT_REFUSED", "errorTags": [r.reason] }),
            ],
            false,
        );
    }
    let mut seen = HashSet::new();
    let mut errors = Vec::new();
    let mut good = Vec::new();
    for (i, ident) in idents.iter().enumerate() {
        // A box or pallet stands for everything in it: each must be applied.
        if let Some(sscc) = boxes::sscc_digits(ident).filter(|d| s.aggregates.contains_key(*d)) {
            let inner = boxes::leaves(s, sscc);
            let full: Vec<String> = inner
                .iter()
                .filter_map(|c| s.idents.get(c).cloned())
                .collect();
            let all_applied = full.len() == inner.len()
                && full
                    .iter()
                    .all(|c| s.codes.get(c) == Some(&SimCodeState::Applied));
            if !seen.insert(ident) {
                errors.push(json!({ "propertyName": "codes", "index": i, "errorCode": "DUPLICATE_IN_DOCUMENT", "errorTags": [] }));
            } else if all_applied {
                good.extend(full);
            } else {
                if full
                    .iter()
                    .any(|c| s.codes.get(c) == Some(&SimCodeState::Introduced))
                {
                    s.introduced_twice += 1;
                }
                errors.push(json!({ "propertyName": "codes", "index": i, "errorCode": "AGGREGATE_NOT_APPLIED", "errorTags": [] }));
            }
            continue;
        }
        let problem = match s.idents.get(ident) {
            _ if !seen.insert(ident) => Some("DUPLICATE_IN_DOCUMENT"),
            None => Some("CODE_NOT_FOUND"),
            Some(code) => match s.codes.get(code) {
                Some(SimCodeState::Applied) => {
                    good.push(code.clone());
                    // A pair declared alone leaves its box: the registry disbands the box.
                    if let Some(b) = s.parent.remove(ident.as_str()) {
                        s.aggregates_broken += 1;
                        if let Some(a) = s.aggregates.remove(&b) {
                            for m in a.contents {
                                s.parent.remove(&m);
                            }
                        }
                    }
                    None
                }
                Some(SimCodeState::Introduced) => {
                    s.introduced_twice += 1;
                    Some("CODE_ALREADY_INTRODUCED")
                }
                Some(SimCodeState::WrittenOff) => Some("CODE_WRITTEN_OFF"),
                _ => Some("CODE_NOT_APPLIED"),
            },
        };
        if let Some(p) = problem {
            errors.push(
                json!({ "propertyName": "codes", "index": i, "errorCode": p, "errorTags": [] }),
            );
        }
    }
    if !s.cfg.refusals_name_codes && !errors.is_empty() {
        // A registry that does not say which: the document is refused as a whole.
        return (
            vec![json!({ "errorCode": "CODES_NOT_VALID", "errorTags": [] })],
            false,
        );
    }
    let partial = !errors.is_empty() && !good.is_empty();
    for c in good {
        s.codes.insert(c, SimCodeState::Introduced);
    }
    (errors, partial)
}

/// A processed document's status: SUCCESS, PARTIALLY_PROCESSED or ERROR (IN_PROCESS before).
pub(super) fn document_status_of(d: &Document) -> &'static str {
    match &d.errors {
        None => "IN_PROCESS",
        Some(e) if e.is_empty() => "SUCCESS",
        Some(_) if d.partial => "PARTIALLY_PROCESSED",
        Some(_) => "ERROR",
    }
}

pub(super) async fn document_status(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    if let Err(r) = authorised(s, &headers) {
        return r;
    }
    let polls = s.cfg.report_polls;
    if let Some(d) = s.documents.get_mut(&id) {
        d.polls += 1;
        let status = if d.polls <= polls {
            "IN_PROCESS"
        } else {
            document_status_of(d)
        };
        return axum::Json(json!({ "documentId": id, "type": d.kind.as_str(), "status": status, "createDate": iso(d.created_ms) }))
            .into_response();
    }
    error(StatusCode::NOT_FOUND, &format!("document {id} not found"))
}

pub(super) async fn document_errors(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let s = lock(&state);
    if let Err(r) = authorised(&s, &headers) {
        return r;
    }
    let Some(d) = s.documents.get(&id) else {
        return error(StatusCode::NOT_FOUND, &format!("document {id} not found"));
    };
    axum::Json(json!({ "documentErrors": d.errors.clone().unwrap_or_default() })).into_response()
}

/// `GET /public/api/v1/doc/storage/docs/search`: documents (and, if so configured, application reports)
/// by type and creation time, oldest first, `limit` at a time after `cursor` (the last id of the previous
/// page). `types` may be repeated or comma-separated.
pub(super) async fn document_search(
    State(state): State<Shared>,
    headers: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Response {
    let s = lock(&state);
    if let Err(r) = authorised(&s, &headers) {
        return r;
    }
    let mut types: Vec<String> = Vec::new();
    let (mut from, mut to, mut limit, mut cursor) = (None, None, 100usize, None);
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "types" => types.extend(v.split(',').map(|t| t.trim().to_owned())),
            "dateFrom" => from = parse_iso(&v),
            "dateTo" => to = parse_iso(&v),
            "limit" => limit = v.parse().unwrap_or(100).clamp(1, 1000),
            "cursor" => cursor = Some(v.into_owned()),
            _ => {}
        }
    }
    let wanted = |t: &str| types.is_empty() || types.iter().any(|w| w == t);
    let mut rows: Vec<(i64, String, &'static str, &'static str)> = Vec::new();
    for (id, d) in &s.documents {
        if wanted(d.kind.as_str()) {
            rows.push((
                d.created_ms,
                id.clone(),
                d.kind.as_str(),
                document_status_of(d),
            ));
        }
    }
    if wanted("UTILISATION") && s.cfg.search_lists_utilisation {
        for (id, r) in &s.reports {
            let status = match &r.outcome {
                None => "IN_PROCESS",
                Some(Ok(())) => "SUCCESS",
                Some(Err(_)) => "ERROR",
            };
            rows.push((r.created_ms, id.clone(), "UTILISATION", status));
        }
    }
    rows.retain(|(at, ..)| from.is_none_or(|f| *at >= f) && to.is_none_or(|t| *at <= t));
    rows.sort();
    let start = cursor
        .and_then(|c| rows.iter().position(|(_, id, ..)| *id == c).map(|i| i + 1))
        .unwrap_or(0);
    let infos: Vec<_> = rows
        .iter()
        .skip(start)
        .take(limit)
        .map(|(at, id, ty, st)| json!({ "documentId": id, "type": ty, "status": st, "createDate": iso(*at) }))
        .collect();
    axum::Json(json!({ "documentInfos": infos })).into_response()
}

/// `GET /public/api/v1/doc/storage/json/{id}`: the document (or report) "as it reached the storage":
/// the withdrawal's envelope with its base64 body, the application report's request.
pub(super) async fn document_json(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let s = lock(&state);
    if let Err(r) = authorised(&s, &headers) {
        return r;
    }
    let body = match (s.documents.get(&id), s.reports.get(&id)) {
        (Some(d), _) => d.body.clone(),
        (None, Some(r)) if s.cfg.search_lists_utilisation => r.body.clone(),
        _ => return error(StatusCode::NOT_FOUND, &format!("document {id} not found")),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}
