//! A quantity ledger (PRODUCT.md C6): append-only entries, each naming its cause, from which
//! the balance is derived. It serves an importer's allowance (granted quantity plus an overfill
//! tolerance) and is generic enough for a country-level quota (granted = the year's quota,
//! tolerance zero): nothing here knows who holds it.
//!
//! Invariants, whatever the order of operations:
//! - entries are only appended; the balance is a fold over them ([`Balance::of`]);
//! - `0 <= used <= ceiling`, where `ceiling = granted + tolerance` (rounded down to the gram);
//! - a reversal undoes exactly what is still drawn under one cause, so reversing twice is a
//!   no-op and a cause can never be reversed below zero.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// What an entry does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// The quantity granted by a decision (positive).
    Grant,
    /// A change of the granted quantity on appeal (signed).
    Amend,
    /// A change of the granted quantity by a policy change (signed; zero for a re-dating).
    PolicyAdjustment,
    /// Quantity used by a declaration (positive).
    Draw,
    /// A draw undone by a cancellation or amendment (negative).
    Reversal,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Grant => "grant",
            EntryKind::Amend => "amend",
            EntryKind::PolicyAdjustment => "policy_adjustment",
            EntryKind::Draw => "draw",
            EntryKind::Reversal => "reversal",
        }
    }
    pub fn parse(s: &str) -> Option<EntryKind> {
        Some(match s {
            "grant" => EntryKind::Grant,
            "amend" => EntryKind::Amend,
            "policy_adjustment" => EntryKind::PolicyAdjustment,
            "draw" => EntryKind::Draw,
            "reversal" => EntryKind::Reversal,
            _ => return None,
        })
    }
    /// Whether the entry changes the granted (rather than the used) quantity.
    pub fn changes_granted(self) -> bool {
        matches!(
            self,
            EntryKind::Grant | EntryKind::Amend | EntryKind::PolicyAdjustment
        )
    }
}

/// One appended entry: a signed quantity in grams and what caused it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: EntryKind,
    pub quantity_g: i64,
    /// A decision, an appeal, a declaration (`declaration <number>`), a policy change.
    pub cause: String,
}

/// The derived balance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Balance {
    pub granted_g: i64,
    pub tolerance_ppm: i64,
    pub used_g: i64,
}

impl Balance {
    /// The fold over entries.
    pub fn of<'a>(tolerance_ppm: i64, entries: impl IntoIterator<Item = &'a Entry>) -> Balance {
        let mut b = Balance {
            tolerance_ppm,
            ..Balance::default()
        };
        for e in entries {
            if e.kind.changes_granted() {
                b.granted_g += e.quantity_g;
            } else {
                b.used_g += e.quantity_g;
            }
        }
        b
    }
    /// granted × (1 + tolerance), rounded down to the gram.
    pub fn ceiling_g(&self) -> i64 {
        ceiling_g(self.granted_g, self.tolerance_ppm)
    }
    /// What may still be drawn (never negative).
    pub fn remaining_g(&self) -> i64 {
        (self.ceiling_g() - self.used_g).max(0)
    }
}

/// granted × (1 + tolerance), rounded down to the gram.
pub fn ceiling_g(granted_g: i64, tolerance_ppm: i64) -> i64 {
    let extra = i128::from(granted_g) * i128::from(tolerance_ppm) / 1_000_000;
    granted_g.saturating_add(i64::try_from(extra).unwrap_or(i64::MAX))
}

/// An operation the ledger refuses; nothing is appended.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum LedgerError {
    #[error("a quantity must be positive (got {0} g)")]
    NotPositive(i64),
    #[error("the ceiling would fall to {ceiling_g} g, below the {used_g} g already used")]
    BelowUsed { ceiling_g: i64, used_g: i64 },
    #[error("the granted quantity cannot become negative")]
    NegativeGrant,
    #[error("the cause must be named")]
    NoCause,
}

/// A ledger in memory: what the store keeps as rows, and what property tests drive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    pub tolerance_ppm: i64,
    entries: Vec<Entry>,
}

impl Ledger {
    pub fn new(tolerance_ppm: i64) -> Ledger {
        Ledger {
            tolerance_ppm,
            entries: Vec::new(),
        }
    }
    /// Rebuilds a ledger from stored entries (in order).
    pub fn from_entries(tolerance_ppm: i64, entries: Vec<Entry>) -> Ledger {
        Ledger {
            tolerance_ppm,
            entries,
        }
    }
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
    pub fn balance(&self) -> Balance {
        Balance::of(self.tolerance_ppm, &self.entries)
    }

    fn push(&mut self, kind: EntryKind, quantity_g: i64, cause: &str) -> Result<(), LedgerError> {
        if cause.trim().is_empty() {
            return Err(LedgerError::NoCause);
        }
        self.entries.push(Entry {
            kind,
            quantity_g,
            cause: cause.to_owned(),
        });
        Ok(())
    }

    /// Adds to the granted quantity (a decision's grant).
    pub fn grant(&mut self, quantity_g: i64, cause: &str) -> Result<(), LedgerError> {
        if quantity_g <= 0 {
            return Err(LedgerError::NotPositive(quantity_g));
        }
        self.push(EntryKind::Grant, quantity_g, cause)
    }

    /// Changes the granted quantity (appeal or policy change); refused if the ceiling would fall
    /// below what is already used.
    pub fn adjust(
        &mut self,
        kind: EntryKind,
        delta_g: i64,
        cause: &str,
    ) -> Result<(), LedgerError> {
        debug_assert!(matches!(
            kind,
            EntryKind::Amend | EntryKind::PolicyAdjustment
        ));
        let b = self.balance();
        let granted = b.granted_g + delta_g;
        if granted < 0 {
            return Err(LedgerError::NegativeGrant);
        }
        let ceiling = ceiling_g(granted, self.tolerance_ppm);
        if ceiling < b.used_g {
            return Err(LedgerError::BelowUsed {
                ceiling_g: ceiling,
                used_g: b.used_g,
            });
        }
        self.push(kind, delta_g, cause)
    }

    /// Draws as much of `wanted_g` as remains; returns the quantity drawn (possibly zero, in
    /// which case nothing is appended).
    pub fn draw_up_to(&mut self, wanted_g: i64, cause: &str) -> Result<i64, LedgerError> {
        if wanted_g <= 0 {
            return Err(LedgerError::NotPositive(wanted_g));
        }
        let drawn = wanted_g.min(self.balance().remaining_g());
        if drawn > 0 {
            self.push(EntryKind::Draw, drawn, cause)?;
        }
        Ok(drawn)
    }

    /// What is still drawn under `cause` (draws minus reversals).
    pub fn drawn_by(&self, cause: &str) -> i64 {
        self.entries
            .iter()
            .filter(|e| e.cause == cause && !e.kind.changes_granted())
            .map(|e| e.quantity_g)
            .sum()
    }

    /// Reverses whatever is still drawn under `cause`; returns the quantity given back (zero
    /// when there is nothing to reverse, e.g. the second time).
    pub fn reverse(&mut self, cause: &str) -> Result<i64, LedgerError> {
        let drawn = self.drawn_by(cause);
        if drawn > 0 {
            self.push(EntryKind::Reversal, -drawn, cause)?;
        }
        Ok(drawn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_stop_at_granted_plus_tolerance_and_reverse_once() {
        let mut l = Ledger::new(100_000); // 10 %
        l.grant(1_000, "decision 1").unwrap();
        assert_eq!(l.balance().ceiling_g(), 1_100);
        assert_eq!(l.draw_up_to(800, "declaration A").unwrap(), 800);
        assert_eq!(l.draw_up_to(800, "declaration B").unwrap(), 300);
        assert_eq!(l.draw_up_to(1, "declaration C").unwrap(), 0);
        assert_eq!(l.entries().len(), 3);
        assert_eq!(l.reverse("declaration A").unwrap(), 800);
        assert_eq!(l.reverse("declaration A").unwrap(), 0);
        assert_eq!(l.balance().used_g, 300);
        assert_eq!(
            l.adjust(EntryKind::Amend, -800, "appeal"),
            Err(LedgerError::BelowUsed {
                ceiling_g: 220,
                used_g: 300
            })
        );
        assert_eq!(l.draw_up_to(0, "x"), Err(LedgerError::NotPositive(0)));
    }
}
