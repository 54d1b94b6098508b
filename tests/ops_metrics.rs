// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The Prometheus endpoint over real HTTP on loopback.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use labelstation::ops::metrics;
use support::*;

fn get(url: &str) -> (String, String) {
    let resp = reqwest::blocking::Client::new()
        .get(url)
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (ct, resp.text().unwrap())
}

#[test]
fn counts_per_product_and_state_and_extra_samples() {
    let dir = tempfile::tempdir().unwrap();
    let (mut ledger, gtin, _) = ledger_with_codes(dir.path(), 6, 21);
    let extra: metrics::Extra = Arc::new(|| {
        vec![
            ("labelstation_printer_ready".to_owned(), 1.0),
            (
                "labelstation_registry_link_up{api=\"xtrace\"}".to_owned(),
                0.0,
            ),
        ]
    });
    let server = metrics::serve(
        "127.0.0.1:0".parse().unwrap(),
        ledger_path(dir.path()),
        extra,
    )
    .unwrap();
    let url = format!("http://{}/metrics", server.addr());
    let (ct, body) = get(&url);
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    assert!(body.contains("labelstation_up 1"), "{body}");
    let g = gtin.as_str();
    assert!(
        body.contains(&format!(
            "labelstation_codes{{gtin=\"{g}\",state=\"AVAILABLE\"}} 6"
        )),
        "{body}"
    );
    assert!(body.contains("labelstation_outbox_queued{kind=\"UTILISATION\"} 0"));
    assert!(body.contains("labelstation_reports_in_flight 0"));
    assert!(body.contains("labelstation_printer_ready 1\n"));
    assert!(body.contains("labelstation_registry_link_up{api=\"xtrace\"} 0\n"));

    // Each scrape reads the ledger afresh, while the ledger is open and changing.
    print_and_verify_all(&mut ledger, &gtin);
    let (_, body) = get(&url);
    assert!(
        body.contains(&format!(
            "labelstation_codes{{gtin=\"{g}\",state=\"VERIFIED\"}} 6"
        )),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "labelstation_code_moves_total{{gtin=\"{g}\",to_state=\"PRINTED\"}} 6"
        )),
        "{body}"
    );
    assert!(body.contains("labelstation_outbox_queued{kind=\"UTILISATION\"} 6"));
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        assert!(!line.contains('\u{1d}'), "no code in the metrics: {line}");
    }
    drop(server);
    assert!(
        std::net::TcpStream::connect(
            url.trim_start_matches("http://")
                .trim_end_matches("/metrics")
        )
        .is_err(),
        "dropping the server stops it"
    );
}

#[test]
fn a_missing_ledger_is_reported_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nothing.sqlite3");
    let server = metrics::serve(
        "127.0.0.1:0".parse().unwrap(),
        path.clone(),
        metrics::no_extra(),
    )
    .unwrap();
    let (_, body) = get(&format!("http://{}/metrics", server.addr()));
    assert!(body.contains("labelstation_up 0"), "{body}");
    assert!(!path.exists());
}

#[test]
fn the_metrics_command_serves_the_configured_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(ledger_with_codes(&data, 2, 22));
    let mut child = Command::new(env!("CARGO_BIN_EXE_labelstation"))
        .env("LABELSTATION_DATA_DIR", &data)
        .env("XDG_CONFIG_HOME", dir.path().join("none"))
        .env_remove("LABELSTATION_CONFIG")
        .args(["metrics", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .map(str::to_owned);
    let result = url.map(|u| get(&u).1);
    let _ = child.kill();
    let _ = child.wait();
    let body = result.unwrap_or_else(|| panic!("no address in {line:?}"));
    assert!(body.contains("state=\"AVAILABLE\"} 2"), "{body}");
}
