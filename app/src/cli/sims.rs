// SPDX-License-Identifier: GPL-3.0-or-later
//! `labelstation printer-sim` and `labelstation registry-sim`: the virtual Zebra and the registry
//! simulator as stand-alone processes on loopback, for trying a station without hardware or a registry.

use super::*;

#[derive(Debug, Args)]
pub struct PrinterSimArgs {
    /// `tcp://127.0.0.1:9100` (loopback only) or `pty` (prints the serial device path to use).
    #[arg(long, default_value = "tcp://127.0.0.1:9100")]
    pub listen: String,
    /// Write each printed label as a PNG into this directory.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Head resolution: 203, 300 or 600.
    #[arg(long, default_value_t = 203)]
    pub dpi: u32,
    /// Print speed in inches per second (0: instant).
    #[arg(long, default_value_t = 0.0)]
    pub ips: f64,
    /// Pace reception as a serial link at this baud rate (0: no pacing).
    #[arg(long, default_value_t = 0)]
    pub baud: u32,
    /// Share of labels printed unreadable (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub unreadable_rate: f64,
    /// Share of jobs lost (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Share of labels cut short by an error that clears by itself (0 to 1): a partial sticker, then
    /// under ^JZY (or --ignore-jz) the whole label again.
    #[arg(long, default_value_t = 0.0)]
    pub duplicate_rate: f64,
    /// Reprint a label cut short by an error whatever ^JZ says (old firmware, a ZPL emulation).
    #[arg(long)]
    pub ignore_jz: bool,
    /// Firmware without an odometer: SGD odometer.total_label_count is answered "?".
    #[arg(long)]
    pub no_odometer: bool,
}

#[derive(Debug, Args)]
pub struct RegistrySimArgs {
    /// Address to listen on; only loopback addresses are accepted.
    #[arg(long, default_value = "127.0.0.1:8900")]
    pub listen: std::net::SocketAddr,
    /// The API to speak: xtrace or oms-v2.
    #[arg(long, default_value = "xtrace")]
    pub api: crate::registry::sim::SimApi,
    /// oms-v2: the omsId the simulator accepts.
    #[arg(long, default_value = "cc7e2a41-5f3b-4d0e-9a57-3d1c0b6a2e10")]
    pub oms_id: String,
    /// oms-v2: the clientToken the simulator accepts (a simulator: not a secret).
    #[arg(long, default_value = "sim-client-token")]
    pub client_token: String,
    /// Length of the crypto tails issued (44 or 88).
    #[arg(long, default_value_t = 44)]
    pub crypto_len: usize,
    /// Share of requests answered 503 (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Share of changes whose answer is dropped after commit (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Delay before every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of changes committed and then answered by "a proxy" with 500, 502, 503, 504, 520 or 524.
    #[arg(long, default_value_t = 0.0)]
    pub error_after_commit_rate: f64,
    /// Share of changes committed and then answered 2xx with a body the client cannot read (a numeric
    /// id, an empty 201, an HTML page).
    #[arg(long, default_value_t = 0.0)]
    pub garbled_rate: f64,
    /// Share of requests answered 429 with Retry-After.
    #[arg(long, default_value_t = 0.0)]
    pub throttle_rate: f64,
    /// Seconds given in Retry-After.
    #[arg(long, default_value_t = 1)]
    pub retry_after_secs: u64,
    /// Milliseconds from a report's (or document's) arrival to its processing; until then its status
    /// says IN_PROCESS and a code lookup says RECEIVED.
    #[arg(long, default_value_t = 0)]
    pub processing_delay_ms: u64,
    /// How the code lookup echoes codes: as-asked, identification (no crypto tail) or escaped (GS as the
    /// text \u001d).
    #[arg(long, default_value = "as-asked", value_parser = parse_echo)]
    pub lookup_echo: crate::registry::sim::LookupEcho,
    /// Refuse every report and document as a whole with this reason (e.g. "insufficient balance").
    #[arg(long, value_name = "REASON")]
    pub refuse_reports: Option<String>,
    /// Refusals of reports name no code (and document errors give no index).
    #[arg(long)]
    pub unnamed_refusals: bool,
    /// Only these GTINs may be ordered (repeat the flag); default: any valid GTIN.
    #[arg(long = "known-gtin")]
    pub known_gtins: Vec<Gtin>,
    /// Refuse the next order outright with this reason (repeat for more orders).
    #[arg(long = "refuse-order", value_name = "REASON")]
    pub refuse_orders: Vec<String>,
    /// Accept the next order, then decline it with this reason (repeat for more orders).
    #[arg(long = "decline-order", value_name = "REASON")]
    pub decline_orders: Vec<String>,
    /// Lose the answers of the next N code issues (xtrace `GET /api/codes`, repeats included) after
    /// the pack is issued.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub lose_pack_answers: u32,
    /// How order searches answer: faithful, ignores-key or misdirected (someone else's order).
    #[arg(long, default_value = "faithful")]
    pub order_search: crate::registry::sim::OrderSearch,
    /// List orders with their poNumber (xtrace; the description does not say it does).
    #[arg(long)]
    pub echo_po_number: bool,
    #[arg(long, default_value = "station")]
    pub login: String,
    /// The password the simulator accepts (it is a simulator: this is not a secret).
    #[arg(long, default_value = "station")]
    pub password: String,
}

pub(super) fn printer_sim(a: PrinterSimArgs) -> Result<ExitCode> {
    use crate::sim::printer::{PrinterSimConfig, VirtualPrinter};
    if ![203, 300, 600].contains(&a.dpi) {
        bail!("--dpi {}: use 203, 300 or 600", a.dpi);
    }
    if let Some(dir) = &a.out_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let vp = VirtualPrinter::new(PrinterSimConfig {
        dpi: a.dpi,
        ips: (a.ips > 0.0).then_some(a.ips),
        baud: (a.baud > 0).then_some(a.baud),
        unreadable_rate: a.unreadable_rate.clamp(0.0, 1.0),
        drop_rate: a.drop_rate.clamp(0.0, 1.0),
        duplicate_rate: a.duplicate_rate.clamp(0.0, 1.0),
        ignore_jz: a.ignore_jz,
        odometer: if a.no_odometer {
            None
        } else {
            PrinterSimConfig::default().odometer
        },
        ..PrinterSimConfig::default()
    });
    let where_ = if a.listen == "pty" {
        let path = vp.serve_pty()?;
        format!("serial://{}", path.display())
    } else {
        let addr: std::net::SocketAddr = a
            .listen
            .strip_prefix("tcp://")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                anyhow::anyhow!("--listen {}: use tcp://127.0.0.1:PORT or pty", a.listen)
            })?;
        if !addr.ip().is_loopback() {
            bail!(
                "--listen {}: the virtual printer listens on loopback addresses only",
                a.listen
            );
        }
        format!("tcp://{}", vp.serve_tcp(addr)?)
    };
    {
        // A server must not die because whoever started it closed its stdout.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "virtual printer ready: point the station's printer at {where_}"
        );
        let _ = out.flush();
    }
    let mut n = 0u64;
    while let Ok(label) = vp.printed().recv() {
        n += 1;
        if let Some(dir) = &a.out_dir {
            let path = dir.join(format!("label-{n:06}.png"));
            match label.image.to_png() {
                Ok(png) => {
                    if let Err(e) = std::fs::write(&path, png) {
                        tracing::warn!("cannot write {}: {e}", path.display());
                    }
                }
                Err(e) => tracing::warn!("label {n}: {e}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_echo(s: &str) -> Result<crate::registry::sim::LookupEcho, String> {
    use crate::registry::sim::LookupEcho;
    match s {
        "as-asked" => Ok(LookupEcho::AsAsked),
        "identification" => Ok(LookupEcho::Identification),
        "escaped" => Ok(LookupEcho::EscapedSeparators),
        other => Err(format!(
            "{other:?}: use as-asked, identification or escaped"
        )),
    }
}

pub(super) fn registry_sim(a: RegistrySimArgs) -> Result<ExitCode> {
    if !a.listen.ip().is_loopback() {
        bail!(
            "--listen {}: the simulator listens on loopback addresses only (127.0.0.0/8 or ::1)",
            a.listen
        );
    }
    let sim = RegistrySim::start(
        a.listen,
        SimConfig {
            login: a.login,
            password: a.password,
            crypto_len: a.crypto_len,
            known_gtins: (!a.known_gtins.is_empty()).then(|| {
                a.known_gtins
                    .iter()
                    .map(|g| g.as_str().to_owned())
                    .collect()
            }),
            faults: Faults {
                error_rate: a.error_rate.clamp(0.0, 1.0),
                latency: Duration::from_millis(a.latency_ms),
                drop_after_commit_rate: a.drop_rate.clamp(0.0, 1.0),
                error_after_commit_rate: a.error_after_commit_rate.clamp(0.0, 1.0),
                garbled_after_commit_rate: a.garbled_rate.clamp(0.0, 1.0),
                throttle_rate: a.throttle_rate.clamp(0.0, 1.0),
                retry_after: Duration::from_secs(a.retry_after_secs.max(1)),
                ..Faults::default()
            },
            processing_delay: Duration::from_millis(a.processing_delay_ms),
            lookup_echo: a.lookup_echo,
            refusal: a
                .refuse_reports
                .clone()
                .map(crate::registry::sim::Refusal::when_processed),
            refusals_name_codes: !a.unnamed_refusals,
            orders: crate::registry::sim::OrderFaults {
                refuse: a.refuse_orders.clone(),
                decline: a.decline_orders.clone(),
                lose_pack_answers: a.lose_pack_answers,
                search: a.order_search,
                echo_po_number: a.echo_po_number,
                ..Default::default()
            },
            api: a.api,
            oms_id: a.oms_id.clone(),
            client_token: a.client_token.clone(),
            ..SimConfig::default()
        },
    )
    .with_context(|| format!("cannot listen on {}", a.listen))?;
    // A server must not die because whoever started it closed its stdout: ignore write errors.
    let mut out = std::io::stdout().lock();
    let _ = match a.api {
        crate::registry::sim::SimApi::Xtrace => writeln!(
            out,
            "registry simulator (xtrace) listening on {url}\npoint a station at it with: [registry] api = \"xtrace\", url = \"{url}\"",
            url = sim.url()
        ),
        crate::registry::sim::SimApi::OmsV2 => writeln!(
            out,
            "registry simulator (oms-v2) listening on {url}\npoint a station at it with: [registry] api = \"oms-v2\", url = \"{url}\", \
             [registry.oms] oms_id = \"{oms}\", contact_person = \"...\", and the client token {token} in the environment variable named by client_token_env",
            url = sim.url(),
            oms = a.oms_id,
            token = a.client_token,
        ),
    };
    let _ = out.flush();
    drop(out);
    loop {
        std::thread::park();
    }
}
