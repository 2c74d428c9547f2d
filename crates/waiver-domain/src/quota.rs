//! Country quotas (PRODUCT.md C6, issue 5 item 7): a country's yearly quantity of some goods,
//! kept as the same append-only ledger as an allowance ([`crate::ledger`]: a grant entry for the
//! year's quota, a draw per declaration line, a reversal per cancellation), drawn automatically
//! by origin and line. Unlike an allowance a quota never refuses a draw: imports go on after it
//! is reached and pay its conditional layer (the 2026 beef safeguard: +55% on top of the
//! applicable rate from the third day after the quota is reached).
//!
//! Rules:
//! - a line draws its whole quantity (covered by an allowance or not) from every quota whose
//!   origin, goods and calendar year (Beijing time) match it at `declared_at`;
//! - the quota is *reached* by the draw that takes `used >= quota`; the instant is that
//!   declaration's `declared_at`. A reversal that takes `used` back under the quota clears it;
//! - the conditional layer applies to lines declared on or after 00:00 of the third day after
//!   the day the quota was reached (reached on the 10th → from the 13th);
//! - notices are given when a draw first takes `used` to 50%, 80% and 100% of the quota.

use serde::Serialize;

use crate::codes::{CodePrefix, CountryCode, Origin, TariffCode};
use crate::time::BjTime;

/// Days after the day a quota is reached before its conditional layer applies.
pub const SURCHARGE_AFTER_DAYS: i64 = 3;
/// The shares of the quota at which a notice is given, in percent.
pub const NOTICE_THRESHOLDS_PCT: [u8; 3] = [50, 80, 100];

/// A country quota as it stands (read under its lock).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaState {
    /// `<measure>/<origin>/<year>`, e.g. `SG-2026-beef/US/2026`.
    pub id: String,
    /// The conditional measure the quota triggers.
    pub measure: String,
    pub origin: CountryCode,
    /// The goods it counts (the measure's code prefixes).
    pub goods: Vec<CodePrefix>,
    pub year: i32,
    pub quota_g: i64,
    pub used_g: i64,
    pub reached_at: Option<BjTime>,
}

/// A threshold first passed by a draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub threshold_pct: u8,
    /// The `declared_at` of the line whose draw passed it.
    pub at: BjTime,
}

/// The id a quota gets.
pub fn quota_id(measure: &str, origin: CountryCode, year: i32) -> String {
    format!("{measure}/{}/{year}", origin.as_str())
}

/// The first instant of a calendar year, Beijing time.
pub fn year_start(year: i32) -> Option<BjTime> {
    BjTime::from_civil(i64::from(year), 1, 1, 0, 0, 0)
}

impl QuotaState {
    /// Whether a line of `code` from `origin` declared at `at` counts against this quota.
    pub fn covers(&self, code: &TariffCode, origin: &Origin, at: BjTime) -> bool {
        *origin == Origin::Country(self.origin)
            && self.goods.iter().any(|p| p.matches(code))
            && self.in_year(at)
    }

    fn in_year(&self, at: BjTime) -> bool {
        match (
            year_start(self.year),
            year_start(self.year.saturating_add(1)),
        ) {
            (Some(a), Some(b)) => a <= at && at < b,
            _ => false,
        }
    }

    /// From when the conditional layer applies, once the quota is reached.
    pub fn surcharge_from(&self) -> Option<BjTime> {
        self.reached_at
            .map(|r| BjTime(r.start_of_day().0 + SURCHARGE_AFTER_DAYS * 86_400))
    }

    /// Whether the conditional layer applies to a line declared at `at`.
    pub fn surcharge_applies(&self, at: BjTime) -> bool {
        self.surcharge_from().is_some_and(|f| f <= at)
    }

    /// What is left before the quota is reached (never negative).
    pub fn remaining_g(&self) -> i64 {
        (self.quota_g - self.used_g).max(0)
    }

    /// `used / quota` in basis points (10 000 = 100%), rounded down.
    pub fn used_bp(&self) -> i64 {
        if self.quota_g <= 0 {
            return 0;
        }
        i64::try_from(i128::from(self.used_g.max(0)) * 10_000 / i128::from(self.quota_g))
            .unwrap_or(i64::MAX)
    }

    /// Draws `quantity_g` for a line declared at `at` (never refused); returns the thresholds
    /// this draw passed.
    pub fn draw(&mut self, quantity_g: i64, at: BjTime) -> Vec<Notice> {
        let before = self.used_g;
        self.used_g = self.used_g.saturating_add(quantity_g.max(0));
        if self.reached_at.is_none() && self.used_g >= self.quota_g {
            self.reached_at = Some(at);
        }
        crossed(self.quota_g, before, self.used_g)
            .into_iter()
            .map(|threshold_pct| Notice { threshold_pct, at })
            .collect()
    }

    /// Gives back `quantity_g` (a cancelled or amended declaration); a quota taken back under
    /// its size is no longer reached.
    pub fn reverse(&mut self, quantity_g: i64) {
        self.used_g = (self.used_g - quantity_g.max(0)).max(0);
        if self.used_g < self.quota_g {
            self.reached_at = None;
        }
    }
}

/// The thresholds passed going from `before_g` to `after_g` used.
pub fn crossed(quota_g: i64, before_g: i64, after_g: i64) -> Vec<u8> {
    NOTICE_THRESHOLDS_PCT
        .into_iter()
        .filter(|&t| {
            let level = i128::from(quota_g) * i128::from(t);
            i128::from(before_g) * 100 < level && i128::from(after_g) * 100 >= level
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us_beef(quota_g: i64) -> QuotaState {
        QuotaState {
            id: "SG-2026-beef/US/2026".into(),
            measure: "SG-2026-beef".into(),
            origin: CountryCode::parse("US").unwrap(),
            goods: vec![
                CodePrefix::parse("0201").unwrap(),
                CodePrefix::parse("0202").unwrap(),
            ],
            year: 2026,
            quota_g,
            used_g: 0,
            reached_at: None,
        }
    }

    fn at(raw: &str) -> BjTime {
        BjTime::parse_instant(raw).unwrap()
    }

    #[test]
    fn covers_its_origin_goods_and_year_only() {
        let q = us_beef(1_000);
        let beef = TariffCode::parse("02023000").unwrap();
        let pork = TariffCode::parse("02032900").unwrap();
        let us = Origin::parse("US").unwrap();
        let au = Origin::parse("AU").unwrap();
        assert!(q.covers(&beef, &us, at("2026-01-01")));
        assert!(q.covers(&beef, &us, at("2026-12-31T23:59")));
        assert!(!q.covers(&beef, &us, at("2027-01-01")));
        assert!(!q.covers(&beef, &us, at("2025-12-31T23:59")));
        assert!(!q.covers(&pork, &us, at("2026-03-01")));
        assert!(!q.covers(&beef, &au, at("2026-03-01")));
        assert!(!q.covers(&beef, &Origin::Unknown, at("2026-03-01")));
    }

    #[test]
    fn notices_at_50_80_and_100_percent_once_each() {
        let mut q = us_beef(1_000);
        assert_eq!(q.draw(499, at("2026-02-01")), vec![]);
        assert_eq!(
            q.draw(1, at("2026-02-02")),
            vec![Notice {
                threshold_pct: 50,
                at: at("2026-02-02")
            }]
        );
        let n = q.draw(600, at("2026-03-01T10:00"));
        assert_eq!(
            n.iter().map(|n| n.threshold_pct).collect::<Vec<_>>(),
            vec![80, 100]
        );
        assert_eq!(q.reached_at, Some(at("2026-03-01T10:00")));
        assert_eq!(q.draw(5_000, at("2026-03-05")), vec![]);
        assert_eq!(q.remaining_g(), 0);
        assert_eq!(q.used_bp(), 61_000);
    }

    #[test]
    fn the_surcharge_starts_on_the_third_day_after_the_quota_is_reached() {
        let mut q = us_beef(1_000);
        assert!(!q.surcharge_applies(at("2026-12-31")));
        q.draw(1_000, at("2026-03-10T16:30"));
        assert_eq!(q.surcharge_from(), Some(at("2026-03-13")));
        assert!(!q.surcharge_applies(at("2026-03-12T23:59")));
        assert!(q.surcharge_applies(at("2026-03-13")));
    }

    #[test]
    fn a_reversal_under_the_quota_clears_reached() {
        let mut q = us_beef(1_000);
        q.draw(1_200, at("2026-03-10"));
        q.reverse(100);
        assert!(q.reached_at.is_some());
        q.reverse(200);
        assert_eq!(q.used_g, 900);
        assert_eq!(q.reached_at, None);
        q.reverse(5_000);
        assert_eq!(q.used_g, 0);
    }
}
