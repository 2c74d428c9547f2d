//! Identifier newtypes parsed at the boundary: tariff codes, code prefixes, ISO country and
//! currency codes, and declared origins.

use std::fmt;

use serde::{Serialize, Serializer};
use thiserror::Error;

/// Why an identifier did not parse. Messages name the value and the fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodeError {
    #[error("tariff code `{0}` is not 8 or 10 digits; write it like 12019010 or 1201.90.10")]
    TariffCode(String),
    #[error("goods code `{0}` is not a chapter, heading or line (2, 4, 6, 8 or 10 digits)")]
    Prefix(String),
    #[error(
        "origin `{0}` is not an ISO 3166-1 alpha-2 country code; use e.g. US, BR, AR, or `unknown`"
    )]
    Country(String),
    #[error("customs registration code `{0}` is not 10 letters or digits, e.g. 3100ABC123")]
    Registration(String),
    #[error("currency `{0}` is not an ISO 4217 code of three capital letters, e.g. USD or CNY")]
    Currency(String),
}

fn digits_only(raw: &str) -> Option<([u8; 10], u8)> {
    if raw.len() > 20 {
        return None;
    }
    let mut out = [0u8; 10];
    let mut len = 0usize;
    for b in raw.bytes() {
        match b {
            b'0'..=b'9' => {
                if len == 10 {
                    return None;
                }
                out[len] = b;
                len += 1;
            }
            b'.' | b' ' => {}
            _ => return None,
        }
    }
    Some((out, len as u8))
}

/// A national tariff line: 8 digits (or 10 for statistical sub-lines), stored without dots.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TariffCode {
    /// The digits as a number, times 16, plus the length: cheap to compare, and ordered.
    key: u64,
    digits: [u8; 10],
    len: u8,
}

fn code_key(digits: &[u8; 10], len: u8) -> u64 {
    let n = digits[..len as usize]
        .iter()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    n * 16 + u64::from(len)
}

impl TariffCode {
    /// Parses `12019010`, `1201.90.10` or `1201909000`.
    pub fn parse(raw: &str) -> Result<Self, CodeError> {
        // Fast path: exactly 8 or 10 digits, as customs systems send them.
        let b = raw.as_bytes();
        if (b.len() == 8 || b.len() == 10) && b.iter().all(u8::is_ascii_digit) {
            let mut digits = [0u8; 10];
            digits[..b.len()].copy_from_slice(b);
            let len = b.len() as u8;
            return Ok(Self {
                key: code_key(&digits, len),
                digits,
                len,
            });
        }
        match digits_only(raw.trim_ascii()) {
            Some((digits, len)) if len == 8 || len == 10 => Ok(Self {
                key: code_key(&digits, len),
                digits,
                len,
            }),
            _ => Err(CodeError::TariffCode(raw.to_owned())),
        }
    }
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.digits[..self.len as usize]).unwrap_or("")
    }
    /// The 8-digit parent of a 10-digit code.
    pub fn parent8(&self) -> Option<TariffCode> {
        (self.len == 10).then(|| {
            let mut digits = [0u8; 10];
            digits[..8].copy_from_slice(&self.digits[..8]);
            TariffCode {
                key: code_key(&digits, 8),
                digits,
                len: 8,
            }
        })
    }
}

impl fmt::Display for TariffCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl fmt::Debug for TariffCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TariffCode({})", self.as_str())
    }
}
impl Serialize for TariffCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A chapter, heading, subheading or line (2–10 digits) that selects every line below it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodePrefix {
    digits: [u8; 10],
    len: u8,
}

impl CodePrefix {
    pub fn parse(raw: &str) -> Result<Self, CodeError> {
        match digits_only(raw.trim_ascii()) {
            Some((digits, len)) if len >= 2 && len % 2 == 0 => Ok(Self { digits, len }),
            _ => Err(CodeError::Prefix(raw.to_owned())),
        }
    }
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.digits[..self.len as usize]).unwrap_or("")
    }
    /// Whether this is a whole line (8 or 10 digits) rather than a heading.
    pub fn is_line(&self) -> bool {
        self.len >= 8
    }
    pub fn matches(&self, code: &TariffCode) -> bool {
        code.as_str().starts_with(self.as_str())
    }
    /// Whether some code could be selected by both prefixes.
    pub fn intersects(&self, other: &CodePrefix) -> bool {
        self.as_str().starts_with(other.as_str()) || other.as_str().starts_with(self.as_str())
    }
}

impl fmt::Debug for CodePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CodePrefix({})", self.as_str())
    }
}
impl fmt::Display for CodePrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// ISO 3166-1 alpha-2 codes (officially assigned), concatenated.
const ISO_3166: &str = "ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBTBVBWBYBZCACCCDCFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEHERESETFIFJFKFMFOFRGAGBGDGEGFGGGHGIGLGMGNGPGQGRGSGTGUGWGYHKHMHNHRHTHUIDIEILIMINIOIQIRISITJEJMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLSLTLULVLYMAMCMDMEMFMGMHMKMLMMMNMOMPMQMRMSMTMUMVMWMXMYMZNANCNENFNGNINLNONPNRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPTPWPYQARERORSRURWSASBSCSDSESGSHSISJSKSLSMSNSOSRSSSTSVSXSYSZTCTDTFTGTHTJTKTLTMTNTOTRTTTVTWTZUAUGUMUSUYUZVAVCVEVGVIVNVUWFWSYEYTZAZMZW";

/// Bit `26 * a + b` is set when letters `a`, `b` form an assigned code.
const ISO_3166_BITS: [u64; 11] = {
    let mut bits = [0u64; 11];
    let b = ISO_3166.as_bytes();
    let mut i = 0;
    while i + 1 < b.len() {
        let n = ((b[i] - b'A') as usize) * 26 + (b[i + 1] - b'A') as usize;
        bits[n / 64] |= 1 << (n % 64);
        i += 2;
    }
    bits
};

/// An officially assigned ISO 3166-1 alpha-2 country code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    pub fn parse(raw: &str) -> Result<Self, CodeError> {
        let t = raw.trim_ascii().as_bytes();
        if t.len() == 2 && t.iter().all(u8::is_ascii_alphabetic) {
            let code = [t[0].to_ascii_uppercase(), t[1].to_ascii_uppercase()];
            let n = usize::from(code[0] - b'A') * 26 + usize::from(code[1] - b'A');
            if ISO_3166_BITS[n / 64] & (1 << (n % 64)) != 0 {
                return Ok(Self(code));
            }
        }
        Err(CodeError::Country(raw.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}
impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({})", self.as_str())
    }
}
impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The declared origin of goods: a country, or unknown (customs cannot rule out any origin).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Origin {
    Country(CountryCode),
    Unknown,
}

impl Origin {
    /// A country code, or `unknown` / `ZZ` for an origin customs cannot establish.
    pub fn parse(raw: &str) -> Result<Self, CodeError> {
        let t = raw.trim_ascii();
        if t.eq_ignore_ascii_case("unknown") || t.eq_ignore_ascii_case("zz") {
            return Ok(Origin::Unknown);
        }
        CountryCode::parse(t).map(Origin::Country)
    }
}
impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Country(c) => c.fmt(f),
            Origin::Unknown => f.write_str("unknown"),
        }
    }
}
impl Serialize for Origin {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An enterprise's 10-character customs registration code (海关注册编码), e.g. `3100ABC123`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistrationCode([u8; 10]);

impl RegistrationCode {
    pub fn parse(raw: &str) -> Result<Self, CodeError> {
        let t = raw.trim_ascii().as_bytes();
        if t.len() == 10 && t.iter().all(u8::is_ascii_alphanumeric) {
            let mut c = [0u8; 10];
            for (o, i) in c.iter_mut().zip(t) {
                *o = i.to_ascii_uppercase();
            }
            return Ok(Self(c));
        }
        Err(CodeError::Registration(raw.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}
impl fmt::Display for RegistrationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl fmt::Debug for RegistrationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegistrationCode({})", self.as_str())
    }
}
impl Serialize for RegistrationCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An ISO 4217 currency code (three capital letters).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const CNY: Currency = Currency(*b"CNY");
    pub const USD: Currency = Currency(*b"USD");

    pub fn parse(raw: &str) -> Result<Self, CodeError> {
        let t = raw.trim_ascii().as_bytes();
        if t.len() == 3 && t.iter().all(u8::is_ascii_alphabetic) {
            return Ok(Self([
                t[0].to_ascii_uppercase(),
                t[1].to_ascii_uppercase(),
                t[2].to_ascii_uppercase(),
            ]));
        }
        Err(CodeError::Currency(raw.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}
impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.as_str())
    }
}
impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tariff_codes_accept_dots_and_reject_other_lengths() {
        assert_eq!(
            TariffCode::parse("1201.90.10").unwrap().as_str(),
            "12019010"
        );
        assert_eq!(
            TariffCode::parse("1201909000")
                .unwrap()
                .parent8()
                .unwrap()
                .as_str(),
            "12019090"
        );
        for bad in [
            "1201901",
            "12019010a",
            "",
            "120190100",
            "1".repeat(30).as_str(),
        ] {
            assert!(TariffCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prefixes_match_lines_below_them() {
        let p = CodePrefix::parse("0202").unwrap();
        assert!(p.matches(&TariffCode::parse("02023000").unwrap()));
        assert!(!p.matches(&TariffCode::parse("02013000").unwrap()));
        assert!(p.intersects(&CodePrefix::parse("02023000").unwrap()));
        assert!(CodePrefix::parse("020").is_err());
    }

    #[test]
    fn countries_are_iso_and_unknown_is_explicit() {
        assert_eq!(
            Origin::parse("us").unwrap(),
            Origin::Country(CountryCode::parse("US").unwrap())
        );
        assert_eq!(Origin::parse("unknown").unwrap(), Origin::Unknown);
        assert!(Origin::parse("QQ").is_err());
        assert!(Origin::parse("USA").is_err());
        // Every listed code is accepted, and only those.
        for chunk in ISO_3166.as_bytes().chunks(2) {
            assert!(CountryCode::parse(std::str::from_utf8(chunk).unwrap()).is_ok());
        }
        let accepted = (b'A'..=b'Z')
            .flat_map(|a| (b'A'..=b'Z').map(move |b| [a, b]))
            .filter(|c| CountryCode::parse(std::str::from_utf8(c).unwrap()).is_ok())
            .count();
        assert_eq!(accepted, ISO_3166.len() / 2);
        assert_eq!(Currency::parse("usd").unwrap(), Currency::USD);
        assert!(Currency::parse("US$").is_err());
        assert_eq!(
            RegistrationCode::parse("3100abc123").unwrap().as_str(),
            "3100ABC123"
        );
        assert!(RegistrationCode::parse("3100-ABC12").is_err());
    }
}
