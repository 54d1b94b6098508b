// SPDX-License-Identifier: GPL-3.0-or-later
//! The simulated registry's transport packages: aggregation documents put applied codes into boxes
//! (and boxes onto pallets) under their SSCC, transport-code disaggregation unpacks them, and an import
//! document may name a box for everything in it. As strict as the registry is said to be, and stricter
//! where its rules are not published (shared research, customs workflow 2.2: counts, capacity and
//! nesting "to be tested on STAGE"): an SSCC with a wrong check digit, a count that differs from the
//! codes listed or exceeds the capacity, a code that is not applied or already in another box (unless
//! the unit says to unbundle it first), an SSCC used before: the document is refused, with an error per
//! unit or code. Processed whole, asynchronously, like every document.

use std::collections::HashSet;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::{
    Shared, SimCodeState, SimDocKind, SimState, error, parse_iso, receive_document,
    refused_at_send, tailed, with_document,
};
use crate::registry::xtrace;

/// A box or pallet the registry knows: what is in it (identification codes, or boxes' SSCCs).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SimAggregate {
    pub capacity: u32,
    pub contents: Vec<String>,
}

/// The 18 digits of an SSCC given as `00` + 18 digits or as 18 digits, if its check digit is right.
pub(super) fn sscc_digits(s: &str) -> Option<&str> {
    let d = match s.len() {
        20 if s.starts_with("00") => &s[2..],
        18 => s,
        _ => return None,
    };
    if !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: Vec<u32> = d.bytes().map(|b| u32::from(b - b'0')).collect();
    let sum: u32 = digits[..17]
        .iter()
        .rev()
        .enumerate()
        .map(|(i, v)| if i % 2 == 0 { v * 3 } else { *v })
        .sum();
    ((10 - sum % 10) % 10 == digits[17]).then_some(d)
}

/// `POST /public/api/v1/doc/aggregation`.
pub(super) async fn aggregation_document(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_document(
        &state,
        &headers,
        &body,
        |s, doc: xtrace::AggregationDocument| {
            if doc.aggregation_units.is_empty()
                || doc.aggregation_units.iter().any(|u| u.codes.is_empty())
            {
                return error(
                    StatusCode::BAD_REQUEST,
                    "aggregationUnits and each unit's codes are required",
                );
            }
            if parse_iso(&doc.document_date).is_none() {
                return error(
                    StatusCode::BAD_REQUEST,
                    "documentDate must be a date-time (e.g. 2026-03-02T10:15:00Z)",
                );
            }
            for (i, u) in doc.aggregation_units.iter().enumerate() {
                if let Some(j) = u.codes.iter().position(|c| tailed(s, c)) {
                    s.documents_with_tails += 1;
                    return error(
                        StatusCode::BAD_REQUEST,
                        &format!(
                            "aggregationUnits[{i}].codes[{j}]: an identification code without its crypto tail is expected"
                        ),
                    );
                }
            }
            if let Some(r) = refused_at_send(s) {
                return r;
            }
            let units = serde_json::to_string(&doc.aggregation_units).unwrap_or_default();
            receive_document(s, SimDocKind::Aggregation, vec![units], &body)
        },
    )
}

/// `POST /public/api/v1/doc/transport-code-disaggregation`.
pub(super) async fn disaggregation_document(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    with_document(
        &state,
        &headers,
        &body,
        |s, doc: xtrace::TransportDisaggregation| {
            if doc.codes.is_empty() || parse_iso(&doc.business_datetime).is_none() {
                return error(
                    StatusCode::BAD_REQUEST,
                    "codes and businessDatetime (a date-time) are required",
                );
            }
            if let Some(r) = refused_at_send(s) {
                return r;
            }
            receive_document(s, SimDocKind::Disaggregation, doc.codes, &body)
        },
    )
}

fn unit_error(i: usize, what: &str, code: &str) -> serde_json::Value {
    json!({ "propertyName": format!("aggregationUnits[{i}].{what}"), "index": i, "errorCode": code, "errorTags": [] })
}

fn code_error(i: usize, j: usize, code: &str) -> serde_json::Value {
    json!({ "propertyName": format!("aggregationUnits[{i}].codes"), "index": j, "errorCode": code, "errorTags": [] })
}

/// Process an aggregation document (its units as JSON in `codes[0]`): all or nothing.
pub(super) fn apply_aggregation(s: &mut SimState, codes: &[String]) -> Vec<serde_json::Value> {
    if let Some(r) = s.cfg.refusal.clone() {
        s.refused_whole += 1;
        return vec![
            json!({ "propertyName": null, "index": null, "errorCode": "DOCUMENT_REFUSED", "errorTags": [r.reason] }),
        ];
    }
    let units: Vec<xtrace::AggregationUnit> = codes
        .first()
        .and_then(|u| serde_json::from_str(u).ok())
        .unwrap_or_default();
    let mut errors = Vec::new();
    let mut seen_units = HashSet::new();
    let mut seen_codes = HashSet::new();
    let mut planned: Vec<(String, SimAggregate, bool)> = Vec::new();
    for (i, u) in units.iter().enumerate() {
        let Some(sscc) = sscc_digits(&u.unit_serial_number) else {
            errors.push(unit_error(i, "unitSerialNumber", "INVALID_SSCC"));
            continue;
        };
        if s.aggregates.contains_key(sscc)
            || s.ssccs_used.contains(sscc)
            || !seen_units.insert(sscc)
        {
            errors.push(unit_error(i, "unitSerialNumber", "SSCC_ALREADY_USED"));
        }
        if u.aggregation_items_count as usize != u.codes.len() {
            errors.push(unit_error(i, "aggregationItemsCount", "COUNT_MISMATCH"));
        }
        if u.aggregation_items_count > u.aggregation_unit_capacity {
            errors.push(unit_error(i, "aggregationItemsCount", "CAPACITY_EXCEEDED"));
        }
        let mut contents = Vec::new();
        for (j, c) in u.codes.iter().enumerate() {
            let member =
                if let Some(inner) = sscc_digits(c).filter(|d| s.aggregates.contains_key(*d)) {
                    Ok(inner.to_owned())
                } else {
                    match s.idents.get(c).and_then(|full| s.codes.get(full)) {
                        Some(SimCodeState::Applied | SimCodeState::Introduced) => Ok(c.clone()),
                        Some(_) => Err("CODE_NOT_APPLIED"),
                        None => Err("CODE_NOT_FOUND"),
                    }
                };
            match member {
                Err(e) => errors.push(code_error(i, j, e)),
                Ok(m) => {
                    if !seen_codes.insert(m.clone()) {
                        errors.push(code_error(i, j, "DUPLICATE_IN_DOCUMENT"));
                    } else if s.parent.contains_key(&m) && !u.should_be_unbundled {
                        s.aggregated_twice += 1;
                        errors.push(code_error(i, j, "ALREADY_AGGREGATED"));
                    }
                    contents.push(m);
                }
            }
        }
        planned.push((
            sscc.to_owned(),
            SimAggregate {
                capacity: u.aggregation_unit_capacity,
                contents,
            },
            u.should_be_unbundled,
        ));
    }
    if errors.is_empty() {
        for (sscc, agg, _) in planned {
            for m in &agg.contents {
                if let Some(old) = s.parent.insert(m.clone(), sscc.clone())
                    && let Some(a) = s.aggregates.get_mut(&old)
                {
                    a.contents.retain(|x| x != m);
                }
            }
            s.ssccs_used.insert(sscc.clone());
            s.aggregates.insert(sscc, agg);
        }
    }
    errors
}

/// Process a disaggregation: each SSCC must be a box or pallet the registry knows. All or nothing.
pub(super) fn apply_disaggregation(s: &mut SimState, codes: &[String]) -> Vec<serde_json::Value> {
    let mut errors = Vec::new();
    for (i, c) in codes.iter().enumerate() {
        if sscc_digits(c).is_none_or(|d| !s.aggregates.contains_key(d)) {
            errors.push(json!({ "propertyName": "codes", "index": i, "errorCode": "AGGREGATE_NOT_FOUND", "errorTags": [] }));
        }
    }
    if errors.is_empty() {
        for c in codes {
            if let Some(d) = sscc_digits(c).map(str::to_owned)
                && let Some(a) = s.aggregates.remove(&d)
            {
                for m in a.contents {
                    s.parent.remove(&m);
                }
                s.parent.remove(&d);
            }
        }
    }
    errors
}

/// The identification codes a box or pallet holds, all levels down (an import by SSCC).
pub(super) fn leaves(s: &SimState, sscc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![sscc.to_owned()];
    while let Some(u) = stack.pop() {
        match s.aggregates.get(&u) {
            Some(a) => stack.extend(a.contents.iter().cloned()),
            None => out.push(u),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::sscc_digits;

    #[test]
    fn sscc_check_digits_of_published_examples() {
        // GS1 General Specifications' example, and two from the research (customs workflow 7).
        for ok in [
            "00095287654321012346",
            "157035381410375177",
            "376130321109103420",
            "00048700010000001230",
            "00148700010000000018",
        ] {
            assert!(sscc_digits(ok).is_some(), "{ok}");
        }
        for bad in [
            "00095287654321012345",
            "095287654321012347",
            "0009528765432101234",
            "1570353814103751770",
            "15703538141037517x",
            "01095287654321012346",
        ] {
            assert!(sscc_digits(bad).is_none(), "{bad}");
        }
    }
}
