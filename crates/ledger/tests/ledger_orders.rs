// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Orders and packs in the ledger: the storage half of a code pull.

use labelstation_codes::CodeFormat;
use labelstation_codes::generate::{CodeGenerator, gtin_from_number};
use labelstation_ledger::orders::{OrderStatus, PackError};
use labelstation_ledger::{Ledger, StoreError};
use labelstation_testkit::*;

fn pack(gtin: &labelstation_codes::Gtin, n: usize, seed: u64) -> Vec<String> {
    let mut g = CodeGenerator::new(seed).with_crypto_len(88);
    (0..n).map(|_| g.element_string(gtin)).collect()
}

#[test]
fn a_pull_stores_packs_atomically_and_survives_repeats_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, _) = ledger_with_codes(dir.path(), 1, 30);
    let s = system();
    let f = CodeFormat::default();
    let o = l.order_requested("xtrace", &gtin, 5, "key-1", &s).unwrap();
    assert_eq!(
        (o.status, o.registry_id.clone()),
        (OrderStatus::Requested, None)
    );
    // Packs only for an order the registry accepted.
    let p1 = pack(&gtin, 3, 1);
    assert!(matches!(
        l.store_pack(o.id, "p1", &p1, &f, &s),
        Err(PackError::NotOpen(..))
    ));
    l.order_created(o.id, "reg-9").unwrap();
    l.order_created(o.id, "reg-9").unwrap();
    assert!(matches!(
        l.order_created(o.id, "reg-10"),
        Err(StoreError::OrderState { .. })
    ));

    let r = l.store_pack(o.id, "p1", &p1, &f, &s).unwrap();
    assert_eq!((r.new, r.repeat), (3, false));
    // The same answer again (a retried request): nothing changes.
    let r = l.store_pack(o.id, "p1", &p1, &f, &s).unwrap();
    assert!(r.repeat && r.new == 0);
    assert!(l.has_pack(o.id, "p1").unwrap());

    // A restart in the middle: the order is found again with its progress.
    drop(l);
    let mut l = Ledger::open(&ledger_path(dir.path()), "station-test").unwrap();
    let open = l.unfinished_orders().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (open[0].received, open[0].last_pack_id.as_deref()),
        (3, Some("p1"))
    );

    // More than ordered is refused whole.
    let big = pack(&gtin, 3, 2);
    let e = l.store_pack(o.id, "p2", &big, &f, &s).unwrap_err();
    assert!(
        matches!(
            e,
            PackError::TooMany {
                total: 6,
                quantity: 5,
                ..
            }
        ),
        "{e}"
    );
    let p2 = pack(&gtin, 2, 3);
    assert_eq!(l.store_pack(o.id, "p2", &p2, &f, &s).unwrap().new, 2);
    l.order_closed(o.id, &s).unwrap();
    assert_eq!(l.order(o.id).unwrap().status, OrderStatus::Closed);
    assert!(l.unfinished_orders().unwrap().is_empty());
    // A pack stored before closing is still a harmless repeat after.
    assert!(l.store_pack(o.id, "p2", &p2, &f, &s).unwrap().repeat);

    assert_eq!(l.balance().unwrap()[0].states["AVAILABLE"], 1 + 5);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
    let pulled = l
        .find_code(&labelstation_codes::MarkingCode::parse(p2[1].as_bytes(), &f).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(l.events(pulled.id).unwrap()[0].mv, "pull");
}

#[test]
fn a_bad_pack_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut l, gtin, existing) = ledger_with_codes(dir.path(), 2, 31);
    let s = system();
    let f = CodeFormat::default();
    let o = l
        .order_requested("oms-v2", &gtin, 100, "key-2", &s)
        .unwrap();
    l.order_created(o.id, "oms-order").unwrap();

    let mut p = pack(&gtin, 4, 5);
    p[2] = "garbage".into();
    p.push(pack(&gtin_from_number(77), 1, 6).remove(0));
    let Err(PackError::BadCodes { bad, .. }) = l.store_pack(o.id, "b1", &p, &f, &s) else {
        panic!()
    };
    assert_eq!(bad.iter().map(|b| b.0).collect::<Vec<_>>(), vec![2, 4]);
    assert!(bad[1].1.contains("is for GTIN"));

    // A code we hold, with another crypto part: the pack is refused whole.
    let mut forged = existing[0].as_str().to_owned();
    forged.pop();
    forged.push('Q');
    let mut p = pack(&gtin, 2, 7);
    p.push(forged);
    let e = l.store_pack(o.id, "b2", &p, &f, &s).unwrap_err();
    assert!(
        e.to_string().contains("different verification/crypto part"),
        "{e}"
    );
    // A code we already hold (same bytes) is counted, not duplicated.
    let mut p = pack(&gtin, 2, 8);
    p.push(existing[1].as_str().to_owned());
    let r = l.store_pack(o.id, "b3", &p, &f, &s).unwrap();
    assert_eq!((r.new, r.already_in_ledger), (2, 1));

    assert_eq!(l.order(o.id).unwrap().received, 3);
    assert_eq!(l.balance().unwrap()[0].states["AVAILABLE"], 4);
    assert_eq!(l.check_invariants().unwrap(), vec![]);
    l.order_rejected(o.id, "Order declined: 0106", &s).unwrap();
    assert_eq!(
        l.order(o.id).unwrap().reason.as_deref(),
        Some("Order declined: 0106")
    );
    // Unknown product and duplicate keys are refused.
    assert!(matches!(
        l.order_requested("xtrace", &gtin_from_number(78), 1, "k", &s),
        Err(StoreError::UnknownProduct(_))
    ));
    assert!(l.order_requested("xtrace", &gtin, 1, "key-2", &s).is_err());
}

#[test]
fn orders_and_packs_of_a_ledger_from_before_abandoning_survive_the_upgrade() {
    use labelstation_ledger::Actor;
    use labelstation_ledger::orders::OrderId;
    use labelstation_ledger::schema::MIGRATIONS;
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(dir.path());
    // A ledger as the station wrote it before orders could be abandoned (schema 6), with an open order
    // and one of its packs.
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON;").unwrap();
        let tx = conn.transaction().unwrap();
        for sql in &MIGRATIONS[..6] {
            tx.execute_batch(sql).unwrap();
        }
        labelstation_ledger::schema::sync_transitions(&tx).unwrap();
        tx.execute_batch(
            "INSERT INTO products (gtin, name, created_at) VALUES ('04607000000007', 'Туфли', 1);
             INSERT INTO code_sources (kind, reference, gtin, count, actor, at)
                 VALUES ('ORDER', 'xtrace order r-1 pack p-1', '04607000000007', 0, 'test', 1);
             INSERT INTO orders (api, order_key, registry_id, gtin, quantity, received, last_pack_id, status, created_at)
                 VALUES ('xtrace', 'key-old', 'r-1', '04607000000007', 10, 0, 'p-1', 'OPEN', 1);
             INSERT INTO packs (order_id, pack_id, quantity, source_id, received_at) VALUES (1, 'p-1', 0, 1, 1);
             PRAGMA user_version = 6;",
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let mut l = Ledger::open(&path, "station-test").unwrap();
    let o = l.order(OrderId(1)).unwrap();
    assert_eq!(
        (
            o.status,
            o.registry_id.as_deref(),
            o.last_pack_id.as_deref()
        ),
        (OrderStatus::Open, Some("r-1"), Some("p-1"))
    );
    assert!(l.has_pack(OrderId(1), "p-1").unwrap());
    let fk: i64 = l
        .connection()
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(fk, 0, "a pack refers to no order after the upgrade");
    // Packs are still never deleted; a pack still needs its order.
    assert!(l.connection().execute("DELETE FROM packs", []).is_err());
    assert!(
        l.connection()
            .execute(
                "INSERT INTO packs (order_id, pack_id, quantity, source_id, received_at) VALUES (9, 'x', 0, 1, 1)",
                [],
            )
            .is_err()
    );
    // The old order can be abandoned now, by a supervisor, and says so.
    let o = l
        .order_abandoned(OrderId(1), "upgrade test", &Actor::supervisor("sup"))
        .unwrap();
    assert_eq!(o.status, OrderStatus::Abandoned);
    assert!(l.unfinished_orders().unwrap().is_empty());
    assert_eq!(l.abandoned_orders_open("xtrace").unwrap()[0].id, OrderId(1));
    assert_eq!(l.check_invariants().unwrap(), vec![]);
    // A pack stored behind the ledger's back after the abandon is caught by the ledger check.
    l.connection()
        .execute(
            "INSERT INTO packs (order_id, pack_id, quantity, source_id, received_at)
             VALUES (1, 'late', 0, 1, (SELECT closed_at + 1 FROM orders WHERE id = 1))",
            [],
        )
        .unwrap();
    let broken = l.check_invariants().unwrap();
    assert!(
        broken
            .iter()
            .any(|v| v.rule.contains("abandoned order took no pack")),
        "{broken:?}"
    );
}
