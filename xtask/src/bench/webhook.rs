//! Webhook requests through the host against the emulator, beside the same Notion calls made
//! directly; cold against warm; instantiation as a share of a request.
//!
//! The workload: each client sends pairs of events per session, the first `In Progress` (the
//! edge queries Notion by title, then creates the page), the second `Completed` (the edge knows
//! the page and PATCHes it). The direct run plays the same pairs with the core's own `Upsert`
//! machine, natively, each Notion call on a new connection as wasi-http's outbound requests
//! are: same requests, same bodies, same emulator state, without host, component, signature or
//! key-value store. Every answer is checked (200, and `created` then `updated`), so the two runs
//! cannot drift apart silently.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nexus_core::notion::{NotionRequest, NotionResponse, page_properties};
use nexus_core::{Event, NotionClient, PageRef, PropertyMap, Schema, Upsert, UpsertStep};

use super::load::{self, Answer, Bound, Conn, Latencies, LoadResult, ms, ratio};
use super::stack::{self, Stack};
use super::{Context, Goal, Row};

const SECTION: &str = "webhook";

/// Runs the section.
pub fn run(ctx: &mut Context) -> anyhow::Result<()> {
    let mut stack = ctx.stack(SECTION)?;
    let result = measure(ctx, &mut stack);
    ctx.servers.block_on(stack.shutdown());
    result
}

fn measure(ctx: &mut Context, stack: &mut Stack) -> anyhow::Result<()> {
    // Warm up: the first request compiles nothing (the cache holds the components) but fetches
    // and caches the data source's schema, as any first delivery does.
    let warm_up = ctx.clients.block_on(webhook_load(
        stack.addr(),
        1,
        Bound {
            per_client: 10,
            duration: Duration::from_secs(30),
        },
        "warmup",
    ));
    if warm_up.latencies.len() == 0 {
        bail!(
            "the edge answers no webhook request: {}",
            warm_up.first_error.as_deref().unwrap_or("?")
        );
    }
    cold_and_warm(ctx, stack)?;

    let schema = Arc::new(ctx.clients.block_on(fetch_schema(stack.emulator_addr()?))?);
    for clients in [1usize, 8] {
        let per_client = match clients {
            1 => ctx.pick(600, 60),
            _ => ctx.pick(100, 16),
        };
        let bound = Bound {
            per_client,
            duration: Duration::from_secs(ctx.pick(60, 20)),
        };
        ctx.clients.block_on(stack.reset_emulator())?;
        let from = stack.records();
        let tag = format!("c{clients}");
        let webhook = ctx
            .clients
            .block_on(webhook_load(stack.addr(), clients, bound, &tag));
        // The host logs a request once its component has finished: give the last one a moment.
        std::thread::sleep(Duration::from_millis(200));
        let records: Vec<_> = stack
            .records_since(from)
            .into_iter()
            .filter(|r| r.route.as_deref() == Some("/api/NotionWebhook") && r.status == 200)
            .collect();
        ctx.clients.block_on(stack.reset_emulator())?;
        let direct = ctx.clients.block_on(direct_load(
            stack.emulator_addr()?,
            schema.clone(),
            clients,
            bound,
            &tag,
        ));
        let who = if clients == 1 {
            "1 client".to_string()
        } else {
            format!("{clients} clients")
        };
        ctx.row(Row::info(
            SECTION,
            format!("webhook via host, {who}"),
            webhook.summary(),
        ));
        ctx.row(Row::info(
            SECTION,
            format!("same Notion calls direct, {who}"),
            direct.summary(),
        ));
        if webhook.latencies.len() == 0 || direct.latencies.len() == 0 {
            ctx.row(Row::skipped(
                SECTION,
                format!("webhook / direct, {who}"),
                "a run had no successful request",
            ));
            continue;
        }
        // Creates (query + create) and updates (PATCH) take different times: a p50 over both
        // would fall on the edge between them, so each kind has its own ratio.
        for (kind, calls) in [(CREATE, "create: query + POST"), (UPDATE, "update: PATCH")] {
            let (w, d) = (webhook.kind(kind), direct.kind(kind));
            ctx.row(Row::info(
                SECTION,
                format!("  {calls}, {who}"),
                format!(
                    "webhook p50 {} p99 {}; direct p50 {} p99 {}",
                    ms(w.percentile(0.5)),
                    ms(w.percentile(0.99)),
                    ms(d.percentile(0.5)),
                    ms(d.percentile(0.99))
                ),
            ));
            ctx.row(Row::ratio(
                SECTION,
                format!("  webhook / direct p50, {calls}, {who}"),
                ratio(w.percentile(0.5), d.percentile(0.5)),
                Goal::AtMost(1.5),
            ));
        }
        ctx.row(Row::info(
            SECTION,
            format!("webhook / direct req/s, {who}"),
            format!("{:.2}", webhook.rate() / direct.rate().max(1e-9)),
        ));
        if clients == 1 {
            instantiation_share(ctx, &records);
        }
    }
    Ok(())
}

/// Per-request instantiation from the host's own request lines.
fn instantiation_share(ctx: &mut Context, records: &[nexus_host::RequestRecord]) {
    let warm: Vec<_> = records.iter().filter(|r| !r.cold).collect();
    if warm.is_empty() {
        ctx.row(Row::skipped(
            SECTION,
            "instantiation share of a request",
            "no request lines",
        ));
        return;
    }
    let instantiate: f64 = warm.iter().map(|r| r.instantiate_ms).sum();
    let total: f64 = warm.iter().map(|r| r.duration_ms).sum();
    let share = instantiate / total.max(1e-9);
    let mean_instantiate = Duration::from_secs_f64(instantiate / warm.len() as f64 / 1000.0);
    let mean_total = Duration::from_secs_f64(total / warm.len() as f64 / 1000.0);
    ctx.row(
        Row::info(
            SECTION,
            "instantiation share of a request (1 client)",
            format!(
                "{:.2}% ({} of {} mean, host's log)",
                share * 100.0,
                ms(mean_instantiate),
                ms(mean_total)
            ),
        )
        .with_goal(share, Goal::AtMost(0.05)),
    );
}

/// Restarts the host a few times; each time, the first request (cold) against the next ones.
fn cold_and_warm(ctx: &mut Context, stack: &mut Stack) -> anyhow::Result<()> {
    let rounds = ctx.pick(10, 3);
    let warm_per_round = ctx.pick(20, 8);
    let mut loads = Vec::new();
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    let mut cold_instantiate = Vec::new();
    let mut warm_instantiate = Vec::new();
    for round in 0..rounds {
        loads.push(ctx.servers.block_on(stack.start_host())?);
        let from = stack.records();
        let addr = stack.addr();
        for i in 0..=warm_per_round {
            // A new connection for every request, cold or warm, so both pay the same connect.
            let session = format!("bench-cold-r{round}-{i}-{}", stack::now_millis());
            let took = ctx
                .clients
                .block_on(one_event(addr, &session, "In Progress", "created"))?;
            if i == 0 { &mut cold } else { &mut warm }.push(took);
        }
        std::thread::sleep(Duration::from_millis(100));
        for r in stack.records_since(from) {
            let instantiate = Duration::from_secs_f64(r.instantiate_ms / 1000.0);
            if r.cold {
                &mut cold_instantiate
            } else {
                &mut warm_instantiate
            }
            .push(instantiate);
        }
    }
    let (cold, warm) = (Latencies::new(cold), Latencies::new(warm));
    let loads = Latencies::new(loads);
    ctx.row(Row::info(
        SECTION,
        "host start (App::load, compiled cache)",
        format!("median {} over {rounds} starts", ms(loads.percentile(0.5))),
    ));
    ctx.row(Row::info(
        SECTION,
        "first request after start (cold)",
        format!(
            "median {} (instantiate {})",
            ms(cold.percentile(0.5)),
            ms(Latencies::new(cold_instantiate).percentile(0.5))
        ),
    ));
    ctx.row(Row::info(
        SECTION,
        "next requests (warm)",
        format!(
            "median {} (instantiate {})",
            ms(warm.percentile(0.5)),
            ms(Latencies::new(warm_instantiate).percentile(0.5))
        ),
    ));
    ctx.row(Row::ratio(
        SECTION,
        "cold / warm (medians)",
        ratio(cold.percentile(0.5), warm.percentile(0.5)),
        Goal::AtMost(3.0),
    ));
    Ok(())
}

/// One signed event on a new connection; returns the request's time.
async fn one_event(
    addr: SocketAddr,
    session: &str,
    status: &str,
    action: &str,
) -> anyhow::Result<Duration> {
    let id = stack::event_id();
    let body = serde_json::to_vec(&stack::event(session, status, &id))?;
    let headers = stack::signed_headers(&id, &body);
    let started = Instant::now();
    let mut conn = Conn::open(addr).await?;
    let (code, answer) = conn
        .send("POST", "/api/NotionWebhook", &headers, body)
        .await?;
    let took = started.elapsed();
    check_answer(code, &answer, action)?;
    Ok(took)
}

fn check_answer(code: u16, body: &[u8], action: &str) -> anyhow::Result<()> {
    if code != 200 {
        bail!("status {code}: {}", String::from_utf8_lossy(body));
    }
    let answer: serde_json::Value = serde_json::from_slice(body)?;
    if answer["action"] != action {
        bail!("expected `{action}`, got {answer}");
    }
    Ok(())
}

struct WebhookClient {
    addr: SocketAddr,
    conn: Option<Conn>,
    prefix: String,
}

/// `clients` keep-alive clients posting event pairs (create, then update) to the edge.
async fn webhook_load(addr: SocketAddr, clients: usize, bound: Bound, tag: &str) -> LoadResult {
    let run = stack::now_millis();
    let states = (0..clients)
        .map(|c| WebhookClient {
            addr,
            conn: None,
            prefix: format!("bench-{tag}-{run}-{c}"),
        })
        .collect();
    load::closed_loop(states, bound, |mut client: WebhookClient, i| async move {
        let outcome: anyhow::Result<Answer> = async {
            let (session, status, action, kind) = pair_step(&client.prefix, i);
            let id = stack::event_id();
            let body = serde_json::to_vec(&stack::event(&session, status, &id))?;
            let headers = stack::signed_headers(&id, &body);
            if client.conn.is_none() {
                client.conn = Some(Conn::open(client.addr).await?);
            }
            let conn = client.conn.as_mut().expect("connected above");
            let started = Instant::now();
            let sent = conn
                .send("POST", "/api/NotionWebhook", &headers, body)
                .await;
            let took = started.elapsed();
            let (code, answer) = sent.inspect_err(|_| client.conn = None)?;
            check_answer(code, &answer, action)?;
            Ok(Answer {
                status: code,
                took: Some(took),
                kind,
            })
        }
        .await;
        (client, outcome)
    })
    .await
}

/// The two kinds of request of the workload.
const CREATE: u8 = 0;
const UPDATE: u8 = 1;

/// Request `i` of a client: session `i / 2`, first `In Progress` (created), then `Completed`
/// (updated). Returns the session, the status, the expected action and the kind.
fn pair_step(prefix: &str, i: usize) -> (String, &'static str, &'static str, u8) {
    let session = format!("{prefix}-s{}", i / 2);
    if i.is_multiple_of(2) {
        (session, "In Progress", "created", CREATE)
    } else {
        (session, "Completed", "updated", UPDATE)
    }
}

struct DirectClient {
    addr: SocketAddr,
    schema: Arc<Schema>,
    map: PropertyMap,
    notion: NotionClient,
    pages: HashMap<String, PageRef>,
    prefix: String,
}

/// The Notion calls of [`webhook_load`]'s requests, sent by the bench itself.
async fn direct_load(
    addr: SocketAddr,
    schema: Arc<Schema>,
    clients: usize,
    bound: Bound,
    tag: &str,
) -> LoadResult {
    let run = stack::now_millis();
    let states = (0..clients)
        .map(|c| DirectClient {
            addr,
            schema: schema.clone(),
            map: PropertyMap::default(),
            notion: NotionClient::new(notion_emulator::DEV_TOKEN),
            pages: HashMap::new(),
            prefix: format!("direct-{tag}-{run}-{c}"),
        })
        .collect();
    load::closed_loop(states, bound, |mut client: DirectClient, i| async move {
        let outcome = direct_pair_step(&mut client, i).await;
        (client, outcome)
    })
    .await
}

async fn direct_pair_step(client: &mut DirectClient, i: usize) -> anyhow::Result<Answer> {
    let (session, status, action, kind) = pair_step(&client.prefix, i);
    let id = stack::event_id();
    let body = serde_json::to_vec(&stack::event(&session, status, &id))?;
    // Mapping is the core's work (timed in the `core` section), not Notion's: done before the
    // clock starts.
    let event = Event::parse(&body).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mapped =
        page_properties(&event, &client.schema, &client.map).map_err(|e| anyhow::anyhow!("{e}"))?;
    let title = client
        .schema
        .title_property()
        .context("the schema has a title")?;
    let mut upsert = Upsert::new(
        notion_emulator::AGENT_ACTIVITY_HUB,
        title,
        &session,
        mapped,
        client.pages.get(&session).cloned(),
    );
    let started = Instant::now();
    let mut step = upsert.start();
    let outcome = loop {
        match step {
            UpsertStep::Send(request) => {
                let response = send_notion(client.addr, &client.notion, &request).await?;
                step = upsert.on_response(Ok(response));
            }
            UpsertStep::Done(outcome) => break outcome,
            UpsertStep::Failed(failure) => bail!("the upsert failed: {failure:?}"),
        }
    };
    let took = started.elapsed();
    let done = serde_json::to_value(outcome.action)?;
    if done != action {
        bail!("expected `{action}`, got {done}");
    }
    client.pages.insert(
        session,
        PageRef {
            id: outcome.page_id,
            url: outcome.page_url,
        },
    );
    Ok(Answer {
        status: 200,
        took: Some(took),
        kind,
    })
}

/// One Notion request on a new connection, as the edge's outbound requests go.
async fn send_notion(
    addr: SocketAddr,
    notion: &NotionClient,
    request: &NotionRequest,
) -> anyhow::Result<NotionResponse> {
    let headers = notion.headers(request);
    let (status, body) = load::once(
        addr,
        request.method.as_str(),
        &request.path,
        &headers,
        request.body.clone().unwrap_or_default(),
    )
    .await?;
    Ok(NotionResponse {
        status,
        retry_after: None,
        body: body.to_vec(),
    })
}

async fn fetch_schema(addr: SocketAddr) -> anyhow::Result<Schema> {
    let notion = NotionClient::new(notion_emulator::DEV_TOKEN);
    let request = NotionRequest::retrieve_data_source(notion_emulator::AGENT_ACTIVITY_HUB);
    let response = send_notion(addr, &notion, &request).await?;
    if response.status != 200 {
        bail!("the emulator's data source answered {}", response.status);
    }
    Schema::from_data_source(&response.body).map_err(|e| anyhow::anyhow!("{e}"))
}
