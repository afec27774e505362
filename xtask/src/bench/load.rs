//! The load generator: HTTP/1.1 clients on loopback (tokio + hyper), closed loops bounded by a
//! count and a deadline, and the latency figures they produce.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// One keep-alive HTTP/1.1 connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    authority: String,
}

impl Conn {
    /// Connects to `addr` (loopback only: the bench never loads anything else).
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Conn> {
        anyhow::ensure!(addr.ip().is_loopback(), "the bench loads loopback only");
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP handshake")?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Conn {
            sender,
            authority: addr.to_string(),
        })
    }

    /// Sends one request and reads the whole answer: its status and body.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> anyhow::Result<(u16, Bytes)> {
        let mut request = http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, &self.authority);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request.body(Full::new(Bytes::from(body)))?;
        self.sender.ready().await.context("connection closed")?;
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// One request on a connection of its own (what wasi-http's outbound requests do).
pub async fn once(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> anyhow::Result<(u16, Bytes)> {
    Conn::open(addr)
        .await?
        .send(method, path, headers, body)
        .await
}

/// `host:port` of an `http://host:port` URL.
pub fn addr_of(url: &str) -> anyhow::Result<SocketAddr> {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .with_context(|| format!("not an http://ip:port URL: {url}"))
}

/// When a closed loop stops: whichever comes first.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    /// Requests per client.
    pub per_client: usize,
    /// Wall time of the whole loop.
    pub duration: Duration,
}

/// What a load run measured.
#[derive(Debug, Default)]
pub struct LoadResult {
    /// Latency of every request that answered 2xx.
    pub latencies: Latencies,
    /// The same, by [`Answer::kind`].
    pub kinds: BTreeMap<u8, Latencies>,
    /// Requests that failed or answered something else, with the first reason.
    pub errors: usize,
    /// The first error, to show.
    pub first_error: Option<String>,
    /// From the start to the last answer.
    pub elapsed: Duration,
}

impl LoadResult {
    /// The latencies of one kind of request (empty when there were none).
    pub fn kind(&self, kind: u8) -> Latencies {
        self.kinds.get(&kind).cloned().unwrap_or_default()
    }

    /// Successful requests per second.
    pub fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// `N req, R req/s, p50 X, p99 Y` (and errors, if any).
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} req, {:.0} req/s, p50 {}, p99 {}",
            self.latencies.len(),
            self.rate(),
            ms(self.latencies.percentile(0.50)),
            ms(self.latencies.percentile(0.99)),
        );
        if self.errors > 0 {
            s.push_str(&format!(
                ", {} errors ({})",
                self.errors,
                self.first_error.as_deref().unwrap_or("?")
            ));
        }
        s
    }
}

/// How one request of a closed loop went.
#[derive(Debug, Clone, Copy)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// The time to count, when only part of the step is the request (preparing a body or
    /// signing it is not); None counts the whole step.
    pub took: Option<Duration>,
    /// What kind of request it was, for figures per kind ([`LoadResult::kind`]).
    pub kind: u8,
}

impl From<u16> for Answer {
    fn from(status: u16) -> Answer {
        Answer {
            status,
            took: None,
            kind: 0,
        }
    }
}

/// Runs one closed-loop client per state, all at once, each calling `step` (with its request
/// number) until the bound. `step` hands the state back with the request's answer (or error);
/// only 2xx answers count as latencies.
pub async fn closed_loop<S, F, Fut>(states: Vec<S>, bound: Bound, step: F) -> LoadResult
where
    S: Send + 'static,
    F: Fn(S, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = (S, anyhow::Result<Answer>)> + Send,
{
    let step = Arc::new(step);
    let started = Instant::now();
    let deadline = started + bound.duration;
    let mut tasks = Vec::new();
    for state in states {
        let step = step.clone();
        tasks.push(tokio::spawn(async move {
            let mut state = state;
            let mut samples = Vec::with_capacity(bound.per_client.min(1 << 16));
            let mut errors = 0;
            let mut first_error = None;
            for i in 0..bound.per_client {
                if Instant::now() >= deadline {
                    break;
                }
                let t0 = Instant::now();
                let (next, outcome) = step(state, i).await;
                state = next;
                match outcome {
                    Ok(Answer { status, took, kind }) if (200..300).contains(&status) => {
                        samples.push((kind, took.unwrap_or_else(|| t0.elapsed())));
                    }
                    Ok(Answer { status, .. }) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| format!("status {status}"));
                    }
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
            }
            (samples, errors, first_error, Instant::now())
        }));
    }
    let mut result = LoadResult::default();
    let mut last = started;
    for task in tasks {
        let Ok((samples, errors, first_error, ended)) = task.await else {
            result.errors += 1;
            continue;
        };
        for (kind, took) in samples {
            result.latencies.0.push(took);
            result.kinds.entry(kind).or_default().0.push(took);
        }
        result.errors += errors;
        if result.first_error.is_none() {
            result.first_error = first_error;
        }
        last = last.max(ended);
    }
    result.elapsed = last - started;
    result.latencies.0.sort();
    for latencies in result.kinds.values_mut() {
        latencies.0.sort();
    }
    result
}

/// Request latencies.
#[derive(Debug, Default, Clone)]
pub struct Latencies(pub Vec<Duration>);

impl Latencies {
    /// From samples in any order.
    pub fn new(mut samples: Vec<Duration>) -> Latencies {
        samples.sort();
        Latencies(samples)
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Nearest-rank percentile (`q` in 0..=1); zero when empty.
    pub fn percentile(&self, q: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((q * self.0.len() as f64).ceil() as usize).clamp(1, self.0.len());
        self.0[rank - 1]
    }
}

/// A duration as milliseconds, with precision that suits its size.
pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 1.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{:.0} µs", ms * 1000.0)
    }
}

/// The ratio of two durations.
pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-12)
}
