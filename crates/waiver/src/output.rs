//! Allocation-free formatting of amounts for the bulk output, into a caller's fixed buffer.

use waiver_domain::{Fen, RatePpm};

/// The longest text `put_fen_back` or `put_pct_back` writes (a sign, 19 digits, a point, decimals).
pub const MAX_NUMBER: usize = 26;

/// Writes `fen` as CNY with two decimals (`1234.05`) into `buf`, ending just before `end`;
/// returns where it starts. `buf` needs [`MAX_NUMBER`] bytes before `end`.
#[inline]
pub fn put_fen_back(buf: &mut [u8], end: usize, fen: Fen) -> usize {
    let a = fen.0.unsigned_abs();
    buf[end - 2..end].copy_from_slice(&PAIRS[(a % 100) as usize]);
    buf[end - 3] = b'.';
    let mut i = digits_back(buf, end - 3, a / 100);
    if fen.0 < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    i
}

/// Writes a rate as a percentage with trailing zeros trimmed (`30.5`, `25`) into `buf`, ending
/// just before `end`; returns where it starts. `buf` needs [`MAX_NUMBER`] bytes before `end`.
#[inline]
pub fn put_pct_back(buf: &mut [u8], mut end: usize, r: RatePpm) -> usize {
    let v = r.0.unsigned_abs();
    let mut frac = v % 10_000;
    if frac != 0 {
        let mut digits = 4;
        while frac.is_multiple_of(10) {
            frac /= 10;
            digits -= 1;
        }
        let start = end - digits;
        buf[start..end].fill(b'0');
        digits_back(buf, end, frac);
        end = start - 1;
        buf[end] = b'.';
    }
    let mut i = digits_back(buf, end, v / 10_000);
    if r.0 < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    i
}

/// `PAIRS[n]` is `n` (0–99) as two ASCII digits.
const PAIRS: [[u8; 2]; 100] = {
    let mut t = [[0u8; 2]; 100];
    let mut n = 0;
    while n < 100 {
        t[n] = [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
        n += 1;
    }
    t
};

/// Writes the decimal digits of `v` so that they end just before `buf[end]`; returns where they
/// start. `buf` must have room for them (20 digits at most).
fn digits_back(buf: &mut [u8], mut end: usize, mut v: u64) -> usize {
    while v >= 100 {
        end -= 2;
        buf[end..end + 2].copy_from_slice(&PAIRS[(v % 100) as usize]);
        v /= 100;
    }
    if v >= 10 {
        end -= 2;
        buf[end..end + 2].copy_from_slice(&PAIRS[v as usize]);
    } else {
        end -= 1;
        buf[end] = b'0' + v as u8;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_domain_display() {
        for v in [
            0i64,
            5,
            100,
            123_456,
            -7,
            1_000_000_000_001,
            i64::MIN,
            i64::MAX,
            9,
            10,
            99,
        ] {
            let mut fixed = [b'x'; MAX_NUMBER + 3];
            let start = put_fen_back(&mut fixed, MAX_NUMBER, Fen(v));
            assert_eq!(&fixed[start..MAX_NUMBER], Fen(v).to_string().as_bytes());
            assert_eq!(&fixed[MAX_NUMBER..], b"xxx");
        }
        for v in [
            0i64,
            250_000,
            25_000,
            305_000,
            1_786_000,
            3,
            10_000_000,
            -3,
            -250_000,
            9_999,
            100_001,
            i64::MAX,
            i64::MIN,
        ] {
            let mut fixed = [b'x'; MAX_NUMBER + 3];
            let start = put_pct_back(&mut fixed, MAX_NUMBER, RatePpm(v));
            assert_eq!(
                &fixed[start..MAX_NUMBER],
                RatePpm(v).pct_string().as_bytes()
            );
            assert_eq!(&fixed[MAX_NUMBER..], b"xxx");
        }
    }
}
