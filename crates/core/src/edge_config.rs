//! The edge's variables (CONTRACT 6), read once per request and checked.
//!
//! A missing or invalid variable is reported by name and never by value: the answer is a 500
//! that tells the operator what to fix without leaking a secret.

use crate::notion::{NotionClient, PropertyMap};
use crate::signature::{Secrets, VerifyPolicy};

/// The default Notion API origin.
pub const DEFAULT_API_BASE: &str = "https://api.notion.com";
/// The default `Notion-Version`.
pub const DEFAULT_NOTION_VERSION: &str = "2025-09-03";

/// Everything the edge needs to deliver events.
#[derive(Clone)]
pub struct EdgeConfig {
    /// Hook secrets (any verifies).
    pub secrets: Secrets,
    /// Token and version for Notion calls.
    pub notion: NotionClient,
    /// Origin of the Notion API (`notionapibase`), without a trailing slash.
    pub api_base: String,
    /// The Agent Activity Hub data source.
    pub data_source_id: String,
    /// Signature window and scheme policy.
    pub policy: VerifyPolicy,
    /// Event field -> property name.
    pub property_map: PropertyMap,
}

impl std::fmt::Debug for EdgeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets and the token stay out of every debug print.
        f.debug_struct("EdgeConfig")
            .field("api_base", &self.api_base)
            .field("data_source_id", &self.data_source_id)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// A variable that is missing or invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Misconfigured {
    /// The variable's Spin name.
    pub variable: &'static str,
    /// What is wrong with it, without its value.
    pub problem: String,
}

impl std::fmt::Display for Misconfigured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "variable `{}` {}", self.variable, self.problem)
    }
}

impl EdgeConfig {
    /// Reads and checks the variables; `get` returns a variable's value (None when unset).
    pub fn from_variables(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<EdgeConfig, Misconfigured> {
        let secrets = Secrets::parse(&required(&get, "webhooksecret")?)
            .map_err(|e| invalid("webhooksecret", e.to_string()))?;
        let api_key = required(&get, "notionapikey")?;
        let data_source_id = required(&get, "notiondatasource")?;
        let api_base =
            optional(&get, "notionapibase").unwrap_or_else(|| DEFAULT_API_BASE.to_string());
        if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
            return Err(invalid(
                "notionapibase",
                "must start with https:// or http://".into(),
            ));
        }
        let version =
            optional(&get, "notionversion").unwrap_or_else(|| DEFAULT_NOTION_VERSION.to_string());
        let tolerance_secs = match optional(&get, "signaturetolerance") {
            None => 300,
            Some(v) => v.parse::<u64>().map_err(|_| {
                invalid(
                    "signaturetolerance",
                    "must be a whole number of seconds".into(),
                )
            })?,
        };
        let require_timestamp = match optional(&get, "requiretimestamp").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(invalid(
                    "requiretimestamp",
                    "must be `true` or `false`".into(),
                ));
            }
        };
        let property_map = match optional(&get, "propertymap") {
            None => PropertyMap::default(),
            Some(json) => {
                PropertyMap::with_overrides(&json).map_err(|e| invalid("propertymap", e))?
            }
        };
        Ok(EdgeConfig {
            secrets,
            notion: NotionClient { api_key, version },
            api_base: api_base.trim_end_matches('/').to_string(),
            data_source_id,
            policy: VerifyPolicy {
                tolerance_secs,
                require_timestamp,
            },
            property_map,
        })
    }
}

fn optional(get: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    get(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn required(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<String, Misconfigured> {
    optional(get, name).ok_or(Misconfigured {
        variable: name,
        problem: "is missing or empty".into(),
    })
}

fn invalid(variable: &'static str, problem: String) -> Misconfigured {
    Misconfigured {
        variable,
        problem: format!("is invalid: {problem}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const BASE: [(&str, &str); 3] = [
        ("webhooksecret", "s3cret-one s3cret-two"),
        ("notionapikey", "ntn_x"),
        ("notiondatasource", "ds"),
    ];

    #[test]
    fn defaults_fill_what_is_unset() {
        let c = EdgeConfig::from_variables(vars(&BASE)).unwrap();
        assert_eq!(c.api_base, "https://api.notion.com");
        assert_eq!(c.notion.version, "2025-09-03");
        assert_eq!(
            c.policy,
            VerifyPolicy {
                tolerance_secs: 300,
                require_timestamp: false
            }
        );
        assert_eq!(c.secrets.iter().count(), 2);
        assert!(!format!("{c:?}").contains("s3cret") && !format!("{c:?}").contains("ntn_x"));
    }

    #[test]
    fn each_missing_required_variable_is_named() {
        for (i, (name, _)) in BASE.iter().enumerate() {
            let mut pairs = BASE.to_vec();
            pairs[i].1 = "  ";
            let err = EdgeConfig::from_variables(vars(&pairs)).unwrap_err();
            assert_eq!(err.variable, *name);
            assert_eq!(
                err.to_string(),
                format!("variable `{name}` is missing or empty")
            );
        }
    }

    #[test]
    fn invalid_values_are_named_without_their_value() {
        let cases = [
            ("signaturetolerance", "soon"),
            ("requiretimestamp", "yes"),
            ("notionapibase", "ftp://x"),
            ("propertymap", "{not json"),
            ("webhooksecret", "whsec_%%%"),
        ];
        for (name, value) in cases {
            let mut pairs = BASE.to_vec();
            pairs.push((name, value));
            let err = EdgeConfig::from_variables(vars(&pairs)).unwrap_err();
            assert_eq!(err.variable, name);
            assert!(!err.to_string().contains(value), "{err}");
        }
    }

    #[test]
    fn overrides_are_read() {
        let mut pairs = BASE.to_vec();
        pairs.extend([
            ("notionapibase", "http://127.0.0.1:3001/"),
            ("signaturetolerance", "60"),
            ("requiretimestamp", "true"),
            ("notionversion", "2026-03-11"),
        ]);
        let c = EdgeConfig::from_variables(vars(&pairs)).unwrap();
        assert_eq!(c.api_base, "http://127.0.0.1:3001");
        assert_eq!(
            c.policy,
            VerifyPolicy {
                tolerance_secs: 60,
                require_timestamp: true
            }
        );
        assert_eq!(c.notion.version, "2026-03-11");
    }
}
