//! A declaration line as customs systems send it (text fields), parsed field by field into an
//! engine input. Errors name the column, the value and the fix.

use std::fmt;

use crate::amount::{Money, QtyUnit, Quantity};
use crate::codes::{CodeError, Currency, Origin, RegistrationCode, TariffCode};
use crate::engine::LineInput;
use crate::time::{BjTime, Precision, TimeError};

/// Limits on identifiers that come from outside.
pub const MAX_DECLARATION_CHARS: usize = 32;
pub const MAX_LINE_NO: u32 = 9_999;

/// The text fields of one declaration line.
#[derive(Clone, Copy, Debug, Default)]
pub struct RawLine<'a> {
    pub declaration: &'a str,
    pub line: &'a str,
    pub importer: &'a str,
    pub code: &'a str,
    pub origin: &'a str,
    pub declared_at: &'a str,
    pub quantity: &'a str,
    pub unit: &'a str,
    pub customs_value: &'a str,
    pub currency: &'a str,
    pub shipped_on: Option<&'a str>,
    pub in_quota: Option<&'a str>,
}

/// A declaration line with its identity and engine input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedLine {
    pub line_no: u32,
    pub importer: RegistrationCode,
    pub input: LineInput,
}

/// A field that did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub column: &'static str,
    pub value: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "column `{}`, value `{}`: {}",
            self.column, self.value, self.message
        )
    }
}
impl std::error::Error for FieldError {}

pub(crate) fn bad(column: &'static str, value: &str, message: impl fmt::Display) -> FieldError {
    let mut v: String = value.chars().take(80).collect();
    if value.chars().count() > 80 {
        v.push('…');
    }
    FieldError {
        column,
        value: v,
        message: message.to_string(),
    }
}

impl RawLine<'_> {
    /// Parses every field; the first bad one is reported.
    pub fn parse(&self) -> Result<ParsedLine, FieldError> {
        self.parse_with(BjTime::parse, RegistrationCode::parse)
    }

    /// [`RawLine::parse`] with the parsers of `declared_at` and `importer` supplied by the caller,
    /// which may remember their last results (the lines of one declaration repeat both fields).
    /// They must behave as [`BjTime::parse`] and [`RegistrationCode::parse`].
    pub fn parse_with(
        &self,
        parse_instant: impl FnOnce(&str) -> Result<(BjTime, Precision), TimeError>,
        parse_importer: impl FnOnce(&str) -> Result<RegistrationCode, CodeError>,
    ) -> Result<ParsedLine, FieldError> {
        let d = self.declaration.trim_ascii();
        if d.is_empty() || d.chars().count() > MAX_DECLARATION_CHARS {
            return Err(bad(
                "declaration",
                d,
                format!("a declaration number is 1 to {MAX_DECLARATION_CHARS} characters"),
            ));
        }
        let line_no = match self.line.trim_ascii().parse::<u32>() {
            Ok(n) if (1..=MAX_LINE_NO).contains(&n) => n,
            _ => {
                return Err(bad(
                    "line",
                    self.line,
                    format!("a line number is a whole number from 1 to {MAX_LINE_NO}"),
                ))
            }
        };
        let importer =
            parse_importer(self.importer).map_err(|e| bad("importer", self.importer, e))?;
        let code = TariffCode::parse(self.code).map_err(|e| bad("code", self.code, e))?;
        let origin = Origin::parse(self.origin).map_err(|e| bad("origin", self.origin, e))?;
        let (declared_at, declared_precision) =
            parse_instant(self.declared_at).map_err(|e| bad("declared_at", self.declared_at, e))?;
        let unit = QtyUnit::parse(self.unit)
            .ok_or_else(|| bad("unit", self.unit, "the unit is `kg` or `t`"))?;
        let quantity = Quantity::parse(self.quantity, unit).map_err(|e| {
            bad(
                "quantity",
                self.quantity,
                format!(
                    "{e}; a quantity is a positive number of {} exact to the gram",
                    unit.as_str()
                ),
            )
        })?;
        let currency =
            Currency::parse(self.currency).map_err(|e| bad("currency", self.currency, e))?;
        let customs_value = Money::parse(self.customs_value, currency).map_err(|e| {
            bad(
                "customs_value",
                self.customs_value,
                format!(
                    "{e}; the customs (CIF) value is a positive amount with at most 2 decimals"
                ),
            )
        })?;
        let shipped_on = match self
            .shipped_on
            .map(str::trim_ascii)
            .filter(|s| !s.is_empty())
        {
            Some(s) => Some(BjTime::parse(s).map_err(|e| bad("shipped_on", s, e))?),
            None => None,
        };
        if let Some((shipped, _)) = shipped_on {
            if shipped > declared_at {
                return Err(bad(
                    "shipped_on",
                    self.shipped_on.unwrap_or(""),
                    format!(
                        "goods cannot be shipped after they are declared ({}); check both dates",
                        declared_at
                    ),
                ));
            }
        }
        let in_quota = match self.in_quota.map(str::trim_ascii).unwrap_or("") {
            "" | "false" | "FALSE" | "no" => false,
            "true" | "TRUE" | "yes" => true,
            other => {
                return Err(bad(
                    "in_quota",
                    other,
                    "write `true` or `false` (default `false`)",
                ))
            }
        };
        Ok(ParsedLine {
            line_no,
            importer,
            input: LineInput {
                code,
                origin,
                declared_at,
                declared_precision,
                shipped_on,
                quantity,
                customs_value,
                in_quota,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> RawLine<'static> {
        RawLine {
            declaration: "DEC1",
            line: "1",
            importer: "3100ABC123",
            code: "1201.90.10",
            origin: "US",
            declared_at: "2019-09-15",
            quantity: "1000",
            unit: "t",
            customs_value: "350000",
            currency: "USD",
            shipped_on: None,
            in_quota: None,
        }
    }

    #[test]
    fn a_good_line_parses() {
        let p = good().parse().unwrap();
        assert_eq!(p.input.quantity.grams, 1_000_000_000);
        assert_eq!(p.input.customs_value.minor, 35_000_000);
    }

    #[test]
    fn each_bad_field_is_named_with_its_value() {
        let cases: [(&str, RawLine); 8] = [
            (
                "quantity",
                RawLine {
                    quantity: "-5",
                    ..good()
                },
            ),
            (
                "quantity",
                RawLine {
                    quantity: "1,000",
                    ..good()
                },
            ),
            (
                "code",
                RawLine {
                    code: "1201",
                    ..good()
                },
            ),
            (
                "origin",
                RawLine {
                    origin: "XX",
                    ..good()
                },
            ),
            (
                "declared_at",
                RawLine {
                    declared_at: "15/09/2019",
                    ..good()
                },
            ),
            (
                "unit",
                RawLine {
                    unit: "lb",
                    ..good()
                },
            ),
            (
                "shipped_on",
                RawLine {
                    shipped_on: Some("2019-10-01"),
                    ..good()
                },
            ),
            (
                "in_quota",
                RawLine {
                    in_quota: Some("maybe"),
                    ..good()
                },
            ),
        ];
        for (col, raw) in cases {
            let e = raw.parse().unwrap_err();
            assert_eq!(e.column, col, "{e}");
            assert!(!e.message.is_empty());
        }
        let e = RawLine {
            quantity: "-5",
            ..good()
        }
        .parse()
        .unwrap_err();
        assert_eq!(e.to_string(), "column `quantity`, value `-5`: `-5` is negative; give a positive amount; a quantity is a positive number of t exact to the gram");
    }
}
