// SPDX-License-Identifier: GPL-3.0-or-later
//! Registry orders and their packs, as the ledger records them during a code pull.
//!
//! The pull protocol this supports (the client drives it):
//! 1. [`Ledger::order_requested`] writes the order with a key the station made, *before* the create
//!    request is sent. If the answer is lost, the key finds the order in the registry's order list.
//! 2. [`Ledger::order_created`] records the registry's order id.
//! 3. Each pack goes through [`Ledger::store_pack`]: its codes, the pack id and the order's progress
//!    commit together, so "the ledger has pack P" and "the ledger has P's codes" are the same fact. A
//!    pack answer that was lost is fetched again (the registry's retry) and storing it twice is a no-op.
//! 4. [`Ledger::order_closed`] when every code arrived, or [`Ledger::order_rejected`] with the reason.
//!
//! An order that cannot be finished (the registry refuses a step, or never makes the codes) keeps its
//! last failure ([`Ledger::order_failed`]) and waits; a supervisor may abandon it
//! ([`Ledger::order_abandoned`]). An abandoned order never takes a pack, and its registry order is closed
//! (or found and closed, if its creation surfaces late) so that its codes are never handed out unnoticed.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Actor, Ledger, StoreError, audit, begin, now_ms, pool, product_exists};
use crate::codes::{CodeFormat, Gtin, MarkingCode};

/// Row id of an order in the ledger (not the registry's id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct OrderId(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Written before the create request; the registry's id is not known yet.
    Requested,
    /// The registry accepted it; packs are being taken.
    Open,
    Closed,
    Rejected,
    /// A supervisor gave it up; it takes no more codes.
    Abandoned,
}

impl OrderStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Requested => "REQUESTED",
            OrderStatus::Open => "OPEN",
            OrderStatus::Closed => "CLOSED",
            OrderStatus::Rejected => "REJECTED",
            OrderStatus::Abandoned => "ABANDONED",
        }
    }

    fn parse(s: &str) -> Option<OrderStatus> {
        [
            OrderStatus::Requested,
            OrderStatus::Open,
            OrderStatus::Closed,
            OrderStatus::Rejected,
            OrderStatus::Abandoned,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Whether a pull still works on it.
    pub const fn is_unfinished(self) -> bool {
        matches!(self, OrderStatus::Requested | OrderStatus::Open)
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderRecord {
    pub id: OrderId,
    pub api: String,
    pub order_key: String,
    pub registry_id: Option<String>,
    pub gtin: Gtin,
    pub quantity: u32,
    pub received: u32,
    pub last_pack_id: Option<String>,
    pub status: OrderStatus,
    /// Why it was refused or abandoned.
    pub reason: Option<String>,
    /// Why it could not be finished the last time a pull tried (while it is unfinished).
    pub last_error: Option<String>,
    pub last_error_at_ms: Option<i64>,
    pub created_at_ms: i64,
    pub closed_at_ms: Option<i64>,
    /// An abandoned order: when the registry's order was seen closed (or never made). `None` while a
    /// pull still has to close it.
    pub registry_closed_at_ms: Option<i64>,
}

/// What storing a pack did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PackStored {
    /// Codes added to the pool.
    pub new: usize,
    /// Codes of the pack the ledger already held (e.g. imported from a file before).
    pub already_in_ledger: usize,
    /// The pack itself had been stored before: nothing changed.
    pub repeat: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("the registry sent pack {pack_id} with {} bad code(s), e.g. code {}: {}; the pack was not stored. Report this to the registry operator", .bad.len(), .bad[0].0 + 1, .bad[0].1)]
    BadCodes {
        pack_id: String,
        bad: Vec<(usize, String)>,
    },
    #[error(
        "pack {pack_id} would bring order {order} to {total} codes, more than the {quantity} ordered; the pack was not stored"
    )]
    TooMany {
        pack_id: String,
        order: i64,
        total: u64,
        quantity: u32,
    },
    #[error("order #{0} is {1}: packs can only be stored for an open order")]
    NotOpen(i64, OrderStatus),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for PackError {
    fn from(e: rusqlite::Error) -> Self {
        PackError::Store(e.into())
    }
}

const ORDER_COLUMNS: &str =
    "id, api, order_key, registry_id, gtin, quantity, received, last_pack_id, status, reason,
     last_error, last_error_at, created_at, closed_at, registry_closed_at";

/// An order row as stored; GTIN and status are checked when it becomes an [`OrderRecord`].
struct OrderRow {
    id: i64,
    api: String,
    order_key: String,
    registry_id: Option<String>,
    gtin: String,
    quantity: u32,
    received: u32,
    last_pack_id: Option<String>,
    status: String,
    reason: Option<String>,
    last_error: Option<String>,
    last_error_at: Option<i64>,
    created_at: i64,
    closed_at: Option<i64>,
    registry_closed_at: Option<i64>,
}

fn read_order(r: &rusqlite::Row<'_>) -> rusqlite::Result<OrderRow> {
    Ok(OrderRow {
        id: r.get(0)?,
        api: r.get(1)?,
        order_key: r.get(2)?,
        registry_id: r.get(3)?,
        gtin: r.get(4)?,
        quantity: r.get(5)?,
        received: r.get(6)?,
        last_pack_id: r.get(7)?,
        status: r.get(8)?,
        reason: r.get(9)?,
        last_error: r.get(10)?,
        last_error_at: r.get(11)?,
        created_at: r.get(12)?,
        closed_at: r.get(13)?,
        registry_closed_at: r.get(14)?,
    })
}

impl OrderRow {
    fn into_record(self, ledger: &Ledger) -> Result<OrderRecord, StoreError> {
        let bad = |what: String| StoreError::Corrupt {
            path: ledger.path.clone(),
            detail: format!("order #{}: {what}", self.id),
        };
        Ok(OrderRecord {
            id: OrderId(self.id),
            gtin: Gtin::parse(&self.gtin).map_err(|e| bad(e.to_string()))?,
            status: OrderStatus::parse(&self.status)
                .ok_or_else(|| bad(format!("status {}", self.status)))?,
            api: self.api,
            order_key: self.order_key,
            registry_id: self.registry_id,
            quantity: self.quantity,
            received: self.received,
            last_pack_id: self.last_pack_id,
            reason: self.reason,
            last_error: self.last_error,
            last_error_at_ms: self.last_error_at,
            created_at_ms: self.created_at,
            closed_at_ms: self.closed_at,
            registry_closed_at_ms: self.registry_closed_at,
        })
    }
}

impl Ledger {
    /// Record an order about to be sent to the registry, under a key the station made.
    pub fn order_requested(
        &mut self,
        api: &str,
        gtin: &Gtin,
        quantity: u32,
        order_key: &str,
        actor: &Actor,
    ) -> Result<OrderRecord, StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        product_exists(&tx, gtin)?;
        tx.execute(
            "INSERT INTO orders (api, order_key, gtin, quantity, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![api, order_key, gtin.as_str(), quantity, at],
        )?;
        let id = tx.last_insert_rowid();
        let detail =
            serde_json::json!({ "api": api, "order_key": order_key, "quantity": quantity });
        audit::append(
            &tx,
            at,
            actor,
            "order.request",
            gtin.as_str(),
            &detail.to_string(),
        )?;
        tx.commit()?;
        self.order(OrderId(id))
    }

    /// The registry accepted the order under `registry_id`.
    pub fn order_created(&mut self, id: OrderId, registry_id: &str) -> Result<(), StoreError> {
        // An answer naming a registry order another ledger order holds is not this order's (a search that
        // answered someone else's order, or an abandoned order's).
        let o = self.order(id)?;
        let other: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM orders WHERE api = ?1 AND registry_id = ?2 AND id <> ?3",
                params![o.api, registry_id, id.0],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(other) = other {
            return Err(StoreError::OrderState {
                id: id.0,
                detail: format!(
                    "the registry answered its order {registry_id}, which is ledger order #{other}: not this one"
                ),
            });
        }
        let n = self.conn.execute(
            "UPDATE orders SET registry_id = ?2, status = 'OPEN' WHERE id = ?1 AND status = 'REQUESTED'",
            params![id.0, registry_id],
        )?;
        if n == 0 {
            let o = self.order(id)?;
            if o.registry_id.as_deref() != Some(registry_id) {
                return Err(StoreError::OrderState {
                    id: id.0,
                    detail: format!(
                        "it is {} with registry id {:?}; cannot record registry id {registry_id}",
                        o.status, o.registry_id
                    ),
                });
            }
        }
        Ok(())
    }

    /// The registry refused the order (or never received it and it was abandoned).
    pub fn order_rejected(
        &mut self,
        id: OrderId,
        reason: &str,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        self.end_order(id, "REJECTED", Some(reason), actor)
    }

    /// Every code arrived, or the remaining ones are given up; the registry order is closed.
    pub fn order_closed(&mut self, id: OrderId, actor: &Actor) -> Result<(), StoreError> {
        self.end_order(id, "CLOSED", None, actor)
    }

    /// A supervisor gives up an unfinished order: it takes no more codes; packs already stored stay.
    pub fn order_abandoned(
        &mut self,
        id: OrderId,
        reason: &str,
        actor: &Actor,
    ) -> Result<OrderRecord, StoreError> {
        if actor.role != super::Role::Supervisor {
            return Err(StoreError::NeedsSupervisor {
                mv: "abandon an order",
                actor: actor.name.clone(),
                role: actor.role.as_str(),
            });
        }
        let o = self.order(id)?;
        if !o.status.is_unfinished() {
            return Err(StoreError::OrderState {
                id: id.0,
                detail: format!(
                    "it is {}: only a REQUESTED or OPEN order can be abandoned",
                    o.status
                ),
            });
        }
        self.end_order(id, "ABANDONED", Some(reason), actor)?;
        self.order(id)
    }

    /// A pull could not finish the order this time: keep why, for the order list.
    pub fn order_failed(&mut self, id: OrderId, error: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE orders SET last_error = ?2, last_error_at = ?3 WHERE id = ?1",
            params![id.0, error, now_ms()],
        )?;
        Ok(())
    }

    /// An abandoned order's creation surfaced in the registry after all, under `registry_id`.
    pub fn abandoned_order_found(
        &mut self,
        id: OrderId,
        registry_id: &str,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE orders SET registry_id = ?2 WHERE id = ?1 AND status = 'ABANDONED' AND registry_id IS NULL",
            params![id.0, registry_id],
        )?;
        Ok(())
    }

    /// An abandoned order's registry order is closed (or was never made): nothing more to watch.
    pub fn abandoned_order_closed(&mut self, id: OrderId, note: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE orders SET registry_closed_at = ?2, last_error = ?3, last_error_at = ?2
             WHERE id = ?1 AND status = 'ABANDONED' AND registry_closed_at IS NULL",
            params![id.0, now_ms(), note],
        )?;
        Ok(())
    }

    /// Abandoned orders of `api` whose registry order may still be open, oldest first.
    pub fn abandoned_orders_open(&self, api: &str) -> Result<Vec<OrderRecord>, StoreError> {
        let rows: Vec<_> = self
            .conn
            .prepare(&format!(
                "SELECT {ORDER_COLUMNS} FROM orders
                 WHERE status = 'ABANDONED' AND registry_closed_at IS NULL AND api = ?1 ORDER BY id"
            ))?
            .query_map([api], read_order)?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter().map(|r| r.into_record(self)).collect()
    }

    /// Every order, newest first, at most `limit`.
    pub fn orders(&self, limit: u32) -> Result<Vec<OrderRecord>, StoreError> {
        let rows: Vec<_> = self
            .conn
            .prepare(&format!(
                "SELECT {ORDER_COLUMNS} FROM orders ORDER BY id DESC LIMIT ?1"
            ))?
            .query_map([limit], read_order)?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter().map(|r| r.into_record(self)).collect()
    }

    fn end_order(
        &mut self,
        id: OrderId,
        status: &str,
        reason: Option<&str>,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let n = tx.execute(
            "UPDATE orders SET status = ?2, reason = ?3, closed_at = ?4
             WHERE id = ?1 AND status IN ('REQUESTED', 'OPEN')",
            params![id.0, status, reason, at],
        )?;
        if n > 0 {
            let detail = serde_json::json!({ "order": id.0, "reason": reason });
            audit::append(
                &tx,
                at,
                actor,
                &format!("order.{}", status.to_lowercase()),
                &id.0.to_string(),
                &detail.to_string(),
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn order(&self, id: OrderId) -> Result<OrderRecord, StoreError> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ?1"),
                [id.0],
                read_order,
            )
            .optional()?
            .ok_or(StoreError::NoSuchOrder(id.0))?;
        row.into_record(self)
    }

    /// Orders still in progress (REQUESTED or OPEN), oldest first: what a pull resumes after a restart.
    pub fn unfinished_orders(&self) -> Result<Vec<OrderRecord>, StoreError> {
        let rows: Vec<_> = self
            .conn
            .prepare(&format!(
                "SELECT {ORDER_COLUMNS} FROM orders WHERE status IN ('REQUESTED', 'OPEN') ORDER BY id"
            ))?
            .query_map([], read_order)?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter().map(|r| r.into_record(self)).collect()
    }

    /// Whether pack `pack_id` of the order is stored (its codes are in the ledger).
    pub fn has_pack(&self, id: OrderId, pack_id: &str) -> Result<bool, StoreError> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM packs WHERE order_id = ?1 AND pack_id = ?2)",
            params![id.0, pack_id],
            |r| r.get(0),
        )?)
    }

    /// Store one pack of codes for an open order, atomically with its id and the order's progress.
    /// Every code must be valid and for the order's GTIN, or nothing is stored. Storing a pack twice
    /// changes nothing.
    pub fn store_pack(
        &mut self,
        id: OrderId,
        pack_id: &str,
        codes: &[String],
        format: &CodeFormat,
        actor: &Actor,
    ) -> Result<PackStored, PackError> {
        const REPEAT: PackStored = PackStored {
            new: 0,
            already_in_ledger: 0,
            repeat: true,
        };
        // A pack seen before is a retried answer: nothing to check, nothing to change.
        if self.has_pack(id, pack_id)? {
            return Ok(REPEAT);
        }
        let order = self.order(id)?;
        if order.status != OrderStatus::Open {
            return Err(PackError::NotOpen(id.0, order.status));
        }
        let mut parsed = Vec::with_capacity(codes.len());
        let mut bad = Vec::new();
        for (i, raw) in codes.iter().enumerate() {
            match MarkingCode::parse(raw.as_bytes(), format) {
                Ok(c) if c.gtin() == &order.gtin => parsed.push(c),
                Ok(c) => bad.push((
                    i,
                    format!(
                        "it is for GTIN {}, the order is for {}",
                        c.gtin(),
                        order.gtin
                    ),
                )),
                Err(e) => bad.push((i, e.to_string())),
            }
        }
        if !bad.is_empty() {
            return Err(PackError::BadCodes {
                pack_id: pack_id.to_owned(),
                bad,
            });
        }
        let total = u64::from(order.received) + codes.len() as u64;
        if total > u64::from(order.quantity) {
            return Err(PackError::TooMany {
                pack_id: pack_id.to_owned(),
                order: id.0,
                total,
                quantity: order.quantity,
            });
        }
        let at = now_ms();
        let tx = begin(&mut self.conn)?;
        let repeat: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM packs WHERE order_id = ?1 AND pack_id = ?2)",
            params![id.0, pack_id],
            |r| r.get(0),
        )?;
        if repeat {
            return Ok(REPEAT);
        }
        let sorted = pool::sort(&tx, &parsed)?;
        if !sorted.conflicts.is_empty() {
            return Err(PackError::BadCodes {
                pack_id: pack_id.to_owned(),
                bad: sorted
                    .conflicts
                    .iter()
                    .map(|&i| (i, pool::conflict_message(&parsed[i])))
                    .collect(),
            });
        }
        let registry_id = order.registry_id.as_deref().unwrap_or("?");
        let reference = format!("{} order {registry_id} pack {pack_id}", order.api);
        let source_row = pool::add(
            &tx,
            &pool::Source {
                kind: "ORDER",
                reference: &reference,
                sha256: None,
                gtin: &order.gtin,
                first_move: "pull",
            },
            &sorted.fresh,
            actor,
            at,
        )?;
        let (fresh, already, source) = (sorted.fresh, sorted.already, source_row);
        tx.execute(
            "INSERT INTO packs (order_id, pack_id, quantity, source_id, received_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id.0, pack_id, codes.len() as i64, source, at],
        )?;
        tx.execute(
            "UPDATE orders SET received = received + ?2, last_pack_id = ?3 WHERE id = ?1",
            params![id.0, codes.len() as i64, pack_id],
        )?;
        let detail = serde_json::json!({ "order": registry_id, "pack": pack_id, "codes": codes.len(), "new": fresh.len() });
        audit::append(
            &tx,
            at,
            actor,
            "codes.pull",
            order.gtin.as_str(),
            &detail.to_string(),
        )?;
        tx.commit()?;
        Ok(PackStored {
            new: fresh.len(),
            already_in_ledger: already,
            repeat: false,
        })
    }
}
