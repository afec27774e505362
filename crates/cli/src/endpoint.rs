//! `nexus endpoint test` (can the edge be reached: DNS, TCP, TLS, the routes, latency) and
//! `nexus endpoint send-test` (a signed synthetic event end to end, printing the page's URL).

use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use nexus_core::event::{Event, Timestamp};
use serde_json::{Value, json};

use crate::delivery::{self, Outcome};
use crate::settings::{self, Settings};

/// How long each probe of `endpoint test` and `health` may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// `nexus endpoint ...`.
#[derive(Debug, Subcommand)]
pub enum EndpointCommand {
    /// Check that the edge answers: DNS, TCP connect, TLS (certificate verified) for https,
    /// GET /api/health, and that POST /api/NotionWebhook exists; with latencies. Sends no event.
    Test(EndpointArgs),
    /// POST a signed synthetic event (session "nexus-send-test") and print the Notion page URL.
    /// Checks URL, secret, signature and the Notion connection in one go; the event is not queued.
    SendTest(EndpointArgs),
}

/// Options of both subcommands.
#[derive(Debug, Args)]
pub struct EndpointArgs {
    /// Webhook URL (default: NEXUS_WEBHOOK_URL or webhook_url in nexus.toml).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `nexus endpoint ...`.
pub fn run(project: Option<&Path>, cmd: EndpointCommand) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(settings::project_dir(project, None))?;
    match cmd {
        EndpointCommand::Test(a) => {
            let url = a
                .url
                .clone()
                .map_or_else(|| settings.require_url().map(str::to_owned), Ok)?;
            let report = test(&url);
            let ok = report["ok"].as_bool().unwrap_or(false);
            if a.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_test(&report);
            }
            Ok(exit(ok))
        }
        EndpointCommand::SendTest(a) => {
            let url = a
                .url
                .clone()
                .map_or_else(|| settings.require_url().map(str::to_owned), Ok)?;
            let secret = settings.require_secret()?;
            let report = send_test(&url, &secret);
            let ok = report["ok"].as_bool().unwrap_or(false);
            if a.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if ok {
                println!(
                    "delivered in {} ms: {}",
                    report["latencyMs"],
                    report["pageUrl"]
                        .as_str()
                        .unwrap_or("(no page URL in the answer)")
                );
            } else {
                eprintln!(
                    "nexus endpoint send-test: not delivered: {}",
                    report["error"].as_str().unwrap_or("unknown error")
                );
            }
            Ok(exit(ok))
        }
    }
}

fn exit(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Probes the endpoint; `ok` when it is reachable, TLS (if any) verifies and the route exists.
pub fn test(url: &str) -> Value {
    let mut r = json!({"url": url, "healthUrl": settings::health_url(url), "ok": false});
    let uri: ureq::http::Uri = match url.parse() {
        Ok(u) => u,
        Err(e) => {
            r["error"] = format!("not a URL: {e}").into();
            return r;
        }
    };
    let https = uri.scheme_str() == Some("https");
    let Some(host) = uri.host() else {
        r["error"] = "the URL has no host".into();
        return r;
    };
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });

    let t = Instant::now();
    let addrs = match (host.trim_matches(['[', ']']), port).to_socket_addrs() {
        Ok(a) => a.collect::<Vec<_>>(),
        Err(e) => {
            r["error"] = format!("cannot resolve {host}: {e}").into();
            return r;
        }
    };
    r["dnsMs"] = ms(t.elapsed()).into();
    let t = Instant::now();
    let connected = addrs
        .iter()
        .find_map(|a| TcpStream::connect_timeout(a, PROBE_TIMEOUT).ok());
    if connected.is_none() {
        r["reachable"] = false.into();
        r["error"] = format!("cannot connect to {host}:{port}").into();
        return r;
    }
    r["reachable"] = true.into();
    r["connectMs"] = ms(t.elapsed()).into();

    let agent = delivery::agent(PROBE_TIMEOUT);
    let t = Instant::now();
    match agent.get(settings::health_url(url)).call() {
        Ok(resp) => {
            r["healthStatus"] = resp.status().as_u16().into();
            r["healthMs"] = ms(t.elapsed()).into();
            r["tls"] = if https { "verified" } else { "not used (http)" }.into();
        }
        Err(e) => {
            r["tls"] = if https {
                format!("failed: {e}")
            } else {
                "not used (http)".into()
            }
            .into();
            r["error"] = format!("GET /api/health: {}", delivery::network_error(&e)).into();
            return r;
        }
    }
    // A GET on the webhook route answers 405 when the route exists: no event is sent.
    let t = Instant::now();
    match agent.get(url).call() {
        Ok(resp) => {
            let s = resp.status().as_u16();
            r["routeStatus"] = s.into();
            r["routeMs"] = ms(t.elapsed()).into();
            if s == 404 {
                r["error"] = "POST /api/NotionWebhook not found (404): check the URL's path".into();
            } else {
                r["ok"] = true.into();
            }
        }
        Err(e) => r["error"] = format!("GET {url}: {}", delivery::network_error(&e)).into(),
    }
    r
}

fn print_test(r: &Value) {
    let line = |k: &str, label: &str| {
        if let Some(v) = r.get(k).filter(|v| !v.is_null()) {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            println!("{label:<16} {v}");
        }
    };
    line("url", "url");
    line("dnsMs", "dns (ms)");
    line("reachable", "reachable");
    line("connectMs", "connect (ms)");
    line("tls", "tls");
    line("healthStatus", "health status");
    line("healthMs", "health (ms)");
    line("routeStatus", "webhook route");
    line("routeMs", "route (ms)");
    line("error", "error");
    println!(
        "{:<16} {}",
        "result",
        if r["ok"] == true { "ok" } else { "FAILED" }
    );
}

/// Sends the synthetic event; `ok` when the edge answered 2xx.
pub fn send_test(url: &str, secret: &nexus_core::signature::Secret) -> Value {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let event_id = nexus_core::event_id::new_uuid_v7(now_ms, rand::random());
    let event = Event {
        event_id: Some(event_id.clone()),
        end_time: Some(Timestamp::from_unix_millis(now_ms as i64)),
        work_description: Some("Synthetic event sent by `nexus endpoint send-test`.".into()),
        ..Event::new("nexus-send-test", "nexus", "Completed")
    };
    let agent = delivery::agent(delivery::POST_TIMEOUT);
    let (outcome, took) = delivery::post_event(&agent, url, secret, &event_id, &event.to_json());
    let mut r = json!({"eventId": event_id, "latencyMs": ms(took), "ok": false});
    match outcome {
        Outcome::Synced {
            status,
            page_id,
            page_url,
            duplicate,
        } => {
            r["ok"] = true.into();
            r["httpStatus"] = status.into();
            r["pageId"] = json!(page_id);
            r["pageUrl"] = json!(page_url);
            r["duplicate"] = duplicate.into();
        }
        Outcome::Refused { status, reason } => {
            r["httpStatus"] = status.into();
            r["error"] = if status == 401 {
                format!(
                    "{reason}: the edge does not accept this secret (is webhooksecret the same?)"
                )
            } else {
                reason
            }
            .into();
        }
        Outcome::Retry { status, error, .. } => {
            r["httpStatus"] = json!(status);
            r["error"] = error.into();
        }
    }
    r
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}
