//! Policy changes (PRODUCT.md C5): first-class records of rule changes with an effective
//! instant — suspending intake for lines of a programme, or re-dating the validity of every
//! allowance (and published product exclusion) that matches a filter — instead of a pop-up.

use serde::{Deserialize, Serialize};

use crate::application::FieldProblem;
use crate::codes::TariffCode;
use crate::time::BjTime;

pub const MAX_POLICY_LINES: usize = 1_000;
pub const MAX_POLICY_TEXT_CHARS: usize = 4_000;

/// What a policy change does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PolicyAction {
    /// No new applications for these lines (all of the programme's lines when empty) from the
    /// effective instant.
    SuspendIntake {
        #[serde(default)]
        lines: Vec<String>,
    },
    /// Sets the end of validity (exclusive; a date means its 00:00) of every allowance and
    /// product exclusion of the programme that matches the filter and is still valid at the
    /// effective instant.
    Redate {
        valid_until: String,
        #[serde(default)]
        line: Option<String>,
        #[serde(default)]
        holder: Option<String>,
    },
}

/// A policy change as an officer writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyChangeSpec {
    pub programme: String,
    /// Beijing time, `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`.
    pub effective_at: String,
    pub action: PolicyAction,
    pub reason: String,
    #[serde(default)]
    pub source: Option<String>,
    /// The earlier change of the same programme this one revises (`POL-<year>-<n>`); the new
    /// record is its next version and the earlier one stops applying to intake.
    #[serde(default)]
    pub supersedes: Option<String>,
}

/// The validated parts of a policy change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyChange {
    pub effective_at: BjTime,
    pub suspended_lines: Option<Vec<TariffCode>>,
    pub redate: Option<Redate>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redate {
    pub valid_until: BjTime,
    pub line: Option<TariffCode>,
    pub holder: Option<String>,
}

fn problem(field: &str, message: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field: field.to_owned(),
        message: message.into(),
    }
}

impl PolicyChangeSpec {
    pub fn validate(&self) -> Result<PolicyChange, Vec<FieldProblem>> {
        let mut p = Vec::new();
        if self.reason.trim().is_empty() {
            p.push(problem("reason", "is required: say what changes and why"));
        }
        if self.reason.chars().count() > MAX_POLICY_TEXT_CHARS
            || self
                .source
                .as_ref()
                .is_some_and(|s| s.chars().count() > MAX_POLICY_TEXT_CHARS)
        {
            p.push(problem(
                "reason",
                format!("reason and source are at most {MAX_POLICY_TEXT_CHARS} characters"),
            ));
        }
        let effective_at = match BjTime::parse(&self.effective_at) {
            Ok((t, _)) => t,
            Err(e) => {
                p.push(problem("effective_at", e.0));
                BjTime(0)
            }
        };
        let mut out = PolicyChange {
            effective_at,
            suspended_lines: None,
            redate: None,
        };
        match &self.action {
            PolicyAction::SuspendIntake { lines } => {
                if lines.len() > MAX_POLICY_LINES {
                    p.push(problem(
                        "action.lines",
                        format!("at most {MAX_POLICY_LINES} lines"),
                    ));
                }
                let mut codes = Vec::new();
                for (i, l) in lines.iter().enumerate() {
                    match TariffCode::parse(l) {
                        Ok(c) => codes.push(c),
                        Err(e) => p.push(problem(&format!("action.lines[{i}]"), e.to_string())),
                    }
                }
                out.suspended_lines = Some(codes);
            }
            PolicyAction::Redate {
                valid_until,
                line,
                holder,
            } => {
                let until = match BjTime::parse(valid_until) {
                    Ok((t, _)) => t,
                    Err(e) => {
                        p.push(problem("action.valid_until", e.0));
                        BjTime(0)
                    }
                };
                let line = match line.as_deref().map(TariffCode::parse).transpose() {
                    Ok(l) => l,
                    Err(e) => {
                        p.push(problem("action.line", e.to_string()));
                        None
                    }
                };
                if let Some(h) = holder {
                    if let Err(e) = crate::codes::RegistrationCode::parse(h) {
                        p.push(problem("action.holder", e.to_string()));
                    }
                }
                out.redate = Some(Redate {
                    valid_until: until,
                    line,
                    holder: holder.clone(),
                });
            }
        }
        if p.is_empty() {
            Ok(out)
        } else {
            Err(p)
        }
    }
}

impl PolicyChange {
    /// Whether this change stops intake of `line` at `at`.
    pub fn suspends(&self, line: &TariffCode, at: BjTime) -> bool {
        at >= self.effective_at
            && self.suspended_lines.as_ref().is_some_and(|ls| {
                ls.is_empty() || ls.iter().any(|l| l == line || line.parent8() == Some(*l))
            })
    }
}

impl Redate {
    /// Whether an allowance (or product exclusion: `holder` `None`) is re-dated by this change:
    /// it matches the filter and is still valid at the effective instant.
    pub fn matches(
        &self,
        effective_at: BjTime,
        line: &TariffCode,
        holder: Option<&str>,
        valid_until: BjTime,
    ) -> bool {
        valid_until > effective_at
            && self.line.is_none_or(|l| l == *line)
            && match (&self.holder, holder) {
                (None, _) => true,
                (Some(want), Some(h)) => want == h,
                (Some(_), None) => false,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(action: PolicyAction) -> PolicyChangeSpec {
        PolicyChangeSpec {
            programme: "CN-2020-MKT".into(),
            effective_at: "2025-08-01".into(),
            action,
            reason: "intake stopped".into(),
            source: None,
            supersedes: None,
        }
    }

    #[test]
    fn suspension_applies_from_the_effective_instant_to_listed_lines() {
        let c = spec(PolicyAction::SuspendIntake {
            lines: vec!["1201.90.00".into()],
        })
        .validate()
        .unwrap();
        let soy = TariffCode::parse("12019000").unwrap();
        let sorghum = TariffCode::parse("10079000").unwrap();
        let before = BjTime::parse_instant("2025-07-31T23:59").unwrap();
        let after = BjTime::parse_instant("2025-08-01").unwrap();
        assert!(!c.suspends(&soy, before));
        assert!(c.suspends(&soy, after));
        assert!(!c.suspends(&sorghum, after));
        let all = spec(PolicyAction::SuspendIntake { lines: vec![] })
            .validate()
            .unwrap();
        assert!(all.suspends(&sorghum, after));
    }

    #[test]
    fn redating_matches_only_still_valid_allowances_in_the_filter() {
        let c = spec(PolicyAction::Redate {
            valid_until: "2025-09-15".into(),
            line: None,
            holder: None,
        })
        .validate()
        .unwrap();
        let r = c.redate.as_ref().unwrap();
        let soy = TariffCode::parse("12019000").unwrap();
        let expired = BjTime::parse_instant("2025-07-01").unwrap();
        let later = BjTime::parse_instant("2026-02-01").unwrap();
        assert!(!r.matches(c.effective_at, &soy, Some("3700BN0001"), expired));
        assert!(r.matches(c.effective_at, &soy, Some("3700BN0001"), later));
        assert!(r.matches(c.effective_at, &soy, None, later));
    }

    #[test]
    fn bad_fields_are_named() {
        let mut s = spec(PolicyAction::Redate {
            valid_until: "someday".into(),
            line: Some("12".into()),
            holder: Some("x".into()),
        });
        s.reason = String::new();
        let fields: Vec<String> = s
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(
            fields,
            vec![
                "reason",
                "action.valid_until",
                "action.line",
                "action.holder"
            ]
        );
    }
}
