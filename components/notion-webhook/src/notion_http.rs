//! Notion requests over `wasi:http/outgoing-handler`, with timeouts.
//!
//! Only to `notionapibase` (the manifest's `allowed_outbound_hosts` enforces it too). The token
//! travels in the `authorization` header only; errors carry no request detail.

use std::time::Duration;

use nexus_core::notion::{NotionRequest, NotionResponse, Transport};
use nexus_core::{EdgeConfig, Method};
use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, IncomingBody, Method as HttpMethod, OutgoingBody, OutgoingRequest,
    RequestOptions, Scheme,
};
use wasi::io::streams::StreamError;

/// Connect within 5 s, first byte within 8 s: a hook waits 10 s for the whole answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(8);
const BETWEEN_BYTES_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends `request` to Notion and reads the whole answer.
pub fn send(config: &EdgeConfig, request: &NotionRequest) -> Result<NotionResponse, Transport> {
    let (scheme, authority) = split_base(&config.api_base).ok_or(Transport::Other)?;
    let headers: Vec<(String, Vec<u8>)> = config
        .notion
        .headers(request)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_bytes()))
        .collect();
    let fields = Fields::from_list(&headers).map_err(|_| Transport::Other)?;
    let outgoing = OutgoingRequest::new(fields);
    let method = match request.method {
        Method::Get => HttpMethod::Get,
        Method::Post => HttpMethod::Post,
        Method::Patch => HttpMethod::Patch,
    };
    outgoing
        .set_method(&method)
        .map_err(|()| Transport::Other)?;
    outgoing
        .set_scheme(Some(&scheme))
        .map_err(|()| Transport::Other)?;
    outgoing
        .set_authority(Some(authority))
        .map_err(|()| Transport::Other)?;
    outgoing
        .set_path_with_query(Some(&request.path))
        .map_err(|()| Transport::Other)?;
    let body = outgoing.body().map_err(|()| Transport::Other)?;
    let future = outgoing_handler::handle(outgoing, Some(options())).map_err(transport)?;
    // The host reads the body while it sends: write it after `handle`, or a large body would
    // wait forever for a reader.
    write_body(body, request.body.as_deref().unwrap_or_default())?;
    future.subscribe().block();
    let response = future
        .get()
        .ok_or(Transport::Other)?
        .map_err(|()| Transport::Other)?
        .map_err(transport)?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(&"retry-after".to_string())
        .into_iter()
        .next()
        .and_then(|v| String::from_utf8(v).ok());
    let body = read_body(response.consume().map_err(|()| Transport::Other)?)?;
    Ok(NotionResponse {
        status,
        retry_after,
        body,
    })
}

fn options() -> RequestOptions {
    let options = RequestOptions::new();
    let _ = options.set_connect_timeout(Some(CONNECT_TIMEOUT.as_nanos() as u64));
    let _ = options.set_first_byte_timeout(Some(FIRST_BYTE_TIMEOUT.as_nanos() as u64));
    let _ = options.set_between_bytes_timeout(Some(BETWEEN_BYTES_TIMEOUT.as_nanos() as u64));
    options
}

fn write_body(body: OutgoingBody, bytes: &[u8]) -> Result<(), Transport> {
    {
        let stream = body.write().map_err(|()| Transport::Other)?;
        // `blocking-write-and-flush` takes at most 4096 bytes a call.
        for chunk in bytes.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|_| Transport::Other)?;
        }
    }
    OutgoingBody::finish(body, None).map_err(transport)
}

fn read_body(body: IncomingBody) -> Result<Vec<u8>, Transport> {
    let mut bytes = Vec::new();
    {
        let stream = body.stream().map_err(|()| Transport::Other)?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(_)) => return Err(Transport::Other),
            }
        }
    }
    drop(IncomingBody::finish(body));
    Ok(bytes)
}

fn split_base(base: &str) -> Option<(Scheme, &str)> {
    if let Some(rest) = base.strip_prefix("https://") {
        Some((Scheme::Https, rest.trim_end_matches('/')))
    } else {
        base.strip_prefix("http://")
            .map(|rest| (Scheme::Http, rest.trim_end_matches('/')))
    }
}

fn transport(code: ErrorCode) -> Transport {
    match code {
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
    }
}
