//! Instants on Beijing civil time (UTC+8, no daylight saving since 1991), which is how every
//! Chinese tariff measure states its validity. A bare date means 00:00 of that day.

use std::fmt;

use serde::{Serialize, Serializer};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("`{0}` is not a date or time; write YYYY-MM-DD, YYYY-MM-DDTHH:MM (Beijing time) or RFC 3339 with an offset, e.g. 2019-09-01T08:30:00+08:00")]
pub struct TimeError(pub String);

/// How much of the instant the input stated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    DateOnly,
    Minute,
    Second,
}

const SECS_PER_DAY: i64 = 86_400;
const BEIJING_OFFSET_SECS: i64 = 8 * 3600;

/// Seconds since 1970-01-01 00:00:00 Beijing time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BjTime(pub i64);

/// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (any year): the reference
/// for [`days_from_civil_modern`].
#[cfg(test)]
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// [`days_from_civil`] for a valid date of the years 1900–2199, in unsigned 32-bit arithmetic
/// (every intermediate is positive there).
#[inline]
fn days_from_civil_modern(y: i64, m: i64, d: i64) -> i64 {
    let (y, m, d) = (y as u32, m as u32, d as u32);
    let y = y - u32::from(m <= 2);
    let (era, yoe) = (y / 400, y % 400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    i64::from(era * 146_097 + doe) - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn num(b: &[u8]) -> Option<i64> {
    let mut v = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i64::from(c - b'0');
    }
    Some(v)
}

impl BjTime {
    /// Builds an instant from Beijing civil fields; `None` if any is out of range (years 1900–2199).
    pub fn from_civil(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<BjTime> {
        if !(1900..2200).contains(&y)
            || !(1..=12).contains(&mo)
            || d < 1
            || (d > 28 && d > days_in_month(y, mo))
        {
            return None;
        }
        if !(0..24).contains(&h) || !(0..60).contains(&mi) || !(0..60).contains(&s) {
            return None;
        }
        Some(BjTime(
            days_from_civil_modern(y, mo, d) * SECS_PER_DAY + h * 3600 + mi * 60 + s,
        ))
    }

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS]` (Beijing time; a space may replace `T`),
    /// or RFC 3339 with `Z` or `±HH:MM` (converted to Beijing time). Fractions of a second are dropped.
    pub fn parse(raw: &str) -> Result<(BjTime, Precision), TimeError> {
        let err = || TimeError(raw.to_owned());
        let b = raw.trim_ascii().as_bytes();
        if b.len() < 10 || b.len() > 40 || b[4] != b'-' || b[7] != b'-' {
            return Err(err());
        }
        let (y, mo, d) = (
            num(&b[0..4]).ok_or_else(err)?,
            num(&b[5..7]).ok_or_else(err)?,
            num(&b[8..10]).ok_or_else(err)?,
        );
        if b.len() == 10 {
            return Self::from_civil(y, mo, d, 0, 0, 0)
                .map(|t| (t, Precision::DateOnly))
                .ok_or_else(err);
        }
        if (b[10] != b'T' && b[10] != b't' && b[10] != b' ') || b.len() < 16 || b[13] != b':' {
            return Err(err());
        }
        let h = num(&b[11..13]).ok_or_else(err)?;
        let mi = num(&b[14..16]).ok_or_else(err)?;
        let mut rest = &b[16..];
        let mut s = 0;
        let mut precision = Precision::Minute;
        if rest.first() == Some(&b':') {
            if rest.len() < 3 {
                return Err(err());
            }
            s = num(&rest[1..3]).ok_or_else(err)?;
            precision = Precision::Second;
            rest = &rest[3..];
            if rest.first() == Some(&b'.') {
                let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                if n == 0 {
                    return Err(err());
                }
                rest = &rest[1 + n..];
            }
        }
        let local = Self::from_civil(y, mo, d, h, mi, s).ok_or_else(err)?;
        let offset = match rest {
            [] => return Ok((local, precision)),
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), oh1, oh2, b':', om1, om2] => {
                let oh = num(&[*oh1, *oh2]).ok_or_else(err)?;
                let om = num(&[*om1, *om2]).ok_or_else(err)?;
                if oh > 23 || om > 59 {
                    return Err(err());
                }
                let o = oh * 3600 + om * 60;
                if *sign == b'-' {
                    -o
                } else {
                    o
                }
            }
            _ => return Err(err()),
        };
        Ok((BjTime(local.0 - offset + BEIJING_OFFSET_SECS), precision))
    }

    /// Parses and discards the precision.
    pub fn parse_instant(raw: &str) -> Result<BjTime, TimeError> {
        Self::parse(raw).map(|(t, _)| t)
    }

    pub fn day(self) -> i64 {
        self.0.div_euclid(SECS_PER_DAY)
    }
    pub fn start_of_day(self) -> BjTime {
        BjTime(self.day() * SECS_PER_DAY)
    }
    pub fn is_midnight(self) -> bool {
        self.0.rem_euclid(SECS_PER_DAY) == 0
    }
    pub fn next_day(self) -> BjTime {
        BjTime(self.start_of_day().0 + SECS_PER_DAY)
    }
    pub fn month(self) -> Month {
        let (y, m, _) = civil_from_days(self.day());
        Month((y * 12 + m - 1) as i32)
    }
    pub fn civil(self) -> (i64, i64, i64, i64, i64, i64) {
        let (y, m, d) = civil_from_days(self.day());
        let r = self.0.rem_euclid(SECS_PER_DAY);
        (y, m, d, r / 3600, r % 3600 / 60, r % 60)
    }
}

impl fmt::Display for BjTime {
    /// `2025-04-10` at midnight, `2025-04-10 12:01` otherwise (Beijing time).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d, h, mi, s) = self.civil();
        write!(f, "{y:04}-{m:02}-{d:02}")?;
        if (h, mi, s) != (0, 0, 0) {
            write!(f, " {h:02}:{mi:02}")?;
            if s != 0 {
                write!(f, ":{s:02}")?;
            }
        }
        Ok(())
    }
}
impl Serialize for BjTime {
    /// RFC 3339 with the Beijing offset, e.g. `2025-04-10T12:01:00+08:00`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (y, m, d, h, mi, sec) = self.civil();
        s.collect_str(&format_args!(
            "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{sec:02}+08:00"
        ))
    }
}

/// A calendar month, as `year * 12 + (month - 1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(pub i32);

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(raw: &str) -> Option<Month> {
        let b = raw.trim_ascii().as_bytes();
        if b.len() != 7 || b[4] != b'-' {
            return None;
        }
        let (y, m) = (num(&b[..4])?, num(&b[5..])?);
        ((1900..2200).contains(&y) && (1..=12).contains(&m)).then(|| Month((y * 12 + m - 1) as i32))
    }
}
impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}",
            self.0.div_euclid(12),
            self.0.rem_euclid(12) + 1
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn modern_days_match_the_general_formula() {
        for y in 1900..2200 {
            for m in 1..=12 {
                for d in 1..=31 {
                    assert_eq!(
                        days_from_civil_modern(y, m, d),
                        days_from_civil(y, m, d),
                        "{y}-{m}-{d}"
                    );
                }
            }
        }
    }

    #[test]
    fn parses_every_accepted_form() {
        let (t, p) = BjTime::parse("2025-04-10").unwrap();
        assert_eq!(
            (t.to_string(), p),
            ("2025-04-10".to_owned(), Precision::DateOnly)
        );
        let (t, p) = BjTime::parse("2025-04-10T12:01").unwrap();
        assert_eq!(
            (t.to_string(), p),
            ("2025-04-10 12:01".to_owned(), Precision::Minute)
        );
        // 04:01 UTC is 12:01 in Beijing.
        assert_eq!(
            BjTime::parse_instant("2025-04-10T04:01:00Z")
                .unwrap()
                .to_string(),
            "2025-04-10 12:01"
        );
        assert_eq!(
            BjTime::parse_instant("2025-04-09T23:01:00.5-05:00")
                .unwrap()
                .to_string(),
            "2025-04-10 12:01"
        );
        assert_eq!(
            BjTime::parse_instant("2019-09-01 08:30:15")
                .unwrap()
                .to_string(),
            "2019-09-01 08:30:15"
        );
        assert_eq!(t.month().to_string(), "2025-04");
    }

    #[test]
    fn rejects_impossible_dates() {
        for bad in [
            "2019-02-29",
            "2019-13-01",
            "2019-1-01",
            "2019-01-01T25:00",
            "2019-01-01T10:00+8",
            "yesterday",
            "2019-01-01T10:00:00+08:00x",
        ] {
            assert!(BjTime::parse(bad).is_err(), "{bad}");
        }
        assert!(BjTime::parse("2020-02-29").is_ok());
    }

    proptest! {
        #[test]
        fn civil_round_trips(days in -25_000i64..80_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
