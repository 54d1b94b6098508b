// SPDX-License-Identifier: GPL-3.0-or-later
//! Messages of the older platform's code-ordering API v2, extension `shoes` (Kazakhstan's swagger; shared
//! research, registry API section 2). Every call carries the `clientToken` header and `omsId` parameter.
//!
//! Kazakhstan's `shoes` extension has no utilisation and no dropout endpoint, so reports and write-offs
//! are not possible through it: the client says so to the supervisor rather than pretending.

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
}
