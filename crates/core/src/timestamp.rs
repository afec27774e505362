//! RFC 3339 instants that remember how they were written.
//!
//! An event's times are written to Notion as the hook sent them (keeping the sender's offset), but
//! ordered and compared as instants; so a [`Timestamp`] holds both.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An RFC 3339 date-time: the text as sent and the instant it names, in Unix milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Timestamp {
    text: String,
    millis: i64,
}

/// The instants `from_unix_millis` can format: years 0000 to 9999, as RFC 3339 allows.
const MIN_MILLIS: i64 = -62_167_219_200_000;
const MAX_MILLIS: i64 = 253_402_300_799_999;

impl Timestamp {
    /// Parses an RFC 3339 date-time (`2025-10-01T12:00:00Z`, `...+02:00`, fractions allowed);
    /// `None` for anything else, a bare date included.
    pub fn parse(s: &str) -> Option<Timestamp> {
        // RFC 3339 lets a space stand for the 'T'; ISO 8601 (and so Notion) does not.
        if !matches!(s.as_bytes().get(10), Some(b'T' | b't')) {
            return None;
        }
        let parsed = OffsetDateTime::parse(s, &Rfc3339).ok()?;
        let millis = i64::try_from(parsed.unix_timestamp_nanos().div_euclid(1_000_000)).ok()?;
        Some(Timestamp {
            text: s.to_string(),
            millis,
        })
    }

    /// The instant, in milliseconds since the Unix epoch (sub-millisecond digits are dropped).
    pub fn unix_millis(&self) -> i64 {
        self.millis
    }

    /// The text exactly as it was parsed (or formatted).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The instant `ms` written as RFC 3339 in UTC with milliseconds, e.g.
    /// `2025-10-01T12:00:00.000Z`. Instants outside years 0000..=9999 are clamped to that range.
    pub fn from_unix_millis(ms: i64) -> Timestamp {
        let ms = ms.clamp(MIN_MILLIS, MAX_MILLIS);
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .expect("clamped to the range RFC 3339 can write");
        let text = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.millisecond()
        );
        Timestamp { text, millis: ms }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text)
            .ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 date-time"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_text_and_reads_the_instant() {
        let t = Timestamp::parse("2025-10-01T14:00:00.250+02:00").unwrap();
        assert_eq!(t.as_str(), "2025-10-01T14:00:00.250+02:00");
        assert_eq!(t.unix_millis(), 1_759_320_000_250);
        assert_eq!(t.to_string(), "2025-10-01T14:00:00.250+02:00");
    }

    #[test]
    fn instants_before_1970_round_down() {
        let t = Timestamp::parse("1969-12-31T23:59:59.9995Z").unwrap();
        assert_eq!(t.unix_millis(), -1);
    }

    #[test]
    fn refuses_what_is_not_rfc_3339() {
        for bad in [
            "",
            "2025-10-01",
            "2025-10-01 12:00:00Z",
            "2025-10-01T12:00:00",
            "2025-13-01T12:00:00Z",
            "yesterday",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_utc_with_milliseconds_and_parses_back() {
        let t = Timestamp::from_unix_millis(1_759_320_000_250);
        assert_eq!(t.as_str(), "2025-10-01T12:00:00.250Z");
        assert_eq!(Timestamp::parse(t.as_str()), Some(t));
        assert_eq!(
            Timestamp::from_unix_millis(0).as_str(),
            "1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn out_of_range_instants_are_clamped() {
        assert_eq!(
            Timestamp::from_unix_millis(i64::MAX).as_str(),
            "9999-12-31T23:59:59.999Z"
        );
        assert_eq!(
            Timestamp::from_unix_millis(i64::MIN).as_str(),
            "0000-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn serializes_as_its_text() {
        let t = Timestamp::parse("2025-10-01T12:00:00Z").unwrap();
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2025-10-01T12:00:00Z\""
        );
        let back: Timestamp = serde_json::from_str("\"2025-10-01T12:00:00Z\"").unwrap();
        assert_eq!(back, t);
        assert!(serde_json::from_str::<Timestamp>("\"noon\"").is_err());
    }
}
