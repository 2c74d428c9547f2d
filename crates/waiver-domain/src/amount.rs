//! Exact amounts: money in minor units, quantities in grams, rates in parts per million,
//! exchange rates to four decimals, and the one rounding rule (half-up to the fen).
//!
//! No floating point anywhere. Intermediate duty amounts are [`CnyExact`] (10⁻¹⁰ CNY, `i128`),
//! so every product of value × rate or quantity × specific amount is exact until it is rounded.

use std::fmt;

use serde::{Serialize, Serializer};
use thiserror::Error;

use crate::codes::Currency;

/// Why a number did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NumberError {
    #[error("`{0}` is not a decimal number; write digits with an optional `.` and no thousands separators, e.g. 1234.56")]
    Malformed(String),
    #[error("`{value}` has more than {max} decimal places")]
    TooPrecise { value: String, max: u32 },
    #[error("`{0}` is too large")]
    TooLarge(String),
    #[error("`{0}` is negative; give a positive amount")]
    Negative(String),
    #[error("`{0}` is zero; give a positive amount")]
    Zero(String),
}

const POW10: [i64; 19] = {
    let mut t = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// Parses a plain decimal (`-12.5`, `0.3`, `100`) into an integer scaled by 10^`scale`
/// (`scale` ≤ 6). Rejects more than `scale` significant decimals and more than 15 integer digits.
pub fn parse_scaled(raw: &str, scale: u32) -> Result<i64, NumberError> {
    parse_scaled_short(raw.as_bytes(), scale).map_or_else(|| parse_scaled_general(raw, scale), Ok)
}

/// The common case of [`parse_scaled`] in one pass: 1 to 12 digits with at most one `.` and at
/// most `scale` decimals, nothing else (no sign, no spaces). `None` for anything else.
#[inline]
fn parse_scaled_short(b: &[u8], scale: u32) -> Option<i64> {
    if b.is_empty() || b.len() > 13 || scale as usize >= POW10.len() {
        return None;
    }
    // The integer digits, then (after a `.`) the decimals: one loop each, no per-byte state.
    let (mut v, mut i) = (0i64, 0usize);
    while let Some(&c) = b.get(i) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        v = v * 10 + i64::from(d);
        i += 1;
    }
    let mut decimals = 0u32;
    if i < b.len() {
        if b[i] != b'.' {
            return None;
        }
        for &c in &b[i + 1..] {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            v = v * 10 + i64::from(d);
        }
        decimals = (b.len() - i - 1) as u32;
    }
    // Every byte but the point is a digit.
    let digits = b.len() - usize::from(i < b.len());
    if digits == 0 || digits > 12 || decimals > scale {
        return None;
    }
    Some(v * POW10[(scale - decimals) as usize])
}

/// [`parse_scaled`] for every input, with its error messages.
fn parse_scaled_general(raw: &str, scale: u32) -> Result<i64, NumberError> {
    let malformed = || NumberError::Malformed(raw.to_owned());
    let b = raw.trim_ascii().as_bytes();
    let (neg, body) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let (int_b, frac_b) = match body.iter().position(|&c| c == b'.') {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, &[][..]),
    };
    if int_b.is_empty() && frac_b.is_empty() {
        return Err(malformed());
    }
    let significant = &int_b[int_b.iter().take_while(|&&c| c == b'0').count()..];
    if significant.len() > 15 {
        return Err(if body.iter().all(|c| c.is_ascii_digit() || *c == b'.') {
            NumberError::TooLarge(raw.to_owned())
        } else {
            malformed()
        });
    }
    let mut v: i64 = 0;
    for &c in significant {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return Err(malformed());
        }
        v = v * 10 + i64::from(d);
    }
    let frac_len = frac_b.len() - frac_b.iter().rev().take_while(|&&c| c == b'0').count();
    let mut frac: i64 = 0;
    for (i, &c) in frac_b.iter().enumerate() {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return Err(malformed());
        }
        if i < scale as usize {
            frac = frac * 10 + i64::from(d);
        }
    }
    if frac_len > scale as usize {
        return Err(NumberError::TooPrecise {
            value: raw.to_owned(),
            max: scale,
        });
    }
    let pad = scale as usize - frac_b.len().min(scale as usize);
    // 15 integer digits at 6 decimals do not fit in an i64: too large, not a wrapped value.
    let v = v
        .checked_mul(POW10[scale as usize])
        .and_then(|v| v.checked_add(frac * POW10[pad]))
        .ok_or_else(|| NumberError::TooLarge(raw.to_owned()))?;
    Ok(if neg { -v } else { v })
}

/// Writes `v / 10^scale` with exactly `min_frac`..`scale` decimals (trailing zeros trimmed to `min_frac`).
pub fn format_scaled(v: i128, scale: u32, min_frac: u32) -> String {
    let pow = 10i128.pow(scale);
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let int = a / pow as u128;
    let mut frac = a % pow as u128;
    let mut digits = scale;
    while digits > min_frac && frac.is_multiple_of(10) {
        frac /= 10;
        digits -= 1;
    }
    if digits == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac:0width$}", width = digits as usize)
    }
}

/// Divides by `10^places`, rounding half away from zero ("half-up" for the positive amounts of tax).
/// Inlined so that a constant `places` makes the common 64-bit division a multiplication.
#[inline]
pub fn div_round_half_up(v: i128, places: u32) -> i128 {
    // Fast path: 64-bit division for the values that fit (nearly all).
    if let (Ok(x), Some(d)) = (i64::try_from(v), 10i64.checked_pow(places)) {
        let (q, r) = (x / d, x % d);
        return i128::from(if r.unsigned_abs() * 2 >= d.unsigned_abs() {
            q + x.signum()
        } else {
            q
        });
    }
    let d = 10i128.pow(places);
    let q = v / d;
    let r = v % d;
    if r.abs() * 2 >= d {
        q + v.signum()
    } else {
        q
    }
}

/// CNY in fen (0.01 CNY): every rounded tax amount and customs value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fen(pub i64);

impl Fen {
    pub fn to_exact(self) -> CnyExact {
        CnyExact(i128::from(self.0) * CnyExact::PER_FEN)
    }
}
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_scaled(i128::from(self.0), 2, 2))
    }
}
impl std::ops::Add for Fen {
    type Output = Fen;
    fn add(self, o: Fen) -> Fen {
        Fen(self.0 + o.0)
    }
}
impl std::ops::Sub for Fen {
    type Output = Fen;
    fn sub(self, o: Fen) -> Fen {
        Fen(self.0 - o.0)
    }
}
impl Serialize for Fen {
    /// Serialised as a decimal string in CNY, e.g. `"1234.50"`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An exact, unrounded CNY amount in units of 10⁻¹⁰ CNY: fen × rate in ppm, grams × CNY/kg to
/// 10⁻⁴ and grams × CNY/t to 10⁻⁴ are all whole numbers of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct CnyExact(pub i128);

impl CnyExact {
    pub const PER_FEN: i128 = 100_000_000;
    /// The single rounding point for tax amounts: half-up to the fen.
    #[inline]
    pub fn round_to_fen(self) -> Fen {
        // A duty on a bounded value and quantity stays far inside i64 fen.
        Fen(div_round_half_up(self.0, 8) as i64)
    }
}
impl std::ops::Add for CnyExact {
    type Output = CnyExact;
    fn add(self, o: CnyExact) -> CnyExact {
        CnyExact(self.0 + o.0)
    }
}

/// A rate in parts per million of the base: 1% = 10 000, 100% = 1 000 000.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RatePpm(pub i64);

impl RatePpm {
    /// Parses a percentage with up to four decimals: `25`, `2.5`, `178.6`.
    pub fn parse_pct(raw: &str) -> Result<Self, NumberError> {
        let v = parse_scaled(raw, 4)?;
        if v < 0 {
            return Err(NumberError::Negative(raw.to_owned()));
        }
        if v > 10_000 * 10_000 {
            return Err(NumberError::TooLarge(raw.to_owned()));
        }
        Ok(RatePpm(v))
    }
    /// The percentage as a short decimal: `25`, `2.5`, `30.5`.
    pub fn pct_string(self) -> String {
        format_scaled(i128::from(self.0), 4, 0)
    }
    /// The exact amount of this rate on a base in fen.
    pub fn of(self, base: Fen) -> CnyExact {
        CnyExact(i128::from(base.0) * i128::from(self.0) * 100)
    }
}
impl Serialize for RatePpm {
    /// Serialised as a percentage string, e.g. `"30.5"`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.pct_string())
    }
}
impl fmt::Display for RatePpm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.pct_string())
    }
}

/// The unit a quantity is declared in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QtyUnit {
    Kg,
    T,
}

impl QtyUnit {
    pub fn parse(raw: &str) -> Option<QtyUnit> {
        match raw.trim_ascii() {
            "kg" | "KG" | "Kg" => Some(QtyUnit::Kg),
            "t" | "T" => Some(QtyUnit::T),
            _ => None,
        }
    }
    pub fn grams(self) -> i64 {
        match self {
            QtyUnit::Kg => 1_000,
            QtyUnit::T => 1_000_000,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            QtyUnit::Kg => "kg",
            QtyUnit::T => "t",
        }
    }
}

/// A mass, exact to the gram. At most 100 million tonnes (a sanity limit on input).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity {
    pub grams: i64,
}

impl Quantity {
    pub const MAX_GRAMS: i64 = 100_000_000 * 1_000_000;

    /// Parses a positive decimal in `unit`, exact to the gram.
    pub fn parse(raw: &str, unit: QtyUnit) -> Result<Self, NumberError> {
        let scale = match unit {
            QtyUnit::Kg => 3,
            QtyUnit::T => 6,
        };
        let grams = parse_scaled(raw, scale)?;
        if grams < 0 {
            return Err(NumberError::Negative(raw.to_owned()));
        }
        if grams == 0 {
            return Err(NumberError::Zero(raw.to_owned()));
        }
        if grams > Self::MAX_GRAMS {
            return Err(NumberError::TooLarge(raw.to_owned()));
        }
        Ok(Quantity { grams })
    }
    /// [`Quantity::parse`] of the common form only (digits with at most one `.`, nothing
    /// else), from bytes: `Some` only where `parse` gives `Ok` with the same value; `None`
    /// for every other form, valid or not.
    #[inline]
    pub fn parse_plain(raw: &[u8], unit: QtyUnit) -> Option<Self> {
        let scale = match unit {
            QtyUnit::Kg => 3,
            QtyUnit::T => 6,
        };
        let grams = parse_scaled_short(raw, scale)?;
        (grams > 0 && grams <= Self::MAX_GRAMS).then_some(Quantity { grams })
    }
    pub fn kg_string(self) -> String {
        format_scaled(i128::from(self.grams), 3, 0)
    }
}

/// An amount of money in hundredths of its currency. At most 10¹³ units (a sanity limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub const MAX_MINOR: i64 = 10_000_000_000_000 * 100;

    /// Parses a positive decimal with at most two decimals.
    pub fn parse(raw: &str, currency: Currency) -> Result<Self, NumberError> {
        let minor = parse_scaled(raw, 2)?;
        if minor < 0 {
            return Err(NumberError::Negative(raw.to_owned()));
        }
        if minor == 0 {
            return Err(NumberError::Zero(raw.to_owned()));
        }
        if minor > Self::MAX_MINOR {
            return Err(NumberError::TooLarge(raw.to_owned()));
        }
        Ok(Money { minor, currency })
    }

    /// [`Money::parse`] of the common form only (as [`Quantity::parse_plain`]).
    #[inline]
    pub fn parse_plain(raw: &[u8], currency: Currency) -> Option<Self> {
        let minor = parse_scaled_short(raw, 2)?;
        (minor > 0 && minor <= Self::MAX_MINOR).then_some(Money { minor, currency })
    }
}

/// CNY per one unit of a foreign currency, to four decimals (as customs publishes it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FxRate {
    pub cny_per_unit_e4: i64,
}

impl FxRate {
    pub fn parse(raw: &str) -> Result<Self, NumberError> {
        let v = parse_scaled(raw, 4)?;
        if v <= 0 {
            return Err(NumberError::Negative(raw.to_owned()));
        }
        Ok(FxRate { cny_per_unit_e4: v })
    }
    /// Converts foreign minor units to fen, rounding half-up once (the customs value rounding point).
    #[inline]
    pub fn convert(self, minor: i64) -> Fen {
        Fen(div_round_half_up(i128::from(minor) * i128::from(self.cny_per_unit_e4), 4) as i64)
    }
}
impl fmt::Display for FxRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_scaled(i128::from(self.cny_per_unit_e4), 4, 4))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_one_pass_parse_agrees_with_the_general_one(
            text in "[.+ -]{0,2}[0-9]{0,9}[.]?[0-9]{0,8}",
            scale in 0u32..=6,
        ) {
            if let Some(v) = parse_scaled_short(text.as_bytes(), scale) {
                prop_assert_eq!(parse_scaled_general(&text, scale), Ok(v));
            }
            prop_assert_eq!(
                parse_scaled(&text, scale),
                parse_scaled_general(&text, scale)
            );
        }

        #[test]
        fn plain_parses_agree_with_the_checked_ones(
            text in "[.+ -]?[0-9]{0,14}[.]?[0-9]{0,8}",
            kg in any::<bool>(),
        ) {
            let unit = if kg { QtyUnit::Kg } else { QtyUnit::T };
            if let Some(q) = Quantity::parse_plain(text.as_bytes(), unit) {
                prop_assert_eq!(Quantity::parse(&text, unit), Ok(q));
            }
            if let Some(m) = Money::parse_plain(text.as_bytes(), Currency::USD) {
                prop_assert_eq!(Money::parse(&text, Currency::USD), Ok(m));
            }
        }

        #[test]
        fn scaled_numbers_round_trip(v in -999_999_999_999_999i64..999_999_999_999_999, scale in 0u32..=6) {
            let text = format_scaled(i128::from(v), scale, 0);
            prop_assert_eq!(parse_scaled(&text, scale), Ok(v));
        }
    }

    #[test]
    fn the_one_pass_parse_takes_points_and_lengths_at_their_limits() {
        assert_eq!(parse_scaled_short(b"5.", 2), Some(500));
        assert_eq!(parse_scaled_short(b".5", 2), Some(50));
        assert_eq!(
            parse_scaled_short(b"123456789012", 0),
            Some(123_456_789_012)
        );
        assert_eq!(
            parse_scaled_short(b"12345678901.2", 1),
            Some(123_456_789_012)
        );
        for bad in [
            &b"."[..],
            b"1.2.3",
            b"1234567890123",
            b"1.234",
            b"1,5",
            b"-1",
            b"1 ",
            b"",
        ] {
            assert_eq!(parse_scaled_short(bad, 2), None, "{bad:?}");
        }
    }

    #[test]
    fn scaled_parsing_is_exact() {
        assert_eq!(parse_scaled("12.5", 2), Ok(1250));
        assert_eq!(parse_scaled("0.3", 4), Ok(3000));
        assert_eq!(parse_scaled("-1", 0), Ok(-1));
        assert_eq!(parse_scaled("1.230", 2), Ok(123));
        assert!(matches!(
            parse_scaled("1.234", 2),
            Err(NumberError::TooPrecise { .. })
        ));
        for bad in ["", ".", "1,000", "1e5", "abc", "1.2.3", "--1", " "] {
            assert!(parse_scaled(bad, 2).is_err(), "{bad}");
        }
        assert!(matches!(
            parse_scaled("1234567890123456", 0),
            Err(NumberError::TooLarge(_))
        ));
        // Used to overflow (a panic in debug builds, a wrapped value in release ones).
        assert!(matches!(
            parse_scaled("99999999999999", 6),
            Err(NumberError::TooLarge(_))
        ));
        assert_eq!(
            parse_scaled("9999999999999", 5),
            Ok(999_999_999_999_900_000)
        );
    }

    #[test]
    fn rounding_is_half_up_at_the_fen() {
        assert_eq!(div_round_half_up(12345, 1), 1235);
        assert_eq!(div_round_half_up(12344, 1), 1234);
        assert_eq!(div_round_half_up(-12345, 1), -1235);
        assert_eq!(CnyExact(CnyExact::PER_FEN / 2).round_to_fen(), Fen(1));
        assert_eq!(CnyExact(CnyExact::PER_FEN / 2 - 1).round_to_fen(), Fen(0));
    }

    #[test]
    fn quantities_and_money_reject_nonsense() {
        assert_eq!(Quantity::parse("1.5", QtyUnit::T).unwrap().grams, 1_500_000);
        assert!(matches!(
            Quantity::parse("-5", QtyUnit::Kg),
            Err(NumberError::Negative(_))
        ));
        assert!(matches!(
            Quantity::parse("0", QtyUnit::Kg),
            Err(NumberError::Zero(_))
        ));
        assert!(Quantity::parse("0.0001", QtyUnit::Kg).is_err());
        assert_eq!(Money::parse("100.10", Currency::USD).unwrap().minor, 10010);
        assert_eq!(FxRate::parse("7.0883").unwrap().convert(10000), Fen(70883));
        assert_eq!(FxRate::parse("6.5616").unwrap().convert(1), Fen(7)); // 6.5616 fen → 7
        assert_eq!(RatePpm::parse_pct("30.5").unwrap().pct_string(), "30.5");
        assert_eq!(RatePpm(250_000).to_string(), "25%");
        assert_eq!(Fen(-5).to_string(), "-0.05");
    }
}
