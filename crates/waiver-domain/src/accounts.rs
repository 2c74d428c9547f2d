//! Accounts: roles, usernames and the password policy. Who may do what is decided in one place
//! per action by the service; this module only names the parts.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AccountError {
    #[error("role `{0}` is unknown; use applicant, expert, officer, customs, analyst or admin")]
    Role(String),
    #[error("username `{0}` is not 3 to 32 lower-case letters, digits, `.`, `_` or `-`, starting with a letter")]
    Username(String),
    #[error("a password needs {min} to {max} characters; this one has {len}")]
    PasswordLength { len: usize, min: usize, max: usize },
}

/// What a user is in Waiver. An applicant is always bound to an enterprise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Applicant,
    Expert,
    Officer,
    Customs,
    Analyst,
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Applicant,
        Role::Expert,
        Role::Officer,
        Role::Customs,
        Role::Analyst,
        Role::Admin,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Applicant => "applicant",
            Role::Expert => "expert",
            Role::Officer => "officer",
            Role::Customs => "customs",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }
    pub fn parse(raw: &str) -> Result<Role, AccountError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == raw.trim_ascii())
            .ok_or_else(|| AccountError::Role(raw.to_owned()))
    }
}
impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A login name: 3–32 of `a-z 0-9 . _ -`, starting with a letter.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Username, AccountError> {
        let b = raw.as_bytes();
        let ok = (3..=32).contains(&b.len())
            && b[0].is_ascii_lowercase()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(c));
        if ok {
            Ok(Username(raw.to_owned()))
        } else {
            Err(AccountError::Username(raw.to_owned()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub const PASSWORD_MIN_CHARS: usize = 10;
pub const PASSWORD_MAX_CHARS: usize = 128;

/// Checks the password policy: length only (NIST SP 800-63B), 10 to 128 characters.
pub fn check_password(password: &str) -> Result<(), AccountError> {
    let len = password.chars().count();
    if (PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&len) {
        Ok(())
    } else {
        Err(AccountError::PasswordLength {
            len,
            min: PASSWORD_MIN_CHARS,
            max: PASSWORD_MAX_CHARS,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_roles_and_passwords() {
        assert_eq!(Role::parse("officer"), Ok(Role::Officer));
        assert!(Role::parse("boss").is_err());
        assert!(Username::parse("li.wei-2").is_ok());
        for bad in ["Li", "2li", "li wei", "", &"a".repeat(33)] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
        assert!(check_password("correct horse").is_ok());
        assert!(check_password("short").is_err());
    }
}
