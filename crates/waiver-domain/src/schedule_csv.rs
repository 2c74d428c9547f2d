//! Reads a schedule from its CSV files (the format in `docs/schedule-format.md`) and validates
//! it whole: every problem is reported with file, row, column, value and the fix.
//!
//! Takes the files' contents, not paths: reading files is the caller's business.

use std::collections::HashMap;
use std::fmt;

use thiserror::Error;

use crate::amount::{parse_scaled, FxRate, QtyUnit, RatePpm};
use crate::codes::{CodePrefix, CountryCode, Currency, TariffCode};
use crate::schedule::{
    Confidence, DutyExpr, FxEntry, GoodsSelector, Grace, Measure, MeasureKind, OriginSelector,
    PerUnit, Role, Schedule, TariffLine, Validity,
};
use crate::time::{BjTime, Month};

/// The files of a schedule directory.
pub const LINES_FILE: &str = "lines.csv";
pub const MEASURES_FILE: &str = "measures.csv";
pub const RATES_FILE: &str = "exchange_rates.csv";

/// Limits on what a schedule may hold.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;
pub const MAX_ROWS: usize = 200_000;
pub const MAX_FIELD_CHARS: usize = 4_000;
const MAX_REPORTED: usize = 100;

/// The contents of a schedule's files.
pub struct ScheduleFiles<'a> {
    pub lines: &'a str,
    pub measures: &'a str,
    pub exchange_rates: &'a str,
}

/// The demo schedule compiled into the binary, built from `../shared/data` by `tools/build_demo_schedule.py`.
pub const DEMO: ScheduleFiles<'static> = ScheduleFiles {
    lines: include_str!("../../../data/schedule/lines.csv"),
    measures: include_str!("../../../data/schedule/measures.csv"),
    exchange_rates: include_str!("../../../data/schedule/exchange_rates.csv"),
};

/// One problem in a schedule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: &'static str,
    /// 1-based line in the file (the header is line 1); 0 for the file as a whole.
    pub row: u64,
    pub column: String,
    pub value: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.row > 0 {
            write!(f, " row {}", self.row)?;
        }
        if !self.column.is_empty() {
            write!(f, ", column `{}`", self.column)?;
        }
        if !self.value.is_empty() {
            write!(f, ", value `{}`", self.value)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a schedule (at most 100 are listed).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct ScheduleError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "the schedule is invalid ({} problem(s)):",
            self.problems.len()
        )?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

struct Sheet<'a> {
    file: &'static str,
    headers: Vec<String>,
    rows: Vec<(u64, csv::StringRecord)>,
    problems: &'a mut Vec<Problem>,
}

impl<'a> Sheet<'a> {
    fn read(
        file: &'static str,
        text: &str,
        required: &[&str],
        optional: &[&str],
        problems: &'a mut Vec<Problem>,
    ) -> Self {
        let mut sheet = Sheet {
            file,
            headers: vec![],
            rows: vec![],
            problems,
        };
        if text.len() > MAX_FILE_BYTES {
            sheet.problem(
                0,
                "",
                "",
                format!("the file is larger than {MAX_FILE_BYTES} bytes; split the schedule"),
            );
            return sheet;
        }
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(text.as_bytes());
        match rdr.headers() {
            Ok(h) => sheet.headers = h.iter().map(|s| s.trim().to_owned()).collect(),
            Err(e) => {
                sheet.problem(1, "", "", format!("cannot read the header: {e}"));
                return sheet;
            }
        }
        for col in required {
            if !sheet.headers.iter().any(|h| h == col) {
                sheet.problem(
                    1,
                    col,
                    "",
                    "this required column is missing; add it to the header".to_owned(),
                );
            }
        }
        for h in sheet.headers.clone() {
            if !required.contains(&h.as_str()) && !optional.contains(&h.as_str()) {
                let all: Vec<&str> = required.iter().chain(optional).copied().collect();
                sheet.problem(
                    1,
                    &h,
                    "",
                    format!("unknown column; the columns are {}", all.join(", ")),
                );
            }
        }
        for rec in rdr.records() {
            match rec {
                Ok(r) => {
                    let row = r.position().map_or(0, |p| p.line());
                    if sheet.rows.len() >= MAX_ROWS {
                        sheet.problem(
                            row,
                            "",
                            "",
                            format!("more than {MAX_ROWS} rows; split the schedule"),
                        );
                        break;
                    }
                    if let Some(long) = r.iter().position(|f| f.chars().count() > MAX_FIELD_CHARS) {
                        let col = sheet.headers.get(long).cloned().unwrap_or_default();
                        sheet.problem(
                            row,
                            &col,
                            "",
                            format!("the field is longer than {MAX_FIELD_CHARS} characters"),
                        );
                        continue;
                    }
                    sheet.rows.push((row, r));
                }
                Err(e) => {
                    let row = e.position().map_or(0, |p| p.line());
                    sheet.problem(
                        row,
                        "",
                        "",
                        format!("malformed CSV: {e}; every row needs as many fields as the header"),
                    );
                }
            }
        }
        sheet
    }

    fn problem(&mut self, row: u64, column: &str, value: &str, message: String) {
        if self.problems.len() < MAX_REPORTED {
            self.problems.push(Problem {
                file: self.file,
                row,
                column: column.to_owned(),
                value: value.to_owned(),
                message,
            });
        }
    }

    fn get<'r>(&self, rec: &'r csv::StringRecord, col: &str) -> &'r str {
        self.headers
            .iter()
            .position(|h| h == col)
            .and_then(|i| rec.get(i))
            .map_or("", str::trim)
    }

    /// Parses a required field, recording a problem on failure.
    fn req<T>(
        &mut self,
        row: u64,
        rec: &csv::StringRecord,
        col: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let v = self.get(rec, col).to_owned();
        if v.is_empty() {
            self.problem(row, col, "", "this field is required".to_owned());
            return None;
        }
        match parse(&v) {
            Ok(t) => Some(t),
            Err(m) => {
                self.problem(row, col, &v, m);
                None
            }
        }
    }

    fn opt<T>(
        &mut self,
        row: u64,
        rec: &csv::StringRecord,
        col: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<Option<T>> {
        if self.get(rec, col).is_empty() {
            return Some(None);
        }
        self.req(row, rec, col, parse).map(Some)
    }
}

pub(crate) fn instant(v: &str) -> Result<BjTime, String> {
    BjTime::parse_instant(v).map_err(|e| e.to_string())
}
fn confidence(v: &str) -> Result<Confidence, String> {
    Confidence::parse(v).ok_or_else(|| {
        "unknown confidence; use sourced, single-source, inferred, unverified or approximate"
            .to_owned()
    })
}
fn unit(v: &str) -> Result<QtyUnit, String> {
    QtyUnit::parse(v).ok_or_else(|| "unknown unit; use kg or t".to_owned())
}

fn per_unit(v: &str) -> Result<PerUnit, String> {
    let (amount, rest) = v
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("`{v}` is not an amount per unit; write e.g. 0.5 CNY/kg"))?;
    let unit = match rest.trim() {
        "CNY/kg" => QtyUnit::Kg,
        "CNY/t" => QtyUnit::T,
        _ => return Err(format!("`{rest}` is not a unit; write CNY/kg or CNY/t")),
    };
    let cny_e4 = parse_scaled(amount, 4).map_err(|e| e.to_string())?;
    if cny_e4 < 0 {
        return Err("a duty amount cannot be negative; give 0 or more".to_owned());
    }
    Ok(PerUnit { cny_e4, unit })
}

/// Parses `25%`, `0.5 CNY/kg`, `10% + 0.5 CNY/kg`, each optionally followed by `min X CNY/kg`
/// and/or `max X CNY/kg`.
pub fn parse_duty(raw: &str) -> Result<DutyExpr, String> {
    let mut s = raw.trim();
    let mut max = None;
    let mut min = None;
    if let Some((head, tail)) = s.split_once(" max ") {
        max = Some(per_unit(tail)?);
        s = head;
    }
    if let Some((head, tail)) = s.split_once(" min ") {
        min = Some(per_unit(tail)?);
        s = head;
    }
    let (av, specific) = match s.split_once('+') {
        Some((a, b)) => (Some(a.trim()), Some(per_unit(b)?)),
        None if s.ends_with('%') => (Some(s), None),
        None => (None, Some(per_unit(s)?)),
    };
    let ad_valorem = match av {
        Some(a) => {
            let pct = a
                .strip_suffix('%')
                .ok_or_else(|| format!("`{a}` is not a percentage; write e.g. 25%"))?;
            if pct.trim_start().starts_with('-') {
                return Err("a rate cannot be negative; give 0% or more".to_owned());
            }
            RatePpm::parse_pct(pct).map_err(|e| e.to_string())?
        }
        None => RatePpm(0),
    };
    Ok(DutyExpr {
        ad_valorem,
        specific,
        min,
        max,
    })
}

pub(crate) fn goods(v: &str) -> Result<GoodsSelector, String> {
    if v == "*" {
        return Ok(GoodsSelector::All);
    }
    if let Some(class) = v.strip_prefix("class:") {
        return Ok(GoodsSelector::VatClass(class.trim().to_owned()));
    }
    let codes: Result<Vec<CodePrefix>, String> = v
        .split(';')
        .map(|c| CodePrefix::parse(c).map_err(|e| e.to_string()))
        .collect();
    let codes =
        codes.map_err(|e| format!("{e}; write `*`, `class:NAME`, or codes separated by `;`"))?;
    Ok(GoodsSelector::Codes(codes))
}

fn validity(
    sheet: &mut Sheet,
    row: u64,
    rec: &csv::StringRecord,
    start_col: &str,
    end_col: &str,
) -> Option<Validity> {
    let start = sheet.req(row, rec, start_col, instant);
    let end = sheet.opt(row, rec, end_col, instant);
    let (start, end) = (start?, end?);
    if let Some(e) = end {
        if e <= start {
            sheet.problem(
                row,
                end_col,
                sheet.get(rec, end_col),
                format!("the end must be after the start ({start}); the end is exclusive"),
            );
            return None;
        }
    }
    Some(Validity { start, end })
}

fn read_lines(text: &str, problems: &mut Vec<Problem>) -> Vec<TariffLine> {
    let mut sheet = Sheet::read(
        LINES_FILE,
        text,
        &[
            "code",
            "valid_from",
            "description_en",
            "unit",
            "vat_class",
            "confidence",
        ],
        &["valid_to", "description_zh", "source"],
        problems,
    );
    let mut out: Vec<(u64, TariffLine)> = Vec::new();
    for (row, rec) in std::mem::take(&mut sheet.rows) {
        let code = sheet.req(row, &rec, "code", |v| {
            TariffCode::parse(v).map_err(|e| e.to_string())
        });
        let validity = validity(&mut sheet, row, &rec, "valid_from", "valid_to");
        let desc = sheet.req(row, &rec, "description_en", |v| Ok(v.to_owned()));
        let unit = sheet.req(row, &rec, "unit", unit);
        let vat_class = sheet.req(row, &rec, "vat_class", |v| Ok(v.to_owned()));
        let conf = sheet.req(row, &rec, "confidence", confidence);
        if let (
            Some(code),
            Some(validity),
            Some(description_en),
            Some(unit),
            Some(vat_class),
            Some(confidence),
        ) = (code, validity, desc, unit, vat_class, conf)
        {
            if let Some((prev, _)) = out
                .iter()
                .find(|(_, l)| l.code == code && l.validity.overlaps(&validity))
            {
                sheet.problem(row, "code", code.as_str(), format!("the line is already valid over part of this period (row {prev}); end one version before the next starts"));
                continue;
            }
            let line = TariffLine {
                code,
                validity,
                description_en,
                description_zh: sheet.get(&rec, "description_zh").to_owned(),
                unit,
                vat_class,
                confidence,
                source: sheet.get(&rec, "source").to_owned(),
            };
            out.push((row, line));
        }
    }
    out.into_iter().map(|(_, l)| l).collect()
}

fn read_measures(text: &str, lines: &[TariffLine], problems: &mut Vec<Problem>) -> Vec<Measure> {
    let mut sheet = Sheet::read(
        MEASURES_FILE,
        text,
        &[
            "id",
            "goods",
            "origin",
            "kind",
            "duty",
            "start",
            "legal_base",
            "scope",
            "excludable",
            "confidence",
        ],
        &[
            "end",
            "grace_shipped_before",
            "grace_imported_until",
            "source",
            "note",
        ],
        problems,
    );
    let mut out: Vec<(u64, Measure)> = Vec::new();
    for (row, rec) in std::mem::take(&mut sheet.rows) {
        let id = sheet.req(row, &rec, "id", |v| {
            if v.len() > 64
                || !v
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                Err("an id is at most 64 letters, digits, `-`, `_` or `.`".to_owned())
            } else {
                Ok(v.to_owned())
            }
        });
        let goods = sheet.req(row, &rec, "goods", goods);
        if let Some(GoodsSelector::Codes(codes)) = &goods {
            for c in codes.iter().filter(|c| c.is_line()) {
                if !lines.iter().any(|l| c.matches(&l.code)) {
                    sheet.problem(row, "goods", c.as_str(), format!("no tariff line {c} in {LINES_FILE}; add the line there or fix the code"));
                }
            }
        }
        let origin = sheet.req(row, &rec, "origin", |v| {
            if v == "*" {
                Ok(OriginSelector::All)
            } else {
                CountryCode::parse(v)
                    .map(OriginSelector::Country)
                    .map_err(|e| format!("{e}, or `*` for every origin"))
            }
        });
        let kind = sheet.req(row, &rec, "kind", |v| {
            MeasureKind::parse(v).ok_or_else(|| {
                let all: Vec<&str> = MeasureKind::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown kind; use one of {}", all.join(", "))
            })
        });
        let duty = sheet.req(row, &rec, "duty", parse_duty);
        let validity = validity(&mut sheet, row, &rec, "start", "end");
        let legal = sheet.req(row, &rec, "legal_base", |v| Ok(v.to_owned()));
        let scope = sheet.req(row, &rec, "scope", |v| Ok(v.to_owned()));
        let excludable = sheet.req(row, &rec, "excludable", |v| match v {
            "yes" | "true" => Ok(true),
            "no" | "false" => Ok(false),
            _ => Err("write yes or no".to_owned()),
        });
        let conf = sheet.req(row, &rec, "confidence", confidence);
        let gs = sheet.opt(row, &rec, "grace_shipped_before", instant);
        let gi = sheet.opt(row, &rec, "grace_imported_until", instant);
        let grace = match (gs, gi) {
            (Some(Some(shipped_before)), Some(Some(imported_until))) => Some(Some(Grace {
                shipped_before,
                imported_until,
            })),
            (Some(None), Some(None)) => Some(None),
            (Some(_), Some(_)) => {
                sheet.problem(
                    row,
                    "grace_imported_until",
                    sheet.get(&rec, "grace_imported_until"),
                    "a grace window needs both grace_shipped_before and grace_imported_until"
                        .to_owned(),
                );
                None
            }
            _ => None,
        };
        let (
            Some(id),
            Some(goods),
            Some(origin),
            Some(kind),
            Some(duty),
            Some(validity),
            Some(legal_basis),
            Some(scope),
            Some(excludable),
            Some(confidence),
            Some(grace),
        ) = (
            id, goods, origin, kind, duty, validity, legal, scope, excludable, conf, grace,
        )
        else {
            continue;
        };
        if let Some((prev, _)) = out.iter().find(|(_, m)| m.id == id) {
            sheet.problem(
                row,
                "id",
                &id,
                format!("this id is already used on row {prev}; ids must be unique"),
            );
            continue;
        }
        if excludable && kind.role() != Role::Additional {
            sheet.problem(row, "excludable", "yes", format!("a {} measure cannot be excludable; only additional layers are lifted by exclusions", kind.as_str()));
            continue;
        }
        let m = Measure {
            id,
            goods,
            origin,
            kind,
            duty,
            validity,
            legal_basis,
            scope,
            excludable,
            grace,
            confidence,
            source: sheet.get(&rec, "source").to_owned(),
            note: sheet.get(&rec, "note").to_owned(),
        };
        // Two measures of the same kind and scope (and, for layers, the same legal basis) may not
        // cover the same goods, origin and instant: one of them would be a duplicate or a typo.
        let clash = out.iter().find(|(_, o)| {
            o.kind == m.kind
                && o.scope == m.scope
                && (m.kind.role() != Role::Additional || o.legal_basis == m.legal_basis)
                && o.goods.intersects(&m.goods)
                && o.origin.intersects(&m.origin)
                && o.validity.overlaps(&m.validity)
        });
        if let Some((prev, o)) = clash {
            let msg = format!(
                "overlaps measure {} (row {prev}) of the same kind and scope for the same goods, origin and time; end one before the other starts or narrow its goods",
                o.id
            );
            sheet.problem(row, "start", sheet.get(&rec, "start"), msg);
            continue;
        }
        out.push((row, m));
    }
    out.into_iter().map(|(_, m)| m).collect()
}

fn read_rates(text: &str, problems: &mut Vec<Problem>) -> HashMap<(Currency, Month), FxEntry> {
    let mut sheet = Sheet::read(
        RATES_FILE,
        text,
        &["month", "currency", "cny_per_unit", "confidence"],
        &["reference_date", "method", "source"],
        problems,
    );
    let mut out = HashMap::new();
    for (row, rec) in std::mem::take(&mut sheet.rows) {
        let month = sheet.req(row, &rec, "month", |v| {
            Month::parse(v).ok_or_else(|| "not a month; write YYYY-MM".to_owned())
        });
        let cur = sheet.req(row, &rec, "currency", |v| {
            Currency::parse(v).map_err(|e| e.to_string())
        });
        let rate = sheet.req(row, &rec, "cny_per_unit", |v| {
            FxRate::parse(v)
                .map_err(|e| format!("{e}; a rate is a positive number with at most 4 decimals"))
        });
        let conf = sheet.req(row, &rec, "confidence", confidence);
        if let (Some(month), Some(cur), Some(rate), Some(confidence)) = (month, cur, rate, conf) {
            if cur == Currency::CNY {
                sheet.problem(
                    row,
                    "currency",
                    "CNY",
                    "CNY needs no exchange rate; remove the row".to_owned(),
                );
                continue;
            }
            let entry = FxEntry {
                rate,
                reference_date: sheet.get(&rec, "reference_date").to_owned(),
                confidence,
            };
            if out.insert((cur, month), entry).is_some() {
                sheet.problem(
                    row,
                    "month",
                    &month.to_string(),
                    format!(
                        "{cur} already has a rate for {month}; keep one row per currency and month"
                    ),
                );
            }
        }
    }
    out
}

/// Parses and validates a whole schedule.
pub fn parse_schedule(files: &ScheduleFiles) -> Result<Schedule, ScheduleError> {
    let mut problems = Vec::new();
    let lines = read_lines(files.lines, &mut problems);
    let measures = read_measures(files.measures, &lines, &mut problems);
    let rates = read_rates(files.exchange_rates, &mut problems);
    if problems.is_empty() {
        Ok(Schedule::new(lines, measures, rates))
    } else {
        Err(ScheduleError { problems })
    }
}

/// The embedded demo schedule.
pub fn demo_schedule() -> Result<Schedule, ScheduleError> {
    parse_schedule(&DEMO)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINES: &str = "code,valid_from,description_en,unit,vat_class,confidence\n12019010,2017-01-01,Soya beans,kg,agri,sourced\n";
    const RATES: &str = "month,currency,cny_per_unit,confidence\n2019-09,USD,7.0883,sourced\n";
    const HEAD: &str =
        "id,goods,origin,kind,duty,start,end,legal_base,scope,excludable,confidence\n";

    fn with_measures(rows: &str) -> Result<Schedule, ScheduleError> {
        let measures = format!("{HEAD}{rows}");
        parse_schedule(&ScheduleFiles {
            lines: LINES,
            measures: &measures,
            exchange_rates: RATES,
        })
    }

    #[test]
    fn the_demo_schedule_is_valid() {
        let s = demo_schedule().unwrap();
        assert_eq!(s.lines().len(), 10);
        assert!(s.measures().len() > 30);
        assert!(s.fx_len() >= 119);
    }

    #[test]
    fn duty_expressions_parse() {
        assert_eq!(
            parse_duty("25%").unwrap(),
            DutyExpr::ad_valorem(RatePpm(250_000))
        );
        let c = parse_duty("10% + 0.5 CNY/kg min 1 CNY/kg max 2 CNY/kg").unwrap();
        assert_eq!(
            c.specific,
            Some(PerUnit {
                cny_e4: 5000,
                unit: QtyUnit::Kg
            })
        );
        assert_eq!(c.to_string(), "10% + 0.5 CNY/kg min 1 CNY/kg max 2 CNY/kg");
        assert_eq!(parse_duty("800 CNY/t").unwrap().to_string(), "800 CNY/t");
        assert!(parse_duty("-3%").unwrap_err().contains("negative"));
        assert!(parse_duty("3 USD/kg").is_err());
    }

    #[test]
    fn errors_name_file_row_column_value_and_fix() {
        let e = with_measures("M1,12019010,US,additional,-3%,2019-01-01,,Basis,l301,yes,sourced\n")
            .unwrap_err();
        let p = &e.problems[0];
        assert_eq!(
            (p.file, p.row, p.column.as_str(), p.value.as_str()),
            (MEASURES_FILE, 2, "duty", "-3%")
        );
        assert!(p.message.contains("0% or more"), "{p}");

        let e = with_measures("M1,99999999,US,additional,3%,2019-13-01,,Basis,l301,maybe,guess\n")
            .unwrap_err();
        let cols: Vec<&str> = e.problems.iter().map(|p| p.column.as_str()).collect();
        assert_eq!(cols, ["goods", "start", "excludable", "confidence"]);
        assert!(e.to_string().contains("no tariff line 99999999"));
    }

    #[test]
    fn overlapping_measures_of_the_same_kind_and_scope_are_rejected() {
        let e = with_measures(
            "A,12019010,*,mfn,3%,2017-01-01,,T,base,no,sourced\nB,1201,*,mfn,5%,2018-01-01,,T,base,no,sourced\n",
        )
        .unwrap_err();
        assert!(
            e.problems[0].message.contains("overlaps measure A (row 2)"),
            "{e}"
        );
        // Consecutive periods (end exclusive) and stacked layers with different bases are fine.
        with_measures(
            "A,12019010,*,mfn,3%,2017-01-01,2018-01-01,T,base,no,sourced\nB,1201,*,mfn,5%,2018-01-01,,T,base,no,sourced\n\
             C,12019010,US,additional,25%,2018-07-06,,No. 5,l301,yes,sourced\nD,12019010,US,additional,5%,2019-09-01,,No. 4,l301,yes,sourced\n",
        )
        .unwrap();
    }

    #[test]
    fn unknown_columns_and_missing_columns_are_reported() {
        let e = parse_schedule(&ScheduleFiles {
            lines: "code,valid_from,colour\n",
            measures: HEAD,
            exchange_rates: RATES,
        })
        .unwrap_err();
        let msgs: Vec<String> = e.problems.iter().map(|p| p.to_string()).collect();
        assert!(
            msgs.iter()
                .any(|m| m.contains("`description_en`") && m.contains("missing")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("`colour`") && m.contains("unknown column")),
            "{msgs:?}"
        );
    }
}
