// SPDX-License-Identifier: GPL-3.0-or-later
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The station commands through the real binary: `print` on the virtual line, `review` with the supervisor
//! PIN, `status`, the headless demo, and SIGKILL of a printing station followed by a restart.

mod support;

use std::path::Path;
use std::time::Duration;

use labelstation::codes::generate::gtin_from_number;
use labelstation::ledger::Ledger;
use support::*;

/// A data dir with one product and `n` imported codes, and a config with a short scan timeout.
fn setup(dir: &Path, n: usize, seed: u64) -> (std::path::PathBuf, String) {
    let data = dir.join("data");
    let gtin = gtin_from_number(460_700_000_000 + seed);
    cli_product_with_codes(&data, &gtin, "Туфли", n, seed);
    let cfg = dir.join("station.toml");
    std::fs::write(
        &cfg,
        "[line]\nscan_timeout_secs = 1\nmax_consecutive_failures = 1000\n",
    )
    .unwrap();
    (data, gtin.to_string())
}

fn with_cfg(data: &Path) -> std::process::Command {
    let mut c = cli(data);
    c.env(
        "LABELSTATION_CONFIG",
        data.parent().unwrap().join("station.toml"),
    );
    c
}

fn states(data: &Path) -> serde_json::Value {
    let out = run(cli(data).args(["status", "--json"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    v["products"][0]["states"].clone()
}

#[test]
fn print_on_the_virtual_line_then_status() {
    let dir = tempfile::tempdir().unwrap();
    let (data, gtin) = setup(dir.path(), 6, 1);
    let out = run(with_cfg(&data).args([
        "print",
        "--gtin",
        &gtin,
        "--count",
        "3",
        "--printer",
        "sim:",
        "--scanner",
        "sim:",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("3 requested: 3 printed, 3 verified, 0 rejected"),
        "{}",
        stdout(&out)
    );
    // Progress names codes masked, never with the crypto tail.
    assert!(
        stderr(&out).contains("verified") && stderr(&out).contains("(92)****"),
        "{}",
        stderr(&out)
    );
    let s = states(&data);
    assert_eq!(
        (s["VERIFIED"].as_u64(), s["AVAILABLE"].as_u64()),
        (Some(3), Some(3))
    );
    let out = run(cli(&data).args(["status"]));
    assert!(stdout(&out).contains("3 available"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("3 application(s)"),
        "{}",
        stdout(&out)
    );
    // A sim scanner without the sim printer is refused with what to do.
    let out = run(with_cfg(&data).args([
        "print",
        "--gtin",
        &gtin,
        "--printer",
        "tcp://127.0.0.1:9",
        "--scanner",
        "sim:",
    ]));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("needs printer \"sim:\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn no_verify_then_batch_json_events() {
    let dir = tempfile::tempdir().unwrap();
    let (data, gtin) = setup(dir.path(), 6, 2);
    let out = run(with_cfg(&data).args(["print", "--gtin", &gtin, "--count", "2", "--no-verify"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("2 printed, 0 verified, 0 rejected, 2 waiting"),
        "{}",
        stdout(&out)
    );
    assert_eq!(states(&data)["PRINTED"].as_u64(), Some(2));
    let out = run(with_cfg(&data).args([
        "print", "--gtin", &gtin, "--count", "3", "--batch", "--json",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = lines.last().unwrap();
    assert_eq!(
        summary["summary"]["verified"].as_u64(),
        Some(3),
        "{summary}"
    );
    assert!(lines.iter().any(|l| l["event"] == "verdict"));
    assert!(!stdout(&out).contains("\\u001d92"));
}

#[test]
fn rejects_are_reviewed_with_the_supervisor_pin() {
    let dir = tempfile::tempdir().unwrap();
    let (data, gtin) = setup(dir.path(), 12, 3);
    // Every label meets a fault; with a one-second scan timeout some end rejected.
    let out = run(with_cfg(&data).args([
        "print",
        "--gtin",
        &gtin,
        "--count",
        "8",
        "--fault-rate",
        "1",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(cli(&data).args(["review", "list", "--json"]));
    let list: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(list["second_stickers"].as_array().map(Vec::len), Some(0));
    assert!(list["roll_waiting"].is_array(), "{list}");
    let queue = list["review"].as_array().unwrap().clone();
    assert!(queue.len() >= 2, "{queue:?}\n{}", stderr(&out));
    let first = queue[0]["id"].as_i64().unwrap().to_string();
    let second = queue[1]["id"].as_i64().unwrap().to_string();
    assert!(
        queue
            .iter()
            .all(|r| r["reason"].as_str().is_some_and(|s| !s.is_empty()))
    );

    // No PIN set: refused with what to do.
    let out = run(cli(&data)
        .args(["review", "write-off", &first, "--reason", "torn"])
        .env("LABELSTATION_SUPERVISOR_PIN", "1234"));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("supervisor set-pin"),
        "{}",
        stderr(&out)
    );
    let out = run(cli(&data)
        .args(["supervisor", "set-pin"])
        .env("LABELSTATION_NEW_PIN", "246813579024"));
    assert!(out.status.success(), "{}", stderr(&out));
    // Wrong PIN: refused, and the code stays where it was.
    let out = run(cli(&data)
        .args(["review", "write-off", &first, "--reason", "torn"])
        .env("LABELSTATION_SUPERVISOR_PIN", "1111"));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("wrong supervisor PIN"),
        "{}",
        stderr(&out)
    );
    let out = run(cli(&data)
        .args(["review", "write-off", &first, "--reason", "torn"])
        .env("LABELSTATION_SUPERVISOR_PIN", "246813579024")
        .env("USER", "aigerim"));
    assert!(out.status.success(), "{}", stderr(&out));
    // Reprint the second on a clean line; the new sticker is verified.
    let out = run(with_cfg(&data)
        .args(["review", "reprint", &format!("#{second}")])
        .env("LABELSTATION_SUPERVISOR_PIN", "246813579024"));
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("1 verified"), "{}", stdout(&out));
    let out = run(cli(&data).args(["review", "show", &first]));
    assert!(
        stdout(&out).contains("write_off") && stdout(&out).contains("cli:aigerim"),
        "{}",
        stdout(&out)
    );
    let l = Ledger::open(&ledger_path(&data), "x").unwrap();
    assert_eq!(l.check_invariants().unwrap(), vec![]);
    assert!(l.verify_audit().unwrap().breaks.is_empty());
    let actions: Vec<String> = l
        .connection()
        .prepare("SELECT action FROM audit_log")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for a in [
        "supervisor.set_pin",
        "supervisor.pin_refused",
        "code.write_off",
        "code.reprint",
    ] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} missing from {actions:?}"
        );
    }
    // The PIN never lands in the ledger or the PIN file in clear. (A 12-digit PIN: four digits turn up by
    // chance in a ledger full of codes and label bytes.)
    let raw = std::fs::read(ledger_path(&data)).unwrap();
    assert!(!raw.windows(4).any(|w| w == b"246813579024"));
}

#[test]
fn headless_demo_adds_up() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(cli(&dir.path().join("unused"))
        .args([
            "demo",
            "--headless",
            "--labels",
            "6",
            "--fault-rate",
            "0.2",
            "--keep",
        ])
        .arg(dir.path().join("demo")));
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("every code accounted for"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("6 labels requested"),
        "{}",
        stdout(&out)
    );
    // The kept ledger agrees.
    let out = run(cli(&dir.path().join("demo")).args(["ledger", "check"]));
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn sigkill_mid_run_then_restart_accounts_for_every_code() {
    let rounds: u64 = std::env::var("LABELSTATION_STATION_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let dir = tempfile::tempdir().unwrap();
    let total = 10 * rounds + 10;
    let (data, gtin) = setup(dir.path(), total as usize, 4);
    let mut verified_before = 0;
    let mut interrupted = 0;
    for round in 0..rounds {
        let mut child = with_cfg(&data)
            .args([
                "print",
                "--gtin",
                &gtin,
                "--count",
                "8",
                "--fault-rate",
                "0.2",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill at a different point of the line each round.
        std::thread::sleep(Duration::from_millis(60 + (round * 373) % 900));
        if child.try_wait().unwrap().is_none() {
            interrupted += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        // The next start recovers; nothing is lost, nothing counted twice, nothing left in flight.
        let out = run(with_cfg(&data).args(["print", "--gtin", &gtin, "--count", "1"]));
        assert!(out.status.success(), "round {round}: {}", stderr(&out));
        let s = states(&data);
        let sum: u64 = s
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(sum, total, "round {round}: {s}");
        assert_eq!(
            s["RESERVED"].as_u64().unwrap() + s["SENT"].as_u64().unwrap(),
            0,
            "round {round}: {s}"
        );
        let verified = s["VERIFIED"].as_u64().unwrap();
        assert!(
            verified >= verified_before,
            "round {round}: verified went back"
        );
        verified_before = verified;
        let out = run(cli(&data).args(["ledger", "check"]));
        assert!(out.status.success(), "round {round}: {}", stderr(&out));
    }
    eprintln!(
        "station crash suite: {interrupted} of {rounds} runs killed mid-line, {verified_before} of {total} codes verified"
    );
    assert!(
        interrupted * 2 >= rounds,
        "only {interrupted} of {rounds} kills hit a running line"
    );
}

#[test]
fn headless_station_labels_a_scanned_box_and_reports_it_in_the_background() {
    use labelstation::sim::printer::{PrinterSimConfig, VirtualPrinter};
    use labelstation::sim::scanner::{VirtualScanner, read_label};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let gtin = gtin_from_number(460_700_123_001);
    let out = run(cli(&data).args([
        "products",
        "add",
        "--gtin",
        gtin.as_str(),
        "--name",
        "Кеды",
        "--country",
        "KZ",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    // Codes from the built-in registry simulator, which keeps its state in the data dir.
    let out = run(cli(&data).args(["codes", "pull", "--gtin", gtin.as_str(), "--quantity", "5"]));
    assert!(out.status.success(), "{}", stderr(&out));
    // A virtual Zebra on loopback TCP and a virtual USB-CDC scanner on a pseudo-terminal, held by this test.
    let vp = VirtualPrinter::new(PrinterSimConfig::default());
    let addr = vp.serve_tcp(([127, 0, 0, 1], 0).into()).unwrap();
    let mut scanner = VirtualScanner::pty(5).unwrap();
    let cfg = dir.path().join("station.toml");
    std::fs::write(
        &cfg,
        format!(
            "[registry.report]\ninterval_secs = 1\n[printer]\nuri = \"tcp://{addr}\"\n[scanner]\nuri = \"serial://{}\"\n",
            scanner.path().display()
        ),
    )
    .unwrap();
    let child = cli(&data)
        .env("LABELSTATION_CONFIG", &cfg)
        .args(["run", "--headless"])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("station.log")).unwrap())
        .spawn()
        .unwrap();
    let log = || std::fs::read_to_string(dir.path().join("station.log")).unwrap_or_default();
    let _guard = KillOnDrop(child);
    std::thread::sleep(Duration::from_millis(1500));
    // The worker scans the box (EAN-13), the label prints, the worker scans the sticker.
    let ean = &gtin.as_str()[1..];
    for _ in 0..2 {
        scanner.scan_text(*b"]E0", ean.as_bytes()).unwrap();
        let label = vp
            .printed()
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no label printed; station log:\n{}", log()));
        assert!(read_label(&label.image).is_some());
        std::thread::sleep(Duration::from_millis(200));
        scanner
            .scan_label(&label.image, &labelstation_scanner::Fault::None)
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut last = serde_json::Value::Null;
    while std::time::Instant::now() < deadline {
        let out = run(cli(&data)
            .env("LABELSTATION_CONFIG", &cfg)
            .args(["status", "--json"]));
        if out.status.success() {
            last = serde_json::from_str(&stdout(&out)).unwrap();
            if last["products"][0]["states"]["REPORTED"].as_u64() == Some(2) {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let states = &last["products"][0]["states"];
    assert_eq!(
        (states["REPORTED"].as_u64(), states["AVAILABLE"].as_u64()),
        (Some(2), Some(3)),
        "{last}\n{}",
        log()
    );
    assert_eq!(last["running"].as_bool(), Some(true), "{last}");
    assert_eq!(last["sync"]["link"].as_str(), Some("UP"), "{last}");
}

#[test]
fn refused_write_off_is_settled_by_a_supervisor() {
    let dir = tempfile::tempdir().unwrap();
    // Imported codes the built-in registry never issued: it refuses their write-off.
    let (data, _gtin) = setup(dir.path(), 3, 30);
    let pin = |c: &mut std::process::Command| {
        c.env("LABELSTATION_SUPERVISOR_PIN", "2468");
    };
    assert!(
        run(cli(&data)
            .args(["supervisor", "set-pin"])
            .env("LABELSTATION_NEW_PIN", "2468"))
        .status
        .success()
    );
    let mut c = cli(&data);
    pin(c.args(["review", "write-off", "1", "--reason", "damaged box"]));
    let out = run(&mut c);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(cli(&data).args(["sync", "--once"]));
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let out = run(cli(&data).args(["review", "registry", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["write_offs"].as_array().map(Vec::len), Some(1), "{v}");
    assert!(!stdout(&out).contains("\u{1d}"));
    // Without the PIN nothing happens; with it the supervisor records what was done in the cabinet.
    let out = run(cli(&data)
        .args([
            "review",
            "write-off-fix",
            "1",
            "--done",
            "withdrawn in the cabinet",
        ])
        .env("LABELSTATION_SUPERVISOR_PIN", "0000"));
    assert!(!out.status.success());
    let mut c = cli(&data);
    pin(c.args([
        "review",
        "write-off-fix",
        "1",
        "--done",
        "withdrawn in the cabinet",
    ]));
    let out = run(&mut c);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(cli(&data).args(["review", "registry"]));
    assert!(
        stdout(&out).contains("nothing waits on the registry"),
        "{}",
        stdout(&out)
    );
}

#[cfg(feature = "kms")]
#[test]
fn kiosk_without_a_compositor_uses_linuxkms_and_says_what_to_check() {
    // The build carries Slint's linuxkms backend: asked for with SLINT_BACKEND, it is the one that tries
    // (an unknown backend would fall back to winit). Where a DRM device exists it could take the screen,
    // so this runs only where there is none (CI, containers).
    if std::path::Path::new("/dev/dri").exists() {
        eprintln!("skipped: /dev/dri exists here; the linuxkms backend would take the console");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (data, _gtin) = setup(dir.path(), 2, 41);
    let out = run(with_cfg(&data)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("SLINT_BACKEND", "linuxkms-software")
        .args(["run"]));
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(!err.contains("Could not load rendering backend"), "{err}");
    assert!(
        err.contains("SLINT_BACKEND=linuxkms") && err.contains("video, render and input"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[cfg(all(feature = "ui", not(feature = "kms")))]
#[test]
fn kiosk_without_a_compositor_in_a_build_without_kms_says_which_build_it_needs() {
    // The default build lacks Slint's linuxkms backend (it links libudev, libinput and xkbcommon). Asked
    // for it, the station says so and what to do, before it touches a device or the ledger.
    let dir = tempfile::tempdir().unwrap();
    let (data, _gtin) = setup(dir.path(), 2, 42);
    let out = run(with_cfg(&data)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("SLINT_BACKEND", "linuxkms-software")
        .args(["run"]));
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("SLINT_BACKEND=linuxkms-software")
            && err.contains("built without the cargo feature `kms`")
            && err.contains("--features kms")
            && err.contains("Debian package"),
        "{err}"
    );
    assert!(!err.contains("video, render and input"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // A display does not hide it: the kiosk asked for linuxkms, and this build cannot give it.
    let out = run(with_cfg(&data)
        .env("DISPLAY", ":99")
        .env("SLINT_BACKEND", "linuxkms")
        .args(["run"]));
    assert!(stderr(&out).contains("--features kms"), "{}", stderr(&out));
    // The demo says why it runs headless instead.
    let out = run(cli(&data)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("SLINT_BACKEND", "linuxkms-software")
        .args(["demo", "--labels", "1", "--fault-rate", "0"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--features kms")
            && stderr(&out).contains("running the demo headless"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn print_without_verifying_to_a_new_file_with_the_default_config() {
    // The default config names the virtual scanner (`sim:`), which goes only with the virtual printer. A
    // print that verifies nothing opens no scanner, so it prints to a file; the file is created, and a
    // relative `file://` path on the command line is taken from the current directory.
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let gtin = gtin_from_number(460_700_000_000 + 43);
    cli_product_with_codes(&data, &gtin, "Сапоги", 6, 43);
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let out = run(cli(&data).current_dir(&work).args([
        "print",
        "--gtin",
        gtin.as_str(),
        "--count",
        "3",
        "--no-verify",
        "--printer",
        "file://out.zpl",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("3 printed, 0 verified, 0 rejected, 3 waiting"),
        "{}",
        stdout(&out)
    );
    let file = work.join("out.zpl");
    // Print jobs hold complete codes, crypto tails included: readable by the station's user only.
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    // The codes in the file, read back as a Zebra would (the ZPL interpreter), are exactly the
    // ledger's PRINTED codes.
    let printed_in_file = |file: &Path| -> Vec<Vec<u8>> {
        let job = labelstation_zpl::Interpreter::new()
            .read(&std::fs::read(file).unwrap())
            .unwrap();
        let mut codes: Vec<Vec<u8>> = job
            .labels()
            .flat_map(|l| l.datamatrices())
            .map(|d| d.gs1_element_string().unwrap())
            .collect();
        codes.sort();
        codes
    };
    let printed_in_ledger = || -> Vec<Vec<u8>> {
        let ledger = Ledger::open(&ledger_path(&data), "station-1").unwrap();
        let mut stmt = ledger
            .connection()
            .prepare("SELECT code FROM codes WHERE state = 'PRINTED'")
            .unwrap();
        let mut codes: Vec<Vec<u8>> = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|c| c.unwrap().into_bytes())
            .collect();
        codes.sort();
        codes
    };
    let first = printed_in_file(&file);
    assert_eq!(first.len(), 3);
    assert_eq!(first, printed_in_ledger());
    // A second run appends after the first; the file keeps its mode.
    let out = run(cli(&data)
        .args([
            "print",
            "--gtin",
            gtin.as_str(),
            "--count",
            "2",
            "--no-verify",
            "--printer",
        ])
        .arg(format!("file://{}", file.display())));
    assert!(out.status.success(), "{}", stderr(&out));
    let both = printed_in_file(&file);
    assert_eq!(both.len(), 5);
    assert_eq!(both, printed_in_ledger());
    assert!(first.iter().all(|c| both.contains(c)));
    // A device node that is not there is never created: the printer is unplugged.
    let absent = format!("/dev/labelstation-test-absent-{}", std::process::id());
    let out = run(cli(&data)
        .args(["print", "--gtin", gtin.as_str(), "--no-verify", "--printer"])
        .arg(format!("file://{absent}")));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("plug the printer in"),
        "{}",
        stderr(&out)
    );
    assert!(!Path::new(&absent).exists());
    assert_eq!(states(&data)["AVAILABLE"].as_u64(), Some(1));
}

#[test]
fn status_of_a_stopped_station_says_what_its_interrupted_run_left() {
    use labelstation::ledger::{Actor, JobMode};
    let dir = tempfile::tempdir().unwrap();
    let (data, gtin) = setup(dir.path(), 8, 44);
    let gtin: labelstation::codes::Gtin = gtin.parse().unwrap();
    // What a station killed mid-line leaves: an inline sticker printed but not scanned, one sent to the
    // printer, the next one reserved ahead and never sent; and a no-verify sticker on its roll.
    let op = Actor::operator("op");
    let (printed, sent, reserved, roll) = {
        let mut l = Ledger::open(&ledger_path(&data), "station-1").unwrap();
        let job = l.open_job(&gtin, JobMode::Inline, &op).unwrap();
        let a = l.reserve(job, &op).unwrap().id;
        l.mark_sent(a, job, "sim:", b"", false, &op).unwrap();
        l.mark_printed(a, job, &op).unwrap();
        let b = l.reserve(job, &op).unwrap().id;
        l.mark_sent(b, job, "sim:", b"", false, &op).unwrap();
        let c = l.reserve(job, &op).unwrap().id;
        let roll_job = l.open_job(&gtin, JobMode::NoVerify, &op).unwrap();
        let d = l.reserve(roll_job, &op).unwrap().id;
        l.mark_sent(d, roll_job, "sim:", b"", false, &op).unwrap();
        l.mark_printed(d, roll_job, &op).unwrap();
        l.close_job(roll_job).unwrap();
        (a.0, b.0, c.0, d.0)
    };
    let events = || -> i64 {
        Ledger::open(&ledger_path(&data), "station-1")
            .unwrap()
            .connection()
            .query_row("SELECT count(*) FROM code_events", [], |r| r.get(0))
            .unwrap()
    };
    let before = events();

    let out = run(cli(&data).args(["status"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("not running"), "{text}");
    // Only the roll's sticker waits for its scan; the inline ones are the interrupted run's.
    assert!(text.contains("1 printed (waiting for scan)"), "{text}");
    assert!(
        text.contains("interrupted run: 2 go to review and 1 back to the pool at the next start"),
        "{text}"
    );
    assert!(text.contains("the last run was interrupted"), "{text}");

    let out = run(cli(&data).args(["status", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let i = &v["interrupted"];
    assert_eq!(
        (i["to_review"].as_u64(), i["to_pool"].as_u64()),
        (Some(2), Some(1)),
        "{v}"
    );
    let fate = |id: i64| {
        i["codes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"].as_i64() == Some(id))
            .map(|c| {
                (
                    c["state"].as_str().unwrap().to_owned(),
                    c["next_start"].as_str().unwrap().to_owned(),
                )
            })
    };
    assert_eq!(
        fate(printed),
        Some(("PRINTED".into(), "to_review".into())),
        "{v}"
    );
    assert_eq!(fate(sent), Some(("SENT".into(), "to_review".into())), "{v}");
    assert_eq!(
        fate(reserved),
        Some(("RESERVED".into(), "to_pool".into())),
        "{v}"
    );
    assert_eq!(fate(roll), None, "{v}");
    // Looking changes nothing: the ledger stays as the stop left it.
    assert_eq!(events(), before);
    assert_eq!(v["products"][0]["states"]["SENT"].as_u64(), Some(1));

    // The next start does what status said, code by code.
    let (_l, _lock, report) =
        Ledger::open_station(&data, "station-1", &Actor::system("test")).unwrap();
    let mut to_review: Vec<i64> = report.to_review.iter().map(|(id, _)| id.0).collect();
    to_review.sort();
    assert_eq!(to_review, vec![printed, sent]);
    assert_eq!((report.released, report.printed_waiting), (1, 1));
    drop((_l, _lock));
    let out = run(cli(&data).args(["status", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        v["interrupted"]["codes"].as_array().map(Vec::len),
        Some(0),
        "{v}"
    );
    assert_eq!(v["review_waiting"].as_u64(), Some(2), "{v}");
}

#[cfg(feature = "ui")]
#[test]
fn demo_codes_come_from_the_built_in_registry_which_accepts_their_reports() {
    use labelstation::config::{Config, Origin, Paths, RegistryApi};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let paths = Paths {
        data_dir: data.clone(),
        data_dir_origin: Origin::Flag,
        config_file: dir.path().join("demo.toml"),
        config_origin: Origin::Flag,
    };
    let mut config = Config::default();
    config.registry.api = RegistryApi::Sim;
    labelstation::ui::demo::seed_demo(&paths, &config).unwrap();
    // Seeding twice adds nothing.
    labelstation::ui::demo::seed_demo(&paths, &config).unwrap();
    let gtin = {
        let mut l = Ledger::open(&ledger_path(&data), "station-1").unwrap();
        let balance = l.balance().unwrap();
        let total: u64 = balance.iter().map(|b| b.states["AVAILABLE"]).sum();
        assert_eq!(total, 612, "{balance:?}");
        let gtin = balance[0].gtin.clone();
        let g = labelstation::codes::Gtin::parse(&gtin).unwrap();
        print_and_verify(&mut l, &g, 3);
        gtin
    };
    std::fs::write(dir.path().join("demo.toml"), "[registry]\napi = \"sim\"\n").unwrap();
    let out = run(cli(&data)
        .env("LABELSTATION_CONFIG", dir.path().join("demo.toml"))
        .args(["sync", "--once"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let l = Ledger::open(&ledger_path(&data), "station-1").unwrap();
    let states = &l
        .balance()
        .unwrap()
        .into_iter()
        .find(|b| b.gtin == gtin)
        .unwrap()
        .states;
    assert_eq!(states["REPORTED"], 3, "{states:?}");
}

/// Labelling for a consignment: its codes are linked to it and counted on its line; a pair beyond the
/// declared quantity is refused with the numbers, before anything is printed; a supervisor raises the
/// line (PIN, audited); the application reports of its codes carry the consignment's country, not the
/// product's.
#[test]
fn printing_for_a_consignment_counts_its_line_and_refuses_beyond_it() {
    use labelstation::ledger::reports::ReportKind;
    let dir = tempfile::tempdir().unwrap();
    let (data, gtin) = setup(dir.path(), 10, 7); // the product's country is TR
    let list = dir.path().join("packing.csv");
    std::fs::write(
        &list,
        format!("gtin;name;size;quantity\n{gtin};Туфли;38;3\n"),
    )
    .unwrap();
    let out = run(cli(&data).args([
        "consignment",
        "import",
        list.to_str().unwrap(),
        "--id",
        "VN-7",
        "--importer-bin",
        "123456789012",
        "--country",
        "VN",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let print = |n: &str| {
        run(with_cfg(&data).args([
            "print",
            "--consignment",
            "VN-7",
            "--gtin",
            &gtin,
            "--count",
            n,
            "--batch",
        ]))
    };
    let line = || -> serde_json::Value {
        let out = run(cli(&data).args(["consignment", "show", "VN-7", "--json"]));
        assert!(out.status.success(), "{}", stderr(&out));
        let c: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        serde_json::json!({ "status": c["status"], "labelled": c["lines"][0]["labelled"],
            "verified": c["lines"][0]["verified"], "declared": c["lines"][0]["declared"] })
    };

    let out = print("2");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        line(),
        serde_json::json!({ "status": "LABELLING", "labelled": 2, "verified": 2, "declared": 3 })
    );

    // Two more than the line has room for: refused with the numbers, nothing printed.
    let before = states(&data);
    let out = print("2");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("1 left, 2 asked"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("consignment raise"),
        "{}",
        stderr(&out)
    );
    assert_eq!(states(&data), before);

    let out = print("1");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(line()["status"], "LABELLED");

    // The packing list was short: a supervisor raises the line, then one more pair is labelled.
    let out = run(cli(&data)
        .args(["supervisor", "set-pin"])
        .env("LABELSTATION_NEW_PIN", "2468"));
    assert!(out.status.success(), "{}", stderr(&out));
    let raise = |pin: &str, to: &str| {
        run(cli(&data).env("LABELSTATION_SUPERVISOR_PIN", pin).args([
            "consignment",
            "raise",
            "VN-7",
            "--gtin",
            &gtin,
            "--to",
            to,
        ]))
    };
    assert!(!raise("1111", "4").status.success());
    let out = raise("2468", "3");
    assert!(stderr(&out).contains("only raised"), "{}", stderr(&out));
    let out = raise("2468", "4");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(print("1").status.success());
    assert_eq!(
        line(),
        serde_json::json!({ "status": "LABELLED", "labelled": 4, "verified": 4, "declared": 4 })
    );

    // Independent of the line's counts: the codes themselves, and their report's country.
    let mut l = Ledger::open(&data.join(labelstation::ledger::LEDGER_FILE), "station-1").unwrap();
    let linked: i64 = l
        .connection()
        .query_row(
            "SELECT count(*) FROM consignment_codes k JOIN codes c ON c.id = k.code_id
             WHERE k.consignment = 'VN-7' AND c.verified_at IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(linked, 4);
    let report = l
        .start_report(ReportKind::Utilisation, "xtrace", 100)
        .unwrap()
        .unwrap();
    assert_eq!(report.country.as_deref(), Some("VN"));
    assert_eq!(report.codes.len(), 4);
    drop(l);
    let out = run(cli(&data).args(["audit", "show", "--limit", "20"]));
    assert!(
        stdout(&out).contains("consignment.raise_line"),
        "{}",
        stdout(&out)
    );
    assert!(run(cli(&data).args(["ledger", "check"])).status.success());
}
