//! Browser tests: `waiver serve --demo` driven by headless Chromium through
//! `tests/browser/journey.mjs` (Playwright, axe-core), in English and Chinese. Screenshots go
//! to `target/browser-artifacts/`.
//!
//! Needs `/usr/bin/chromium` (or `CHROMIUM`), Node.js and `npm ci --prefix tests/browser`;
//! `.ci/run` installs them and sets `WAIVER_BROWSER_TESTS=required`, which turns a missing
//! prerequisite into a failure instead of a skip.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn missing_prerequisite() -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!(
            "no Chromium at {chromium} (apt-get install chromium)"
        ));
    }
    if Command::new("node").arg("--version").output().is_err() {
        return Some("no node on PATH".into());
    }
    if !root()
        .join("tests/browser/node_modules/playwright-core")
        .exists()
    {
        return Some("playwright-core is not installed (npm ci --prefix tests/browser)".into());
    }
    None
}

#[test]
fn the_web_interface_works_in_a_real_browser_in_english_and_chinese() {
    if let Some(why) = missing_prerequisite() {
        if std::env::var("WAIVER_BROWSER_TESTS").as_deref() == Ok("required") {
            panic!("browser tests are required but {why}");
        }
        eprintln!("skipping the browser tests: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_waiver"))
        .args([
            "serve",
            "--demo",
            "--database",
            "browser.db",
            "--listen",
            "127.0.0.1:0",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("serve printed its address").unwrap();
        if let Some(rest) = line.strip_prefix("Waiver is running at http://") {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    // Keep draining the server's output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let artefacts = root().join("target/browser-artifacts");
    let out = Command::new("node")
        .arg(root().join("tests/browser/journey.mjs"))
        .arg(format!("http://{addr}"))
        .arg(&artefacts)
        .output()
        .unwrap();
    server.kill().ok();
    server.wait().ok();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("browser journey passed"), "{stdout}");
    // Every page was checked in both languages, with a screenshot.
    for lang in ["en", "zh"] {
        for page in [
            "home",
            "tariff",
            "register",
            "sign-in",
            "applications",
            "allowance",
        ] {
            assert!(
                artefacts.join(format!("{lang}-{page}.png")).exists(),
                "{lang}-{page}.png"
            );
        }
    }
}
