// SPDX-License-Identifier: GPL-3.0-or-later
//! Messages of the older platform's code-ordering API v2, extension `shoes` (Kazakhstan's swagger; shared
//! research, registry API section 2). Every call carries the `clientToken` header and `omsId` parameter.
//!
//! Kazakhstan's `shoes` extension has no utilisation and no dropout endpoint. The client sends
//! utilisation reports in the RU v2 shape (where a registry has the endpoint) and refuses write-offs
//! with a message for the supervisor rather than pretending.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReleaseMethod {
    Production,
    Import,
    Remains,
    Crossborder,
    Remark,
    ContractProduction,
    Commission,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CreateMethod {
    SelfMade,
    Cem,
    Cm,
    Cl,
    Ca,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderProduct {
    pub gtin: String,
    /// 1 to 150 000.
    pub quantity: u32,
    /// `OPERATOR`: the registry makes the serials.
    pub serial_number_type: String,
    /// Footwear: template 1 (`01` + GTIN + `21` + 13-character serial).
    pub template_id: u32,
}

/// `POST /api/v2/shoes/orders` (`OrderDtoShoesKZ`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrder {
    pub contact_person: String,
    pub release_method_type: ReleaseMethod,
    pub create_method_type: CreateMethod,
    /// Country of production, ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The station's own key for the order, so that an order whose answer was lost can be found again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production_order_id: Option<String>,
    pub products: Vec<OrderProduct>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderResult {
    pub oms_id: String,
    pub order_id: String,
    /// Epoch milliseconds: a first hint of when the buffer will be ready.
    #[serde(default)]
    pub expected_complete_timestamp: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BufferStatus {
    Pending,
    Active,
    Exhausted,
    Rejected,
    Expired,
    Closed,
    #[serde(other)]
    Unknown,
}

/// `GET /api/v2/shoes/buffer/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BufferInfo {
    pub order_id: String,
    pub gtin: String,
    pub buffer_status: BufferStatus,
    #[serde(default)]
    pub total_codes: i64,
    #[serde(default)]
    pub available_codes: i64,
    #[serde(default)]
    pub left_in_buffer: i64,
    #[serde(default)]
    pub total_passed: i64,
    #[serde(default)]
    pub pools_exhausted: bool,
    /// Begins "Order declined: …" when the registry refused the order.
    #[serde(default)]
    pub rejection_reason: Option<String>,
    /// Epoch milliseconds; 0 means no expiry.
    #[serde(default)]
    pub expired_date: Option<i64>,
}

/// `GET /api/v2/shoes/codes` and `/codes/retry`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CodesBlock {
    pub oms_id: String,
    pub codes: Vec<String>,
    pub block_id: String,
}

impl std::fmt::Debug for CodesBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodesBlock")
            .field("block_id", &self.block_id)
            .field("codes", &self.codes.len())
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockInfo {
    pub block_id: String,
    #[serde(default)]
    pub block_date_time: Option<serde_json::Value>,
    pub quantity: i64,
}

/// `GET /api/v2/shoes/codes/blocks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Blocks {
    pub oms_id: String,
    pub order_id: String,
    pub gtin: String,
    #[serde(default)]
    pub blocks: Vec<BlockInfo>,
}

/// `POST /api/v2/shoes/buffer/close` and `GET /api/v2/shoes/ping`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OmsAck {
    pub oms_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Created,
    Pending,
    Declined,
    Approved,
    Ready,
    Expired,
    Closed,
    #[serde(other)]
    Unknown,
}

/// One order in `GET /api/v2/{extension}/orders` (`OrderSummaryInfo`). Whether the registry echoes
/// `productionOrderId` here is not documented (shared research, section 2): the station finds a lost
/// order by it when present; the simulator echoes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderSummary {
    pub order_id: String,
    pub order_status: OrderStatus,
    #[serde(default)]
    pub production_order_id: Option<String>,
    #[serde(default)]
    pub decline_reason: Option<String>,
    /// Its sub-orders, one per GTIN, where the listing shows them.
    #[serde(default)]
    pub buffers: Vec<SummaryBuffer>,
}

/// The part of a listed sub-order the station reads: which GTIN it is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryBuffer {
    #[serde(default)]
    pub gtin: Option<String>,
}

/// `GET /api/v2/{extension}/orders`: for recovery only (the registry says so).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct OrderSummaries {
    #[serde(default)]
    pub order_infos: Vec<OrderSummary>,
}

/// `usageType` of a utilisation report; only PRINTED and VERIFIED are live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UsageType {
    Printed,
    Verified,
}

/// `POST /api/v2/{extension}/utilisation` as the RU v2 swagger has it for shoes. Kazakhstan's `shoes`
/// swagger has no such endpoint (shared research, section 0): sent only where the registry has it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Utilisation {
    pub sntins: Vec<String>,
    pub usage_type: UsageType,
}

impl std::fmt::Debug for Utilisation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Utilisation")
            .field("sntins", &self.sntins.len())
            .field("usage_type", &self.usage_type)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportResult {
    pub oms_id: String,
    pub report_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReportStatus {
    Draft,
    Pending,
    Check,
    ReadyToSend,
    Rejected,
    Sent,
    /// RU only, utilisation.
    Processed,
    #[serde(other)]
    Unknown,
}

/// `POST /api/v2/{extension}/aggregation` (`AggregationReportDtoShoesKZ`, shared research: customs
/// workflow 3): boxes with the codes put into them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregationReport {
    pub participant_id: String,
    pub aggregation_units: Vec<AggregationUnit>,
}

/// One box of an [`AggregationReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregationUnit {
    /// Pairs actually put in.
    pub aggregated_items_count: u32,
    /// `AGGREGATION` (a new box) or `UPDATE`.
    pub aggregation_type: String,
    pub aggregation_unit_capacity: u32,
    pub sntins: Vec<String>,
    pub unit_serial_number: String,
}

/// `GET /api/v2/{extension}/aggregation/info?unitSerialNumber=…`: what the registry knows of a box.
/// Only the unit's codes are read; everything else may vary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregationInfo {
    #[serde(default)]
    pub aggregation_unit: Option<AggregationInfoUnit>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregationInfoUnit {
    #[serde(default)]
    pub unit_serial_number: Option<String>,
    #[serde(default)]
    pub sntins: Vec<String>,
}

/// `GET /api/v2/{extension}/report/info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportInfo {
    pub report_id: String,
    pub report_status: ReportStatus,
    #[serde(default)]
    pub error_reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_shapes() {
        let order = CreateOrder {
            contact_person: "Склад №3".into(),
            release_method_type: ReleaseMethod::Import,
            create_method_type: CreateMethod::SelfMade,
            country: Some("CN".into()),
            production_order_id: None,
            products: vec![OrderProduct {
                gtin: "04601234567893".into(),
                quantity: 150_000,
                serial_number_type: "OPERATOR".into(),
                template_id: 1,
            }],
        };
        assert_eq!(
            serde_json::to_string(&order).unwrap(),
            r#"{"contactPerson":"Склад №3","releaseMethodType":"IMPORT","createMethodType":"SELF_MADE","country":"CN","products":[{"gtin":"04601234567893","quantity":150000,"serialNumberType":"OPERATOR","templateId":1}]}"#
        );
        let b: BufferInfo = serde_json::from_str(
            r#"{"omsId":"x","orderId":"o","gtin":"g","bufferStatus":"REJECTED","totalCodes":0,"availableCodes":0,"leftInBuffer":0,"unavailableCodes":0,"totalPassed":0,"poolsExhausted":false,"rejectionReason":"Order declined: 0106 GTIN not in registry","expiredDate":0,"poolInfos":[]}"#,
        )
        .unwrap();
        assert_eq!(b.buffer_status, BufferStatus::Rejected);
        assert!(b.rejection_reason.unwrap().starts_with("Order declined"));
        let blk: CodesBlock =
            serde_json::from_str(r#"{"omsId":"x","codes":["c1\u001dsecret"],"blockId":"b-1"}"#)
                .unwrap();
        assert!(!format!("{blk:?}").contains("secret"));
        let blocks: Blocks =
            serde_json::from_str(r#"{"omsId":"x","orderId":"o","gtin":"g","blocks":[{"blockId":"b-1","blockDateTime":1700000000000,"quantity":10}]}"#).unwrap();
        assert_eq!(blocks.blocks[0].quantity, 10);
    }

    #[test]
    fn orders_and_reports_parse() {
        let o: OrderSummaries = serde_json::from_str(
            r#"{"omsId":"x","orderInfos":[{"orderId":"o-1","orderStatus":"READY","createdTimestamp":1,"buffers":[],"productionOrderId":"k-1"},{"orderId":"o-2","orderStatus":"ARCHIVED","declineReason":"no"}]}"#,
        )
        .unwrap();
        assert_eq!(o.order_infos[0].production_order_id.as_deref(), Some("k-1"));
        assert_eq!(o.order_infos[1].order_status, OrderStatus::Unknown);
        let table: &[(&str, Option<ReportStatus>)] = &[
            (
                r#"{"omsId":"x","reportId":"r","reportStatus":"SENT"}"#,
                Some(ReportStatus::Sent),
            ),
            (
                r#"{"reportId":"r","reportStatus":"READY_TO_SEND"}"#,
                Some(ReportStatus::ReadyToSend),
            ),
            (
                r#"{"reportId":"r","reportStatus":"REJECTED","errorReason":"bad"}"#,
                Some(ReportStatus::Rejected),
            ),
            (
                r#"{"reportId":"r","reportStatus":"LOST_IN_SPACE"}"#,
                Some(ReportStatus::Unknown),
            ),
            (r#"{"reportStatus":"SENT"}"#, None),
            (r#"{"reportId":5,"reportStatus":"SENT"}"#, None),
        ];
        for (body, want) in table {
            let got = serde_json::from_str::<ReportInfo>(body)
                .ok()
                .map(|r| r.report_status);
            assert_eq!(got, *want, "{body}");
        }
        let u = Utilisation {
            sntins: vec!["c\u{1d}secret".into()],
            usage_type: UsageType::Verified,
        };
        assert!(
            serde_json::to_string(&u)
                .unwrap()
                .contains(r#""usageType":"VERIFIED""#)
        );
        assert!(!format!("{u:?}").contains("secret"));
    }
}
