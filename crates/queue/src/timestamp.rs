//! RFC 3339 UTC timestamps with milliseconds, as the queue files store them.

use std::time::SystemTime;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `t` as `2026-05-01T12:00:00.123Z`.
pub fn format(t: SystemTime) -> String {
    let dt = OffsetDateTime::from(t);
    let ms = dt.millisecond();
    let dt = dt.replace_nanosecond(0).unwrap_or(dt);
    let s = dt.format(&Rfc3339).unwrap_or_default();
    // Rfc3339 prints no fraction for whole seconds: insert milliseconds before the `Z`.
    match s.strip_suffix('Z') {
        Some(base) => format!("{base}.{ms:03}Z"),
        None => s,
    }
}

/// Parses an RFC 3339 timestamp (any offset).
pub fn parse(s: &str) -> Option<SystemTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(SystemTime::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn round_trip_with_millis() {
        let t = UNIX_EPOCH + Duration::from_millis(1_777_000_000_123);
        let s = format(t);
        assert!(s.ends_with(".123Z"), "{s}");
        assert_eq!(parse(&s), Some(t));
    }
}
