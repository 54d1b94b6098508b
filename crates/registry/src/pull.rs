// SPDX-License-Identifier: GPL-3.0-or-later
//! Pulling codes from the registry into the ledger: order, wait, take pack by pack, close.
//!
//! Every step is recorded before the next is taken (see `ledger::orders`), so a pull interrupted at any
//! point (crash, link down, registry error) is resumed by running it again: unfinished orders are
//! finished first, found again by the station's key if their creation answer was lost, and no code is
//! ordered, stored or lost twice. Orders are split so that none exceeds the registry's 150 000 codes.
//!
//! One order that cannot be finished holds up nothing else: a registry refusal of an order ends it
//! (REJECTED, with the registry's reason); any other failure of one order (a step refused, codes not made
//! in time, a pack the ledger cannot take) is kept on the order, and the pull goes on with the others. A
//! pull does not order more of a product while an earlier order of that product is stuck: a supervisor
//! abandons it first (`Ledger::order_abandoned`). An abandoned order is closed in the registry
//! ([`Pull::close_abandoned`], right after the abandon or by a later pull), so its codes are never handed
//! out unnoticed. Only failures that would stop every order
//! (link down, login refused) stop the whole pull.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::client::{BufferState, CodePack, NewOrder, Registry, RegistryError};
use super::wire::ErrorClass;
use crate::codes::{CodeFormat, Gtin};
use crate::ledger::orders::{OrderId, OrderRecord, OrderStatus, PackError};
use crate::ledger::{Actor, Ledger, StoreError};

/// The registry's limit of codes per GTIN in one order.
pub const MAX_PER_ORDER: u32 = 150_000;

/// How long after an abandon a pull keeps looking for an order whose creation never showed: past the
/// registry's own 7 days after which an order closes by itself.
const LATE_CREATION_MS: i64 = 8 * 24 * 3600 * 1000;

#[derive(Debug, Clone, Copy)]
pub struct PullOptions {
    /// Codes asked for per pack request.
    pub pack_size: u32,
    /// Pause between buffer status polls.
    pub poll_interval: Duration,
    /// Give up waiting for a buffer after this long (the order stays open and is resumed next time).
    pub ready_timeout: Duration,
    /// Codes per order at most (the registry allows [`MAX_PER_ORDER`]).
    pub max_per_order: u32,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            pack_size: 5_000,
            poll_interval: Duration::from_secs(2),
            ready_timeout: Duration::from_secs(600),
            max_per_order: MAX_PER_ORDER,
        }
    }
}

/// Progress, for a progress line or the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum PullEvent {
    /// Resuming an order a previous run left unfinished.
    Resuming {
        order: i64,
        received: u32,
        quantity: u32,
    },
    /// The registry accepted the order.
    Created {
        order: i64,
        registry_id: String,
    },
    /// The answer to the create request was lost; the order was found again by its key.
    Recovered {
        order: i64,
        registry_id: String,
    },
    /// Codes are still being made.
    Waiting {
        order: i64,
    },
    /// A pack is stored.
    Pack {
        order: i64,
        received: u32,
        quantity: u32,
    },
    Closed {
        order: i64,
    },
    /// The registry refused an earlier order; it is over (REJECTED).
    Refused {
        order: i64,
        gtin: Gtin,
        reason: String,
    },
    /// An earlier order could not be finished this time; the pull goes on with the others.
    Stuck {
        order: i64,
        gtin: Gtin,
        reason: String,
    },
    /// An abandoned order's registry order is closed (or was never made): none of its codes will come.
    AbandonedClosed {
        order: i64,
        note: String,
    },
    /// An abandoned order's registry order could not be closed yet; the next pull tries again.
    AbandonedOpen {
        order: i64,
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Pack(#[from] PackError),
    #[error("the registry refused the order for GTIN {gtin}: {reason}")]
    Rejected { gtin: Gtin, reason: String },
    #[error(
        "order #{order}: the registry has not made the codes after {waited_s} s; run the pull again later to continue"
    )]
    NotReady { order: i64, waited_s: u64 },
    #[error("order #{order}: {detail}")]
    Inconsistent { order: i64, detail: String },
    #[error(
        "order #{order} for GTIN {gtin} cannot be finished ({reason}): no more codes of this product are ordered until it is finished or a supervisor abandons it"
    )]
    Stuck {
        order: i64,
        gtin: Gtin,
        reason: String,
    },
}

impl PullError {
    /// Whether this failure would stop every order alike (the link, the login, the ledger), rather
    /// than being this order's own.
    pub fn stops_every_order(&self) -> bool {
        match self {
            PullError::Registry(e) => {
                e.is_transient()
                    || matches!(
                        e,
                        RegistryError::Config(_) | RegistryError::Unsupported { .. }
                    )
                    || matches!(e, RegistryError::Api { error, .. } if matches!(
                        error.class(),
                        ErrorClass::Unauthorized | ErrorClass::Forbidden | ErrorClass::NotAcceptable
                    ))
            }
            PullError::Store(_) => true,
            PullError::Pack(PackError::Store(_)) => true,
            _ => false,
        }
    }
}

/// What a pull did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PullReport {
    /// Ledger order ids finished in this run.
    pub orders: Vec<i64>,
    /// Codes added to the pool.
    pub new_codes: usize,
    /// Earlier orders that could not be finished this time, with why.
    pub stuck: Vec<StuckOrder>,
}

/// An order a pull could not finish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StuckOrder {
    pub order: i64,
    pub gtin: Gtin,
    pub reason: String,
}

/// A pull: the ledger, the registry, and how to go about it.
pub struct Pull<'a> {
    pub ledger: &'a mut Ledger,
    pub registry: &'a mut dyn Registry,
    pub format: &'a CodeFormat,
    pub opts: PullOptions,
    pub actor: &'a Actor,
}

impl Pull<'_> {
    /// Close abandoned orders in the registry, finish unfinished orders of this registry, then order
    /// `quantity` codes for `gtin` (0: only resume). An earlier order that cannot be finished is
    /// reported in [`PullReport::stuck`] and holds up only new orders of its own product.
    pub fn run(
        &mut self,
        gtin: &Gtin,
        quantity: u32,
        progress: &mut dyn FnMut(PullEvent),
    ) -> Result<PullReport, PullError> {
        let mut report = PullReport::default();
        self.close_abandoned(progress)?;
        for order in self.ledger.unfinished_orders()? {
            if order.api != self.registry.api() {
                continue;
            }
            progress(PullEvent::Resuming {
                order: order.id.0,
                received: order.received,
                quantity: order.quantity,
            });
            match self.finish(order.id, false, progress) {
                Ok(n) => {
                    report.new_codes += n;
                    report.orders.push(order.id.0);
                }
                Err(e) if e.stops_every_order() => return Err(e),
                Err(e) => {
                    let reason = e.to_string();
                    // A refused order is over; only one that is still unfinished is stuck.
                    if self.ledger.order(order.id)?.status.is_unfinished() {
                        self.ledger.order_failed(order.id, &reason)?;
                        report.stuck.push(StuckOrder {
                            order: order.id.0,
                            gtin: order.gtin.clone(),
                            reason: reason.clone(),
                        });
                        progress(PullEvent::Stuck {
                            order: order.id.0,
                            gtin: order.gtin,
                            reason,
                        });
                    } else {
                        progress(PullEvent::Refused {
                            order: order.id.0,
                            gtin: order.gtin,
                            reason,
                        });
                    }
                }
            }
        }
        if quantity > 0
            && let Some(s) = report.stuck.iter().find(|s| s.gtin == *gtin)
        {
            return Err(PullError::Stuck {
                order: s.order,
                gtin: gtin.clone(),
                reason: s.reason.clone(),
            });
        }
        let mut left = quantity;
        while left > 0 {
            let n = left.min(self.opts.max_per_order.clamp(1, MAX_PER_ORDER));
            let key = uuid::Uuid::new_v4().to_string();
            let order =
                self.ledger
                    .order_requested(self.registry.api(), gtin, n, &key, self.actor)?;
            match self.finish(order.id, true, progress) {
                Ok(new) => report.new_codes += new,
                Err(e) => {
                    if !e.stops_every_order() && self.ledger.order(order.id)?.status.is_unfinished()
                    {
                        self.ledger.order_failed(order.id, &e.to_string())?;
                    }
                    return Err(e);
                }
            }
            report.orders.push(order.id.0);
            left -= n;
        }
        Ok(report)
    }

    /// Before an unfinished order is given up: take into the ledger any pack the registry issued for it
    /// whose answer never arrived (a pull that failed after the registry handed the codes out), so no
    /// code issued to the station is left out. Returns the codes stored; an order the registry never
    /// made (no registry id yet) has none. An error means the registry could not tell: do not abandon.
    pub fn recover_lost_packs(&mut self, id: OrderId) -> Result<u32, PullError> {
        let order = self.ledger.order(id)?;
        let Some(registry_id) = order.registry_id.clone() else {
            return Ok(0);
        };
        let mut new = 0;
        // One pack at most is lost per failed pull; a few more rounds cover a registry that lost more.
        for _ in 0..8 {
            let last = self.ledger.order(id)?.last_pack_id;
            let Some(pack) = self
                .registry
                .lost_pack(&registry_id, &order.gtin, last.as_deref())?
            else {
                return Ok(new);
            };
            new += u32::try_from(self.store_new_pack(id, &pack)?).unwrap_or(u32::MAX);
        }
        Err(PullError::Inconsistent {
            order: id.0,
            detail: "the registry keeps listing packs after the last one stored".into(),
        })
    }

    /// Store a pack the registry just sent for order `id`; returns the codes new to the pool. An empty
    /// pack, or one stored before (the registry is not advancing), is an error rather than a loop.
    fn store_new_pack(&mut self, id: OrderId, pack: &CodePack) -> Result<usize, PullError> {
        if pack.codes.is_empty() {
            return Err(PullError::Inconsistent {
                order: id.0,
                detail: format!("the registry sent pack {} with no codes", pack.id),
            });
        }
        let stored = self
            .ledger
            .store_pack(id, &pack.id, &pack.codes, self.format, self.actor)?;
        if stored.repeat {
            return Err(PullError::Inconsistent {
                order: id.0,
                detail: format!(
                    "the registry sent pack {} again after it was stored",
                    pack.id
                ),
            });
        }
        Ok(stored.new)
    }

    /// Abandoned orders whose registry order may still be open: find it (a creation that surfaced
    /// late) and close it, so the registry hands out none of its codes. Failures wait for the next pull.
    pub fn close_abandoned(
        &mut self,
        progress: &mut dyn FnMut(PullEvent),
    ) -> Result<(), PullError> {
        for order in self.ledger.abandoned_orders_open(self.registry.api())? {
            match self.close_one_abandoned(&order) {
                Ok(note) => {
                    self.ledger.abandoned_order_closed(order.id, &note)?;
                    progress(PullEvent::AbandonedClosed {
                        order: order.id.0,
                        note,
                    });
                }
                Err(e) if e.stops_every_order() => return Err(e),
                Err(e) => {
                    let reason = e.to_string();
                    self.ledger.order_failed(order.id, &reason)?;
                    progress(PullEvent::AbandonedOpen {
                        order: order.id.0,
                        reason,
                    });
                }
            }
        }
        Ok(())
    }

    /// Close one abandoned order in the registry. `Ok` says what became of it.
    fn close_one_abandoned(&mut self, order: &OrderRecord) -> Result<String, PullError> {
        let registry_id = match &order.registry_id {
            Some(r) => r.clone(),
            None => match self.registry.find_order(&order.order_key, &order.gtin)? {
                Some(found) => {
                    self.ledger.abandoned_order_found(order.id, &found)?;
                    found
                }
                None => {
                    let age = crate::ledger::now_ms() - order.closed_at_ms.unwrap_or(0);
                    if age >= LATE_CREATION_MS {
                        return Ok(
                            "never made: the registry did not show it within 8 days of the abandon"
                                .into(),
                        );
                    }
                    return Err(PullError::Inconsistent {
                        order: order.id.0,
                        detail: "not in the registry (yet): its creation may surface later; each pull looks for it again".into(),
                    });
                }
            },
        };
        match self.registry.buffer(&registry_id, &order.gtin) {
            Ok(BufferState::Closed) => {
                return Ok(format!("registry order {registry_id} is closed"));
            }
            Ok(BufferState::Rejected(reason)) => {
                return Ok(format!(
                    "registry order {registry_id} was refused by the registry: {reason}"
                ));
            }
            Ok(_) => {}
            Err(RegistryError::Api { error, .. }) if error.class() == ErrorClass::NotFound => {
                return Ok(format!("registry order {registry_id} no longer exists"));
            }
            Err(e) => return Err(e.into()),
        }
        self.registry
            .close_order(&registry_id, &order.gtin, order.last_pack_id.as_deref())?;
        Ok(format!(
            "registry order {registry_id} closed with {} code(s) taken",
            order.received
        ))
    }

    /// Take one order from wherever it stands to CLOSED. Returns the number of new codes.
    /// `fresh`: the order was written in this run and never sent.
    fn finish(
        &mut self,
        id: OrderId,
        fresh: bool,
        progress: &mut dyn FnMut(PullEvent),
    ) -> Result<usize, PullError> {
        let order = self.ledger.order(id)?;
        let registry_id = match (&order.status, &order.registry_id) {
            (OrderStatus::Requested, _) => self.create(&order, fresh, progress)?,
            (_, Some(r)) => r.clone(),
            (status, None) => {
                return Err(PullError::Inconsistent {
                    order: id.0,
                    detail: format!("{status:?} without a registry id"),
                });
            }
        };
        let gtin = order.gtin.clone();
        self.wait_ready(&order, &registry_id, progress)?;
        let mut new = 0;
        loop {
            let o = self.ledger.order(id)?;
            if o.received >= o.quantity {
                break;
            }
            let want = (o.quantity - o.received).min(self.opts.pack_size.max(1));
            let pack =
                self.registry
                    .take_pack(&registry_id, &gtin, want, o.last_pack_id.as_deref())?;
            new += self.store_new_pack(id, &pack)?;
            let o = self.ledger.order(id)?;
            progress(PullEvent::Pack {
                order: id.0,
                received: o.received,
                quantity: o.quantity,
            });
        }
        let last = self.ledger.order(id)?.last_pack_id;
        if let Err(e) = self
            .registry
            .close_order(&registry_id, &gtin, last.as_deref())
        {
            // Closing is housekeeping: every code is stored, and the registry closes orders itself.
            tracing::warn!("registry order {registry_id}: could not close it: {e}");
        }
        self.ledger.order_closed(id, self.actor)?;
        progress(PullEvent::Closed { order: id.0 });
        Ok(new)
    }

    fn created(
        &mut self,
        order: &OrderRecord,
        registry_id: String,
        recovered: bool,
        progress: &mut dyn FnMut(PullEvent),
    ) -> Result<String, PullError> {
        self.ledger.order_created(order.id, &registry_id)?;
        let order = order.id.0;
        progress(if recovered {
            PullEvent::Recovered {
                order,
                registry_id: registry_id.clone(),
            }
        } else {
            PullEvent::Created {
                order,
                registry_id: registry_id.clone(),
            }
        });
        Ok(registry_id)
    }

    /// Send the create request, or find the order again if an earlier answer was lost.
    fn create(
        &mut self,
        order: &OrderRecord,
        fresh: bool,
        progress: &mut dyn FnMut(PullEvent),
    ) -> Result<String, PullError> {
        // A previous run may have sent the request and lost the answer: look before ordering again.
        if !fresh && let Some(found) = self.registry.find_order(&order.order_key, &order.gtin)? {
            return self.created(order, found, true, progress);
        }
        let new = NewOrder {
            key: &order.order_key,
            gtin: &order.gtin,
            quantity: order.quantity,
        };
        match self.registry.create_order(&new) {
            Ok(id) => self.created(order, id, false, progress),
            Err(e) if e.maybe_committed() => {
                match self.registry.find_order(&order.order_key, &order.gtin)? {
                    Some(found) => self.created(order, found, true, progress),
                    // Not there (yet): the order stays REQUESTED; the next run looks again, then sends it.
                    None => Err(e.into()),
                }
            }
            // The registry refused the order as it stands (balance, business place, quantity...): it
            // made nothing, so the order is over; ordering again is the operator's decision.
            Err(RegistryError::Api { error, .. }) if error.class() == ErrorClass::Rejected => {
                let reason = error.to_string();
                self.ledger.order_rejected(order.id, &reason, self.actor)?;
                Err(PullError::Rejected {
                    gtin: order.gtin.clone(),
                    reason,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    fn wait_ready(
        &mut self,
        order: &OrderRecord,
        registry_id: &str,
        progress: &mut dyn FnMut(PullEvent),
    ) -> Result<(), PullError> {
        let started = Instant::now();
        loop {
            match self.registry.buffer(registry_id, &order.gtin)? {
                BufferState::Ready | BufferState::Exhausted | BufferState::Closed => return Ok(()),
                BufferState::Rejected(reason) => {
                    self.ledger.order_rejected(order.id, &reason, self.actor)?;
                    return Err(PullError::Rejected {
                        gtin: order.gtin.clone(),
                        reason,
                    });
                }
                BufferState::Pending => {
                    if started.elapsed() >= self.opts.ready_timeout {
                        return Err(PullError::NotReady {
                            order: order.id.0,
                            waited_s: started.elapsed().as_secs(),
                        });
                    }
                    progress(PullEvent::Waiting { order: order.id.0 });
                    std::thread::sleep(self.opts.poll_interval);
                }
            }
        }
    }
}
