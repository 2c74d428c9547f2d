//! The `waiver` command through its public interface: arguments, files, exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn waiver(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_waiver"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(p).unwrap()
}

const HEADER: &str = "remarks,declaration,line,importer,code,origin,declared_at,quantity,unit,customs_value,currency,shipped_on";

#[test]
fn assess_keeps_the_contract_columns_and_carries_extra_columns() {
    let d = tmp();
    let input = format!(
        "{HEADER}\n\"Gulf, Dec\nsecond line\",DEC1,1,3100ABC123,1201.90.10,US,2019-09-15T10:00,100,t,35000,USD,\n\
         pork,DEC1,2,3100ABC123,02032900,US,2019-09-15,1000,kg,2500,USD,2019-08-01\n"
    );
    std::fs::write(d.path().join("in.csv"), input).unwrap();
    let o = waiver(
        &["assess", "in.csv", "-o", "out.csv", "--rejects", "rej.csv"],
        d.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut rdr = csv::Reader::from_path(d.path().join("out.csv")).unwrap();
    let headers: Vec<String> = rdr.headers().unwrap().iter().map(str::to_owned).collect();
    let expected: Vec<&str> = HEADER.split(',').chain(
        "customs_value_cny,base_rate_pct,base_duty_cny,additional_rate_pct,additional_duty_cny,vat_rate_pct,vat_cny,total_cny,exclusion_saving_cny,measures,warnings".split(','),
    ).collect();
    assert_eq!(headers, expected);
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let col = |r: &csv::StringRecord, name: &str| {
        r[headers.iter().position(|h| h == name).unwrap()].to_owned()
    };
    assert_eq!(col(&rows[0], "remarks"), "Gulf, Dec\nsecond line");
    assert_eq!(col(&rows[0], "customs_value_cny"), "247236.50");
    assert_eq!(col(&rows[0], "base_rate_pct"), "3");
    assert_eq!(col(&rows[0], "additional_rate_pct"), "30");
    assert_eq!(col(&rows[0], "total_cny"), "111182.26");
    assert_eq!(
        col(&rows[0], "measures"),
        "MFN-12019010;L301-1-soy;L301-4A-soy;VAT-agri-2019-04-01"
    );
    assert_eq!(col(&rows[1], "additional_rate_pct"), "60");
    for r in &rows {
        let cents = |n: &str| col(r, n).replace('.', "").parse::<i64>().unwrap();
        assert_eq!(
            cents("total_cny"),
            cents("base_duty_cny") + cents("additional_duty_cny") + cents("vat_cny")
        );
    }
    // Only the header in the rejects file.
    assert_eq!(read(d.path().join("rej.csv")).lines().count(), 1);
}

#[test]
fn bad_rows_go_to_rejects_with_their_fields_and_a_reason_and_the_exit_status_is_non_zero() {
    let d = tmp();
    let good = "x,DEC1,1,3100ABC123,12019010,US,2019-09-15,1,t,400,USD,";
    let bad = [
        (
            "x,DEC2,1,3100ABC123,1201901,US,2019-09-15,1,t,400,USD,",
            "column `code`",
        ),
        (
            "x,DEC3,1,3100ABC123,12011000,US,2019-09-15,1,t,400,USD,",
            "not in the schedule",
        ),
        (
            "x,DEC4,1,3100ABC123,12019010,US,2016-09-15,1,t,400,USD,",
            "not in force",
        ),
        (
            "x,DEC5,1,3100ABC123,12019010,QQ,2019-09-15,1,t,400,USD,",
            "column `origin`",
        ),
        (
            "x,DEC6,1,3100ABC123,12019010,US,2019-09-15,1,t,400,EUR,",
            "no customs exchange rate for EUR in 2019-09",
        ),
        (
            "x,DEC7,1,3100ABC123,12019010,US,2019-09-15,-1,t,400,USD,",
            "column `quantity`, value `-1`",
        ),
        (
            "x,DEC8,1,3100ABC123,12019010,US,2019-09-15,1,t,4OO,USD,",
            "column `customs_value`",
        ),
        (
            "x,DEC9,1,3100ABC123,12019010,US,2019-02-30,1,t,400,USD,",
            "column `declared_at`",
        ),
        (
            "x,DEC10,1,3100ABC123,12019010,US,2019-09-15,1,t,400",
            "fields but the header has",
        ),
    ];
    let mut input = format!("{HEADER}\n{good}\n");
    for (row, _) in &bad {
        input += row;
        input += "\n";
    }
    std::fs::write(d.path().join("in.csv"), input).unwrap();
    let o = waiver(
        &["assess", "in.csv", "-o", "out.csv", "--rejects", "rej.csv"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("assessed 1 of 10 lines"), "{stderr}");
    assert!(stderr.contains("rejected 9 lines"), "{stderr}");
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(d.path().join("rej.csv"))
        .unwrap();
    assert_eq!(rdr.headers().unwrap().iter().next_back(), Some("error"));
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), bad.len());
    for (i, (r, (raw, reason))) in rows.iter().zip(&bad).enumerate() {
        let err = r.iter().next_back().unwrap();
        assert!(err.contains(reason), "{err} should contain {reason}");
        assert!(err.starts_with(&format!("line {}:", i + 3)), "{err}");
        let fields: Vec<&str> = r.iter().take(r.len() - 1).collect();
        assert_eq!(fields.join(","), *raw, "original fields kept");
    }
    assert_eq!(read(d.path().join("out.csv")).lines().count(), 2);
}

#[test]
fn a_missing_required_column_is_a_clear_error_before_anything_is_assessed() {
    let d = tmp();
    std::fs::write(
        d.path().join("in.csv"),
        "declaration,line,code\nD,1,12019010\n",
    )
    .unwrap();
    let o = waiver(&["assess", "in.csv", "-o", "out.csv"], d.path());
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("lacks the required column(s) importer, origin, declared_at"),
        "{stderr}"
    );
}

#[test]
fn output_order_and_line_numbers_survive_many_blocks_and_threads() {
    let d = tmp();
    let mut input = format!("{HEADER}\n");
    let n = 40_000;
    for i in 0..n {
        // Every 1000th row is bad, so its reported line number can be checked.
        let qty = if i % 1000 == 999 { "-1" } else { "1.5" };
        input += &format!("\"row {i}, with comma\",D{i},1,3100ABC123,12019010,BR,2020-06-15T10:00,{qty},t,400.10,USD,\n");
    }
    assert!(input.len() > 2 << 20, "input spans several 1 MiB blocks");
    std::fs::write(d.path().join("in.csv"), input).unwrap();
    let o = waiver(
        &[
            "assess",
            "in.csv",
            "-o",
            "out.csv",
            "--rejects",
            "rej.csv",
            "--threads",
            "3",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let mut rdr = csv::Reader::from_path(d.path().join("out.csv")).unwrap();
    let ids: Vec<String> = rdr.records().map(|r| r.unwrap()[1].to_owned()).collect();
    let expected: Vec<String> = (0..n)
        .filter(|i| i % 1000 != 999)
        .map(|i| format!("D{i}"))
        .collect();
    assert_eq!(ids, expected);
    let mut rej = csv::Reader::from_path(d.path().join("rej.csv")).unwrap();
    let errs: Vec<String> = rej.records().map(|r| r.unwrap()[12].to_owned()).collect();
    assert_eq!(errs.len(), 40);
    // Row i is on line i + 2 (after the header).
    assert!(errs[0].starts_with("line 1001:"), "{}", errs[0]);
    assert!(errs[39].starts_with("line 40001:"), "{}", errs[39]);
}

#[test]
fn reject_line_numbers_count_quoted_line_breaks_across_blocks() {
    let d = tmp();
    let mut input = format!("{HEADER}\n");
    let (mut line, mut expected) = (2u64, Vec::new());
    for i in 0..30_000 {
        // Every 7th remark spans two lines, every 1000th row is bad.
        let remark = if i % 7 == 0 { "\"two\nlines\"" } else { "one" };
        let qty = if i % 1000 == 999 { "-1" } else { "1.5" };
        if i % 1000 == 999 {
            expected.push(format!("line {line}:"));
        }
        input += &format!(
            "{remark},D{i},1,3100ABC123,12019010,BR,2020-06-15T10:00,{qty},t,400.10,USD,\n"
        );
        line += if i % 7 == 0 { 2 } else { 1 };
    }
    assert!(input.len() > 1 << 20, "input spans several blocks");
    std::fs::write(d.path().join("in.csv"), input).unwrap();
    let o = waiver(
        &["assess", "in.csv", "-o", "out.csv", "--rejects", "rej.csv"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let mut rej = csv::Reader::from_path(d.path().join("rej.csv")).unwrap();
    let errs: Vec<String> = rej.records().map(|r| r.unwrap()[12].to_owned()).collect();
    assert_eq!(errs.len(), expected.len());
    for (e, want) in errs.iter().zip(&expected) {
        assert!(e.starts_with(want.as_str()), "{e} should start with {want}");
    }
}

#[test]
fn an_unclosed_quote_is_a_clear_error_naming_where_the_record_starts() {
    let d = tmp();
    let good = "x,D1,1,3100ABC123,12019010,BR,2020-06-15T10:00,1.5,t,400.10,USD,\n";
    let mut input = format!("{HEADER}\n{good}\"never closed,D2,1");
    // More than the 1 MiB a record may have, in many lines.
    input += &"more text\n".repeat(120_000);
    std::fs::write(d.path().join("in.csv"), input).unwrap();
    let o = waiver(
        &["assess", "in.csv", "-o", "out.csv", "--rejects", "rej.csv"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let offset = good.len();
    assert!(
        stderr.contains(&format!(
            "the record starting {offset} bytes after the header row"
        )) && stderr.contains("unclosed quote"),
        "{stderr}"
    );
}

#[test]
fn assess_reads_standard_input_and_writes_standard_output() {
    use std::io::Write;
    let d = tmp();
    let mut child = Command::new(env!("CARGO_BIN_EXE_waiver"))
        .args(["assess", "-", "--rejects", "rej.csv"])
        .current_dir(d.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            format!("{HEADER}\nx,D,1,3100ABC123,12019010,US,2020-06-15,1,t,1000,CNY,").as_bytes(),
        )
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.lines()
            .nth(1)
            .unwrap()
            .contains(",1000.00,3,30.00,27.5,275.00,9,117.45,422.45,"),
        "{out}"
    );
}

#[test]
fn tariff_shows_every_layer_as_a_table_and_as_json() {
    let d = tmp();
    let o = waiver(
        &[
            "tariff",
            "1201.90.10",
            "--origin",
            "US",
            "--at",
            "2019-09-15",
        ],
        d.path(),
    );
    assert!(o.status.success());
    let table = String::from_utf8(o.stdout).unwrap();
    for needle in [
        "L301-1-soy",
        "L301-4A-soy",
        "Customs Tariff Commission Announcement [2019] No. 4",
        "customs duty 33%",
        "with exclusion 3%",
        "import VAT 9%",
    ] {
        assert!(table.contains(needle), "{needle} in\n{table}");
    }
    let o = waiver(
        &[
            "tariff",
            "02032900",
            "--origin",
            "US",
            "--at",
            "2019-09-15",
            "--json",
        ],
        d.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["duty_rate_pct"], "72");
    assert_eq!(v["duty_rate_with_exclusion_pct"], "37");
    let l232 = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == "L232-pork")
        .unwrap();
    assert_eq!(l232["excludable"], false);
    assert_eq!(l232["confidence"], "sourced");
}

#[test]
fn tariff_rejects_bad_input_with_the_fix() {
    let d = tmp();
    let o = waiver(
        &["tariff", "1201", "--origin", "US", "--at", "2019-09-15"],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not 8 or 10 digits"));
}

#[test]
fn an_invalid_schedule_directory_is_reported_by_file_row_column_and_value() {
    let d = tmp();
    let dir = d.path().join("sched");
    std::fs::create_dir(&dir).unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/schedule");
    for f in ["lines.csv", "exchange_rates.csv"] {
        std::fs::copy(demo.join(f), dir.join(f)).unwrap();
    }
    let measures =
        read(demo.join("measures.csv")).replacen(",25%,2018-07-06,", ",-25%,2018-07-06,", 1);
    std::fs::write(dir.join("measures.csv"), measures).unwrap();
    let o = waiver(
        &[
            "--schedule",
            "sched",
            "tariff",
            "12019010",
            "--origin",
            "US",
            "--at",
            "2019-09-15",
        ],
        d.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("measures.csv row 17, column `duty`, value `-25%`: a rate cannot be negative"),
        "{err}"
    );
}

#[test]
fn migrate_user_token_and_audit_verify_on_a_sqlite_file() {
    let d = tmp();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_waiver"))
            .args(args)
            .args(["--database", "w.db"])
            .env("WAIVER_PASSWORD", "correct horse battery")
            .current_dir(d.path())
            .output()
            .unwrap()
    };
    assert!(run(&["migrate"]).status.success());
    let o = run(&[
        "user",
        "add",
        "officer.zhang",
        "--role",
        "officer",
        "--name",
        "Zhang Min",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["token", "create", "officer.zhang"]);
    let token = String::from_utf8(o.stdout).unwrap();
    assert!(token.trim().starts_with("wvr_"), "{token}");
    let o = run(&["audit", "verify"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("intact: 2 entries"));
    let o = run(&["user", "add", "x", "--role", "officer", "--name", "X"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("username `x`"));
}

#[test]
fn token_list_revoke_and_user_disable_enable_on_a_sqlite_file() {
    let d = tmp();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_waiver"))
            .args(args)
            .args(["--database", "w.db"])
            .env("WAIVER_PASSWORD", "correct horse battery")
            .current_dir(d.path())
            .output()
            .unwrap()
    };
    let out = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned();
    let o = run(&[
        "user",
        "add",
        "customs.qingdao",
        "--role",
        "customs",
        "--name",
        "Qingdao",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for label in ["clearance system", "backup"] {
        assert!(
            run(&["token", "create", "customs.qingdao", "--label", label])
                .status
                .success()
        );
    }
    let o = run(&["token", "list"]);
    let table = out(&o);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("id  user") && lines[0].contains("revoked (Beijing)"),
        "{table}"
    );
    assert!(
        lines[1].starts_with("1   customs.qingdao  clearance system  20"),
        "{table}"
    );
    assert!(
        lines[1].ends_with('-') && lines[2].contains("backup"),
        "{table}"
    );
    assert!(
        !table.contains("wvr_"),
        "the token itself is never shown: {table}"
    );

    let o = run(&["token", "revoke", "1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        out(&o).trim(),
        "revoked token 1 (clearance system) of customs.qingdao"
    );
    let o = run(&["token", "list", "--user", "customs.qingdao", "--json"]);
    let listed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(listed[0]["revoked_at_ms"].as_i64().unwrap() > 0, "{listed}");
    assert!(listed[1]["revoked_at_ms"].is_null(), "{listed}");
    let o = run(&["token", "revoke", "1"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already revoked"));
    let o = run(&["token", "revoke", "9"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("waiver token list"));
    let o = run(&["token", "list", "--user", "nobody"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no user \"nobody\""));
    let o = run(&[
        "token",
        "create",
        "customs.qingdao",
        "--label",
        "two\nlines",
    ]);
    assert_ne!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("control character"));

    assert_eq!(
        out(&run(&["user", "disable", "customs.qingdao"])).trim(),
        "customs.qingdao is now disabled"
    );
    assert!(out(&run(&["user", "disable", "customs.qingdao"])).contains("already disabled"));
    assert_eq!(
        out(&run(&["user", "enable", "customs.qingdao"])).trim(),
        "customs.qingdao is now enabled"
    );
    let o = run(&["user", "disable", "nobody"]);
    assert_ne!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no user \"nobody\""));
    // create, 2 tokens, a revocation, a disable and an enable.
    assert!(out(&run(&["audit", "verify"])).contains("intact: 6 entries"));
}

fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serve_demo_seeds_an_empty_database_and_answers() {
    use std::io::BufRead;
    let d = tmp();
    let mut child = Command::new(env!("CARGO_BIN_EXE_waiver"))
        .args([
            "serve",
            "--demo",
            "--database",
            "demo.db",
            "--listen",
            "127.0.0.1:0",
        ])
        .current_dir(d.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let addr = loop {
        let line = lines.next().expect("serve printed its address").unwrap();
        printed.push(line.clone());
        if let Some(rest) = line.strip_prefix("Waiver is running at http://") {
            break rest.split('/').next().unwrap().to_owned();
        }
    };
    for _ in 0..20 {
        printed.push(lines.next().unwrap().unwrap());
        if printed.last().unwrap().contains("token create") {
            break;
        }
    }
    let text = printed.join("\n");
    assert!(text.contains("demo data seeded"), "{text}");
    assert!(
        text.contains("officer.zhang") && text.contains("waiver-demo-2019"),
        "{text}"
    );
    let health = http_get(&addr, "/healthz");
    assert!(
        health.starts_with("HTTP/1.1 200") && health.contains("\"status\":\"ok\""),
        "{health}"
    );
    let programmes = http_get(&addr, "/api/v1/programmes");
    assert!(programmes.contains("CN-2020-MKT"), "{programmes}");
    // The review story: two approvals, a partial approval amended on appeal, a rejection.
    let register = http_get(&addr, "/api/v1/register/decisions.csv");
    for row in [
        "CN-2020-MKT,02032900,1,0,0,1,0,0",
        "CN-2020-MKT,12019010,1,1,0,0,0,120000000",
        "CN-2020-MKT,12019090,2,1,1,0,1,120000000",
    ] {
        assert!(register.contains(row), "{row} in {register}");
    }
    let policy = http_get(&addr, "/api/v1/policy-changes");
    assert!(
        policy.contains("\"version\":3") && policy.contains("\"affected\":3"),
        "{policy}"
    );
    // The U.S. 2026 beef quota stands near 80%, past its 50% notice.
    let quotas = http_get(&addr, "/api/v1/quotas");
    assert!(
        quotas.contains("\"id\":\"SG-2026-beef/US/2026\"")
            && quotas.contains("\"used_pct\":\"79.35\"")
            && quotas.contains("\"threshold_pct\":50")
            && !quotas.contains("\"threshold_pct\":80"),
        "{quotas}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    // The demo seeded applications in every state reached so far, and the audit chain verifies.
    let o = Command::new(env!("CARGO_BIN_EXE_waiver"))
        .args(["audit", "verify", "--database", "demo.db"])
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("intact"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn scenario_works_from_a_file_and_from_the_database() {
    let d = tmp();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let file = repo.join("data/scenarios/no-2018-layer.json");
    let file = file.to_str().unwrap();
    let quotes = repo.join("data/landed/quotes-2020-12-23.csv");
    let out = waiver(
        &[
            "scenario",
            "tariff",
            file,
            "12019010",
            "--origin",
            "US",
            "--at",
            "2020-07-15",
            "--json",
        ],
        d.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["actual"]["additional_rate_pct"], "27.5");
    assert_eq!(j["scenario"]["additional_rate_pct"], "2.5");
    let out = waiver(
        &[
            "scenario",
            "landed",
            file,
            quotes.to_str().unwrap(),
            "--json",
        ],
        d.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["landed_cny_t"], "5096.21");
    assert_eq!(rows[0]["scenario_landed_cny_t"], "4135.25");
    let db = d.path().join("w.db");
    let db = db.to_str().unwrap();
    let out = waiver(
        &["scenario", "create", file, "--by", "ana", "--database", db],
        d.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = waiver(&["scenario", "list", "--json", "--database", db], d.path());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["id"], 1);
    let out = waiver(&["scenario", "show", "1", "--database", db], d.path());
    assert!(String::from_utf8_lossy(&out.stdout).contains("scenario 1, version 1"));
    // The same scenario as CSV, one change per row.
    let csv = repo.join("data/scenarios/no-2018-layer.csv");
    let out = waiver(
        &["scenario", "show", csv.to_str().unwrap(), "--json"],
        d.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["changes"].as_array().unwrap().len(), 2);
    assert_eq!(j["name"], "No 2018 Section 301 layer on soybeans (CSV)");
    std::fs::write(d.path().join("bad.csv"), "op,measure\nshrink,L301-1-soy\n").unwrap();
    let out = waiver(&["scenario", "show", "bad.csv"], d.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("row 2: column `op`, value `shrink`"));
    std::fs::write(
        d.path().join("bad.json"),
        r#"{"name":"bad","changes":[{"op":"remove","measure":"NOPE"}]}"#,
    )
    .unwrap();
    let out = waiver(&["scenario", "show", "bad.json"], d.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("changes[0].measure"));
}
