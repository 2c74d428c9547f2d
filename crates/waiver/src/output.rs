//! Allocation-free formatting of amounts for the bulk output.

use waiver_domain::{Fen, RatePpm};

/// Appends `fen` as CNY with two decimals (`1234.05`).
#[inline]
pub fn push_fen(buf: &mut Vec<u8>, fen: Fen) {
    let mut b = [0u8; 24];
    let a = fen.0.unsigned_abs();
    b[21] = b'.';
    b[22..].copy_from_slice(&PAIRS[(a % 100) as usize]);
    let mut i = digits_back(&mut b, 21, a / 100);
    if fen.0 < 0 {
        i -= 1;
        b[i] = b'-';
    }
    buf.extend_from_slice(&b[i..]);
}

/// Appends a rate as a percentage with trailing zeros trimmed (`30.5`, `25`).
#[inline]
pub fn push_pct(buf: &mut Vec<u8>, r: RatePpm) {
    let v = r.0.unsigned_abs();
    let mut b = [0u8; 28];
    let mut frac = v % 10_000;
    let mut end = b.len();
    if frac != 0 {
        let mut digits = 4;
        while frac.is_multiple_of(10) {
            frac /= 10;
            digits -= 1;
        }
        let start = end - digits;
        b[start..end].fill(b'0');
        digits_back(&mut b, end, frac);
        end = start - 1;
        b[end] = b'.';
    }
    let mut i = digits_back(&mut b, end, v / 10_000);
    if r.0 < 0 {
        i -= 1;
        b[i] = b'-';
    }
    buf.extend_from_slice(&b[i..]);
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
            let mut b = Vec::new();
            push_fen(&mut b, Fen(v));
            assert_eq!(String::from_utf8(b).unwrap(), Fen(v).to_string());
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
            let mut b = Vec::new();
            push_pct(&mut b, RatePpm(v));
            assert_eq!(String::from_utf8(b).unwrap(), RatePpm(v).pct_string());
        }
    }
}
