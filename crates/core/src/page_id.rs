//! Notion page ids as people paste them: bare ids (dashed or not) and page URLs.
//!
//! Validation (is this item usable?) and mapping (which id goes into the relation?) must agree,
//! so both call [`parse_page_id`].

/// The dashed lowercase page id in `s`: 32 hex digits (dashed as a UUID or not), or a
/// `notion.so` / `notion.site` URL whose path ends in one; `None` otherwise.
pub(crate) fn parse_page_id(s: &str) -> Option<String> {
    let s = s.trim();
    if let Some(id) = bare_id(s) {
        return Some(id);
    }
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(end);
    // Userinfo would let "notion.so@elsewhere" pass for a Notion host.
    if authority.contains('@') {
        return None;
    }
    let host = authority
        .split(':')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let is_notion = ["notion.so", "notion.site"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")));
    if !is_notion {
        return None;
    }
    let path = after.split(['?', '#']).next().unwrap_or("");
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    // A page URL ends "Title-<32 hex>"; a dashed UUID at the end is accepted too.
    if last.len() >= 36
        && let Some(id) = last.get(last.len() - 36..).and_then(bare_id)
    {
        return Some(id);
    }
    if last.len() >= 32 {
        return last.get(last.len() - 32..).and_then(bare_id);
    }
    None
}

/// 32 hex digits, or the 8-4-4-4-12 dashed form, as a dashed lowercase id.
fn bare_id(s: &str) -> Option<String> {
    let hex: String = match s.len() {
        32 => s.to_string(),
        36 => {
            let b = s.as_bytes();
            if [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
                return None;
            }
            s.chars().filter(|&c| c != '-').collect()
        }
        _ => return None,
    };
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "59833787-2cf9-4fdf-8782-e53db20768a5";

    #[test]
    fn bare_ids_dashed_or_not_any_case() {
        assert_eq!(parse_page_id(ID).as_deref(), Some(ID));
        assert_eq!(
            parse_page_id("598337872CF94FDF8782E53DB20768A5").as_deref(),
            Some(ID)
        );
        assert_eq!(parse_page_id(&format!(" {ID} ")).as_deref(), Some(ID));
    }

    #[test]
    fn notion_urls_give_the_id_at_the_end_of_their_path() {
        for url in [
            "https://www.notion.so/run-7f3a-598337872cf94fdf8782e53db20768a5",
            "https://notion.so/598337872cf94fdf8782e53db20768a5?v=123",
            "https://acme.notion.site/Page-598337872cf94fdf8782e53db20768a5#heading",
            "http://www.notion.so/ws/Title-598337872cf94fdf8782e53db20768a5/",
            "https://www.notion.so/59833787-2cf9-4fdf-8782-e53db20768a5",
            "https://WWW.NOTION.SO:443/x-598337872cf94fdf8782e53db20768a5",
        ] {
            assert_eq!(parse_page_id(url).as_deref(), Some(ID), "{url}");
        }
    }

    #[test]
    fn other_hosts_userinfo_and_short_paths_are_refused() {
        for bad in [
            "https://example.com/598337872cf94fdf8782e53db20768a5",
            "https://notion.so@evil.com/598337872cf94fdf8782e53db20768a5",
            "https://evilnotion.so/598337872cf94fdf8782e53db20768a5",
            "https://www.notion.so/short",
            "https://www.notion.so/",
            "ftp://www.notion.so/598337872cf94fdf8782e53db20768a5",
            "598337872cf94fdf8782e53db20768a",
            "598337872cf94fdf8782e53db20768ag",
            "59833787-2cf94-fdf-8782-e53db20768a5",
            "",
        ] {
            assert_eq!(parse_page_id(bad), None, "{bad}");
        }
    }
}
