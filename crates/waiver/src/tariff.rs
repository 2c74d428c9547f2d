//! `waiver tariff`: every layer in force for a line, origin and instant.

use std::process::ExitCode;

use clap::Args;
use serde::Serialize;
use waiver_domain::amount::{Money, QtyUnit, Quantity};
use waiver_domain::engine::{assess, LayerStatus, Lift, LineInput};
use waiver_domain::schedule::{DutyDisplay, Role};
use waiver_domain::{BjTime, Currency, Origin, Precision, RatePpm, Schedule, TariffCode};

#[derive(Args)]
pub struct TariffArgs {
    /// Tariff code, 8 or 10 digits (dots allowed): 12019010 or 1201.90.10.
    code: String,
    /// Origin: ISO country code (US, BR, …) or `unknown`.
    #[arg(long)]
    origin: String,
    /// Instant (Beijing time): YYYY-MM-DD, YYYY-MM-DDTHH:MM or RFC 3339. Default: now.
    #[arg(long)]
    at: Option<String>,
    /// Declared within a tariff-rate quota (in-quota rate).
    #[arg(long)]
    in_quota: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct LayerOut<'a> {
    id: &'a str,
    kind: &'a str,
    role: Role,
    duty: DutyDisplay<'a>,
    status: LayerStatus,
    legal_basis: &'a str,
    scope: &'a str,
    excludable: bool,
    confidence: &'a str,
    valid_from: BjTime,
    valid_to: Option<BjTime>,
    source: &'a str,
    note: &'a str,
}

#[derive(Serialize)]
struct TariffOut<'a> {
    code: TariffCode,
    description_en: &'a str,
    description_zh: &'a str,
    unit: QtyUnit,
    origin: Origin,
    at: BjTime,
    layers: Vec<LayerOut<'a>>,
    base_rate_pct: RatePpm,
    additional_rate_pct: RatePpm,
    duty_rate_pct: RatePpm,
    duty_rate_with_exclusion_pct: RatePpm,
    vat_rate_pct: RatePpm,
    warnings: Vec<String>,
}

fn now_beijing() -> BjTime {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    BjTime(secs + 8 * 3600)
}

pub fn run(schedule: &Schedule, a: TariffArgs) -> anyhow::Result<ExitCode> {
    let code = TariffCode::parse(&a.code)?;
    let origin = Origin::parse(&a.origin)?;
    let (at, precision) = match &a.at {
        Some(s) => BjTime::parse(s)?,
        None => (now_beijing(), Precision::Second),
    };
    // Rates do not depend on the amounts; a nominal line of 1 t worth CNY 10 000 is assessed.
    let input = LineInput {
        code,
        origin,
        declared_at: at,
        declared_precision: precision,
        shipped_on: None,
        quantity: Quantity { grams: 1_000_000 },
        customs_value: Money {
            minor: 1_000_000,
            currency: Currency::CNY,
        },
        in_quota: a.in_quota,
    };
    let full = assess(schedule, &input, Lift::Nothing)?;
    let lifted = assess(schedule, &input, Lift::AllExcludable)?;
    let out = TariffOut {
        code: full.line.code,
        description_en: &full.line.description_en,
        description_zh: &full.line.description_zh,
        unit: full.line.unit,
        origin,
        at,
        layers: full
            .layers
            .iter()
            .map(|l| {
                let m = l.measure;
                LayerOut {
                    id: &m.id,
                    kind: m.kind.as_str(),
                    role: m.kind.role(),
                    duty: DutyDisplay(&m.duty),
                    status: l.status,
                    legal_basis: &m.legal_basis,
                    scope: &m.scope,
                    excludable: m.excludable,
                    confidence: m.confidence.as_str(),
                    valid_from: m.validity.start,
                    valid_to: m.validity.end,
                    source: &m.source,
                    note: &m.note,
                }
            })
            .collect(),
        base_rate_pct: full.base_rate,
        additional_rate_pct: full.additional_rate,
        duty_rate_pct: RatePpm(full.base_rate.0 + full.additional_rate.0),
        duty_rate_with_exclusion_pct: RatePpm(lifted.base_rate.0 + lifted.additional_rate.0),
        vat_rate_pct: full.vat_rate,
        warnings: full.warnings.iter().map(|w| w.to_string()).collect(),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_table(&out);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(o: &TariffOut) {
    println!(
        "{}  {}  {}  (unit {})",
        o.code,
        o.description_en,
        o.description_zh,
        o.unit.as_str()
    );
    println!("origin {}, at {} Beijing time", o.origin, o.at);
    println!();
    let rows: Vec<[String; 8]> = o
        .layers
        .iter()
        .map(|l| {
            let until = l.valid_to.map_or(String::new(), |t| format!(" to {t}"));
            [
                l.id.to_owned(),
                l.kind.to_owned(),
                l.duty.0.to_string(),
                l.scope.to_owned(),
                if l.excludable {
                    "yes".into()
                } else {
                    "no".into()
                },
                l.confidence.to_owned(),
                format!("from {}{until}", l.valid_from),
                l.legal_basis.to_owned(),
            ]
        })
        .collect();
    let head = [
        "LAYER",
        "KIND",
        "RATE",
        "SCOPE",
        "EXCLUDABLE",
        "CONFIDENCE",
        "IN FORCE",
        "LEGAL BASIS",
    ];
    let mut w = head.map(str::len);
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<width$}  ", width = w[i]));
            }
        }
        println!("{}", s.trim_end());
    };
    line(&head.map(str::to_owned));
    for r in &rows {
        line(r);
    }
    println!();
    println!(
        "customs duty {}% (base {}% + additional {}%); with exclusion {}%; import VAT {}%",
        o.duty_rate_pct.pct_string(),
        o.base_rate_pct.pct_string(),
        o.additional_rate_pct.pct_string(),
        o.duty_rate_with_exclusion_pct.pct_string(),
        o.vat_rate_pct.pct_string()
    );
    for w in &o.warnings {
        println!("warning: {w}");
    }
}
