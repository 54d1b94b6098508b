// SPDX-License-Identifier: GPL-3.0-or-later
//! `labelstation bench`: the station's speed and memory, measured on the virtual line (real driver over
//! loopback TCP to the virtual printer, virtual scanner on a pseudo-terminal, real SQLite with
//! synchronous=FULL in a temporary directory).
//!
//! - Software cost: the printer prints instantly and the scanner reads at once, so what remains is the
//!   station's own work per label (ledger transactions, label building, driver I/O, the verdict). Latency
//!   is from the scan's bytes arriving to the verification being durable.
//! - Inline throughput: a 203-dpi printer at 6 ips behind a 9600-baud link, inline verification by an
//!   instant scanner, against the bound of printing one label at a time (its bytes on the wire at 10 bits
//!   a byte, plus its length at 6 inches a second: the printer waits for the link and the link for it).
//! - Roll throughput (no-verify, a window of labels in the printer): over loopback TCP (the head bounds
//!   it) and over a pseudo-terminal paced at 9600 baud (the link bounds it), against the printer's real
//!   limit, the slower of the two: max(bytes × 10 / baud, length / speed) a label.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::codes::generate::{CodeGenerator, gtin_from_number};
use crate::compose::demo::{demo_product, pull_from_sim};
use crate::compose::{Overrides, open_station};
use crate::config::{Config, LabelMode, Paths};
use crate::engine::Mode;
use crate::ledger::{Actor, Ledger};

#[cfg(test)]
mod tests {
    #[test]
    fn registry_pull_and_drain_apply_each_code_once() {
        let (pull_s, drain_s) = super::pull_and_drain(1200, 700).unwrap();
        assert!(pull_s > 0.0 && drain_s > 0.0);
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub quick: bool,
    pub machine: String,
    /// Labels in the software-cost run.
    pub software_labels: u32,
    pub software_cost_ms_p50: f64,
    pub software_cost_ms_p99: f64,
    /// Whole cycle per label on instant devices (reserve → print → scan → durable verdict).
    pub software_cycle_ms: f64,
    pub software_labels_per_s: f64,
    /// Inline on the simulated 203-dpi 6-ips printer at 9600 baud, full labels, and the bound of
    /// printing one label at a time (link time plus head time a label).
    pub achieved_labels_per_min: f64,
    pub one_at_a_time_bound_labels_per_min: f64,
    /// The same with the stored format (only the code crosses the link).
    pub achieved_labels_per_min_stored: f64,
    pub one_at_a_time_bound_labels_per_min_stored: f64,
    /// A no-verify roll over loopback TCP to the 203-dpi printer at 6 ips, full labels, and its limit
    /// (the head: the link is fast).
    pub roll_tcp_labels_per_min: f64,
    pub roll_tcp_limit_labels_per_min: f64,
    /// A no-verify roll over a pseudo-terminal at 9600 baud to the same printer, full labels, and its
    /// limit (the link: a full label takes longer on the wire than under the head).
    pub roll_serial_labels_per_min: f64,
    pub roll_serial_limit_labels_per_min: f64,
    pub bytes_per_label_full: usize,
    pub bytes_per_label_stored: usize,
    /// From nothing to a station ready to print (ledger open + recovery + devices), with the ledger of
    /// the software run in place.
    pub startup_ms: f64,
    /// Pulling 150 000 codes from the registry simulator into a fresh ledger (seconds), when measured.
    pub pull_150k_s: Option<f64>,
    /// Draining 100 000 queued confirmations to the registry simulator (seconds), when measured.
    pub drain_100k_s: Option<f64>,
    /// Resident memory of the station ready and idle (ledger, devices, virtual line open), after the
    /// software run (a shift of `software_labels`), the peak of the station's runs (its virtual printer
    /// and worker included, before the registry part), and the peak over the whole bench (the registry
    /// simulator, which holds every code it issued, included).
    pub rss_idle_mb: f64,
    pub rss_after_shift_mb: f64,
    pub station_peak_rss_mb: f64,
    pub peak_rss_mb: f64,
}

/// Run the bench. `quick` finishes within a minute; `labels` overrides the software run's size (a shift).
pub fn run(quick: bool, labels: Option<u32>) -> Result<BenchReport> {
    let software_labels = labels.unwrap_or(if quick { 150 } else { 2000 });
    let throughput_labels = if quick { 8 } else { 30 };
    let dir = tempfile::Builder::new()
        .prefix("labelstation-bench-")
        .tempdir()
        .context("cannot create a temporary directory for the bench")?;
    let paths = Paths {
        data_dir: dir.path().to_path_buf(),
        data_dir_origin: crate::config::Origin::Flag,
        config_file: dir.path().join("none.toml"),
        config_origin: crate::config::Origin::Flag,
    };
    let config = Config::default();
    let gtin = gtin_from_number(460_555_000_001);
    fill(
        &paths,
        &config,
        &gtin,
        software_labels + 2 * throughput_labels + 2 * if quick { 12 } else { 60 } + 10,
    )?;

    // Software cost on instant devices.
    let instant = Overrides {
        printer: Some("sim:".into()),
        scanner: Some("sim:".into()),
        apply_time: Some(Duration::ZERO),
        ..Overrides::default()
    };
    let (cycle, mut latencies, rss_idle_mb) = {
        let mut opened = open_station(&paths, &config, &instant, Actor::system("bench"), None)?;
        std::thread::sleep(Duration::from_millis(200));
        let idle = rss_mb("VmRSS");
        let t = Instant::now();
        let s = opened.station.run(&gtin, Mode::Inline, software_labels)?;
        anyhow::ensure!(
            s.verified == software_labels,
            "the bench line lost labels: {s:?}"
        );
        (
            t.elapsed().as_secs_f64() / f64::from(software_labels),
            s.verdict_latency_us,
            idle,
        )
    };
    let rss_after_shift_mb = rss_mb("VmRSS");
    latencies.sort_unstable();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies.get(i).copied().unwrap_or(0) as f64 / 1000.0
    };

    // Start-up with that ledger in place.
    let t = Instant::now();
    drop(open_station(
        &paths,
        &config,
        &instant,
        Actor::system("bench"),
        None,
    )?);
    let startup_ms = t.elapsed().as_secs_f64() * 1000.0;

    // Throughput against the simulated printer and link.
    let template = config.label.template()?;
    let (full_bytes, stored_bytes) = label_sizes(&template)?;
    let slow = Overrides {
        sim_ips: Some(6.0),
        sim_baud: Some(9600),
        ..instant.clone()
    };
    let per_min = |mode: LabelMode| -> Result<f64> {
        let mut cfg = config.clone();
        cfg.line.label_mode = mode;
        cfg.printer.status_poll_ms = 20;
        let mut opened = open_station(&paths, &cfg, &slow, Actor::system("bench"), None)?;
        let t = Instant::now();
        let s = opened.station.run(&gtin, Mode::Inline, throughput_labels)?;
        anyhow::ensure!(
            s.verified == throughput_labels,
            "the bench line lost labels: {s:?}"
        );
        Ok(f64::from(throughput_labels) * 60.0 / t.elapsed().as_secs_f64())
    };
    let achieved = per_min(LabelMode::Full)?;
    let achieved_stored = per_min(LabelMode::Stored)?;
    let print_s = template.height_mm() / 25.4 / 6.0;
    let link_s = |bytes: usize| bytes as f64 * 10.0 / 9600.0;
    let one_at_a_time = |bytes: usize| 60.0 / (link_s(bytes) + print_s);

    // Rolls: a window of labels in the printer, against the slower of link and head.
    let roll_labels = if quick { 12 } else { 60 };
    let roll = |printer: String, vp: Option<&crate::sim::printer::VirtualPrinter>| -> Result<f64> {
        let mut cfg = config.clone();
        cfg.printer.status_poll_ms = 20;
        let over = Overrides {
            printer: Some(printer),
            sim_ips: Some(6.0),
            no_scanner: true,
            ..Overrides::default()
        };
        let mut opened = open_station(&paths, &cfg, &over, Actor::system("bench"), None)?;
        let t = Instant::now();
        let s = opened.station.run(&gtin, Mode::NoVerify, roll_labels)?;
        let elapsed = t.elapsed().as_secs_f64();
        anyhow::ensure!(
            s.printed == roll_labels,
            "the bench roll lost labels: {s:?}"
        );
        // The printer's own count, not the station's: every label came out.
        let out = match (&opened.virtual_line, vp) {
            (Some(line), _) => line.printer.counts().printed,
            (None, Some(vp)) => vp.counts().printed,
            (None, None) => u64::from(roll_labels),
        };
        anyhow::ensure!(
            out >= u64::from(roll_labels),
            "the bench printer put out {out} labels of {roll_labels}"
        );
        Ok(f64::from(roll_labels) * 60.0 / elapsed)
    };
    let roll_tcp = roll("sim:".into(), None)?;
    let serial_printer =
        crate::sim::printer::VirtualPrinter::new(crate::sim::printer::PrinterSimConfig {
            dpi: config.label.dpi,
            ips: Some(6.0),
            baud: Some(9600),
            ..crate::sim::printer::PrinterSimConfig::default()
        });
    let pty = serial_printer
        .serve_pty()
        .context("cannot open a pseudo-terminal for the serial bench")?;
    let roll_serial = roll(
        format!("serial://{}?baud=9600", pty.display()),
        Some(&serial_printer),
    )?;
    drop(serial_printer);
    let roll_limit = |bytes: usize| 60.0 / link_s(bytes).max(print_s);
    let station_peak_rss_mb = rss_mb("VmHWM");

    let (pull_150k_s, drain_100k_s) = registry_figures(quick)?;
    Ok(BenchReport {
        quick,
        machine: machine(),
        software_labels,
        software_cost_ms_p50: pct(0.5),
        software_cost_ms_p99: pct(0.99),
        software_cycle_ms: cycle * 1000.0,
        software_labels_per_s: 1.0 / cycle,
        achieved_labels_per_min: achieved,
        one_at_a_time_bound_labels_per_min: one_at_a_time(full_bytes),
        achieved_labels_per_min_stored: achieved_stored,
        one_at_a_time_bound_labels_per_min_stored: one_at_a_time(stored_bytes),
        roll_tcp_labels_per_min: roll_tcp,
        // Loopback TCP carries a label in microseconds: the head is the limit.
        roll_tcp_limit_labels_per_min: 60.0 / print_s,
        roll_serial_labels_per_min: roll_serial,
        roll_serial_limit_labels_per_min: roll_limit(full_bytes),
        bytes_per_label_full: full_bytes,
        bytes_per_label_stored: stored_bytes,
        startup_ms,
        pull_150k_s,
        drain_100k_s,
        rss_idle_mb,
        rss_after_shift_mb,
        station_peak_rss_mb,
        peak_rss_mb: rss_mb("VmHWM"),
    })
}

/// The registry figures, in seconds for the full sizes (150 000 codes pulled, 100 000 confirmations
/// drained). `quick` measures a tenth of each and scales linearly (the text output says so).
fn registry_figures(quick: bool) -> Result<(Option<f64>, Option<f64>)> {
    let (pull_n, drain_n) = if quick {
        (15_000, 10_000)
    } else {
        (150_000, 100_000)
    };
    let scale_pull = 150_000.0 / f64::from(pull_n);
    let scale_drain = 100_000.0 / f64::from(drain_n);
    let (pull_s, drain_s) = pull_and_drain(pull_n, drain_n)?;
    Ok((Some(pull_s * scale_pull), Some(drain_s * scale_drain)))
}

/// Pull `pull_n` codes from a registry simulator over loopback into a fresh ledger (timed), verify
/// `drain_n` of them through the ledger's own moves (untimed set-up, with fsync off for speed), then drain
/// their application reports to the simulator (timed, fsync back on). Checks the simulator applied each
/// code exactly once.
pub fn pull_and_drain(pull_n: u32, drain_n: u32) -> Result<(f64, f64)> {
    use crate::ledger::{JobMode, ScanProof};
    use crate::registry::client::{RetryPolicy, XtraceClient, XtraceSettings};
    use crate::registry::sim::{RegistrySim, SimConfig};
    use crate::registry::sync::{SyncOptions, Syncer};
    use crate::registry::wire::Secret;

    let dir = tempfile::Builder::new()
        .prefix("labelstation-bench-registry-")
        .tempdir()?;
    let config = Config::default();
    let actor = Actor::system("bench");
    let gtin = gtin_from_number(460_555_000_002);
    let mut ledger = Ledger::open(&dir.path().join("ledger.sqlite3"), "bench")?;
    ledger.add_product(demo_product(&gtin, "Ботинки", None), &actor)?;
    let sim_cfg = SimConfig {
        crypto_len: 44,
        ..SimConfig::default()
    };
    let sim = RegistrySim::start(([127, 0, 0, 1], 0).into(), sim_cfg.clone())?;
    let mut client = XtraceClient::new(XtraceSettings {
        url: sim.url(),
        login: sim_cfg.login.clone(),
        password: Secret::new(sim_cfg.password.clone()),
        product_group: config.registry.xtrace.product_group.clone(),
        business_place_id: 1,
        timeout: Duration::from_secs(60),
        retry: RetryPolicy::default(),
    })?;
    let format = config.codes.format();
    let t = Instant::now();
    let pulled = pull_from_sim(&mut ledger, &mut client, &format, &actor, &gtin, pull_n)?;
    let pull_s = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        pulled.new_codes as u64 == u64::from(pull_n),
        "the bench pull stored {} codes of {pull_n}",
        pulled.new_codes
    );

    // Set-up: verify `drain_n` codes through the ledger's moves, without fsync (a bench file only).
    ledger.set_durable(false)?;
    let job = ledger.open_job(&gtin, JobMode::Batch, &actor)?;
    for _ in 0..drain_n {
        let r = ledger.reserve(job, &actor)?;
        ledger.mark_sent(r.id, job, "bench", b"", false, &actor)?;
        ledger.mark_printed(r.id, job, &actor)?;
        let raw = r.code.as_str().as_bytes().to_vec();
        ledger.verify(
            r.id,
            job,
            &ScanProof {
                raw: &raw,
                aim: Some("]d2"),
            },
            &actor,
        )?;
    }
    ledger.set_durable(true)?;

    let t = Instant::now();
    let opts = SyncOptions {
        poll_interval: Duration::from_millis(20),
        ..SyncOptions::default()
    };
    for _ in 0..20 {
        let r = Syncer {
            ledger: &mut ledger,
            registry: &mut client,
            opts: opts.clone(),
            actor: &actor,
        }
        .once(&mut |_| {})?;
        if r.backlog.utilisation_queued == 0 && r.backlog.reports_open == 0 {
            break;
        }
    }
    let drain_s = t.elapsed().as_secs_f64();
    let snap = sim.snapshot();
    anyhow::ensure!(
        snap.applied as u64 == u64::from(drain_n) && snap.reported_twice == 0,
        "the bench drain did not apply every code exactly once: {snap:?}"
    );
    Ok((pull_s, drain_s))
}

/// Bytes on the wire per label: a full label, and a code recall of the per-product stored format.
fn label_sizes(template: &labelstation_zpl::template::Template) -> Result<(usize, usize)> {
    let gtin = gtin_from_number(460_555_000_001);
    let code = CodeGenerator::new(3).with_crypto_len(44).code(&gtin);
    let gtin_text = gtin.to_string();
    let data = labelstation_zpl::write::LabelData {
        code: code.as_str(),
        name: "Ботинки мужские",
        size: "42",
        gtin_text: &gtin_text,
        serial_text: code.serial(),
    };
    let full = labelstation_zpl::write::full_label(template, &data)?.len();
    let stored =
        labelstation_zpl::write::recall_code(template, code.as_str(), code.serial())?.len();
    Ok((full, stored))
}

fn fill(paths: &Paths, config: &Config, gtin: &crate::codes::Gtin, n: u32) -> Result<()> {
    let actor = Actor::system("bench");
    let mut ledger = Ledger::open(&paths.ledger(), &config.station.id)?;
    ledger.add_product(demo_product(gtin, "Ботинки мужские", Some("42")), &actor)?;
    let mut g = CodeGenerator::new(11).with_crypto_len(44);
    let text: String = (0..n)
        .map(|_| format!("{}\n", g.code(gtin).as_str()))
        .collect();
    ledger.import_codes(
        gtin,
        "bench",
        text.as_bytes(),
        &config.codes.format(),
        &actor,
    )?;
    Ok(())
}

/// A line of `/proc/self/status` in MiB (0 where unavailable).
fn rss_mb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn machine() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cores} cores, {model}")
}

/// Shared with the CLI: print the report as text.
pub fn print_text(r: &BenchReport) {
    println!("machine: {}", r.machine);
    println!(
        "software cost ({} labels on instant virtual devices): scan to durable verdict p50 {:.2} ms, p99 {:.2} ms; whole cycle {:.2} ms/label ({:.0} labels/s)",
        r.software_labels,
        r.software_cost_ms_p50,
        r.software_cost_ms_p99,
        r.software_cycle_ms,
        r.software_labels_per_s
    );
    println!(
        "203 dpi, 6 ips, 9600 baud, inline: full labels {:.1}/min of a one-at-a-time bound of {:.1}/min ({} bytes); stored format {:.1}/min of {:.1}/min ({} bytes)",
        r.achieved_labels_per_min,
        r.one_at_a_time_bound_labels_per_min,
        r.bytes_per_label_full,
        r.achieved_labels_per_min_stored,
        r.one_at_a_time_bound_labels_per_min_stored,
        r.bytes_per_label_stored
    );
    println!(
        "203 dpi, 6 ips, roll (no-verify), full labels: TCP {:.1}/min of a limit of {:.1}/min (the head), {:.0} %; 9600-baud serial {:.1}/min of a limit of {:.1}/min (the link), {:.0} %",
        r.roll_tcp_labels_per_min,
        r.roll_tcp_limit_labels_per_min,
        100.0 * r.roll_tcp_labels_per_min / r.roll_tcp_limit_labels_per_min,
        r.roll_serial_labels_per_min,
        r.roll_serial_limit_labels_per_min,
        100.0 * r.roll_serial_labels_per_min / r.roll_serial_limit_labels_per_min
    );
    println!("start-up to a ready station: {:.0} ms", r.startup_ms);
    match (r.pull_150k_s, r.drain_100k_s) {
        (Some(p), Some(d)) => {
            println!("pull 150 000 codes: {p:.1} s; drain 100 000 confirmations: {d:.1} s")
        }
        _ => println!("registry pull/drain: not measured in this build"),
    }
    println!(
        "memory: {:.1} MiB resident idle, {:.1} MiB after {} labels, {:.1} MiB peak of the station's runs, {:.1} MiB peak of the whole bench (the registry simulator included)",
        r.rss_idle_mb,
        r.rss_after_shift_mb,
        r.software_labels,
        r.station_peak_rss_mb,
        r.peak_rss_mb
    );
}
