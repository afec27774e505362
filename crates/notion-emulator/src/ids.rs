//! Notion object ids (UUIDs, written with or without dashes) and short property ids.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Parses an id as Notion does: 32 hex digits, dashes anywhere or nowhere.
pub fn parse_id(text: &str) -> Option<Uuid> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    Uuid::parse_str(&hex).ok()
}

/// The id without dashes, as it appears at the end of a page URL.
pub fn compact(id: Uuid) -> String {
    id.simple().to_string()
}

/// Decodes `%XX` escapes, so a property id matches whether the client sends it encoded or not.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A short, URL-encoded property id derived from the name (Notion's look: `%3AUPp`, `s%5Ct%3F`).
///
/// Derived rather than random so that seeded schemas keep their ids across restarts; `salt`
/// breaks the rare collision.
pub fn property_id(name: &str, salt: u32) -> String {
    const ALPHABET: &[u8] =
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:;<=>?@[]^_{|}~";
    let digest = Sha256::digest(format!("{name}\u{0}{salt}").as_bytes());
    digest[..4]
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_string()
            } else {
                format!("%{:02X}", c as u8)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_with_and_without_dashes() {
        let dashed = parse_id("7163aa38-f3d9-444b-9674-bde61868bd2b").unwrap();
        assert_eq!(parse_id("7163AA38f3d9444b9674bde61868bd2b"), Some(dashed));
        assert_eq!(parse_id("7163aa38"), None);
        assert_eq!(parse_id("zz63aa38f3d9444b9674bde61868bd2b"), None);
    }

    #[test]
    fn property_ids_decode() {
        assert_eq!(percent_decode("s%5Ct%3F"), "s\\t?");
        let id = property_id("Status", 0);
        assert!(percent_decode(&id).chars().count() == 4);
    }
}
