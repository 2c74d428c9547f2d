//! Sign-in rate limiting: after `MAX_FAILURES` wrong passwords for one username within
//! `WINDOW_MS`, that username is locked for `LOCK_MS` (a right password included), so that a
//! password cannot be guessed online. In memory, bounded to `MAX_KEYS` usernames.

use std::collections::HashMap;
use std::sync::Mutex;

pub const MAX_FAILURES: u32 = 5;
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
pub const LOCK_MS: i64 = 15 * 60 * 1000;
pub const MAX_KEYS: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Window {
    failures: u32,
    first_ms: i64,
    locked_until_ms: i64,
}

#[derive(Debug, Default)]
pub struct SignInLimiter {
    windows: Mutex<HashMap<String, Window>>,
}

impl SignInLimiter {
    /// `Err(seconds)` while `username` is locked.
    pub fn check(&self, username: &str, now_ms: i64) -> Result<(), i64> {
        let Ok(w) = self.windows.lock() else {
            return Ok(());
        };
        match w.get(&username.to_lowercase()) {
            Some(x) if x.locked_until_ms > now_ms => Err((x.locked_until_ms - now_ms + 999) / 1000),
            _ => Ok(()),
        }
    }

    /// Records a wrong password.
    pub fn failed(&self, username: &str, now_ms: i64) {
        let Ok(mut w) = self.windows.lock() else {
            return;
        };
        if w.len() >= MAX_KEYS {
            // Forget windows that no longer matter; if all still matter, the oldest.
            w.retain(|_, x| x.locked_until_ms > now_ms || now_ms - x.first_ms < WINDOW_MS);
            if w.len() >= MAX_KEYS {
                if let Some(k) = w
                    .iter()
                    .min_by_key(|(_, x)| x.first_ms)
                    .map(|(k, _)| k.clone())
                {
                    w.remove(&k);
                }
            }
        }
        let x = w.entry(username.to_lowercase()).or_insert(Window {
            failures: 0,
            first_ms: now_ms,
            locked_until_ms: 0,
        });
        if now_ms - x.first_ms >= WINDOW_MS {
            *x = Window {
                failures: 0,
                first_ms: now_ms,
                locked_until_ms: 0,
            };
        }
        x.failures += 1;
        if x.failures >= MAX_FAILURES {
            x.locked_until_ms = now_ms + LOCK_MS;
        }
    }

    /// A successful sign-in clears the username's failures.
    pub fn succeeded(&self, username: &str) {
        if let Ok(mut w) = self.windows.lock() {
            w.remove(&username.to_lowercase());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_the_username_for_fifteen_minutes() {
        let l = SignInLimiter::default();
        for i in 0..4 {
            l.failed("Li.Wei", i);
        }
        assert_eq!(l.check("li.wei", 10), Ok(()));
        l.failed("li.wei", 20);
        assert_eq!(l.check("li.wei", 21), Err(900));
        assert_eq!(l.check("ma.jun", 21), Ok(()));
        assert_eq!(l.check("li.wei", 20 + LOCK_MS), Ok(()));
    }

    #[test]
    fn failures_outside_the_window_start_a_new_count_and_success_clears() {
        let l = SignInLimiter::default();
        for i in 0..4 {
            l.failed("a", i);
        }
        l.failed("a", WINDOW_MS + 10);
        assert_eq!(l.check("a", WINDOW_MS + 11), Ok(()));
        for _ in 0..3 {
            l.failed("a", WINDOW_MS + 12);
        }
        l.succeeded("a");
        l.failed("a", WINDOW_MS + 13);
        assert_eq!(l.check("a", WINDOW_MS + 14), Ok(()));
    }
}
