//! Outbound HTTP: `allowed_outbound_hosts`, enforced as Spin enforces it.
//!
//! A component reaches only the origins its manifest lists (`scheme://host[:port]`, `*` as a
//! wildcard for the scheme, the host, a leading subdomain label or the port); everything else is
//! refused with `HttpRequestDenied` before any connection is made.

use std::future::Future;
use std::sync::Arc;

use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use crate::HostError;

/// One allowed origin.
#[derive(Debug, Clone, PartialEq)]
struct Origin {
    scheme: Pattern,
    host: Pattern,
    port: Pattern,
}

#[derive(Debug, Clone, PartialEq)]
enum Pattern {
    Any,
    Exact(String),
    /// `*.example.com`: any subdomain.
    Suffix(String),
}

impl Pattern {
    fn matches(&self, value: &str) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Exact(v) => v.eq_ignore_ascii_case(value),
            Pattern::Suffix(s) => value.len() > s.len() && value.to_ascii_lowercase().ends_with(s),
        }
    }
}

/// The parsed allow-list of one component.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    origins: Vec<Origin>,
}

impl AllowedHosts {
    /// Parses rendered `allowed_outbound_hosts` entries.
    pub fn parse(entries: &[String]) -> Result<AllowedHosts, HostError> {
        let origins = entries
            .iter()
            .map(|e| parse_origin(e))
            .collect::<Result<_, _>>()?;
        Ok(AllowedHosts { origins })
    }

    /// Whether a request to `uri` may leave the component.
    pub fn allows(&self, uri: &http::Uri) -> bool {
        let Some(scheme) = uri.scheme_str() else {
            return false;
        };
        let Some(host) = uri.host() else { return false };
        let port = uri
            .port_u16()
            .or(default_port(scheme))
            .map(|p| p.to_string())
            .unwrap_or_default();
        self.origins
            .iter()
            .any(|o| o.scheme.matches(scheme) && o.host.matches(host) && o.port.matches(&port))
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

fn parse_origin(entry: &str) -> Result<Origin, HostError> {
    let bad =
        |why: &str| HostError::Manifest(format!("allowed_outbound_hosts entry `{entry}`: {why}"));
    let (scheme, rest) = entry
        .split_once("://")
        .ok_or_else(|| bad("write it as scheme://host[:port]"))?;
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') {
        return Err(bad("paths are not allowed, only scheme://host[:port]"));
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => (h, Some(p)),
        _ => (rest, None),
    };
    if host.is_empty() {
        return Err(bad("the host is missing"));
    }
    let scheme_pattern = if scheme == "*" {
        Pattern::Any
    } else {
        Pattern::Exact(scheme.to_string())
    };
    let host_pattern = if host == "*" {
        Pattern::Any
    } else if let Some(suffix) = host.strip_prefix("*.") {
        Pattern::Suffix(format!(".{}", suffix.to_ascii_lowercase()))
    } else {
        Pattern::Exact(host.to_string())
    };
    let port_pattern = match port {
        Some("*") => Pattern::Any,
        Some(p) => {
            p.parse::<u16>()
                .map_err(|_| bad("the port must be a number or *"))?;
            Pattern::Exact(p.to_string())
        }
        None => match default_port(scheme) {
            Some(p) => Pattern::Exact(p.to_string()),
            None => return Err(bad("give a port for this scheme")),
        },
    };
    Ok(Origin {
        scheme: scheme_pattern,
        host: host_pattern,
        port: port_pattern,
    })
}

/// The wasi-http hooks of one request: outbound calls pass the allow-list or are denied.
pub struct OutboundHooks {
    /// The component's allow-list.
    pub allowed: Arc<AllowedHosts>,
    /// The component's id, for the log line of a denied request.
    pub component: Arc<str>,
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
                ),
                wasmtime_wasi_http::Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> SendFuture {
        if !self.allowed.allows(request.uri()) {
            tracing::warn!(
                component = %self.component,
                destination = %origin_of(request.uri()),
                "outbound request denied: not in allowed_outbound_hosts"
            );
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

/// scheme://host:port of a URI: what a log may say about a destination (never its query).
fn origin_of(uri: &http::Uri) -> String {
    format!(
        "{}://{}",
        uri.scheme_str().unwrap_or("?"),
        uri.authority().map(|a| a.as_str()).unwrap_or("?")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(entries: &[&str], uri: &str) -> bool {
        let list: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
        AllowedHosts::parse(&list)
            .unwrap()
            .allows(&uri.parse().unwrap())
    }

    #[test]
    fn exact_origin_with_default_port() {
        assert!(allows(
            &["https://api.notion.com"],
            "https://api.notion.com/v1/pages"
        ));
        assert!(allows(
            &["https://api.notion.com"],
            "https://api.notion.com:443/v1/pages"
        ));
        assert!(!allows(
            &["https://api.notion.com"],
            "http://api.notion.com/v1/pages"
        ));
        assert!(!allows(
            &["https://api.notion.com"],
            "https://api.notion.com:8443/"
        ));
        assert!(!allows(
            &["https://api.notion.com"],
            "https://evil.example/"
        ));
    }

    #[test]
    fn wildcards() {
        assert!(allows(&["http://127.0.0.1:*"], "http://127.0.0.1:3001/v1"));
        assert!(allows(&["https://*.notion.com"], "https://api.notion.com/"));
        assert!(!allows(&["https://*.notion.com"], "https://notion.com/"));
        assert!(allows(&["*://*:*"], "http://anything:1/"));
        assert!(!allows(&[], "http://127.0.0.1:3001/"));
    }

    #[test]
    fn rejects_malformed_entries() {
        for bad in [
            "api.notion.com",
            "https://h/path",
            "https://h:port",
            "foo://h",
        ] {
            assert!(AllowedHosts::parse(&[bad.to_string()]).is_err(), "{bad}");
        }
    }
}
