// SPDX-License-Identifier: GPL-3.0-or-later
//! The simulated application reports and code lookup: reports taken (or refused at once), processed on
//! the registry's clock with every document due, their status, and the code lookup in the layouts the
//! registry may answer in.

// Handler helpers return the axum `Response` to send as their error (see the parent module).
#![allow(clippy::result_large_err)]

use super::*;

pub(super) async fn utilisation(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    if let Err(r) = authorised(s, &headers) {
        return r;
    }
    let req: xtrace::Utilisation = match parse(&body) {
        Ok(r) => r,
        Err(r) => return r,
    };
    if req.sntins.is_empty() {
        return error(StatusCode::BAD_REQUEST, "sntins is empty");
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
    axum::Json(json!({ "reportId": id })).into_response()
}

/// A 400 for every report and document while a [`Refusal`] at send is set.
pub(super) fn refused_at_send(s: &mut SimState) -> Option<Response> {
    let reason = s
        .cfg
        .refusal
        .as_ref()
        .filter(|r| r.at_send)
        .map(|r| r.reason.clone())?;
    s.refused_whole += 1;
    Some(error(StatusCode::BAD_REQUEST, &reason))
}

/// Take an application report for processing later (now, without a processing delay). Returns its id.
pub(super) fn receive_report(
    s: &mut SimState,
    codes: Vec<String>,
    body: String,
    aggregation: bool,
) -> String {
    s.reports_received += 1;
    let pending: HashSet<&String> = s
        .reports
        .values()
        .filter(|r| r.outcome.is_none())
        .flat_map(|r| r.codes.iter())
        .collect();
    let again = codes.iter().filter(|c| pending.contains(c)).count() as u64;
    s.resent_while_pending += again;
    let id = s.id();
    let now = crate::ledger::now_ms();
    let delay = i64::try_from(s.cfg.processing_delay.as_millis()).unwrap_or(i64::MAX);
    s.reports.insert(
        id.clone(),
        Report {
            polls: 0,
            codes,
            created_ms: now,
            due_ms: now.saturating_add(delay),
            outcome: None,
            aggregation,
            body,
        },
    );
    process_due(s);
    id
}

/// Process every report and document whose time has come, in the order they arrived: the registry
/// works on its own clock, whether or not anyone asks.
pub(super) fn process_due(s: &mut SimState) {
    let now = crate::ledger::now_ms();
    let mut due: Vec<(i64, bool, String)> = s
        .reports
        .iter()
        .filter(|(_, r)| r.outcome.is_none() && r.due_ms <= now)
        .map(|(id, r)| (r.created_ms, true, id.clone()))
        .chain(
            s.documents
                .iter()
                .filter(|(_, d)| d.errors.is_none() && d.due_ms <= now)
                .map(|(id, d)| (d.created_ms, false, id.clone())),
        )
        .collect();
    due.sort();
    for (_, report, id) in due {
        if report {
            let (codes, aggregation) = s
                .reports
                .get(&id)
                .map(|r| (r.codes.clone(), r.aggregation))
                .unwrap_or_default();
            let outcome = if aggregation {
                let errors = boxes::apply_aggregation(s, &codes);
                if errors.is_empty() {
                    Ok(())
                } else {
                    Err(errors
                        .iter()
                        .map(|e| {
                            format!(
                                "{}: {}",
                                e["propertyName"].as_str().unwrap_or("document"),
                                e["errorCode"].as_str().unwrap_or("?")
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; "))
                }
            } else {
                apply_utilisation(s, &codes)
            };
            if let Some(r) = s.reports.get_mut(&id) {
                r.outcome = Some(outcome);
            }
        } else {
            let Some((kind, codes)) = s.documents.get(&id).map(|d| (d.kind, d.codes.clone()))
            else {
                continue;
            };
            let (errors, partial) = match kind {
                SimDocKind::Withdrawal => (apply_write_off(s, &codes), false),
                SimDocKind::Import => apply_import(s, &codes),
                SimDocKind::Aggregation => (boxes::apply_aggregation(s, &codes), false),
                SimDocKind::Disaggregation => (boxes::apply_disaggregation(s, &codes), false),
            };
            if let Some(d) = s.documents.get_mut(&id) {
                d.errors = Some(errors);
                d.partial = partial;
            }
        }
    }
}

pub(super) async fn utilisation_status(
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
    let Some(r) = s.reports.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, &format!("report {id} not found"));
    };
    r.polls += 1;
    let (status, reason) = match &r.outcome {
        _ if r.polls <= polls => ("IN_PROCESS", None),
        None => ("IN_PROCESS", None),
        Some(Ok(())) => ("SUCCESS", None),
        Some(Err(e)) => ("ERROR", Some(e.clone())),
    };
    axum::Json(json!({ "reportId": id, "reportStatus": status, "rejectReason": reason, "createdTimestamp": iso(r.created_ms) })).into_response()
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of milliseconds since the epoch.
pub(super) fn iso(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_millis(t).to_string()
}

/// Milliseconds since the epoch of an RFC 3339 time (`Z` or no zone: UTC).
pub(super) fn parse_iso(text: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339_weak(text.trim().trim_end_matches('Z')).ok()?;
    let d = t.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(d.as_millis()).ok()
}

/// The identification part of a code (up to its first GS).
pub(super) fn ident_of(code: &str) -> &str {
    code.split('\u{1d}').next().unwrap_or(code)
}

pub(super) async fn lookup_codes(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut guard = lock(&state);
    let s = &mut *guard;
    if let Err(r) = authorised(s, &headers) {
        return r;
    }
    #[derive(serde::Deserialize)]
    struct Q {
        codes: Vec<String>,
    }
    let q: Q = match parse(&body) {
        Ok(q) => q,
        Err(r) => return r,
    };
    if q.codes.is_empty() || q.codes.len() > s.cfg.lookup_max {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "codes must hold 1 to {} codes (COD_READER_SEARCH_CODES_BY_IDS_MAX_COUNT)",
                s.cfg.lookup_max
            ),
        );
    }
    s.lookups += 1;
    s.codes_looked_up += q.codes.len() as u64;
    let echo = s.cfg.lookup_echo;
    // The answer lists the codes it knows, each as the registry's document shows one (an array of them);
    // codes it does not know are left out. Asked by full code or by identification code alike.
    let found: Vec<_> = q
        .codes
        .iter()
        .filter_map(|asked| {
            let full = s
                .codes
                .contains_key(asked)
                .then_some(asked)
                .or_else(|| s.idents.get(ident_of(asked)))?;
            let status = match s.codes.get(full)? {
                SimCodeState::Received => "RECEIVED",
                SimCodeState::Applied => "APPLIED",
                SimCodeState::WrittenOff => "WRITTEN_OFF",
                SimCodeState::Introduced => "INTRODUCED",
            };
            let code = match echo {
                LookupEcho::AsAsked => asked.clone(),
                LookupEcho::Identification => ident_of(full).to_owned(),
                LookupEcho::EscapedSeparators => full.replace('\u{1d}', "\\u001d"),
            };
            let gtin = full.get(2..16).unwrap_or_default();
            Some(json!({
                "code": code,
                "isHadExtendedCode": false,
                "packageType": "UNIT",
                "status": status,
                "template": "GS1_AISTR",
                "gtin": gtin,
            }))
        })
        .collect();
    match s.cfg.lookup_layout {
        LookupLayout::List => axum::Json(serde_json::Value::Array(found)).into_response(),
        LookupLayout::Wrapped => axum::Json(json!({ "codes": found })).into_response(),
    }
}
