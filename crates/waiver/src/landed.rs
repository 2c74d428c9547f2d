//! `waiver landed` (compare origins' landed cost per tonne at one instant) and
//! `waiver landed-series` (landed cost per origin month by month, with and without exclusion).
//! The computation is `waiver_domain::landed`; this module reads CSV, reports bad rows, and
//! writes a table, CSV, JSON or an SVG chart.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use serde::Serialize;
use serde_json::{Map, Value};
use waiver_domain::landed::{
    landed_cost, rank, rank_by, series_instant, Costs, FxSource, LandedCost, LandedError, Quote,
    RawQuote, Standing,
};
use waiver_domain::{AssessError, BjTime, Fen, Month, Precision, Schedule};

use crate::chart;

/// Limits on input.
pub const MAX_ROWS: usize = 1_000_000;
pub const MAX_LINE_BYTES: usize = 64 * 1024;
pub const MAX_INPUT_BYTES: u64 = 512 * 1024 * 1024;
const MAX_COLUMNS: usize = 200;
/// Bad rows listed in full before the rest are counted.
const MAX_ERRORS_SHOWN: usize = 50;

/// The computed columns of `waiver landed --csv` (a contract: only ever added to).
pub const OUTPUT_COLUMNS: [&str; 8] = [
    "fob_usd_t",
    "cfr_usd_t",
    "customs_value_cny_t",
    "duty_cny_t",
    "vat_cny_t",
    "landed_cny_t",
    "rank",
    "spread_cny_t",
];

/// The computed columns of `waiver landed-series --csv`.
pub const SERIES_COLUMNS: [&str; 16] = [
    "at",
    "fob_usd_t",
    "cfr_usd_t",
    "customs_value_cny_t",
    "duty_rate_pct",
    "duty_cny_t",
    "vat_cny_t",
    "landed_cny_t",
    "duty_rate_excluded_pct",
    "duty_excluded_cny_t",
    "vat_excluded_cny_t",
    "landed_excluded_cny_t",
    "rank",
    "rank_excluded",
    "measures",
    "measures_excluded",
];

#[derive(Args)]
pub struct LandedArgs {
    /// Quotes CSV (`-` for standard input): label,origin,code,at, cbot_c_bu+premium_c_bu or
    /// fob_usd_t, freight_usd_t, optional insurance_usd_t, fx_cny_usd, port_charge_cny_t, excluded.
    input: PathBuf,
    /// Instant for rows whose `at` is empty or absent (YYYY-MM-DD, YYYY-MM-DDTHH:MM Beijing time).
    #[arg(long)]
    at: Option<String>,
    /// Print CSV: the input columns, then fob_usd_t,cfr_usd_t,customs_value_cny_t,duty_cny_t,
    /// vat_cny_t,landed_cny_t,rank,spread_cny_t.
    #[arg(long, conflicts_with = "json")]
    csv: bool,
    /// Print JSON (every layer, with and without exclusion, the break-even tariff).
    #[arg(long)]
    json: bool,
    /// Also write an SVG bar chart of the landed costs to this file.
    #[arg(long, value_name = "OUT.SVG")]
    chart: Option<PathBuf>,
}

#[derive(Args)]
pub struct SeriesArgs {
    /// Monthly CSV (`-` for standard input): month (YYYY-MM),origin,code, optional label, then
    /// the price columns of `waiver landed`. Every row is computed with and without the
    /// exclusion, so an `excluded` column is only carried through.
    input: PathBuf,
    /// First month to include (YYYY-MM).
    #[arg(long)]
    from: Option<String>,
    /// Last month to include (YYYY-MM).
    #[arg(long)]
    to: Option<String>,
    /// Print CSV: the input columns, then the computed columns.
    #[arg(long, conflicts_with = "json")]
    csv: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Also write an SVG line chart (landed cost per origin, with and without exclusion).
    #[arg(long, value_name = "OUT.SVG")]
    chart: Option<PathBuf>,
}

/// A CSV file read whole: header and records with their line numbers.
struct Table {
    header: Vec<String>,
    rows: Vec<(u64, csv::StringRecord)>,
}

impl Table {
    fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
}

fn read_table(path: &Path) -> anyhow::Result<Table> {
    let mut bytes = Vec::new();
    let what = path.display();
    let n = if path.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path)
            .with_context(|| format!("cannot open {what}"))?
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
    }
    .with_context(|| format!("cannot read {what}"))?;
    if n as u64 > MAX_INPUT_BYTES {
        bail!("{what} is larger than {MAX_INPUT_BYTES} bytes; split it");
    }
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes.as_slice());
    let mut records = rdr.records();
    let header: Vec<String> = match records.next() {
        Some(h) => h
            .with_context(|| format!("cannot read the header row of {what} (is it UTF-8 CSV?)"))?
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
            .collect(),
        None => bail!("{what} is empty; it needs a header row"),
    };
    if header.len() > MAX_COLUMNS {
        bail!(
            "{what} has {} columns; at most {MAX_COLUMNS} are accepted",
            header.len()
        );
    }
    for (i, h) in header.iter().enumerate() {
        if header[..i].contains(h) {
            bail!("{what}: the column `{h}` appears twice in the header; rename or remove one");
        }
    }
    let mut rows = Vec::new();
    for rec in records {
        let rec = rec.with_context(|| {
            format!(
                "cannot read {what} (is it UTF-8 CSV with the same number of fields on every row?)"
            )
        })?;
        let line = rec.position().map_or(0, |p| p.line());
        if rec.as_slice().len() > MAX_LINE_BYTES {
            bail!("{what} line {line}: the record is longer than {MAX_LINE_BYTES} bytes; is this the right file?");
        }
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue; // a blank line
        }
        if rows.len() == MAX_ROWS {
            bail!("{what} has more than {MAX_ROWS} rows; split it");
        }
        rows.push((line, rec));
    }
    Ok(table_with(header, rows))
}

fn table_with(header: Vec<String>, rows: Vec<(u64, csv::StringRecord)>) -> Table {
    Table { header, rows }
}

/// A problem with one row, reported with its row and line number.
struct RowError {
    row: usize,
    line: u64,
    column: &'static str,
    value: String,
    message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "row {} (line {}), column `{}`, value `{}`: {}",
            self.row, self.line, self.column, self.value, self.message
        )
    }
}

/// The column a computation error is about, and its value in the row.
fn landed_error_column(e: &LandedError) -> &'static str {
    match e {
        LandedError::NoExchangeRate { .. } => "fx_cny_usd",
        LandedError::ZeroValue => "fob_usd_t",
        LandedError::Assess(a) => match a {
            AssessError::UnknownCode { .. } | AssessError::NoBaseRate { .. } => "code",
            AssessError::LineNotInForce { .. } | AssessError::NoVatRate { .. } => "at",
            AssessError::NoExchangeRate { .. } => "fx_cny_usd",
        },
    }
}

/// Parsed rows: a quote per row, in input order.
struct Parsed {
    quotes: Vec<Quote>,
}

/// Parses every row into a quote (or an error naming row, column, value and fix).
/// `at_of` gives the instant of a row when the table has no `at` column (the series).
fn parse_rows(
    t: &Table,
    default_at: Option<(BjTime, Precision)>,
    at_of: impl Fn(&csv::StringRecord) -> Result<Option<(BjTime, Precision)>, RowErrorPart>,
    use_excluded: bool,
    errors: &mut Vec<RowError>,
) -> Parsed {
    let get = |rec: &csv::StringRecord, name: &str| -> Option<String> {
        t.col(name).and_then(|i| rec.get(i)).map(str::to_owned)
    };
    let mut quotes = Vec::with_capacity(t.rows.len());
    for (i, (line, rec)) in t.rows.iter().enumerate() {
        let (row, line) = (i + 1, *line);
        let row_at = match at_of(rec) {
            Ok(a) => a.or(default_at),
            Err(p) => {
                errors.push(RowError {
                    row,
                    line,
                    column: p.0,
                    value: p.1,
                    message: p.2,
                });
                continue;
            }
        };
        let (code, origin, at, cbot, prem, fob, freight, ins, fx, port, excl) = (
            get(rec, "code").unwrap_or_default(),
            get(rec, "origin").unwrap_or_default(),
            get(rec, "at"),
            get(rec, "cbot_c_bu"),
            get(rec, "premium_c_bu"),
            get(rec, "fob_usd_t"),
            get(rec, "freight_usd_t"),
            get(rec, "insurance_usd_t"),
            get(rec, "fx_cny_usd"),
            get(rec, "port_charge_cny_t"),
            get(rec, "excluded"),
        );
        let raw = RawQuote {
            code: &code,
            origin: &origin,
            at: at.as_deref(),
            cbot_c_bu: cbot.as_deref(),
            premium_c_bu: prem.as_deref(),
            fob_usd_t: fob.as_deref(),
            freight_usd_t: freight.as_deref(),
            insurance_usd_t: ins.as_deref(),
            fx_cny_usd: fx.as_deref(),
            port_charge_cny_t: port.as_deref(),
            excluded: if use_excluded { excl.as_deref() } else { None },
        };
        match raw.parse(row_at) {
            Ok(q) => quotes.push(q),
            Err(e) => errors.push(RowError {
                row,
                line,
                column: e.column,
                value: e.value,
                message: e.message,
            }),
        }
    }
    Parsed { quotes }
}

/// (column, value, message) of a row problem found before the quote is parsed.
struct RowErrorPart(&'static str, String, String);

/// Computes every quote's landed cost, or collects the errors.
fn compute<'s>(
    s: &'s Schedule,
    t: &Table,
    quotes: &[Quote],
    errors: &mut Vec<RowError>,
) -> Vec<LandedCost<'s>> {
    let mut out = Vec::with_capacity(quotes.len());
    for (i, q) in quotes.iter().enumerate() {
        match landed_cost(s, q) {
            Ok(c) => out.push(c),
            Err(e) => {
                let column = landed_error_column(&e);
                let (line, rec) = &t.rows[i];
                errors.push(RowError {
                    row: i + 1,
                    line: *line,
                    column,
                    value: t
                        .col(column)
                        .and_then(|c| rec.get(c))
                        .unwrap_or("")
                        .to_owned(),
                    message: e.to_string(),
                });
            }
        }
    }
    out
}

/// Prints the row errors and returns exit status 1.
fn report(errors: &[RowError], rows: usize) -> ExitCode {
    for e in errors.iter().take(MAX_ERRORS_SHOWN) {
        eprintln!("error: {e}");
    }
    if errors.len() > MAX_ERRORS_SHOWN {
        eprintln!("… and {} more", errors.len() - MAX_ERRORS_SHOWN);
    }
    eprintln!(
        "{} of {rows} row(s) have errors; nothing was computed. Fix them and run again.",
        errors.len()
    );
    ExitCode::from(1)
}

fn require(t: &Table, cols: &[&str], what: &str) -> anyhow::Result<()> {
    let missing: Vec<&str> = cols
        .iter()
        .copied()
        .filter(|c| t.col(c).is_none())
        .collect();
    if !missing.is_empty() {
        bail!(
            "{what} has no column(s) {}; the header needs {}",
            missing.join(", "),
            cols.join(",")
        );
    }
    Ok(())
}

fn cny(f: Fen) -> String {
    f.to_string()
}

fn write_csv(header: &[String], rows: impl Iterator<Item = Vec<String>>) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(std::io::stdout().lock());
    w.write_record(header)?;
    for r in rows {
        w.write_record(&r)?;
    }
    w.flush()?;
    Ok(())
}

/// Input columns carried to the output: all but those an output column replaces.
fn carried(t: &Table, computed: &[&str]) -> Vec<usize> {
    (0..t.header.len())
        .filter(|&i| !computed.contains(&t.header[i].as_str()))
        .collect()
}

pub(crate) fn print_table(head: &[&str], rows: &[Vec<String>], right: &[bool]) {
    let mut w: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let fmt = |cells: &[String]| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let pad = w[i].saturating_sub(c.chars().count());
            if right.get(i).copied().unwrap_or(false) {
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            } else {
                s.push_str(c);
                s.push_str(&" ".repeat(pad));
            }
            s.push_str("  ");
        }
        println!("{}", s.trim_end());
    };
    fmt(&head.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>());
    for r in rows {
        fmt(r);
    }
}

fn write_chart(path: &Path, svg: &str) -> anyhow::Result<()> {
    std::fs::write(path, svg)
        .with_context(|| format!("cannot write the chart to {}", path.display()))?;
    eprintln!("chart written to {}", path.display());
    Ok(())
}

#[derive(Serialize)]
struct CostsOut {
    duty_rate_pct: String,
    duty_cny_t: Fen,
    vat_cny_t: Fen,
    landed_cny_t: Fen,
}

impl From<&Costs> for CostsOut {
    fn from(c: &Costs) -> Self {
        CostsOut {
            duty_rate_pct: c.duty_rate_pct.pct_string(),
            duty_cny_t: c.duty_fen_per_t,
            vat_cny_t: c.vat_fen_per_t,
            landed_cny_t: c.landed_fen_per_t,
        }
    }
}

#[derive(Serialize)]
struct BreakEvenOut {
    against_row: usize,
    against_label: String,
    additional_rate_pct: String,
    landed_cny_t: Fen,
}

#[derive(Serialize)]
struct LayerOut<'a> {
    id: &'a str,
    rate: String,
    status: waiver_domain::LayerStatus,
    amount_cny_t: Fen,
    excludable: bool,
    legal_basis: &'a str,
}

#[derive(Serialize)]
struct QuoteOut<'a> {
    row: usize,
    input: Map<String, Value>,
    origin: String,
    code: String,
    at: BjTime,
    excluded: bool,
    fob_usd_t: String,
    freight_usd_t: String,
    cfr_usd_t: String,
    insurance_usd_t: String,
    cif_usd_t: String,
    fx_cny_usd: String,
    fx_source: String,
    customs_value_cny_t: Fen,
    port_charge_cny_t: Fen,
    duty_rate_pct: String,
    duty_cny_t: Fen,
    vat_cny_t: Fen,
    landed_cny_t: Fen,
    rank: u32,
    spread_cny_t: Fen,
    break_even: Option<BreakEvenOut>,
    without_exclusion: CostsOut,
    with_exclusion: CostsOut,
    layers: Vec<LayerOut<'a>>,
    warnings: Vec<String>,
}

fn fx_source(c: &LandedCost) -> String {
    match c.fx_source {
        FxSource::Given => "given".into(),
        FxSource::CustomsTable { month, confidence } => {
            format!("customs table {month} ({})", confidence.as_str())
        }
    }
}

fn input_map(t: &Table, rec: &csv::StringRecord) -> Map<String, Value> {
    t.header
        .iter()
        .zip(rec.iter())
        .map(|(h, v)| (h.clone(), Value::String(v.to_owned())))
        .collect()
}

fn label_of(t: &Table, rec: &csv::StringRecord, q: &Quote) -> String {
    t.col("label")
        .and_then(|i| rec.get(i))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map_or_else(|| q.origin.to_string(), str::to_owned)
}

fn quote_out<'a>(t: &Table, i: usize, q: &Quote, c: &'a LandedCost, st: &Standing) -> QuoteOut<'a> {
    let rec = &t.rows[i].1;
    QuoteOut {
        row: i + 1,
        input: input_map(t, rec),
        origin: q.origin.to_string(),
        code: q.code.to_string(),
        at: q.at,
        excluded: q.excluded,
        fob_usd_t: c.fob_usd_per_t.to_string(),
        freight_usd_t: c.freight_usd_per_t.to_string(),
        cfr_usd_t: c.cfr_usd_per_t.to_string(),
        insurance_usd_t: c.insurance_usd_per_t.to_string(),
        cif_usd_t: c.cif_usd_per_t.to_string(),
        fx_cny_usd: c.fx.to_string(),
        fx_source: fx_source(c),
        customs_value_cny_t: c.customs_value_fen_per_t,
        port_charge_cny_t: c.port_charge_fen_per_t,
        duty_rate_pct: c.charged.duty_rate_pct.pct_string(),
        duty_cny_t: c.charged.duty_fen_per_t,
        vat_cny_t: c.charged.vat_fen_per_t,
        landed_cny_t: c.charged.landed_fen_per_t,
        rank: st.rank,
        spread_cny_t: st.spread_fen_per_t,
        break_even: st.break_even.map(|b| BreakEvenOut {
            against_row: b.against + 1,
            against_label: String::new(),
            additional_rate_pct: b.additional_rate.pct_string(),
            landed_cny_t: b.landed_fen_per_t,
        }),
        without_exclusion: (&c.full).into(),
        with_exclusion: (&c.with_exclusion).into(),
        layers: c
            .assessment
            .layers
            .iter()
            .map(|l| LayerOut {
                id: &l.measure.id,
                rate: l.measure.duty.to_string(),
                status: l.status,
                amount_cny_t: l.amount(),
                excludable: l.measure.excludable,
                legal_basis: &l.measure.legal_basis,
            })
            .collect(),
        warnings: c
            .assessment
            .warnings
            .iter()
            .map(|w| w.to_string())
            .collect(),
    }
}

pub fn run(schedule: &Schedule, a: LandedArgs) -> anyhow::Result<ExitCode> {
    let default_at =
        a.at.as_deref()
            .map(BjTime::parse)
            .transpose()
            .context("--at")?;
    let t = read_table(&a.input)?;
    let what = a.input.display().to_string();
    require(&t, &["label", "origin", "code", "freight_usd_t"], &what)?;
    if t.col("at").is_none() && default_at.is_none() {
        bail!("{what} has no `at` column; add one or give --at");
    }
    if t.col("fob_usd_t").is_none()
        && (t.col("cbot_c_bu").is_none() || t.col("premium_c_bu").is_none())
    {
        bail!("{what} has no price columns; give fob_usd_t, or cbot_c_bu and premium_c_bu");
    }
    let mut errors = Vec::new();
    let parsed = parse_rows(&t, default_at, |_| Ok(None), true, &mut errors);
    if !errors.is_empty() {
        return Ok(report(&errors, t.rows.len()));
    }
    let costs = compute(schedule, &t, &parsed.quotes, &mut errors);
    if !errors.is_empty() {
        return Ok(report(&errors, t.rows.len()));
    }
    let quotes = parsed.quotes;
    let standing = rank(&quotes, &costs);
    let labels: Vec<String> = quotes
        .iter()
        .enumerate()
        .map(|(i, q)| label_of(&t, &t.rows[i].1, q))
        .collect();

    if let Some(path) = &a.chart {
        let mut order: Vec<usize> = (0..quotes.len()).collect();
        order.sort_by_key(|&i| (quotes[i].code, quotes[i].at, standing[i].rank));
        let bars: Vec<chart::Bar> = order
            .iter()
            .map(|&i| chart::Bar {
                label: labels[i].clone(),
                group: format!("{} at {}", quotes[i].code, quotes[i].at),
                value: costs[i].charged.landed_fen_per_t,
                without_exclusion: Some(costs[i].full.landed_fen_per_t),
            })
            .collect();
        write_chart(path, &chart::bar_chart("Landed cost by origin", &bars))?;
    }

    if a.csv {
        let keep = carried(&t, &OUTPUT_COLUMNS);
        let header: Vec<String> = keep
            .iter()
            .map(|&i| t.header[i].clone())
            .chain(OUTPUT_COLUMNS.iter().map(|c| (*c).to_owned()))
            .collect();
        write_csv(
            &header,
            (0..quotes.len()).map(|i| {
                let rec = &t.rows[i].1;
                let c = &costs[i];
                keep.iter()
                    .map(|&k| rec.get(k).unwrap_or("").to_owned())
                    .chain([
                        c.fob_usd_per_t.to_string(),
                        c.cfr_usd_per_t.to_string(),
                        cny(c.customs_value_fen_per_t),
                        cny(c.charged.duty_fen_per_t),
                        cny(c.charged.vat_fen_per_t),
                        cny(c.charged.landed_fen_per_t),
                        standing[i].rank.to_string(),
                        cny(standing[i].spread_fen_per_t),
                    ])
                    .collect()
            }),
        )?;
    } else if a.json {
        let out: Vec<QuoteOut> = (0..quotes.len())
            .map(|i| {
                let mut o = quote_out(&t, i, &quotes[i], &costs[i], &standing[i]);
                if let Some(b) = &mut o.break_even {
                    b.against_label = labels[b.against_row - 1].clone();
                }
                o
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "quotes": out }))?
        );
    } else {
        print_landed_table(&quotes, &costs, &standing, &labels);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_landed_table(quotes: &[Quote], costs: &[LandedCost], st: &[Standing], labels: &[String]) {
    let mut order: Vec<usize> = (0..quotes.len()).collect();
    order.sort_by_key(|&i| (quotes[i].code, quotes[i].at, st[i].rank));
    let head = [
        "RANK",
        "LABEL",
        "ORIGIN",
        "EXCL",
        "FOB US$/t",
        "CFR US$/t",
        "FX",
        "CUSTOMS VALUE",
        "DUTY",
        "VAT",
        "LANDED CNY/t",
        "SPREAD",
        "BREAK-EVEN ADD'L TARIFF",
    ];
    let right = [
        true, false, false, false, true, true, true, true, true, true, true, true, false,
    ];
    for group in
        order.chunk_by(|&a, &b| quotes[a].code == quotes[b].code && quotes[a].at == quotes[b].at)
    {
        let q0 = &quotes[group[0]];
        let line = costs[group[0]].assessment.line;
        println!(
            "{}  {}  at {} Beijing time",
            q0.code, line.description_en, q0.at
        );
        let rows: Vec<Vec<String>> = group
            .iter()
            .map(|&i| {
                let (q, c, s) = (&quotes[i], &costs[i], &st[i]);
                let be = s.break_even.map_or(String::new(), |b| {
                    let p = b.additional_rate.pct_string();
                    let signed = if p.starts_with('-') {
                        p
                    } else {
                        format!("+{p}")
                    };
                    format!("{signed}% → level with {}", labels[b.against])
                });
                vec![
                    s.rank.to_string(),
                    labels[i].clone(),
                    q.origin.to_string(),
                    if q.excluded { "yes" } else { "no" }.into(),
                    c.fob_usd_per_t.to_string(),
                    c.cfr_usd_per_t.to_string(),
                    c.fx.to_string(),
                    cny(c.customs_value_fen_per_t),
                    format!(
                        "{} ({}%)",
                        c.charged.duty_fen_per_t,
                        c.charged.duty_rate_pct.pct_string()
                    ),
                    cny(c.charged.vat_fen_per_t),
                    cny(c.charged.landed_fen_per_t),
                    cny(s.spread_fen_per_t),
                    be,
                ]
            })
            .collect();
        print_table(&head, &rows, &right);
        for &i in group {
            let c = &costs[i];
            if c.full.landed_fen_per_t != c.with_exclusion.landed_fen_per_t {
                println!(
                    "  {}: {} CNY/t without an exclusion (duty {}%), {} with one (duty {}%): an exclusion saves {}",
                    labels[i],
                    c.full.landed_fen_per_t,
                    c.full.duty_rate_pct.pct_string(),
                    c.with_exclusion.landed_fen_per_t,
                    c.with_exclusion.duty_rate_pct.pct_string(),
                    c.full.landed_fen_per_t - c.with_exclusion.landed_fen_per_t
                );
            }
            for w in &c.assessment.warnings {
                println!("  {}: warning: {w}", labels[i]);
            }
        }
        println!();
    }
    println!("FOB and CFR are shown to the cent; the customs value is CIF (insurance given or 0.3%) at FX, rounded once to the fen;");
    println!("duty and VAT are the engine's; landed = customs value + duty + VAT + port charges. The break-even is the additional");
    println!("ad valorem tariff that puts a quote level (within a fen) with the next cheapest, or, for the others, with the cheapest.");
}

// ---------------------------------------------------------------------------------------------
// landed-series

/// The month of a series row.
fn month_of(t: &Table, rec: &csv::StringRecord) -> Result<Month, RowErrorPart> {
    let raw = t.col("month").and_then(|i| rec.get(i)).unwrap_or("");
    Month::parse(raw).ok_or_else(|| {
        RowErrorPart(
            "month",
            raw.to_owned(),
            "not a month; write YYYY-MM, e.g. 2019-09".into(),
        )
    })
}

fn parse_month_arg(name: &str, v: Option<&str>) -> anyhow::Result<Option<Month>> {
    v.map(|s| {
        Month::parse(s).with_context(|| format!("--{name} `{s}` is not a month; write YYYY-MM"))
    })
    .transpose()
}

#[derive(Serialize)]
struct SeriesOut {
    row: usize,
    input: Map<String, Value>,
    label: String,
    origin: String,
    month: String,
    at: BjTime,
    fob_usd_t: String,
    cfr_usd_t: String,
    customs_value_cny_t: Fen,
    fx_cny_usd: String,
    fx_source: String,
    without_exclusion: CostsOut,
    with_exclusion: CostsOut,
    rank: u32,
    rank_excluded: u32,
    measures: Vec<String>,
}

pub fn run_series(schedule: &Schedule, a: SeriesArgs) -> anyhow::Result<ExitCode> {
    let from = parse_month_arg("from", a.from.as_deref())?;
    let to = parse_month_arg("to", a.to.as_deref())?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            bail!("--from {f} is after --to {t}; swap them");
        }
    }
    let full_table = read_table(&a.input)?;
    let what = a.input.display().to_string();
    require(
        &full_table,
        &["month", "origin", "code", "freight_usd_t"],
        &what,
    )?;
    if full_table.col("at").is_some() {
        bail!(
            "{what} has an `at` column; a series is assessed at mid-month of `month` — remove `at`"
        );
    }
    // Keep the rows within --from..--to (a bad month is an error, not filtered out).
    let mut errors = Vec::new();
    let mut skipped = 0usize;
    let mut rows = Vec::with_capacity(full_table.rows.len());
    for (i, (line, rec)) in full_table.rows.iter().enumerate() {
        match month_of(&full_table, rec) {
            Ok(m) if from.is_some_and(|f| m < f) || to.is_some_and(|t| m > t) => skipped += 1,
            Ok(_) => rows.push((*line, rec.clone())),
            Err(p) => errors.push(RowError {
                row: i + 1,
                line: *line,
                column: p.0,
                value: p.1,
                message: p.2,
            }),
        }
    }
    if !errors.is_empty() {
        return Ok(report(&errors, full_table.rows.len()));
    }
    let t = table_with(full_table.header.clone(), rows);
    let parsed = parse_rows(
        &t,
        None,
        |rec| {
            let m = month_of(&t, rec)?;
            Ok(Some((series_instant(m), Precision::Minute)))
        },
        false,
        &mut errors,
    );
    if !errors.is_empty() {
        return Ok(report(&errors, t.rows.len()));
    }
    let quotes = parsed.quotes;
    let labels: Vec<String> = quotes
        .iter()
        .enumerate()
        .map(|(i, q)| label_of(&t, &t.rows[i].1, q))
        .collect();
    // One row per label and month.
    let mut seen: BTreeMap<(String, BjTime), usize> = BTreeMap::new();
    for (i, q) in quotes.iter().enumerate() {
        if let Some(first) = seen.insert((labels[i].clone(), q.at), i) {
            errors.push(RowError {
                row: i + 1,
                line: t.rows[i].0,
                column: "month",
                value: t
                    .col("month")
                    .and_then(|c| t.rows[i].1.get(c))
                    .unwrap_or("")
                    .to_owned(),
                message: format!(
                    "`{}` already has a row for this month (row {}); give each row its own `label`",
                    labels[i],
                    first + 1
                ),
            });
        }
    }
    if !errors.is_empty() {
        return Ok(report(&errors, t.rows.len()));
    }
    let costs = compute(schedule, &t, &quotes, &mut errors);
    if !errors.is_empty() {
        return Ok(report(&errors, t.rows.len()));
    }
    let rank_full = rank_by(&quotes, &costs, |c| c.full.landed_fen_per_t);
    let rank_excl = rank_by(&quotes, &costs, |c| c.with_exclusion.landed_fen_per_t);
    let month_str = |q: &Quote| q.at.month().to_string();
    // The layers charged without and with the exclusion.
    let measures = |lc: &LandedCost, lifted: bool| -> String {
        lc.assessment
            .layers
            .iter()
            .filter(|l| {
                l.status == waiver_domain::LayerStatus::Charged && !(lifted && l.measure.excludable)
            })
            .map(|l| l.measure.id.as_str())
            .collect::<Vec<_>>()
            .join(";")
    };
    if skipped > 0 {
        eprintln!("{skipped} row(s) outside --from/--to left out");
    }

    if let Some(path) = &a.chart {
        write_chart(path, &series_chart(&quotes, &costs, &labels))?;
    }

    if a.csv {
        let keep = carried(&t, &SERIES_COLUMNS);
        let header: Vec<String> = keep
            .iter()
            .map(|&i| t.header[i].clone())
            .chain(SERIES_COLUMNS.iter().map(|c| (*c).to_owned()))
            .collect();
        write_csv(
            &header,
            (0..quotes.len()).map(|i| {
                let rec = &t.rows[i].1;
                let c = &costs[i];
                keep.iter()
                    .map(|&k| rec.get(k).unwrap_or("").to_owned())
                    .chain([
                        quotes[i].at.to_string(),
                        c.fob_usd_per_t.to_string(),
                        c.cfr_usd_per_t.to_string(),
                        cny(c.customs_value_fen_per_t),
                        c.full.duty_rate_pct.pct_string(),
                        cny(c.full.duty_fen_per_t),
                        cny(c.full.vat_fen_per_t),
                        cny(c.full.landed_fen_per_t),
                        c.with_exclusion.duty_rate_pct.pct_string(),
                        cny(c.with_exclusion.duty_fen_per_t),
                        cny(c.with_exclusion.vat_fen_per_t),
                        cny(c.with_exclusion.landed_fen_per_t),
                        rank_full[i].rank.to_string(),
                        rank_excl[i].rank.to_string(),
                        measures(c, false),
                        measures(c, true),
                    ])
                    .collect()
            }),
        )?;
    } else if a.json {
        let out: Vec<SeriesOut> = (0..quotes.len())
            .map(|i| {
                let (q, c) = (&quotes[i], &costs[i]);
                SeriesOut {
                    row: i + 1,
                    input: input_map(&t, &t.rows[i].1),
                    label: labels[i].clone(),
                    origin: q.origin.to_string(),
                    month: month_str(q),
                    at: q.at,
                    fob_usd_t: c.fob_usd_per_t.to_string(),
                    cfr_usd_t: c.cfr_usd_per_t.to_string(),
                    customs_value_cny_t: c.customs_value_fen_per_t,
                    fx_cny_usd: c.fx.to_string(),
                    fx_source: fx_source(c),
                    without_exclusion: (&c.full).into(),
                    with_exclusion: (&c.with_exclusion).into(),
                    rank: rank_full[i].rank,
                    rank_excluded: rank_excl[i].rank,
                    measures: c.assessment.charged_ids().map(str::to_owned).collect(),
                }
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "series": out }))?
        );
    } else {
        print_series_table(&quotes, &costs, &labels);
    }
    Ok(ExitCode::SUCCESS)
}

/// Distinct labels in first-seen order.
fn distinct(labels: &[String]) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for l in labels {
        if !v.contains(l) {
            v.push(l.clone());
        }
    }
    v
}

/// month → label → row index
fn by_month(quotes: &[Quote], labels: &[String]) -> BTreeMap<Month, BTreeMap<String, usize>> {
    let mut m: BTreeMap<Month, BTreeMap<String, usize>> = BTreeMap::new();
    for (i, q) in quotes.iter().enumerate() {
        m.entry(q.at.month())
            .or_default()
            .insert(labels[i].clone(), i);
    }
    m
}

fn print_series_table(quotes: &[Quote], costs: &[LandedCost], labels: &[String]) {
    let names = distinct(labels);
    let months = by_month(quotes, labels);
    let mut head: Vec<String> = vec!["MONTH".into()];
    for n in &names {
        head.push(format!("{n} DUTY"));
        head.push(format!("{n} LANDED"));
        head.push(format!("{n} EXCLUDED"));
    }
    head.push("CHEAPEST".into());
    head.push("CHEAPEST EXCLUDED".into());
    let mut rows = Vec::new();
    for (m, row) in &months {
        let mut r = vec![m.to_string()];
        for n in &names {
            match row.get(n) {
                Some(&i) => {
                    let c = &costs[i];
                    r.push(format!("{}%", c.full.duty_rate_pct.pct_string()));
                    r.push(cny(c.full.landed_fen_per_t));
                    r.push(if c.with_exclusion == c.full {
                        "=".into()
                    } else {
                        cny(c.with_exclusion.landed_fen_per_t)
                    });
                }
                None => r.extend(["".into(), "".into(), "".into()]),
            }
        }
        let cheapest = |f: fn(&LandedCost) -> Fen| {
            row.iter()
                .min_by_key(|(_, &i)| (f(&costs[i]), i))
                .map_or(String::new(), |(n, _)| n.clone())
        };
        r.push(cheapest(|c| c.full.landed_fen_per_t));
        r.push(cheapest(|c| c.with_exclusion.landed_fen_per_t));
        rows.push(r);
    }
    let head_refs: Vec<&str> = head.iter().map(String::as_str).collect();
    let right: Vec<bool> = (0..head.len())
        .map(|i| i > 0 && i < head.len() - 2)
        .collect();
    print_table(&head_refs, &rows, &right);
    println!();
    println!("landed cost in CNY per tonne, assessed at 12:00 Beijing time on the 15th of each month; `=` the same with an exclusion");
}

/// The series chart: one solid line per label without exclusion, a dashed one with it (when it
/// differs), and a marker wherever a label's duty rate changes.
fn series_chart(quotes: &[Quote], costs: &[LandedCost], labels: &[String]) -> String {
    let names = distinct(labels);
    let months = by_month(quotes, labels);
    let x_labels: Vec<String> = months.keys().map(Month::to_string).collect();
    let mut lines = Vec::new();
    let mut markers = Vec::new();
    for (k, n) in names.iter().enumerate() {
        let series = |f: &dyn Fn(&LandedCost) -> Fen| -> Vec<Option<Fen>> {
            months
                .values()
                .map(|row| row.get(n).map(|&i| f(&costs[i])))
                .collect()
        };
        let full = series(&|c| c.full.landed_fen_per_t);
        let excl = series(&|c| c.with_exclusion.landed_fen_per_t);
        let differs = full != excl;
        lines.push(chart::Line {
            name: format!("{n} (no exclusion)"),
            colour: chart::colour(k),
            dashed: false,
            points: full,
        });
        if differs {
            lines.push(chart::Line {
                name: format!("{n} (with exclusion)"),
                colour: chart::colour(k),
                dashed: true,
                points: excl,
            });
        }
        let mut prev: Option<String> = None;
        for (x, row) in months.values().enumerate() {
            if let Some(&i) = row.get(n) {
                let rate = costs[i].full.duty_rate_pct.pct_string();
                if prev.as_ref().is_some_and(|p| *p != rate) {
                    markers.push((
                        x,
                        format!(
                            "{} {n} duty {}% → {rate}%",
                            x_labels[x],
                            prev.as_deref().unwrap_or("")
                        ),
                    ));
                }
                prev = Some(rate);
            }
        }
    }
    markers.sort_by_key(|m| m.0);
    chart::line_chart(
        "Landed cost per tonne, with and without exclusion",
        "CNY/t, duty and VAT paid, assessed mid-month with the tariff in force; dashed: with every excludable layer lifted",
        &x_labels,
        &lines,
        &markers,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_columns_are_as_documented() {
        assert_eq!(
            OUTPUT_COLUMNS.join(","),
            "fob_usd_t,cfr_usd_t,customs_value_cny_t,duty_cny_t,vat_cny_t,landed_cny_t,rank,spread_cny_t"
        );
    }
}
