//! Event ids that carry their own time: UUIDv7 and ULID.
//!
//! The hook gives every event such an id, so an event without `endTime` or `startTime` still has a
//! time to order it by (CONTRACT 4). This module reads that time back and makes new UUIDv7s from a
//! time and random bytes the caller supplies; it never reads a clock or a random source itself.

/// Crockford base32, the alphabet of ULIDs (no I, L, O, U).
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The Unix time in milliseconds inside a UUIDv7 (version nibble 7, dashed or not, any case)
/// or a 26-character ULID; `None` for any other id.
pub fn timestamp_millis(id: &str) -> Option<i64> {
    uuid_v7_millis(id).or_else(|| ulid_millis(id))
}

fn uuid_v7_millis(id: &str) -> Option<i64> {
    let hex: String = match id.len() {
        36 => {
            let b = id.as_bytes();
            if [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
                return None;
            }
            id.chars().filter(|&c| c != '-').collect()
        }
        32 => id.to_string(),
        _ => return None,
    };
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    // The version is the 13th hex digit; the first 48 bits are the Unix milliseconds.
    if hex.as_bytes()[12] != b'7' {
        return None;
    }
    i64::from_str_radix(&hex[..12], 16).ok()
}

fn ulid_millis(id: &str) -> Option<i64> {
    if id.len() != 26 {
        return None;
    }
    let mut value: u64 = 0;
    for (i, b) in id.bytes().enumerate().take(10) {
        let digit = CROCKFORD
            .iter()
            .position(|&c| c == b.to_ascii_uppercase())? as u64;
        // A ULID's first character is at most 7: 10 characters hold 50 bits, the time only 48.
        if i == 0 && digit > 7 {
            return None;
        }
        value = value * 32 + digit;
    }
    // The other 16 characters are randomness, but they must still be Crockford digits.
    if !id
        .bytes()
        .skip(10)
        .all(|b| CROCKFORD.contains(&b.to_ascii_uppercase()))
    {
        return None;
    }
    i64::try_from(value).ok()
}

/// A new UUIDv7 (RFC 9562), lowercase and dashed, from the caller's clock and randomness.
///
/// Only the low 48 bits of `unix_millis` fit in the id; 74 of the 80 random bits are used (the
/// rest of the room holds the version and variant).
pub fn new_uuid_v7(unix_millis: u64, random: [u8; 10]) -> String {
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&unix_millis.to_be_bytes()[2..]);
    bytes[6] = 0x70 | (random[0] & 0x0f);
    bytes[7] = random[1];
    bytes[8] = 0x80 | (random[2] & 0x3f);
    bytes[9..].copy_from_slice(&random[3..]);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_time_of_a_dashed_uuid_v7() {
        // 0x0198_9a6e_2b40 = 1754937568064
        assert_eq!(
            timestamp_millis("01989a6e-2b40-7abc-8def-0123456789ab"),
            Some(0x0198_9a6e_2b40)
        );
    }

    #[test]
    fn reads_an_undashed_uppercase_uuid_v7() {
        assert_eq!(
            timestamp_millis("01989A6E2B407ABC8DEF0123456789AB"),
            Some(0x0198_9a6e_2b40)
        );
    }

    #[test]
    fn a_uuid_of_another_version_has_no_time() {
        assert_eq!(
            timestamp_millis("01989a6e-2b40-4abc-8def-0123456789ab"),
            None
        );
    }

    #[test]
    fn a_misplaced_dash_or_non_hex_is_not_a_uuid() {
        assert_eq!(
            timestamp_millis("01989a6e2-b40-7abc-8def-0123456789ab"),
            None
        );
        assert_eq!(
            timestamp_millis("01989a6e-2b40-7abc-8def-0123456789ag"),
            None
        );
        assert_eq!(timestamp_millis("01989a6e2b407abc8def0123456789ag"), None);
    }

    #[test]
    fn reads_the_time_of_a_ulid() {
        // The ULID spec's example id; its first 10 characters decode to 1469922850259 ms.
        assert_eq!(
            timestamp_millis("01ARZ3NDEKTSV4RRFFQ69G5FAV"),
            Some(1_469_922_850_259)
        );
        assert_eq!(
            timestamp_millis("01arz3ndektsv4rrffq69g5fav"),
            Some(1_469_922_850_259)
        );
    }

    #[test]
    fn a_ulid_that_overflows_48_bits_or_uses_excluded_letters_is_refused() {
        assert_eq!(timestamp_millis("81ARZ3NDEKTSV4RRFFQ69G5FAV"), None);
        assert_eq!(timestamp_millis("01ARZ3NDEKTSV4RRFFQ69G5FAU"), None);
        assert_eq!(timestamp_millis("01ARZ3NDEITSV4RRFFQ69G5FAV"), None);
    }

    #[test]
    fn other_ids_have_no_time() {
        assert_eq!(timestamp_millis(""), None);
        assert_eq!(timestamp_millis("evt-1"), None);
        assert_eq!(timestamp_millis("é".repeat(13).as_str()), None);
    }

    #[test]
    fn a_new_uuid_v7_carries_its_time_version_and_variant() {
        let id = new_uuid_v7(1_754_937_568_064, [0xff; 10]);
        assert_eq!(id, "01989a6e-2b40-7fff-bfff-ffffffffffff");
        assert_eq!(timestamp_millis(&id), Some(1_754_937_568_064));
        let zero = new_uuid_v7(0, [0; 10]);
        assert_eq!(zero, "00000000-0000-7000-8000-000000000000");
    }
}
