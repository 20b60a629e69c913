//! Responses delegation on the double: tool calls, their outputs, the continuation, and the
//! rule that an unanswered call holds every later one.

use serde_json::{Value, json};

use super::{Connection, Flow};
use crate::live_server::events::{self, error, event, new_id};

/// A delegation to the backend and its calls (`call_id`, answered).
pub(super) struct Delegation {
    pub(super) id: String,
    pub(super) calls: Vec<(String, bool)>,
    pub(super) continued: bool,
}

impl Connection {
    pub(super) async fn on_item_create(&mut self, value: &Value, id: Option<&str>) -> Flow {
        if !self.responses() {
            let message = "response.item.create requires Responses delegation.";
            return self.send(error("invalid_request", message, None, id)).await;
        }
        let item = &value["item"];
        if item["type"] != "function_call_output" {
            return match item["type"].as_str() {
                Some(_) => Ok(()),
                None => {
                    let e = error("invalid_value", "item needs a type.", Some("item"), id);
                    self.send(e).await
                }
            };
        }
        let call_id = item["call_id"].as_str().unwrap_or("");
        if !(item["output"].is_string() || item["output"].is_array()) {
            let e = error(
                "invalid_value",
                "output must be a string or parts.",
                Some("item.output"),
                id,
            );
            return self.send(e).await;
        }
        let open = self
            .delegations
            .iter_mut()
            .flat_map(|d| d.calls.iter_mut())
            .find(|(call, _)| call == call_id);
        match open {
            Some((_, answered)) if !*answered => {
                *answered = true;
                Ok(())
            }
            Some(_) => {
                let message = format!("Call '{call_id}' already has an output.");
                self.send(error(
                    "duplicate_output",
                    &message,
                    Some("item.call_id"),
                    id,
                ))
                .await
            }
            None => {
                let message = format!("No function call '{call_id}' awaits an output.");
                self.send(error("unknown_call_id", &message, Some("item.call_id"), id))
                    .await
            }
        }
    }

    pub(super) async fn on_response_create(&mut self, id: Option<&str>) -> Flow {
        if !self.responses() {
            let message = "response.create requires Responses delegation.";
            return self.send(error("invalid_request", message, None, id)).await;
        }
        let unanswered: Vec<String> = self
            .delegations
            .iter()
            .flat_map(|d| d.calls.iter().filter(|(_, a)| !a).map(|(c, _)| c.clone()))
            .collect();
        if !unanswered.is_empty() {
            let message = format!(
                "Calls without a function_call_output: {}. An unanswered call holds every \
                 later tool call.",
                unanswered.join(", ")
            );
            return self
                .send(error("unanswered_function_calls", &message, None, id))
                .await;
        }
        let waiting = self.delegations.iter().position(|d| !d.continued);
        let delegation = waiting.map(|i| {
            self.delegations[i].continued = true;
            self.delegations[i].id.clone()
        });
        // The continuation (or a backend response of its own, with no delegation).
        self.backend_response(delegation.as_deref(), id, None)
            .await?;
        self.delegations.retain(|d| !d.continued);
        self.release_held().await
    }

    /// Sends `response.created`, the call's item (if any), then `response.completed`.
    pub(super) async fn backend_response(
        &mut self,
        delegation: Option<&str>,
        client_event_id: Option<&str>,
        call: Option<Value>,
    ) -> Flow {
        let model = self
            .started
            .as_ref()
            .map(|s| s.backend_model.clone())
            .unwrap_or_default();
        let response_id = new_id("resp");
        let mut sequence = 0;
        let mut nested = |kind: &str, mut body: Value| {
            body["type"] = kind.into();
            body["sequence_number"] = sequence.into();
            sequence += 1;
            let mut wrapped = events::response_event(delegation, body);
            wrapped["client_event_id"] = client_event_id.into();
            wrapped
        };
        let created = events::backend_response(&response_id, &model, "in_progress", None);
        let mut out = vec![nested("response.created", json!({"response": created}))];
        if let Some(item) = call {
            out.push(nested(
                "response.output_item.done",
                json!({"output_index": 0, "item": item}),
            ));
        }
        let usage = events::backend_usage(420, 256, 38, 24);
        let done = events::backend_response(&response_id, &model, "completed", Some(usage));
        out.push(nested("response.completed", json!({"response": done})));
        for e in out {
            self.send(e).await?;
        }
        Ok(())
    }

    /// Emits the next held tool call unless a delegation is still waiting: an unanswered call
    /// holds every later one.
    pub(super) async fn release_held(&mut self) -> Flow {
        if self.started.is_none() || !self.delegations.is_empty() {
            return Ok(());
        }
        let Some((call, name, arguments)) = self.held.pop_front() else {
            return Ok(());
        };
        let created = json!({"offset_ms": self.timeline_ms, "delegation": {
            "id": call.delegation_id, "target": "responses", "type": "delegation",
            "response_id": new_id("resp")}});
        self.send(event("session.delegation.created", created))
            .await?;
        self.delegations.push(Delegation {
            id: call.delegation_id.clone(),
            calls: vec![(call.call_id.clone(), false)],
            continued: false,
        });
        let item = events::function_call_item(&call.call_id, &name, &arguments);
        self.backend_response(Some(&call.delegation_id), None, Some(item))
            .await
    }
}
