//! How the emulator writes times: object timestamps rounded down to the minute, as Notion does,
//! and date property values re-serialised in Notion's format.

use time::format_description::well_known::Iso8601;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// The current time, read in one place.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// `created_time`/`last_edited_time`: Notion rounds these to the minute, so clients must not use
/// them to tell apart edits less than a minute apart; the emulator reproduces that.
pub fn minute(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let floored = t
        .replace_nanosecond(0)
        .and_then(|t| t.replace_second(0))
        .unwrap_or(t);
    millis(floored)
}

/// A UTC time with milliseconds: `2025-10-01T12:03:11.123Z` (webhook timestamps).
pub fn millis(t: OffsetDateTime) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// A date property value, parsed: a day, a local time (with `time_zone`), or an instant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DateValue {
    Day(Date),
    Local(PrimitiveDateTime),
    Instant(OffsetDateTime),
}

impl DateValue {
    /// Parses an ISO 8601 date or datetime; `None` when it is neither.
    pub fn parse(text: &str) -> Option<Self> {
        if let Ok(t) = OffsetDateTime::parse(text, &Iso8601::DEFAULT) {
            return Some(Self::Instant(t));
        }
        if let Ok(t) = PrimitiveDateTime::parse(text, &Iso8601::DEFAULT) {
            return Some(Self::Local(t));
        }
        Date::parse(text, &Iso8601::DEFAULT).ok().map(Self::Day)
    }

    /// Notion's output form: `2025-10-01`, `2025-10-01T12:00:00.000`, `2025-10-01T12:00:00.000+00:00`.
    pub fn render(&self) -> String {
        let day = format_description!("[year]-[month]-[day]");
        let local = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]"
        );
        let instant = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour sign:mandatory]:[offset_minute]"
        );
        match self {
            Self::Day(d) => d.format(&day),
            Self::Local(t) => t.format(&local),
            Self::Instant(t) => t.format(&instant),
        }
        .unwrap_or_default()
    }

    /// The instant used to compare and sort; days and local times count as UTC.
    pub fn instant(&self) -> OffsetDateTime {
        match self {
            Self::Day(d) => d.midnight().assume_utc(),
            Self::Local(t) => t.assume_utc(),
            Self::Instant(t) => *t,
        }
    }

    /// The calendar day, used when a filter names a day rather than a time.
    pub fn day(&self) -> Date {
        match self {
            Self::Day(d) => *d,
            Self::Local(t) => t.date(),
            Self::Instant(t) => t.to_offset(UtcOffset::UTC).date(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minute_rounds_down() {
        let t = OffsetDateTime::parse("2025-10-01T12:03:59.999Z", &Iso8601::DEFAULT).unwrap();
        assert_eq!(minute(t), "2025-10-01T12:03:00.000Z");
    }

    #[test]
    fn dates_render_like_notion() {
        assert_eq!(
            DateValue::parse("2025-10-01").unwrap().render(),
            "2025-10-01"
        );
        assert_eq!(
            DateValue::parse("2025-10-01T12:00:00Z").unwrap().render(),
            "2025-10-01T12:00:00.000+00:00"
        );
        assert_eq!(
            DateValue::parse("2025-10-01T12:00:00").unwrap().render(),
            "2025-10-01T12:00:00.000"
        );
        assert!(DateValue::parse("yesterday").is_none());
    }
}
