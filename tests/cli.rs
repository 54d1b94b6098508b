// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The `labelstation` binary end to end: real processes, real files, the user's view.

mod support;

use labelstation::codes::generate::gtin_from_number;
use serde_json::Value;
use support::*;

/// Kills a simulator process however the test ends: a leaked child would hold the test's output open.

#[test]
fn add_import_and_balance() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let gtin = gtin_from_number(460_123_456_789);
    let out = run(cli(&data).args([
        "products",
        "add",
        "--gtin",
        gtin.as_str(),
        "--name",
        "Ботинки мужские",
        "--size",
        "42",
        "--country",
        "kz",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    // EAN-13 on the command line means the same product.
    let ean13 = &gtin.as_str()[1..];
    let out = run(cli(&data).args(["products", "add", "--gtin", ean13, "--name", "again"]));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("already registered"),
        "{}",
        stderr(&out)
    );

    let codes = support::codes(&gtin, 5, 3);
    let mut file = String::from("\u{feff}");
    file.push_str(&format!("]d2{}\r\n", codes[0].as_str()));
    file.push_str(&format!(
        "{}\n",
        codes[1].as_str().replace('\u{1d}', "\\x1d")
    ));
    file.push_str(&format!(
        "{}\n",
        codes[2].as_str().replace('\u{1d}', "\\u001d")
    ));
    file.push_str(&format!("{}\n\n", codes[3].as_str().replace('\u{1d}', "")));
    file.push_str(&format!("{}\n{}\n", codes[4].as_str(), codes[4].as_str()));
    let path = dir.path().join("codes.txt");
    std::fs::write(&path, file).unwrap();
    let out = run(cli(&data)
        .args(["codes", "import", "--gtin", ean13])
        .arg(&path)
        .arg("--json"));
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (r["imported"].as_u64(), r["repeated_lines"].as_u64()),
        (Some(5), Some(1))
    );
    // Importing the same file again adds nothing.
    let out = run(cli(&data)
        .args(["codes", "import", "--gtin", gtin.as_str()])
        .arg(&path));
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("imported 0 new code(s)"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("5 already in the ledger"),
        "{}",
        stdout(&out)
    );

    let out = run(cli(&data).args(["codes", "balance", "--json"]));
    assert!(out.status.success());
    let b: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let arr = b.as_array().unwrap();
    assert_eq!(arr.len(), 1);
    assert_eq!(arr[0]["gtin"], gtin.as_str());
    assert_eq!(arr[0]["states"]["AVAILABLE"], 5);
    assert_eq!(
        arr[0]["states"].as_object().unwrap().len(),
        9,
        "every state is listed"
    );
    assert_eq!(
        arr[0].as_object().unwrap().len(),
        2,
        "exactly gtin and states: {b}"
    );

    let out = run(cli(&data).args(["codes", "balance"]));
    let text = stdout(&out);
    assert!(
        text.contains("Ботинки мужские") && text.contains("AVAILABLE"),
        "{text}"
    );

    let out = run(cli(&data).args(["ledger", "check"]));
    assert!(out.status.success(), "{}", stdout(&out));
    // Audited: the product, the import, and the second import that found nothing new.
    let out = run(cli(&data).args(["audit", "verify"]));
    assert!(
        stdout(&out).contains("3 entries, chain verified"),
        "{}",
        stdout(&out)
    );
    let out = run(cli(&data).args(["products", "list", "--json"]));
    let p: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(p[0]["country"], "KZ");
    // No crypto tail or verification key reaches any output.
    for o in [stdout(&out), stderr(&out)] {
        for c in &codes {
            assert!(!o.contains(c.crypto().unwrap()));
        }
    }
}

#[test]
fn a_bad_file_imports_nothing_and_names_every_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let gtin = gtin_from_number(460_999_000_001);
    assert!(
        run(cli(dir.path()).args([
            "products",
            "add",
            "--gtin",
            gtin.as_str(),
            "--name",
            "Туфли"
        ]))
        .status
        .success()
    );
    let codes = support::codes(&gtin, 3, 4);
    let mut bad_gtin = codes[2].as_str().to_owned();
    // Break the GTIN's check digit (position 16 of the element string).
    let wrong = if bad_gtin.as_bytes()[15] == b'0' {
        "1"
    } else {
        "0"
    };
    bad_gtin.replace_range(15..16, wrong);
    let file = format!(
        "{}\n]d1{}\n{}\n",
        codes[0].as_str(),
        codes[1].as_str(),
        bad_gtin
    );
    let path = dir.path().join("bad.txt");
    std::fs::write(&path, file).unwrap();
    let out = run(cli(dir.path())
        .args(["codes", "import", "--gtin", gtin.as_str()])
        .arg(&path));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("bad.txt:2:"), "{err}");
    assert!(
        err.contains("bad.txt:3:") && err.contains("check digit"),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    assert!(
        !err.contains(codes[1].crypto().unwrap()),
        "no crypto tail in errors"
    );
    let out = run(cli(dir.path()).args(["codes", "balance", "--json"]));
    let b: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(b[0]["states"]["AVAILABLE"], 0);

    let out = run(cli(dir.path())
        .args(["codes", "import", "--gtin", "4601234567890"])
        .arg(&path));
    assert_eq!(
        out.status.code(),
        Some(2),
        "a GTIN with a bad check digit is a usage error"
    );
    assert!(stderr(&out).contains("check digit"), "{}", stderr(&out));
    let out = run(cli(dir.path()).args([
        "codes",
        "import",
        "--gtin",
        gtin.as_str(),
        "/nonexistent/codes.txt",
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot read /nonexistent/codes.txt"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn paths_and_config_follow_flag_env_xdg_and_bad_config_says_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let env_dir = dir.path().join("env");
    let flag_dir = dir.path().join("flag");
    let out = run(cli(&env_dir).args(["config", "show"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("data dir: {}", env_dir.display())),
        "{text}"
    );
    assert!(text.contains("embedded defaults in use"), "{text}");
    assert!(text.contains("serial_length = 13"), "{text}");
    let out = run(cli(&env_dir)
        .arg("--data-dir")
        .arg(&flag_dir)
        .args(["config", "show"]));
    assert!(stdout(&out).contains(&format!(
        "data dir: {} (from the command line)",
        flag_dir.display()
    )));

    // XDG: neither flag nor env.
    let home = dir.path().join("home");
    let out = run(cli(&env_dir)
        .env_remove("LABELSTATION_DATA_DIR")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env("HOME", &home)
        .args(["config", "show"]));
    assert!(
        stdout(&out).contains(&format!("{}/.local/share/labelstation", home.display())),
        "{}",
        stdout(&out)
    );

    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[codes]\nserial_lenght = 13\n").unwrap();
    let out = run(cli(&env_dir)
        .env("LABELSTATION_CONFIG", &cfg)
        .args(["codes", "balance"]));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("c.toml") && err.contains("serial_lenght"),
        "{err}"
    );
    let out = run(cli(&env_dir)
        .arg("--config")
        .arg(dir.path().join("missing.toml"))
        .args(["codes", "balance"]));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));

    std::fs::write(
        &cfg,
        "[station]\nid = \"post-3\"\n[codes]\ncrypto_length_min = 88\n",
    )
    .unwrap();
    let out = run(cli(&env_dir)
        .arg("--config")
        .arg(&cfg)
        .args(["config", "show"]));
    assert!(stdout(&out).contains("id = \"post-3\""), "{}", stdout(&out));
}

#[test]
fn a_damaged_ledger_is_refused_with_recovery_steps() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(ledger_path(dir.path()), vec![0x5a; 4096]).unwrap();
    let out = run(cli(dir.path()).args(["codes", "balance"]));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("damaged") && err.contains("restore the newest backup"),
        "{err}"
    );
}

#[test]
fn demo_without_a_display_runs_headless_and_adds_up() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(cli(dir.path())
        .args(["demo", "--labels", "3", "--fault-rate", "0"])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("headless"), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("3 verified") && stdout(&out).contains("every code accounted for"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn codes_pull_on_the_embedded_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let gtin = gtin_from_number(460_222_000_001);
    assert!(
        run(cli(dir.path()).args(["products", "add", "--gtin", gtin.as_str(), "--name", "Кеды"]))
            .status
            .success()
    );
    let out = run(cli(dir.path()).args([
        "codes",
        "pull",
        "--gtin",
        gtin.as_str(),
        "--quantity",
        "7",
        "--json",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(r["new_codes"], 7);
    assert!(
        stderr(&out).contains("built-in simulator"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("7/7 codes"), "{}", stderr(&out));
    let out = run(cli(dir.path()).args(["codes", "balance", "--json"]));
    let b: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(b[0]["states"]["AVAILABLE"], 7);
    assert!(
        run(cli(dir.path()).args(["ledger", "check"]))
            .status
            .success()
    );
}

#[test]
fn codes_pull_from_a_registry_simulator_process() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let gtin = gtin_from_number(460_222_000_002);
    // A free loopback port (released just before the simulator binds it).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut sim = cli(dir.path())
        .args([
            "registry-sim",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--crypto-len",
            "88",
        ])
        .args([
            "--login",
            "api-user",
            "--password",
            "s3cret",
            "--known-gtin",
            gtin.as_str(),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map(KillOnDrop)
        .unwrap();
    let mut first = String::new();
    BufReader::new(sim.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(
        first.contains(&format!("http://127.0.0.1:{port}")),
        "{first}"
    );

    let cfg = dir.path().join("station.toml");
    std::fs::write(
        &cfg,
        format!(
            "[registry]\napi = \"xtrace\"\nurl = \"http://127.0.0.1:{port}\"\n[registry.xtrace]\nlogin = \"api-user\"\nbusiness_place_id = 5\n"
        ),
    )
    .unwrap();
    assert!(
        run(cli(dir.path()).args([
            "products",
            "add",
            "--gtin",
            gtin.as_str(),
            "--name",
            "Сапоги",
            "--country",
            "TR"
        ]))
        .status
        .success()
    );
    // Without the password in the environment: a clear error, nothing ordered.
    let out = run(cli(dir.path()).arg("--config").arg(&cfg).args([
        "codes",
        "pull",
        "--gtin",
        gtin.as_str(),
        "--quantity",
        "3",
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("LABELSTATION_REGISTRY_PASSWORD"),
        "{}",
        stderr(&out)
    );
    let out = run(cli(dir.path())
        .env("LABELSTATION_REGISTRY_PASSWORD", "s3cret")
        .arg("--config")
        .arg(&cfg)
        .args(["codes", "pull", "--gtin", gtin.as_str(), "--quantity", "12"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("pulled 12 new code(s)"),
        "{}",
        stdout(&out)
    );
    assert!(
        !stderr(&out).contains("s3cret"),
        "the password never reaches the output"
    );
    // An unknown product is declined by the registry, with its reason.
    let other = gtin_from_number(460_222_000_003);
    assert!(
        run(cli(dir.path()).args([
            "products",
            "add",
            "--gtin",
            other.as_str(),
            "--name",
            "Туфли"
        ]))
        .status
        .success()
    );
    let out = run(cli(dir.path())
        .env("LABELSTATION_REGISTRY_PASSWORD", "s3cret")
        .arg("--config")
        .arg(&cfg)
        .args(["codes", "pull", "--gtin", other.as_str(), "--quantity", "1"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("Order declined"), "{}", stderr(&out));
    // The codes are printed and verified on the line (here through the library), then reported.
    {
        let mut l =
            labelstation::ledger::Ledger::open(&ledger_path(dir.path()), "station-1").unwrap();
        support::print_and_verify_all(&mut l, &gtin);
    }
    let sync = |extra: &[&str]| {
        run(cli(dir.path())
            .env("LABELSTATION_REGISTRY_PASSWORD", "s3cret")
            .arg("--config")
            .arg(&cfg)
            .arg("sync")
            .args(extra))
    };
    let out = sync(&["--once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("reported 12 code(s), 0 refused; backlog: 0 queued"),
        "{}",
        stdout(&out)
    );
    let out = run(cli(dir.path()).args(["codes", "balance", "--json"]));
    let b: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let ours = b
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["gtin"] == gtin.as_str())
        .unwrap();
    assert_eq!(ours["states"]["REPORTED"], 12);
    // With nothing to send, a pass needs no link. With a verified code waiting and the registry gone,
    // it fails with the link error and the code stays queued.
    drop(sim);
    assert!(sync(&["--once"]).status.success());
    {
        use labelstation::codes::CodeFormat;
        use labelstation::ledger::{Actor, JobMode, Ledger, ScanProof};
        let mut l = Ledger::open(&ledger_path(dir.path()), "station-1").unwrap();
        let extra = support::codes(&gtin, 1, 77);
        l.import_codes(
            &gtin,
            "x",
            support::code_file(&extra).as_bytes(),
            &CodeFormat::default(),
            &Actor::system("t"),
        )
        .unwrap();
        let op = Actor::operator("op");
        let job = l.open_job(&gtin, JobMode::Inline, &op).unwrap();
        let r = l.reserve(job, &op).unwrap();
        l.mark_sent(r.id, job, "sim:", b"", false, &op).unwrap();
        l.mark_printed(r.id, job, &op).unwrap();
        l.verify(
            r.id,
            job,
            &ScanProof {
                raw: b"x",
                aim: None,
            },
            &op,
        )
        .unwrap();
    }
    let out = sync(&["--once"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no usable answer from the registry"),
        "{}",
        stderr(&out)
    );
    let out = run(cli(dir.path()).args(["codes", "balance", "--json"]));
    let b: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let ours = b
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["gtin"] == gtin.as_str())
        .unwrap();
    assert_eq!(
        ours["states"]["VERIFIED"], 1,
        "the waiting confirmation is kept"
    );
    let out = run(cli(dir.path()).args(["registry-sim", "--listen", "10.1.2.3:8900"]));
    assert!(
        stderr(&out).contains("loopback addresses only"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn label_preview_draws_a_scannable_label() {
    let dir = tempfile::tempdir().unwrap();
    let gtin = gtin_from_number(460_333_000_001);
    assert!(
        run(cli(dir.path()).args([
            "products",
            "add",
            "--gtin",
            gtin.as_str(),
            "--name",
            "Ботинки мужские / Ер адамдар бәтеңкесі",
            "--size",
            "42"
        ]))
        .status
        .success()
    );
    let code = support::codes(&gtin, 1, 5).remove(0);
    let png = dir.path().join("label.png");
    let out = run(cli(dir.path())
        .args(["label", "preview", "--gtin", gtin.as_str(), "--code"])
        .arg(code.as_str().replace('\u{1d}', "<GS>"))
        .arg("--out")
        .arg(&png));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stdout(&out).contains(code.crypto().unwrap()),
        "no crypto tail on the terminal"
    );
    // The PNG holds a real GS1 DataMatrix carrying exactly the code.
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let luma: Vec<u8> = match info.color_type {
        png::ColorType::Grayscale => buf[..info.buffer_size()].to_vec(),
        png::ColorType::Rgb => buf[..info.buffer_size()].chunks(3).map(|p| p[0]).collect(),
        png::ColorType::Rgba => buf[..info.buffer_size()].chunks(4).map(|p| p[0]).collect(),
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    let luma = if info.bit_depth == png::BitDepth::One {
        // 1-bit rows, packed.
        let row = info.width.div_ceil(8) as usize;
        (0..info.height as usize)
            .flat_map(|y| (0..info.width as usize).map(move |x| (y, x)))
            .map(|(y, x)| {
                if buf[y * row + x / 8] & (0x80 >> (x % 8)) != 0 {
                    255
                } else {
                    0
                }
            })
            .collect()
    } else {
        luma
    };
    let r = rxing::helpers::detect_in_luma(
        luma,
        info.width,
        info.height,
        Some(rxing::BarcodeFormat::DATA_MATRIX),
    )
    .unwrap();
    assert_eq!(r.getText(), code.as_str());

    // Without a code: a sample of the right shape. Errors say what to do.
    let out = run(cli(dir.path())
        .args(["label", "preview", "--gtin", gtin.as_str(), "--out"])
        .arg(&png));
    assert!(out.status.success(), "{}", stderr(&out));
    let other = gtin_from_number(460_333_000_002);
    let out = run(cli(dir.path())
        .args(["label", "preview", "--gtin", other.as_str(), "--out"])
        .arg(&png));
    assert!(stderr(&out).contains("unknown product"), "{}", stderr(&out));
    let foreign = support::codes(&other, 1, 5).remove(0);
    let out = run(cli(dir.path())
        .args([
            "label",
            "preview",
            "--gtin",
            gtin.as_str(),
            "--code",
            foreign.as_str(),
            "--out",
        ])
        .arg(&png));
    assert!(stderr(&out).contains("is for GTIN"), "{}", stderr(&out));
}

#[test]
fn printer_sim_prints_what_the_driver_sends() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("printed");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut sim = cli(dir.path())
        .args([
            "printer-sim",
            "--listen",
            &format!("tcp://127.0.0.1:{port}"),
            "--out-dir",
        ])
        .arg(&out_dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map(KillOnDrop)
        .unwrap();
    let mut first = String::new();
    BufReader::new(sim.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(
        first.contains(&format!("tcp://127.0.0.1:{port}")),
        "{first}"
    );

    use labelstation_printer::{JobOutcome, Printer, PrinterUri, ZebraPrinter, wait_until_done};
    let uri = PrinterUri::parse(&format!("tcp://127.0.0.1:{port}")).unwrap();
    let mut p = ZebraPrinter::open(&uri).unwrap();
    let gtin = gtin_from_number(460_555_000_009);
    let code = support::codes(&gtin, 1, 9).remove(0);
    let t = labelstation_zpl::template::Template::builtin(
        labelstation_zpl::template::BuiltinTemplate::Label43x25,
    )
    .unwrap();
    let g = gtin.to_string();
    let data = labelstation_zpl::write::LabelData {
        code: code.as_str(),
        name: "Кеды",
        size: "40",
        gtin_text: &g,
        serial_text: code.serial(),
    };
    p.send(
        labelstation_zpl::write::full_label(&t, &data)
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let outcome = wait_until_done(
        &mut p,
        std::time::Duration::from_secs(10),
        std::time::Duration::from_millis(10),
    )
    .unwrap();
    assert_eq!(outcome, JobOutcome::Done);
    let png = out_dir.join("label-000001.png");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !png.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG of the printed label");
    drop(sim);

    let out = run(cli(dir.path()).args(["printer-sim", "--listen", "tcp://192.0.2.1:9100"]));
    assert!(
        stderr(&out).contains("loopback addresses only"),
        "{}",
        stderr(&out)
    );
}

/// A simulated xTrace registry on loopback that makes codes at once, and a config file in `data` that
/// points the station at it.
fn xtrace_sim(
    data: &std::path::Path,
) -> (labelstation::registry::sim::RegistrySim, std::path::PathBuf) {
    use labelstation::registry::sim::{RegistrySim, SimConfig};
    let sim = RegistrySim::start(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig {
            pending_polls: 0,
            ..SimConfig::default()
        },
    )
    .unwrap();
    let cfg = data.join("station.toml");
    std::fs::write(
        &cfg,
        format!(
            "[registry]\napi = \"xtrace\"\nurl = \"{}\"\n[registry.xtrace]\nlogin = \"station\"\nbusiness_place_id = 5\n",
            sim.url()
        ),
    )
    .unwrap();
    (sim, cfg)
}

#[test]
fn codes_orders_lists_refused_and_stuck_orders_and_a_supervisor_abandons_one() {
    use labelstation::registry::sim::{OrderFaults, OrderSearch};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (sim, cfg) = xtrace_sim(data);
    let a = gtin_from_number(460_222_000_011);
    let b = gtin_from_number(460_222_000_012);
    for (g, name) in [(&a, "Кеды"), (&b, "Сапоги")] {
        let out = run(cli(data).args(["products", "add", "--gtin", g.as_str(), "--name", name]));
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let labelstation = || {
        let mut c = cli(data);
        c.env("LABELSTATION_REGISTRY_PASSWORD", "station")
            .arg("--config")
            .arg(&cfg);
        c
    };
    let pull = |g: &labelstation::codes::Gtin, n: &str| {
        run(labelstation().args(["codes", "pull", "--gtin", g.as_str(), "--quantity", n]))
    };
    let orders = || -> Vec<Value> {
        let out = run(labelstation().args(["codes", "orders", "--json"]));
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str::<Value>(&stdout(&out))
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    };
    let order = |id: i64| orders().into_iter().find(|o| o["id"] == id).unwrap();
    assert!(pull(&a, "3").status.success());

    // B's order is made, the answer lost, and the registry's search answers A's order under B's key.
    sim.set_order_faults(OrderFaults {
        lose_create_answers: 1,
        search: OrderSearch::Misdirected,
        echo_po_number: true,
        ..OrderFaults::default()
    });
    let out = pull(&b, "2");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not the order the station made"),
        "{}",
        stderr(&out)
    );
    let o2 = order(2);
    assert_eq!(o2["status"], "REQUESTED");
    assert!(
        o2["last_error"].as_str().unwrap().contains("not the order"),
        "{o2}"
    );
    // A goes on; B's order is reported, not in the way.
    let out = pull(&a, "1");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("order #2"), "{}", stderr(&out));
    let out = pull(&b, "1");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("abandons it"), "{}", stderr(&out));
    let out = run(labelstation().args(["codes", "orders"]));
    assert!(stdout(&out).contains("stuck"), "{}", stdout(&out));
    let out = run(labelstation().args(["status", "--json"]));
    assert!(
        stdout(&out).contains("cannot be finished"),
        "{}",
        stdout(&out)
    );

    // Abandoning needs the supervisor's PIN.
    let abandon = |pin: &str| {
        run(labelstation()
            .env("LABELSTATION_SUPERVISOR_PIN", pin)
            .args([
                "codes",
                "orders",
                "abandon",
                "2",
                "--reason",
                "the registry answers another order",
                "--as",
                "Dana",
            ]))
    };
    let out = run(cli(data)
        .env("LABELSTATION_NEW_PIN", "2468")
        .args(["supervisor", "set-pin"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!abandon("1111").status.success());
    assert_eq!(order(2)["status"], "REQUESTED");
    let out = abandon("2468");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("order #2 abandoned"),
        "{}",
        stdout(&out)
    );
    assert_eq!(order(2)["status"], "ABANDONED");
    // The search still answers the wrong order: the abandoned one's registry order is not closed yet.
    assert!(stdout(&out).contains("not closed yet"), "{}", stdout(&out));

    // The registry answers faithfully again: the next pull closes it, none of its codes taken.
    sim.set_order_faults(OrderFaults::default());
    let out = pull(&b, "2");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("abandoned order #2"),
        "{}",
        stderr(&out)
    );
    let key = order(2)["order_key"].as_str().unwrap().to_owned();
    let lost = sim
        .orders()
        .into_iter()
        .find(|o| o.key.as_deref() == Some(key.as_str()))
        .unwrap();
    assert!(lost.closed && lost.issued == 0, "{lost:?}");
    let out = run(labelstation().args(["codes", "orders"]));
    assert!(
        stdout(&out).contains("ABANDONED") && stdout(&out).contains("another order"),
        "{}",
        stdout(&out)
    );

    // A refusal of the whole order: the order ends with the registry's reason, and is not sent again.
    sim.set_order_faults(OrderFaults {
        refuse: vec!["business place 5 is not registered for this product group".into()],
        ..OrderFaults::default()
    });
    let out = pull(&a, "1");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("business place 5"),
        "{}",
        stderr(&out)
    );
    let refused = orders().into_iter().next().unwrap();
    assert_eq!(refused["status"], "REJECTED");
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .contains("business place 5")
    );
    assert!(pull(&b, "1").status.success());

    let out = run(cli(data).args(["audit", "show", "--limit", "40"]));
    assert!(
        stdout(&out).contains("order.abandoned") && stdout(&out).contains("Dana"),
        "{}",
        stdout(&out)
    );
    assert!(run(cli(data).args(["ledger", "check"])).status.success());
}

/// A pull that fails after the registry issued a pack (its answer lost every time) leaves codes that
/// are the station's but not in its ledger. Abandoning the order fetches them first; when the registry
/// cannot say, the abandon is refused unless `--unchecked`. Compared with what the simulator issued.
#[test]
fn abandoning_an_order_first_takes_in_the_pack_whose_answer_was_lost() {
    use labelstation::ledger::Ledger;
    use labelstation::registry::sim::OrderFaults;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (sim, cfg) = xtrace_sim(data);
    let a = gtin_from_number(460_222_000_021);
    let out = run(cli(data).args(["products", "add", "--gtin", a.as_str(), "--name", "Кеды"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(cli(data)
        .env("LABELSTATION_NEW_PIN", "2468")
        .args(["supervisor", "set-pin"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let labelstation = || {
        let mut c = cli(data);
        c.env("LABELSTATION_REGISTRY_PASSWORD", "station")
            .env("LABELSTATION_SUPERVISOR_PIN", "2468")
            .arg("--config")
            .arg(&cfg);
        c
    };
    let abandon = |extra: &[&str]| {
        run(labelstation()
            .args(["codes", "orders", "abandon", "1", "--reason", "not needed"])
            .args(extra))
    };
    let status = || {
        let out = run(labelstation().args(["codes", "orders", "--json"]));
        let orders: Value = serde_json::from_str(&stdout(&out)).unwrap();
        orders[0].clone()
    };

    // The pack is issued; every answer to it (and to each repeat) is lost: the pull gives up.
    sim.set_order_faults(OrderFaults {
        lose_pack_answers: 100,
        ..OrderFaults::default()
    });
    let out = run(labelstation().args(["codes", "pull", "--gtin", a.as_str(), "--quantity", "6"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    sim.set_order_faults(OrderFaults::default());
    assert_eq!(sim.orders()[0].issued, 6);
    assert_eq!(status()["received"], 0);

    // The registry cannot be asked about its packs: not abandoned, and told why and what to do.
    sim.set_unavailable(&["/api/codes"]);
    let out = abandon(&[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--unchecked"), "{}", stderr(&out));
    assert_eq!(status()["status"], "OPEN");

    // It answers: the lost pack comes into the pool, then the order is given up and closed.
    sim.set_unavailable(&[]);
    let out = abandon(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("6 code(s) the registry issued"),
        "{}",
        stdout(&out)
    );
    let o = status();
    assert_eq!(
        (o["status"].as_str(), o["received"].as_u64()),
        (Some("ABANDONED"), Some(6))
    );
    assert!(sim.orders()[0].closed);

    // Every code the registry issued is in the ledger's pool, and nothing else is.
    let l = Ledger::open(&data.join(labelstation::ledger::LEDGER_FILE), "station-1").unwrap();
    let issued: std::collections::BTreeSet<String> = sim.codes().into_keys().collect();
    let in_ledger: std::collections::BTreeSet<String> = l
        .connection()
        .prepare("SELECT code FROM codes WHERE state = 'AVAILABLE'")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(issued.len(), 6);
    assert_eq!(in_ledger, issued);
    assert!(run(cli(data).args(["ledger", "check"])).status.success());
}

/// A consignment taken in from its packing list through the binary: a comma inside a quoted Cyrillic
/// name, products created, each line's progress shown; a file with a bad line takes nothing in; the same
/// file twice is refused as such; a BIN that is not 12 digits says so.
#[test]
fn a_consignment_is_taken_in_from_its_packing_list() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let a = gtin_from_number(460_222_000_031);
    let b = gtin_from_number(460_222_000_032);
    let list = dir.path().join("packing.csv");
    std::fs::write(
        &list,
        format!(
            "gtin,name,size,quantity\r\n{a},\"Кеды детские, синие\",38,12\r\n{b},Сапоги,41,8\r\n"
        ),
    )
    .unwrap();
    let import = |file: &std::path::Path, id: &str, bin: &str| {
        run(cli(&data).args([
            "consignment",
            "import",
            file.to_str().unwrap(),
            "--id",
            id,
            "--importer-bin",
            bin,
            "--country",
            "cn",
            "--invoice",
            "INV-77",
        ]))
    };
    let consignments = || -> Vec<Value> {
        let out = run(cli(&data).args(["consignment", "list", "--json"]));
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str::<Value>(&stdout(&out))
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    };

    // A bad line: nothing taken in, the line named.
    let broken = dir.path().join("broken.csv");
    std::fs::write(
        &broken,
        format!("gtin;name;size;quantity\n{a};Кеды;38;12\n4601234567890;Сапоги;41;8\n"),
    )
    .unwrap();
    let out = import(&broken, "CN-0142", "123456789012");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("broken.csv:3:"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing was imported"),
        "{}",
        stderr(&out)
    );
    assert!(consignments().is_empty());
    let out = run(cli(&data).args(["products", "list", "--json"]));
    assert_eq!(stdout(&out).trim(), "[]");

    let out = import(&list, "CN-0142", "12345678901");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not 12 digits"), "{}", stderr(&out));

    let out = import(&list, "CN-0142", "123456789012");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("2 line(s), 20 pair(s)"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("2 new product(s)"),
        "{}",
        stdout(&out)
    );

    let out = run(cli(&data).args(["consignment", "show", "CN-0142", "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let c: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(c["id"], "CN-0142");
    assert_eq!(c["status"], "OPEN");
    assert_eq!(c["country"], "CN");
    assert_eq!(c["importer_bin"], "123456789012");
    assert_eq!(c["declaration"], Value::Null);
    let lines = c["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["gtin"], a.as_str());
    assert_eq!(lines[0]["name"], "Кеды детские, синие");
    assert_eq!(
        (lines[0]["declared"].as_u64(), lines[1]["declared"].as_u64()),
        (Some(12), Some(8))
    );
    for l in lines {
        for k in ["labelled", "verified", "reported", "introduced", "refused"] {
            assert_eq!(l[k], 0, "{k} in {l}");
        }
    }
    // The products were created from the list, with the consignment's country.
    let out = run(cli(&data).args(["products", "list", "--json"]));
    let products: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(products.as_array().unwrap().len(), 2);
    assert!(stdout(&out).contains("Кеды детские, синие"));

    // The same file again: refused as such, nothing changes.
    let out = import(&list, "CN-0142", "123456789012");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("this same file"), "{}", stderr(&out));
    assert_eq!(consignments().len(), 1);

    let out = run(cli(&data).args(["consignment", "list"]));
    assert!(
        stdout(&out).contains("CN-0142") && stdout(&out).contains("0/20 pairs verified"),
        "{}",
        stdout(&out)
    );

    // Codes for it from the (embedded) registry: what each line lacks, plus 2 % spare, rounded up.
    let balance = || -> Vec<u64> {
        let out = run(cli(&data).args(["codes", "balance", "--json"]));
        let rows: Value = serde_json::from_str(&stdout(&out)).unwrap();
        [&a, &b]
            .iter()
            .map(|g| {
                rows.as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r["gtin"] == g.as_str())
                    .and_then(|r| r["states"]["AVAILABLE"].as_u64())
                    .unwrap_or(0)
            })
            .collect()
    };
    let out = run(cli(&data).args(["codes", "pull", "--consignment", "CN-0142"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(balance(), vec![13, 9]);
    // Nothing is lacking now: nothing more is ordered.
    let out = run(cli(&data).args(["codes", "pull", "--consignment", "CN-0142"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("ordering 0"), "{}", stderr(&out));
    assert_eq!(balance(), vec![13, 9]);
    let out = run(cli(&data).args(["audit", "show", "--limit", "10"]));
    assert!(
        stdout(&out).contains("consignment.import"),
        "{}",
        stdout(&out)
    );
    assert!(run(cli(&data).args(["ledger", "check"])).status.success());
}
