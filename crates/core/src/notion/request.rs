//! Descriptions of the Notion API requests the writer needs; the caller sends them.
//!
//! Paths are relative to the API base (`notionapibase`), so the same request goes to Notion or to
//! the emulator.

use std::fmt;

use serde_json::{Value, json};

use super::properties::MappedProperties;

/// The `Notion-Version` this project speaks (CONTRACT 6 default).
pub const DEFAULT_NOTION_VERSION: &str = "2025-09-03";

/// HTTP methods used against Notion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET: reads, safe to repeat.
    Get,
    /// POST: creates and queries.
    Post,
    /// PATCH: updates.
    Patch,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
        }
    }
}

/// One Notion API request to carry out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotionRequest {
    /// The method.
    pub method: Method,
    /// The path under the API base, with its query if any, e.g. `/v1/pages`.
    pub path: String,
    /// The JSON body, if any.
    pub body: Option<Vec<u8>>,
}

/// Ids come from configuration and from Notion; percent-encoding keeps a stray character from
/// changing the route.
fn segment(id: &str) -> String {
    let mut out = String::new();
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn body(v: Value) -> Option<Vec<u8>> {
    Some(v.to_string().into_bytes())
}

impl NotionRequest {
    /// `GET /v1/data_sources/{id}`: the schema.
    pub fn retrieve_data_source(id: &str) -> NotionRequest {
        NotionRequest {
            method: Method::Get,
            path: format!("/v1/data_sources/{}", segment(id)),
            body: None,
        }
    }

    /// `POST /v1/data_sources/{id}/query` for pages whose title equals `value` (up to 100).
    pub fn query_by_title(ds_id: &str, title_property: &str, value: &str) -> NotionRequest {
        NotionRequest {
            method: Method::Post,
            path: format!("/v1/data_sources/{}/query", segment(ds_id)),
            body: body(json!({
                "filter": {"property": title_property, "title": {"equals": value}},
                "page_size": 100
            })),
        }
    }

    /// `POST /v1/pages`: a new page in the data source.
    pub fn create_page(ds_id: &str, props: &MappedProperties) -> NotionRequest {
        NotionRequest {
            method: Method::Post,
            path: "/v1/pages".to_string(),
            body: body(json!({
                "parent": {"type": "data_source_id", "data_source_id": ds_id},
                "properties": props.properties
            })),
        }
    }

    /// `PATCH /v1/pages/{id}`: writes these properties, leaving the others as they are.
    pub fn update_page(page_id: &str, props: &MappedProperties) -> NotionRequest {
        NotionRequest {
            method: Method::Patch,
            path: format!("/v1/pages/{}", segment(page_id)),
            body: body(json!({"properties": props.properties})),
        }
    }

    /// `GET /v1/pages/{id}`.
    pub fn retrieve_page(id: &str) -> NotionRequest {
        NotionRequest {
            method: Method::Get,
            path: format!("/v1/pages/{}", segment(id)),
            body: None,
        }
    }
}

/// `GET /v1/data_sources/{id}`; see [`NotionRequest::retrieve_data_source`].
pub fn retrieve_data_source(id: &str) -> NotionRequest {
    NotionRequest::retrieve_data_source(id)
}

/// The title query; see [`NotionRequest::query_by_title`].
pub fn query_by_title(ds_id: &str, title_property: &str, value: &str) -> NotionRequest {
    NotionRequest::query_by_title(ds_id, title_property, value)
}

/// `POST /v1/pages`; see [`NotionRequest::create_page`].
pub fn create_page(ds_id: &str, props: &MappedProperties) -> NotionRequest {
    NotionRequest::create_page(ds_id, props)
}

/// `PATCH /v1/pages/{id}`; see [`NotionRequest::update_page`].
pub fn update_page(page_id: &str, props: &MappedProperties) -> NotionRequest {
    NotionRequest::update_page(page_id, props)
}

/// `GET /v1/pages/{id}`; see [`NotionRequest::retrieve_page`].
pub fn retrieve_page(id: &str) -> NotionRequest {
    NotionRequest::retrieve_page(id)
}

/// The credentials and version every request carries.
#[derive(Clone, PartialEq, Eq)]
pub struct NotionClient {
    /// The integration token (`notionapikey`). Never printed.
    pub api_key: String,
    /// The `Notion-Version` header.
    pub version: String,
}

impl NotionClient {
    /// A client for `api_key` speaking [`DEFAULT_NOTION_VERSION`].
    pub fn new(api_key: impl Into<String>) -> NotionClient {
        NotionClient {
            api_key: api_key.into(),
            version: DEFAULT_NOTION_VERSION.to_string(),
        }
    }

    /// The headers for `req`, lowercase names: authorization, notion-version, and content-type
    /// when there is a body.
    pub fn headers(&self, req: &NotionRequest) -> Vec<(&'static str, String)> {
        let mut h = vec![
            ("authorization", format!("Bearer {}", self.api_key)),
            ("notion-version", self.version.clone()),
        ];
        if req.body.is_some() {
            h.push(("content-type", "application/json".to_string()));
        }
        h
    }
}

impl fmt::Debug for NotionClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotionClient")
            .field("api_key", &"<redacted>")
            .field("version", &self.version)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn json_body(r: &NotionRequest) -> Value {
        serde_json::from_slice(r.body.as_ref().unwrap()).unwrap()
    }

    fn props() -> MappedProperties {
        let mut properties = Map::new();
        properties.insert("Status".into(), json!({"select": {"name": "Completed"}}));
        MappedProperties {
            properties,
            warnings: vec!["ignored".into()],
        }
    }

    #[test]
    fn retrieve_requests_have_no_body() {
        let r = NotionRequest::retrieve_data_source("7163aa38-f3d9-444b-9674-bde61868bd2b");
        assert_eq!(r.method, Method::Get);
        assert_eq!(
            r.path,
            "/v1/data_sources/7163aa38-f3d9-444b-9674-bde61868bd2b"
        );
        assert_eq!(r.body, None);
        let p = NotionRequest::retrieve_page("abc");
        assert_eq!((p.method, p.path.as_str()), (Method::Get, "/v1/pages/abc"));
    }

    #[test]
    fn the_free_builders_match_the_associated_ones() {
        let p = props();
        assert_eq!(
            retrieve_data_source("d"),
            NotionRequest::retrieve_data_source("d")
        );
        assert_eq!(
            query_by_title("d", "T", "v"),
            NotionRequest::query_by_title("d", "T", "v")
        );
        assert_eq!(create_page("d", &p), NotionRequest::create_page("d", &p));
        assert_eq!(update_page("p", &p), NotionRequest::update_page("p", &p));
        assert_eq!(retrieve_page("p"), NotionRequest::retrieve_page("p"));
    }

    #[test]
    fn ids_cannot_change_the_route() {
        assert_eq!(
            NotionRequest::retrieve_page("../x?y z").path,
            "/v1/pages/..%2Fx%3Fy%20z"
        );
    }

    #[test]
    fn query_filters_the_title_exactly() {
        let r = NotionRequest::query_by_title("ds", "Session ID", "s-1");
        assert_eq!(
            (r.method, r.path.as_str()),
            (Method::Post, "/v1/data_sources/ds/query")
        );
        assert_eq!(
            json_body(&r),
            json!({"filter": {"property": "Session ID", "title": {"equals": "s-1"}}, "page_size": 100})
        );
    }

    #[test]
    fn create_names_the_data_source_parent_and_update_only_properties() {
        let c = NotionRequest::create_page("ds", &props());
        assert_eq!((c.method, c.path.as_str()), (Method::Post, "/v1/pages"));
        assert_eq!(
            json_body(&c),
            json!({"parent": {"type": "data_source_id", "data_source_id": "ds"},
                   "properties": {"Status": {"select": {"name": "Completed"}}}})
        );
        let u = NotionRequest::update_page("p1", &props());
        assert_eq!((u.method, u.path.as_str()), (Method::Patch, "/v1/pages/p1"));
        assert_eq!(
            json_body(&u),
            json!({"properties": {"Status": {"select": {"name": "Completed"}}}})
        );
    }

    #[test]
    fn headers_carry_the_token_version_and_content_type_with_a_body() {
        let client = NotionClient::new("ntn_secret_token");
        let get = client.headers(&NotionRequest::retrieve_page("p"));
        assert_eq!(
            get,
            vec![
                ("authorization", "Bearer ntn_secret_token".to_string()),
                ("notion-version", "2025-09-03".to_string()),
            ]
        );
        let post = client.headers(&NotionRequest::create_page("ds", &props()));
        assert_eq!(post[2], ("content-type", "application/json".to_string()));
    }

    #[test]
    fn debug_never_prints_the_token() {
        let text = format!("{:?}", NotionClient::new("ntn_secret_token"));
        assert!(!text.contains("ntn_secret_token"), "{text}");
        assert!(text.contains("2025-09-03"));
        assert_eq!(Method::Patch.as_str(), "PATCH");
        assert_eq!(Method::Get.as_str(), "GET");
        assert_eq!(Method::Post.as_str(), "POST");
    }
}
