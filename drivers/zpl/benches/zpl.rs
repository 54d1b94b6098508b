// SPDX-License-Identifier: GPL-3.0-or-later
//! ZPL build, read and render time per label, with the bytes each mode sends (printed, and as
//! criterion throughput). Run: `cargo bench -p labelstation-zpl --bench zpl`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use labelstation_zpl::interpret::Interpreter;
use labelstation_zpl::render::render;
use labelstation_zpl::template::{BuiltinTemplate, Dpi, Template};
use labelstation_zpl::write::{LabelData, full_label, recall_label, stored_format};
use std::hint::black_box;

const GTIN: &str = "04601234567893";

fn code() -> String {
    let crypto: String = (0..88)
        .map(|i| {
            char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i % 64])
        })
        .collect();
    format!("01{GTIN}215Ab_c!%&'*+-.\u{1d}91EE11\u{1d}92{crypto}")
}

fn bench(c: &mut Criterion) {
    let code = code();
    let data = LabelData {
        code: &code,
        name: "Кроссовки мужские / Ерлер кроссовкалары",
        size: "42",
        gtin_text: GTIN,
        serial_text: "5Ab_c!%&'*+-.",
    };
    let Ok(template) = Template::builtin(BuiltinTemplate::Label58x40) else {
        return;
    };
    let (Ok(full), Ok(recall)) = (full_label(&template, &data), recall_label(&template, &data))
    else {
        return;
    };
    let stored = stored_format(&template);
    println!(
        "bytes per label (58x40, crypto 88): full {} B; stored {} B once + recall {} B per label",
        full.len(),
        stored.len(),
        recall.len()
    );

    let mut group = c.benchmark_group("write");
    group.throughput(Throughput::Bytes(full.len() as u64));
    group.bench_function("full_label", |b| {
        b.iter(|| full_label(black_box(&template), black_box(&data)))
    });
    group.throughput(Throughput::Bytes(recall.len() as u64));
    group.bench_function("recall_label", |b| {
        b.iter(|| recall_label(black_box(&template), black_box(&data)))
    });
    group.finish();

    let mut group = c.benchmark_group("read");
    group.throughput(Throughput::Bytes(full.len() as u64));
    group.bench_function("full_label", |b| {
        b.iter(|| Interpreter::new().read(black_box(full.as_bytes())))
    });
    let mut interpreter = Interpreter::new();
    let _ = interpreter.read(stored.as_bytes());
    group.throughput(Throughput::Bytes(recall.len() as u64));
    group.bench_function("recall_label", |b| {
        b.iter(|| interpreter.read(black_box(recall.as_bytes())))
    });
    group.finish();

    let mut group = c.benchmark_group("render");
    for dpi in Dpi::ALL {
        let Ok(t) = template.clone().with_dpi(dpi) else {
            continue;
        };
        let Ok(zpl) = full_label(&t, &data) else {
            continue;
        };
        let Some(label) = Interpreter::new()
            .read(zpl.as_bytes())
            .ok()
            .and_then(|job| job.labels().next().cloned())
        else {
            continue;
        };
        group.bench_function(format!("58x40_{}dpi", dpi.value()), |b| {
            b.iter(|| render(black_box(&label)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
