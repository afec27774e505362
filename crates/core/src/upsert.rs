//! One page per session: the create-or-update decision as a state machine.
//!
//! Notion has no idempotency key, so the page is found by its title (the `sessionId`) before
//! anything is written. The caller drives the machine: it sends each [`UpsertStep::Send`] request
//! and feeds the answer to [`Upsert::on_response`] until a `Done` or `Failed` step.
//!
//! A create whose outcome is unknown (timeout, 5xx) ends in `Failed(Retry)`; the next attempt
//! starts with a query and so finds the page if the create did happen, instead of making a second
//! one. Two creates racing at the same instant can still both succeed; every later upsert then
//! picks the oldest of the pages, so all updates land on one of them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::notion::{
    Classified, MappedProperties, Method, NotionRequest, NotionResponse, PageRef, Transport,
    classify, page_has, parse_page,
};
use crate::timestamp::Timestamp;

/// What the upsert did to the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A new page.
    Created,
    /// An existing page, changed.
    Updated,
    /// An existing page that already held these values: nothing was written.
    Unchanged,
}

/// The page an upsert ended on. Serializes as `{"pageId","pageUrl","action"}` (CONTRACT 5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpsertOutcome {
    /// The page id.
    pub page_id: String,
    /// The page URL.
    pub page_url: String,
    /// What was done.
    pub action: Action,
}

/// Why an upsert stopped without a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpsertFailure {
    /// Notion refused for good (422 `notion_rejected`, dead letter).
    Refused {
        /// Notion's HTTP status.
        status: u16,
        /// Notion's error code.
        code: String,
        /// Notion's message.
        message: String,
    },
    /// Try the whole upsert again later (503 `notion_unavailable`).
    Retry {
        /// Seconds to wait.
        after_secs: u64,
        /// What happened, for logs.
        reason: String,
    },
}

/// The next thing to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpsertStep {
    /// Send this request and pass its answer to [`Upsert::on_response`].
    Send(NotionRequest),
    /// Finished on a page.
    Done(UpsertOutcome),
    /// Finished without one.
    Failed(UpsertFailure),
}

#[derive(Clone, Debug)]
enum State {
    NotStarted,
    /// PATCH of the page remembered for the session.
    PatchingKnown(PageRef),
    /// Query by title.
    Querying,
    /// PATCH of the page the query found.
    PatchingFound(PageRef),
    /// POST of a new page.
    Creating,
    Finished(UpsertStep),
}

/// The create-or-update of one session's page.
#[derive(Clone, Debug)]
pub struct Upsert {
    data_source_id: String,
    title_property: String,
    session_id: String,
    props: MappedProperties,
    known_page: Option<PageRef>,
    state: State,
}

impl Upsert {
    /// An upsert of `props` onto the page titled `session_id`. `known_page`: a page remembered
    /// for this session (it is patched directly, and forgotten if Notion no longer has it).
    pub fn new(
        data_source_id: &str,
        title_property: &str,
        session_id: &str,
        props: MappedProperties,
        known_page: Option<PageRef>,
    ) -> Upsert {
        Upsert {
            data_source_id: data_source_id.to_string(),
            title_property: title_property.to_string(),
            session_id: session_id.to_string(),
            props,
            known_page,
            state: State::NotStarted,
        }
    }

    /// The first request. Calling it again starts the flow over (with the known page, unless a
    /// previous run found it gone).
    pub fn start(&mut self) -> UpsertStep {
        match self.known_page.clone() {
            Some(page) => {
                let req = NotionRequest::update_page(&page.id, &self.props);
                self.state = State::PatchingKnown(page);
                UpsertStep::Send(req)
            }
            None => self.query(),
        }
    }

    /// The answer to the last request sent. After the upsert has finished, returns the same final
    /// step again (nothing is sent); before `start`, it starts.
    pub fn on_response(&mut self, r: Result<NotionResponse, Transport>) -> UpsertStep {
        let r = r.as_ref().map_err(|t| *t);
        let state = std::mem::replace(&mut self.state, State::NotStarted);
        let step = match state {
            State::NotStarted => return self.start(),
            State::Finished(step) => step,
            State::PatchingKnown(page) => match classify(Method::Patch, r) {
                Classified::Refused { code, message, .. } if page_is_gone(&code, &message) => {
                    self.known_page = None;
                    return self.query();
                }
                c => self.after_patch(c, &page),
            },
            State::PatchingFound(page) => match classify(Method::Patch, r) {
                Classified::Refused { code, message, .. } if page_is_gone(&code, &message) => {
                    UpsertStep::Failed(UpsertFailure::Retry {
                        after_secs: 1,
                        reason: "the page was removed between the query and the update".into(),
                    })
                }
                c => self.after_patch(c, &page),
            },
            State::Querying => match classify(Method::Post, r) {
                Classified::Done(v) => return self.after_query(&v),
                c => failed(c),
            },
            State::Creating => match classify(Method::Post, r) {
                Classified::Done(v) => match parse_page(&v) {
                    Some(page) => done(page, Action::Created),
                    // Created, most likely: the next attempt's query will find it.
                    None => UpsertStep::Failed(UpsertFailure::Retry {
                        after_secs: 1,
                        reason: "Notion's answer to the create holds no page".into(),
                    }),
                },
                c => failed(c),
            },
        };
        self.state = State::Finished(step.clone());
        step
    }

    fn query(&mut self) -> UpsertStep {
        self.state = State::Querying;
        UpsertStep::Send(NotionRequest::query_by_title(
            &self.data_source_id,
            &self.title_property,
            &self.session_id,
        ))
    }

    fn after_patch(&self, c: Classified, page: &PageRef) -> UpsertStep {
        match c {
            Classified::Done(v) => done(
                parse_page(&v).unwrap_or_else(|| page.clone()),
                Action::Updated,
            ),
            c => failed(c),
        }
    }

    fn after_query(&mut self, v: &Value) -> UpsertStep {
        let Some(results) = v.get("results").and_then(Value::as_array) else {
            let step = UpsertStep::Failed(UpsertFailure::Retry {
                after_secs: 1,
                reason: "Notion's answer to the query holds no results".into(),
            });
            self.state = State::Finished(step.clone());
            return step;
        };
        let oldest = results
            .iter()
            .filter(|p| {
                let flag = |k: &str| p.get(k).and_then(Value::as_bool) == Some(true);
                !flag("in_trash") && !flag("archived")
            })
            .filter_map(|p| parse_page(p).map(|r| (created_millis(p), r, p)))
            .min_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
        match oldest {
            None => {
                self.state = State::Creating;
                UpsertStep::Send(NotionRequest::create_page(
                    &self.data_source_id,
                    &self.props,
                ))
            }
            Some((_, page, json)) => {
                let current = json.get("properties").cloned().unwrap_or(Value::Null);
                if page_has(&current, &self.props) {
                    let step = done(page, Action::Unchanged);
                    self.state = State::Finished(step.clone());
                    step
                } else {
                    let req = NotionRequest::update_page(&page.id, &self.props);
                    self.state = State::PatchingFound(page);
                    UpsertStep::Send(req)
                }
            }
        }
    }
}

/// Pages without a readable `created_time` sort last.
fn created_millis(page: &Value) -> i64 {
    page.get("created_time")
        .and_then(Value::as_str)
        .and_then(Timestamp::parse)
        .map_or(i64::MAX, |t| t.unix_millis())
}

/// Notion answers a PATCH of a deleted page with 404 `object_not_found`, and of a trashed
/// (archived) page with 400 `validation_error` naming the archive.
fn page_is_gone(code: &str, message: &str) -> bool {
    let message = message.to_lowercase();
    code == "object_not_found"
        || (code == "validation_error"
            && (message.contains("archived") || message.contains("trash")))
}

fn done(page: PageRef, action: Action) -> UpsertStep {
    UpsertStep::Done(UpsertOutcome {
        page_id: page.id,
        page_url: page.url,
        action,
    })
}

fn failed(c: Classified) -> UpsertStep {
    UpsertStep::Failed(match c {
        Classified::Refused {
            status,
            code,
            message,
        } => UpsertFailure::Refused {
            status,
            code,
            message,
        },
        Classified::Retry {
            after_secs, reason, ..
        } => UpsertFailure::Retry { after_secs, reason },
        Classified::Done(_) => unreachable!("failed() is only called on non-Done answers"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    const DS: &str = "ds-1";
    const P1: &str = "59833787-2cf9-4fdf-8782-e53db20768a5";
    const P2: &str = "11111111-2cf9-4fdf-8782-e53db20768a5";

    fn props() -> MappedProperties {
        let mut properties = Map::new();
        properties.insert(
            "Session ID".into(),
            json!({"title": [{"type": "text", "text": {"content": "s-1"}}]}),
        );
        properties.insert("Status".into(), json!({"select": {"name": "Completed"}}));
        MappedProperties {
            properties,
            warnings: vec![],
        }
    }

    fn page(id: &str, created: &str, status: &str) -> Value {
        json!({
            "object": "page", "id": id, "created_time": created,
            "url": format!("https://www.notion.so/{}", id.replace('-', "")),
            "properties": {
                "Session ID": {"id": "title", "type": "title", "title": [{"plain_text": "s-1"}]},
                "Status": {"id": "s", "type": "select", "select": {"name": status}}
            }
        })
    }

    fn ok(v: Value) -> Result<NotionResponse, Transport> {
        Ok(NotionResponse {
            status: 200,
            retry_after: None,
            body: v.to_string().into_bytes(),
        })
    }

    fn err(status: u16, code: &str, message: &str) -> Result<NotionResponse, Transport> {
        Ok(NotionResponse {
            status,
            retry_after: None,
            body: json!({"object": "error", "status": status, "code": code, "message": message})
                .to_string()
                .into_bytes(),
        })
    }

    fn list(pages: Vec<Value>) -> Result<NotionResponse, Transport> {
        ok(json!({"object": "list", "results": pages, "has_more": false, "next_cursor": null}))
    }

    fn known() -> Option<PageRef> {
        Some(PageRef {
            id: P1.into(),
            url: "https://www.notion.so/known".into(),
        })
    }

    fn sent(step: &UpsertStep) -> &NotionRequest {
        match step {
            UpsertStep::Send(r) => r,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    fn outcome(step: UpsertStep) -> UpsertOutcome {
        match step {
            UpsertStep::Done(o) => o,
            other => panic!("expected done, got {other:?}"),
        }
    }

    fn new(known: Option<PageRef>) -> Upsert {
        Upsert::new(DS, "Session ID", "s-1", props(), known)
    }

    #[test]
    fn without_a_page_it_queries_then_creates() {
        let mut u = new(None);
        let q = u.start();
        assert_eq!(
            sent(&q),
            &NotionRequest::query_by_title(DS, "Session ID", "s-1")
        );
        let c = u.on_response(list(vec![]));
        assert_eq!(sent(&c), &NotionRequest::create_page(DS, &props()));
        let o = outcome(u.on_response(ok(page(P1, "2025-10-01T12:00:00.000Z", "Completed"))));
        assert_eq!(o.action, Action::Created);
        assert_eq!(o.page_id, P1);
        let as_json = json!({"pageId": P1, "pageUrl": "https://www.notion.so/598337872cf94fdf8782e53db20768a5", "action": "created"});
        assert_eq!(serde_json::to_value(&o).unwrap(), as_json);
        assert_eq!(serde_json::from_value::<UpsertOutcome>(as_json).unwrap(), o);
        assert_eq!(
            serde_json::to_value(Action::Unchanged).unwrap(),
            json!("unchanged")
        );
    }

    #[test]
    fn an_identical_page_is_left_alone() {
        let mut u = new(None);
        u.start();
        let o = outcome(u.on_response(list(vec![page(
            P1,
            "2025-10-01T12:00:00.000Z",
            "Completed",
        )])));
        assert_eq!(o.action, Action::Unchanged);
        assert_eq!(o.page_id, P1);
    }

    #[test]
    fn a_different_page_is_patched_and_the_oldest_of_duplicates_wins() {
        let mut u = new(None);
        u.start();
        let step = u.on_response(list(vec![
            page(P1, "2025-10-01T12:05:00.000Z", "Completed"),
            page(P2, "2025-10-01T12:00:00.000Z", "In Progress"),
            json!({"object": "page", "id": "trashed", "in_trash": true, "created_time": "2020-01-01T00:00:00Z"}),
        ]));
        assert_eq!(sent(&step), &NotionRequest::update_page(P2, &props()));
        let o = outcome(u.on_response(ok(page(P2, "2025-10-01T12:00:00.000Z", "Completed"))));
        assert_eq!((o.action, o.page_id.as_str()), (Action::Updated, P2));
    }

    #[test]
    fn equal_creation_times_fall_back_to_the_id() {
        let mut u = new(None);
        u.start();
        let step = u.on_response(list(vec![
            page(P1, "2025-10-01T12:00:00.000Z", "Blocked"),
            page(P2, "2025-10-01T12:00:00.000Z", "Blocked"),
        ]));
        assert_eq!(sent(&step).path, format!("/v1/pages/{P2}"));
    }

    #[test]
    fn a_known_page_is_patched_directly() {
        let mut u = new(known());
        assert_eq!(sent(&u.start()), &NotionRequest::update_page(P1, &props()));
        let o = outcome(u.on_response(ok(page(P1, "2025-10-01T12:00:00.000Z", "Completed"))));
        assert_eq!((o.action, o.page_id.as_str()), (Action::Updated, P1));
        // The URL comes from Notion's answer when it has one.
        assert_eq!(
            o.page_url,
            "https://www.notion.so/598337872cf94fdf8782e53db20768a5"
        );
    }

    #[test]
    fn a_known_page_answer_without_a_page_keeps_the_known_ref() {
        let mut u = new(known());
        u.start();
        let o = outcome(u.on_response(ok(json!({}))));
        assert_eq!(o.page_url, "https://www.notion.so/known");
    }

    #[test]
    fn a_deleted_or_trashed_known_page_is_forgotten_and_the_title_queried() {
        for (status, code, message) in [
            (404, "object_not_found", "Could not find page"),
            (
                400,
                "validation_error",
                "Can't edit block that is archived.",
            ),
        ] {
            let mut u = new(known());
            u.start();
            let q = u.on_response(err(status, code, message));
            assert_eq!(
                sent(&q),
                &NotionRequest::query_by_title(DS, "Session ID", "s-1")
            );
            let c = u.on_response(list(vec![]));
            assert_eq!(sent(&c).path, "/v1/pages");
            // Starting over no longer uses the forgotten page.
            assert_eq!(
                sent(&u.start()).path,
                format!("/v1/data_sources/{DS}/query")
            );
        }
    }

    #[test]
    fn other_refusals_end_the_upsert_for_good() {
        let mut u = new(known());
        u.start();
        let step = u.on_response(err(
            400,
            "validation_error",
            "Status is expected to be status.",
        ));
        assert_eq!(
            step,
            UpsertStep::Failed(UpsertFailure::Refused {
                status: 400,
                code: "validation_error".into(),
                message: "Status is expected to be status.".into()
            })
        );
        let mut u = new(None);
        u.start();
        assert!(matches!(
            u.on_response(err(403, "restricted_resource", "m")),
            UpsertStep::Failed(UpsertFailure::Refused { status: 403, .. })
        ));
        let mut u = new(None);
        u.start();
        u.on_response(list(vec![]));
        assert!(matches!(
            u.on_response(err(400, "validation_error", "m")),
            UpsertStep::Failed(UpsertFailure::Refused { .. })
        ));
    }

    #[test]
    fn throttles_failures_and_unknown_outcomes_end_in_retry() {
        // Query throttled.
        let mut u = new(None);
        u.start();
        let step = u.on_response(Ok(NotionResponse {
            status: 429,
            retry_after: Some("9".into()),
            body: vec![],
        }));
        assert!(matches!(
            step,
            UpsertStep::Failed(UpsertFailure::Retry { after_secs: 9, .. })
        ));
        // Create timed out: retried; the next attempt queries first.
        let mut u = new(None);
        u.start();
        u.on_response(list(vec![]));
        assert!(matches!(
            u.on_response(Err(Transport::Timeout)),
            UpsertStep::Failed(UpsertFailure::Retry { after_secs: 2, .. })
        ));
        // Known page patch hit a 502.
        let mut u = new(known());
        u.start();
        assert!(matches!(
            u.on_response(err(502, "bad_gateway", "")),
            UpsertStep::Failed(UpsertFailure::Retry { .. })
        ));
        // Found page patch hit a 504.
        let mut u = new(None);
        u.start();
        u.on_response(list(vec![page(P1, "2025-10-01T12:00:00.000Z", "Blocked")]));
        assert!(matches!(
            u.on_response(Err(Transport::Connect)),
            UpsertStep::Failed(UpsertFailure::Retry { .. })
        ));
    }

    #[test]
    fn a_page_removed_between_query_and_patch_is_retried() {
        let mut u = new(None);
        u.start();
        u.on_response(list(vec![page(P1, "2025-10-01T12:00:00.000Z", "Blocked")]));
        assert_eq!(
            u.on_response(err(404, "object_not_found", "gone")),
            UpsertStep::Failed(UpsertFailure::Retry {
                after_secs: 1,
                reason: "the page was removed between the query and the update".into()
            })
        );
    }

    #[test]
    fn odd_answers_to_query_and_create_are_retried() {
        let mut u = new(None);
        u.start();
        assert!(matches!(
            u.on_response(ok(json!({"object": "list"}))),
            UpsertStep::Failed(UpsertFailure::Retry { .. })
        ));
        let mut u = new(None);
        u.start();
        u.on_response(list(vec![]));
        assert!(matches!(
            u.on_response(ok(json!({"object": "list"}))),
            UpsertStep::Failed(UpsertFailure::Retry { .. })
        ));
    }

    #[test]
    fn a_finished_upsert_repeats_its_final_step() {
        let mut u = new(None);
        u.start();
        let done = u.on_response(list(vec![page(
            P1,
            "2025-10-01T12:00:00.000Z",
            "Completed",
        )]));
        assert_eq!(u.on_response(list(vec![])), done);
        let mut u = new(None);
        u.start();
        let failed = u.on_response(Err(Transport::Other));
        assert_eq!(u.on_response(list(vec![])), failed);
    }

    #[test]
    fn a_response_before_start_starts() {
        let mut u = new(None);
        assert_eq!(
            sent(&u.on_response(list(vec![]))).path,
            format!("/v1/data_sources/{DS}/query")
        );
    }

    #[test]
    fn pages_without_a_creation_time_sort_last() {
        let mut u = new(None);
        u.start();
        let mut undated = page(P2, "", "Blocked");
        undated.as_object_mut().unwrap().remove("created_time");
        let step = u.on_response(list(vec![
            undated,
            page(P1, "2025-10-01T12:00:00.000Z", "Blocked"),
        ]));
        assert_eq!(sent(&step).path, format!("/v1/pages/{P1}"));
    }
}
