//! The queue processor's decisions: which route an entry takes, when a request may leave, what an
//! answer means for the entry, and when it is tried again.
//!
//! The processor (the `queue-processor` component) walks the queue's pending entries in order and,
//! for each, asks a [`Drain`] what to do: skip it (not due yet, its session held back, no route),
//! wait (a `Retry-After` in force, the Notion token bucket empty), or send it by a [`Route`]: the
//! edge webhook first, Notion directly when the edge is down and a token is configured. Each answer
//! becomes an [`Attempt`]; [`Drain::after_attempt`] turns it into the next step: try again now
//! (after a throttle, or by the other route), or a [`Verdict`] to record in the receipts.
//!
//! Rules: throttles (Notion 429/529/409, the edge's 503 relaying one) pause every request until
//! their `Retry-After` and are retried within the run without counting against the attempt
//! limit, up to [`DrainConfig::max_waits_per_entry`]; other failures count, and back off
//! exponentially with jitter per entry; 400/401/413/422 (and Notion's refusals) are dead letters,
//! and so is an entry past [`DrainConfig::max_attempts`]. A route that is down (connection
//! refused, timeout, a 5xx that is not the edge's own answer) is not the entry's fault: it does
//! not count. Once an entry of a session is left pending, later entries of that session wait for
//! the next run, so pages never move back to an older state.
//!
//! No I/O, clock or randomness: `now_ms` (Unix milliseconds) and `random` come in.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::edge_answer::{EdgeOutcome, classify_edge_answer};
use crate::event::Event;
use crate::notion::{
    Classified, Method, NotionRequest, NotionResponse, PageRef, PropertyMap, Schema, Transport,
    classify, page_properties, retrieve_data_source,
};
use crate::retry::{Backoff, TokenBucket, retry_after_to_ms};
use crate::upsert::{Upsert, UpsertFailure, UpsertStep};

/// Pages remembered per session within a run (the direct route patches them without a query).
const MAX_KNOWN_PAGES: usize = 4096;

/// The processor's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct DrainConfig {
    /// Attempts (that count) before an entry becomes a dead letter (issue 4: 10).
    pub max_attempts: u32,
    /// Backoff between counted attempts of one entry.
    pub backoff: Backoff,
    /// Requests per second to Notion on the direct route (default 3, Notion's documented average).
    pub notion_rate_per_sec: f64,
    /// Throttled retries of one entry within a run before it counts as a failed attempt.
    pub max_waits_per_entry: u32,
    /// A throttle without `Retry-After` pauses this long.
    pub default_throttle_ms: u64,
}

impl Default for DrainConfig {
    fn default() -> DrainConfig {
        DrainConfig {
            max_attempts: 10,
            backoff: Backoff {
                base_ms: 30_000,
                max_ms: 3_600_000,
            },
            notion_rate_per_sec: 3.0,
            max_waits_per_entry: 5,
            default_throttle_ms: 1_000,
        }
    }
}

/// How an entry travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `POST /api/NotionWebhook`, signed: the local machine needs no Notion token.
    Edge,
    /// Notion's API, through the same mapping and upsert as the edge.
    Notion,
}

impl Route {
    /// `"edge"` or `"notion"`, as logs and receipts name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Edge => "edge",
            Route::Notion => "notion",
        }
    }
}

/// What one attempt came to, whatever the route.
#[derive(Clone, Debug, PartialEq)]
pub enum Attempt {
    /// The page exists.
    Delivered {
        /// HTTP status of the final answer.
        status: u16,
        /// The page, when the answer named it.
        page_id: Option<String>,
    },
    /// Refused for good: a dead letter.
    Refused {
        /// HTTP status.
        status: Option<u16>,
        /// The refusal, with the server's code and message.
        reason: String,
    },
    /// Rate-limited or overloaded: pause everything for `after_ms`, then retry the entry.
    Throttled {
        /// HTTP status.
        status: Option<u16>,
        /// How long to wait (from `Retry-After`).
        after_ms: u64,
        /// What happened.
        reason: String,
    },
    /// Failed; may have taken effect. Counts against the attempt limit.
    Failed {
        /// HTTP status, when an answer came.
        status: Option<u16>,
        /// What happened.
        reason: String,
        /// A `Retry-After` the server gave.
        after_ms: Option<u64>,
    },
    /// The route itself is unavailable (edge unreachable, Notion token refused).
    RouteDown {
        /// HTTP status, when an answer came.
        status: Option<u16>,
        /// What happened.
        reason: String,
    },
}

impl Attempt {
    /// The HTTP status of the answer, if one came.
    pub fn status(&self) -> Option<u16> {
        match self {
            Attempt::Delivered { status, .. } => Some(*status),
            Attempt::Refused { status, .. }
            | Attempt::Throttled { status, .. }
            | Attempt::Failed { status, .. }
            | Attempt::RouteDown { status, .. } => *status,
        }
    }
}

/// The edge's answer (or the transport failure) as an [`Attempt`]. `retry_after` is the
/// `retry-after` header.
pub fn edge_attempt(
    answer: Result<(u16, &[u8], Option<&str>), Transport>,
    default_throttle_ms: u64,
) -> Attempt {
    let (status, body, retry_after) = match answer {
        Ok(a) => a,
        Err(t) => {
            return Attempt::RouteDown {
                status: None,
                reason: match t {
                    Transport::Timeout => "the edge did not answer in time",
                    Transport::Connect => "could not connect to the edge",
                    Transport::Other => "the request to the edge failed in transit",
                }
                .to_string(),
            };
        }
    };
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let edge_error = json.get("error").and_then(Value::as_str);
    match classify_edge_answer(status, body) {
        EdgeOutcome::Synced { page_id, .. } => Attempt::Delivered { status, page_id },
        EdgeOutcome::Refused { status, reason } => Attempt::Refused {
            status: Some(status),
            reason,
        },
        EdgeOutcome::Retry {
            error,
            retry_after_secs,
            ..
        } => {
            let after_ms = retry_after_secs
                .map(|s| s.saturating_mul(1000))
                .or_else(|| retry_after.and_then(retry_after_to_ms));
            match (status, edge_error) {
                // The edge is up; Notion (or its store) asks for patience.
                (503, Some(_)) | (429, _) => Attempt::Throttled {
                    status: Some(status),
                    after_ms: after_ms.unwrap_or(default_throttle_ms),
                    reason: error,
                },
                // The edge answered but cannot deliver (misconfigured), or a proxy answered
                // for an edge that is not there.
                (500..=599, _) => Attempt::RouteDown {
                    status: Some(status),
                    reason: error,
                },
                _ => Attempt::Failed {
                    status: Some(status),
                    reason: error,
                    after_ms,
                },
            }
        }
    }
}

/// A Notion answer as an [`Attempt`], for requests outside an upsert (the schema).
fn notion_attempt(method: Method, r: Result<&NotionResponse, Transport>) -> Attempt {
    let status = r.ok().map(|r| r.status);
    let retry_after = r.ok().and_then(|r| r.retry_after.as_deref());
    match classify(method, r) {
        Classified::Done(_) => Attempt::Delivered {
            status: status.unwrap_or(200),
            page_id: None,
        },
        Classified::Refused { status, code, .. } if status == 401 => Attempt::RouteDown {
            status: Some(status),
            reason: format!("Notion refused the token ({status} {code})"),
        },
        Classified::Refused {
            status,
            code,
            message,
        } => Attempt::Refused {
            status: Some(status),
            reason: format!("Notion refused ({status} {code}): {message}"),
        },
        Classified::Retry {
            after_secs, reason, ..
        } => throttle_or_failure(status, retry_after, after_secs, reason),
    }
}

/// A retryable Notion answer: a throttle (429, 529, 409) waits `after_secs`; anything else is a
/// counted failure that honours only a `Retry-After` Notion actually sent.
fn throttle_or_failure(
    status: Option<u16>,
    retry_after: Option<&str>,
    after_secs: u64,
    reason: String,
) -> Attempt {
    match status {
        Some(429 | 529 | 409) => Attempt::Throttled {
            status,
            after_ms: after_secs.saturating_mul(1000),
            reason,
        },
        _ => Attempt::Failed {
            status,
            reason,
            after_ms: retry_after.and_then(retry_after_to_ms),
        },
    }
}

/// The data source's schema from Notion's answer to [`schema_request`], or why not.
pub fn schema_from(r: Result<&NotionResponse, Transport>) -> Result<Schema, Attempt> {
    match notion_attempt(Method::Get, r) {
        Attempt::Delivered { .. } => {
            let body = r.map(|r| r.body.as_slice()).unwrap_or_default();
            Schema::from_data_source(body).map_err(|e| Attempt::RouteDown {
                status: None,
                reason: format!("the data source cannot be described: {e}"),
            })
        }
        Attempt::Refused { status, reason } => Err(Attempt::RouteDown { status, reason }),
        other => Err(other),
    }
}

/// `GET /v1/data_sources/{id}`: the schema the direct route maps with.
pub fn schema_request(data_source_id: &str) -> NotionRequest {
    retrieve_data_source(data_source_id)
}

/// What to record for an entry.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Delivered: a `synced` receipt with the page.
    Synced {
        /// HTTP status.
        status: u16,
        /// The page.
        page_id: Option<String>,
    },
    /// Not delivered: a `failed` receipt; try again at `next_attempt_ms`.
    Retry {
        /// HTTP status, when an answer came.
        status: Option<u16>,
        /// What happened.
        error: String,
        /// Whether this attempt counts against the limit (a route that is down does not).
        counted: bool,
        /// Earliest next attempt, Unix ms (`None`: as soon as a route is back).
        next_attempt_ms: Option<u64>,
    },
    /// Given up: a dead letter.
    Dead {
        /// HTTP status, when an answer came.
        status: Option<u16>,
        /// Why.
        reason: String,
        /// Whether this call reports a request (false: the attempt limit alone).
        attempted: bool,
    },
}

/// What to do after an attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    /// Send the entry again now by this route (after [`Drain::wait_ms`] allows it).
    Again(Route),
    /// Record this and move on.
    Settle(Verdict),
}

/// Why an entry is not sent in this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// Its backoff has not expired.
    NotDue,
    /// An earlier entry of its session is still pending.
    HeldBack,
    /// No route works (edge down, no Notion token).
    NoRoute,
}

/// Counts for the summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Entries delivered in this run.
    pub delivered: u64,
    /// Entries tried and left pending for a later run.
    pub retried: u64,
    /// Entries moved to the dead letters.
    pub dead: u64,
    /// Pending entries not tried (not due, held back, no route).
    pub waiting: u64,
    /// Entries found already delivered or dead.
    pub done_before: u64,
}

/// One run of the processor.
#[derive(Debug)]
pub struct Drain {
    config: DrainConfig,
    has_edge: bool,
    has_notion: bool,
    edge_down: bool,
    notion_down: bool,
    paused_until_ms: u64,
    bucket: TokenBucket,
    held_sessions: HashSet<String>,
    pages: HashMap<String, PageRef>,
    /// The counts so far.
    pub counts: Counts,
    /// Why the last route went down, for the summary.
    pub route_problem: Option<String>,
}

impl Drain {
    /// A run with these routes configured.
    pub fn new(config: DrainConfig, has_edge: bool, has_notion: bool) -> Drain {
        // Burst 1: requests leave evenly spaced, so a server-side bucket at the same rate never
        // sees two at once, whatever the network's jitter.
        let bucket = TokenBucket::new(config.notion_rate_per_sec, 1.0);
        Drain {
            config,
            has_edge,
            has_notion,
            edge_down: false,
            notion_down: false,
            paused_until_ms: 0,
            bucket,
            held_sessions: HashSet::new(),
            pages: HashMap::new(),
            counts: Counts::default(),
            route_problem: None,
        }
    }

    /// The settings.
    pub fn config(&self) -> &DrainConfig {
        &self.config
    }

    /// The route the next entry takes, if any works.
    pub fn route(&self) -> Option<Route> {
        if self.has_edge && !self.edge_down {
            Some(Route::Edge)
        } else if self.has_notion && !self.notion_down {
            Some(Route::Notion)
        } else {
            None
        }
    }

    /// Whether (and why not) to send a pending entry now. `next_attempt_ms`: from its receipts.
    pub fn skip(
        &mut self,
        session_id: Option<&str>,
        next_attempt_ms: Option<u64>,
        now_ms: u64,
    ) -> Option<Skip> {
        let skip = if session_id.is_some_and(|s| self.held_sessions.contains(s)) {
            Some(Skip::HeldBack)
        } else if next_attempt_ms.is_some_and(|t| t > now_ms) {
            Some(Skip::NotDue)
        } else if self.route().is_none() {
            Some(Skip::NoRoute)
        } else {
            None
        };
        if skip.is_some() {
            self.counts.waiting += 1;
        }
        // Its successors in the session must not overtake it. (Without a route nothing is
        // sent this run, so there is nothing to hold back: the set stays small.)
        if skip == Some(Skip::NotDue)
            && let Some(s) = session_id
        {
            self.held_sessions.insert(s.to_string());
        }
        skip
    }

    /// Milliseconds to wait before a request by `route` may leave at `now_ms`, or `None`: send
    /// now (a Notion token is then taken).
    pub fn wait_ms(&mut self, route: Route, now_ms: u64) -> Option<u64> {
        if self.paused_until_ms > now_ms {
            return Some(self.paused_until_ms - now_ms);
        }
        if route == Route::Notion {
            return self.bucket.try_take(now_ms).err();
        }
        None
    }

    /// Tells the run about any Notion answer on the direct route: a throttle pauses everything.
    pub fn on_notion_answer(&mut self, r: Result<&NotionResponse, Transport>, now_ms: u64) {
        if let Ok(resp) = r
            && matches!(resp.status, 429 | 529 | 409 | 503)
        {
            let wait = resp
                .retry_after
                .as_deref()
                .and_then(retry_after_to_ms)
                .unwrap_or(self.config.default_throttle_ms);
            self.pause_until(now_ms.saturating_add(wait));
        }
    }

    fn pause_until(&mut self, until_ms: u64) {
        self.paused_until_ms = self.paused_until_ms.max(until_ms);
    }

    /// The page a session's earlier entry reached in this run (the direct route patches it).
    pub fn known_page(&self, session_id: &str) -> Option<PageRef> {
        self.pages.get(session_id).cloned()
    }

    /// What follows an attempt of an entry by `route`. `prior_attempts`: counted attempts in its
    /// receipts; `waits`: throttled retries of it in this run so far; `random`: any `u32`.
    #[allow(clippy::too_many_arguments)]
    pub fn after_attempt(
        &mut self,
        route: Route,
        session_id: Option<&str>,
        prior_attempts: u32,
        waits: u32,
        attempt: Attempt,
        now_ms: u64,
        random: u32,
    ) -> Next {
        let next = match attempt {
            Attempt::Delivered { status, page_id } => {
                Next::Settle(Verdict::Synced { status, page_id })
            }
            Attempt::Refused { status, reason } => Next::Settle(Verdict::Dead {
                status,
                reason,
                attempted: true,
            }),
            Attempt::Throttled {
                status,
                after_ms,
                reason,
            } => {
                self.pause_until(now_ms.saturating_add(after_ms));
                if waits < self.config.max_waits_per_entry {
                    Next::Again(route)
                } else {
                    self.counted_failure(
                        status,
                        reason,
                        prior_attempts,
                        Some(after_ms),
                        now_ms,
                        random,
                    )
                }
            }
            Attempt::Failed {
                status,
                reason,
                after_ms,
            } => {
                if let Some(ms) = after_ms {
                    self.pause_until(now_ms.saturating_add(ms));
                }
                self.counted_failure(status, reason, prior_attempts, after_ms, now_ms, random)
            }
            Attempt::RouteDown { status, reason } => {
                match route {
                    Route::Edge => self.edge_down = true,
                    Route::Notion => self.notion_down = true,
                }
                let label = match route {
                    Route::Edge => "edge",
                    Route::Notion => "Notion",
                };
                self.route_problem = Some(format!("{label}: {reason}"));
                match self.route() {
                    Some(other) => Next::Again(other),
                    None => Next::Settle(Verdict::Retry {
                        status,
                        error: reason,
                        counted: false,
                        next_attempt_ms: None,
                    }),
                }
            }
        };
        if let Next::Settle(v) = &next {
            match v {
                Verdict::Synced { .. } => self.counts.delivered += 1,
                Verdict::Retry { .. } => {
                    self.counts.retried += 1;
                    if let Some(s) = session_id {
                        self.held_sessions.insert(s.to_string());
                    }
                }
                Verdict::Dead { .. } => self.counts.dead += 1,
            }
        }
        next
    }

    fn counted_failure(
        &self,
        status: Option<u16>,
        reason: String,
        prior_attempts: u32,
        after_ms: Option<u64>,
        now_ms: u64,
        random: u32,
    ) -> Next {
        let attempts = prior_attempts.saturating_add(1);
        if attempts >= self.config.max_attempts {
            return Next::Settle(Verdict::Dead {
                status,
                reason: format!("gave up after {attempts} attempts; last error: {reason}"),
                attempted: true,
            });
        }
        let delay = self
            .config
            .backoff
            .delay_ms(prior_attempts, random)
            .max(after_ms.unwrap_or(0));
        Next::Settle(Verdict::Retry {
            status,
            error: reason,
            counted: true,
            next_attempt_ms: Some(now_ms.saturating_add(delay)),
        })
    }

    /// An entry found past the attempt limit before it was sent (the limit was lowered):
    /// records it dead without a request.
    pub fn over_limit(&mut self, attempts: u32) -> Option<Verdict> {
        (attempts >= self.config.max_attempts).then(|| {
            self.counts.dead += 1;
            Verdict::Dead {
                status: None,
                reason: format!("gave up after {attempts} attempts"),
                attempted: false,
            }
        })
    }
}

/// One entry delivered to Notion directly: the edge's mapping and upsert, driven by the shell.
#[derive(Debug)]
pub struct DirectDelivery {
    upsert: Upsert,
    session_id: String,
    last_status: Option<u16>,
    last_retry_after: Option<String>,
}

/// The next thing a [`DirectDelivery`] needs.
#[derive(Clone, Debug, PartialEq)]
pub enum DirectStep {
    /// Send this to Notion (after [`Drain::wait_ms`] allows it) and report the answer.
    Send(NotionRequest),
    /// The attempt is over.
    Finished(Attempt),
}

impl DirectDelivery {
    /// Maps the event (`body`, as queued) onto `schema` and starts the upsert: a PATCH of the
    /// page an earlier entry of the session reached in this run, else a query before any create.
    pub fn start(
        drain: &Drain,
        body: &[u8],
        schema: &Schema,
        map: &PropertyMap,
        data_source_id: &str,
    ) -> (Option<DirectDelivery>, DirectStep) {
        let refused = |reason: String| {
            (
                None,
                DirectStep::Finished(Attempt::Refused {
                    status: Some(400),
                    reason,
                }),
            )
        };
        let event = match Event::parse(body) {
            Ok(e) => e,
            Err(p) => return refused(format!("invalid_payload: {}", p.message)),
        };
        let mapped = match page_properties(&event, schema, map) {
            Ok(m) => m,
            Err(p) => return refused(format!("invalid_payload: {}", p.message)),
        };
        let Some(title) = schema.title_property() else {
            return (
                None,
                DirectStep::Finished(Attempt::RouteDown {
                    status: None,
                    reason: "the data source has no title property".into(),
                }),
            );
        };
        let known = drain.known_page(&event.session_id);
        let mut upsert = Upsert::new(data_source_id, title, &event.session_id, mapped, known);
        let step = upsert.start();
        let mut d = DirectDelivery {
            upsert,
            session_id: event.session_id,
            last_status: None,
            last_retry_after: None,
        };
        let step = d.step(step, None);
        (Some(d), step)
    }

    /// Feeds Notion's answer to the last request.
    pub fn on_response(
        &mut self,
        drain: &mut Drain,
        r: Result<NotionResponse, Transport>,
        now_ms: u64,
    ) -> DirectStep {
        drain.on_notion_answer(r.as_ref().map_err(|t| *t), now_ms);
        self.last_status = r.as_ref().ok().map(|r| r.status);
        self.last_retry_after = r.as_ref().ok().and_then(|r| r.retry_after.clone());
        let step = self.upsert.on_response(r);
        self.step(step, Some(drain))
    }

    fn step(&mut self, step: UpsertStep, drain: Option<&mut Drain>) -> DirectStep {
        match step {
            UpsertStep::Send(req) => DirectStep::Send(req),
            UpsertStep::Done(outcome) => {
                if let Some(drain) = drain {
                    // A cache, not a record: bounded so memory does not grow with the queue.
                    if drain.pages.len() >= MAX_KNOWN_PAGES {
                        drain.pages.clear();
                    }
                    drain.pages.insert(
                        self.session_id.clone(),
                        PageRef {
                            id: outcome.page_id.clone(),
                            url: outcome.page_url.clone(),
                        },
                    );
                }
                DirectStep::Finished(Attempt::Delivered {
                    status: self.last_status.unwrap_or(200),
                    page_id: Some(outcome.page_id),
                })
            }
            UpsertStep::Failed(UpsertFailure::Refused {
                status,
                code,
                message,
            }) => DirectStep::Finished(if status == 401 {
                Attempt::RouteDown {
                    status: Some(status),
                    reason: format!("Notion refused the token ({status} {code})"),
                }
            } else {
                Attempt::Refused {
                    status: Some(status),
                    reason: format!("Notion refused ({status} {code}): {message}"),
                }
            }),
            UpsertStep::Failed(UpsertFailure::Retry { after_secs, reason }) => {
                DirectStep::Finished(throttle_or_failure(
                    self.last_status,
                    self.last_retry_after.as_deref(),
                    after_secs,
                    reason,
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> DrainConfig {
        DrainConfig {
            max_attempts: 3,
            backoff: Backoff {
                base_ms: 1000,
                max_ms: 60_000,
            },
            ..DrainConfig::default()
        }
    }

    #[test]
    fn edge_answers_map_to_attempts() {
        let ok = edge_attempt(
            Ok((
                200,
                br#"{"success":true,"pageId":"p1","duplicate":true}"#,
                None,
            )),
            1000,
        );
        assert_eq!(
            ok,
            Attempt::Delivered {
                status: 200,
                page_id: Some("p1".into())
            }
        );
        let refused = edge_attempt(
            Ok((
                422,
                br#"{"success":false,"error":"notion_rejected","message":"Could not find page"}"#,
                None,
            )),
            1000,
        );
        assert!(
            matches!(&refused, Attempt::Refused { status: Some(422), reason } if reason.contains("Could not find page")),
            "{refused:?}"
        );
        let throttled = edge_attempt(
            Ok((
                503,
                br#"{"success":false,"error":"notion_unavailable","retryAfterSeconds":7}"#,
                Some("7"),
            )),
            1000,
        );
        assert!(matches!(
            throttled,
            Attempt::Throttled { after_ms: 7000, .. }
        ));
        assert!(matches!(
            edge_attempt(Ok((502, b"<html>", None)), 1000),
            Attempt::RouteDown { .. }
        ));
        assert!(matches!(
            edge_attempt(Err(Transport::Connect), 1000),
            Attempt::RouteDown { status: None, .. }
        ));
    }

    #[test]
    fn the_edge_goes_first_then_notion_then_nothing() {
        let mut d = Drain::new(cfg(), true, true);
        assert_eq!(d.route(), Some(Route::Edge));
        let down = Attempt::RouteDown {
            status: None,
            reason: "refused".into(),
        };
        let next = d.after_attempt(Route::Edge, Some("s"), 0, 0, down.clone(), 0, 0);
        assert_eq!(next, Next::Again(Route::Notion));
        let next = d.after_attempt(Route::Notion, Some("s"), 0, 0, down, 0, 0);
        assert!(matches!(
            next,
            Next::Settle(Verdict::Retry { counted: false, .. })
        ));
        assert_eq!(d.route(), None);
        assert_eq!(d.skip(Some("t"), None, 0), Some(Skip::NoRoute));
    }

    #[test]
    fn failures_back_off_then_die_at_the_limit() {
        let mut d = Drain::new(cfg(), true, false);
        let fail = || Attempt::Failed {
            status: Some(500),
            reason: "boom".into(),
            after_ms: None,
        };
        match d.after_attempt(Route::Edge, None, 1, 0, fail(), 10_000, u32::MAX) {
            Next::Settle(Verdict::Retry {
                next_attempt_ms,
                counted: true,
                ..
            }) => assert_eq!(next_attempt_ms, Some(12_000)),
            other => panic!("{other:?}"),
        }
        match d.after_attempt(Route::Edge, None, 2, 0, fail(), 0, 0) {
            Next::Settle(Verdict::Dead { reason, .. }) => {
                assert!(reason.contains("after 3 attempts"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(d.counts.dead, 1);
        assert_eq!(d.counts.retried, 1);
    }

    #[test]
    fn throttles_pause_everything_and_do_not_count_until_the_wait_budget_is_spent() {
        let mut d = Drain::new(cfg(), true, false);
        let t = || Attempt::Throttled {
            status: Some(503),
            after_ms: 2000,
            reason: "slow".into(),
        };
        assert_eq!(
            d.after_attempt(Route::Edge, Some("s"), 0, 0, t(), 1000, 0),
            Next::Again(Route::Edge)
        );
        assert_eq!(d.wait_ms(Route::Edge, 1500), Some(1500));
        assert_eq!(d.wait_ms(Route::Edge, 3000), None);
        let spent = d.config().max_waits_per_entry;
        assert!(matches!(
            d.after_attempt(Route::Edge, Some("s"), 0, spent, t(), 3000, 0),
            Next::Settle(Verdict::Retry { counted: true, .. })
        ));
        // Later entries of that session wait for the next run.
        assert_eq!(d.skip(Some("s"), None, 3000), Some(Skip::HeldBack));
    }

    #[test]
    fn the_notion_bucket_spaces_requests() {
        let mut d = Drain::new(cfg(), false, true);
        assert_eq!(d.wait_ms(Route::Notion, 0), None);
        assert_eq!(d.wait_ms(Route::Notion, 100), Some(234));
        assert_eq!(d.wait_ms(Route::Notion, 334), None);
        // The edge route is not bucketed.
        assert_eq!(d.wait_ms(Route::Edge, 335), None);
        let resp = NotionResponse {
            status: 429,
            retry_after: Some("3".into()),
            body: b"{}".to_vec(),
        };
        d.on_notion_answer(Ok(&resp), 1000);
        assert_eq!(d.wait_ms(Route::Notion, 2000), Some(2000));
    }

    #[test]
    fn not_due_entries_are_skipped_and_hold_their_session() {
        let mut d = Drain::new(cfg(), true, false);
        assert_eq!(d.skip(Some("s"), Some(5000), 1000), Some(Skip::NotDue));
        assert_eq!(d.skip(Some("s"), None, 1000), Some(Skip::HeldBack));
        assert_eq!(d.skip(Some("t"), Some(500), 1000), None);
        assert_eq!(d.counts.waiting, 2);
    }
}
