//! Outbound HTTP for nexus-sync's components: one request over `wasi:http/outgoing-handler@0.2`,
//! with timeouts, its whole answer read. Shared by the edge (`notion-webhook`) and the queue
//! processor, so both send, time out and report failures the same way.
//!
//! The host decides which origins are reachable: a refused origin comes back as
//! [`HttpError::Denied`]. Errors carry no request detail (headers may hold a token).

#![warn(missing_docs)]

use std::time::Duration;

use nexus_core::notion::Transport;
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use wasi::io::streams::StreamError;

/// An answer: status, `retry-after`, body.
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// The `retry-after` header, as sent.
    pub retry_after: Option<String>,
    /// The whole body.
    pub body: Vec<u8>,
}

/// How long each phase of a request may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Until the connection is open.
    pub connect: Duration,
    /// Until the answer's first byte.
    pub first_byte: Duration,
    /// Between two bytes of the answer.
    pub between_bytes: Duration,
}

impl Timeouts {
    /// The same limit for every phase.
    pub fn all(limit: Duration) -> Timeouts {
        Timeouts {
            connect: limit,
            first_byte: limit,
            between_bytes: limit,
        }
    }
}

/// Why no answer came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpError {
    /// The host refused the origin (not granted).
    Denied,
    /// Timeout, connection or transfer failure.
    Transport(Transport),
}

/// `scheme://authority` and the path of a URL.
pub struct Url {
    scheme: Scheme,
    /// `host[:port]`.
    pub authority: String,
    /// Path and query.
    pub path: String,
}

impl Url {
    /// Parses an `http://` or `https://` URL.
    pub fn parse(url: &str) -> Option<Url> {
        let (scheme, rest) = if let Some(r) = url.strip_prefix("https://") {
            (Scheme::Https, r)
        } else {
            (Scheme::Http, url.strip_prefix("http://")?)
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        (!authority.is_empty()).then(|| Url {
            scheme,
            authority: authority.to_string(),
            path: path.to_string(),
        })
    }

    /// `scheme://authority`, what a log may say about a destination.
    pub fn origin(&self) -> String {
        let s = match self.scheme {
            Scheme::Https => "https",
            _ => "http",
        };
        format!("{s}://{}", self.authority)
    }

    /// The same origin with another path.
    pub fn with_path(&self, path: &str) -> Url {
        Url {
            scheme: match self.scheme {
                Scheme::Https => Scheme::Https,
                _ => Scheme::Http,
            },
            authority: self.authority.clone(),
            path: path.to_string(),
        }
    }
}

/// Sends one request and reads the whole answer.
pub fn send(
    method: &str,
    url: &Url,
    headers: &[(&str, String)],
    body: &[u8],
    timeouts: Timeouts,
) -> Result<Answer, HttpError> {
    let other = HttpError::Transport(Transport::Other);
    let list: Vec<(String, Vec<u8>)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone().into_bytes()))
        .collect();
    let fields = Fields::from_list(&list).map_err(|_| other)?;
    let req = OutgoingRequest::new(fields);
    let m = match method {
        "GET" => Method::Get,
        "PATCH" => Method::Patch,
        _ => Method::Post,
    };
    req.set_method(&m).map_err(|()| other)?;
    req.set_scheme(Some(&url.scheme)).map_err(|()| other)?;
    req.set_authority(Some(&url.authority))
        .map_err(|()| other)?;
    req.set_path_with_query(Some(&url.path))
        .map_err(|()| other)?;
    let out = req.body().map_err(|()| other)?;
    let options = RequestOptions::new();
    let ns = |d: Duration| Some(d.as_nanos() as u64);
    let _ = options.set_connect_timeout(ns(timeouts.connect));
    let _ = options.set_first_byte_timeout(ns(timeouts.first_byte));
    let _ = options.set_between_bytes_timeout(ns(timeouts.between_bytes));
    let future = outgoing_handler::handle(req, Some(options)).map_err(error)?;
    // The body is written after `handle`: the host reads it while it sends, so a body written
    // first would wait forever for a reader. A request the host refuses or cannot connect fails
    // the body write too: the answer's error then says why, so wait for it rather than report
    // the write.
    let written = (|| {
        let stream = out.write().map_err(|()| other)?;
        for chunk in body.chunks(4096) {
            stream.blocking_write_and_flush(chunk).map_err(|_| other)?;
        }
        drop(stream);
        OutgoingBody::finish(out, None).map_err(error)
    })();
    future.subscribe().block();
    if let Err(e) = written {
        return match future.get() {
            Some(Ok(Err(code))) => Err(error(code)),
            _ => Err(e),
        };
    }
    let resp = future
        .get()
        .ok_or(other)?
        .map_err(|()| other)?
        .map_err(error)?;
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get(&"retry-after".to_string())
        .into_iter()
        .next()
        .and_then(|v| String::from_utf8(v).ok());
    let incoming = resp.consume().map_err(|()| other)?;
    let mut bytes = Vec::new();
    {
        let stream = incoming.stream().map_err(|()| other)?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(_)) => return Err(other),
            }
        }
    }
    drop(IncomingBody::finish(incoming));
    Ok(Answer {
        status,
        retry_after,
        body: bytes,
    })
}

fn error(code: ErrorCode) -> HttpError {
    HttpError::Transport(match code {
        ErrorCode::HttpRequestDenied => return HttpError::Denied,
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::HttpResponseTimeout => Transport::Timeout,
        ErrorCode::ConnectionRefused
        | ErrorCode::DnsTimeout
        | ErrorCode::DnsError(_)
        | ErrorCode::DestinationNotFound
        | ErrorCode::DestinationUnavailable
        | ErrorCode::TlsProtocolError
        | ErrorCode::TlsCertificateError => Transport::Connect,
        _ => Transport::Other,
    })
}
