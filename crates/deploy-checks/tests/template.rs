//! `template.yaml` against the workspace: every function crate is deployed, from its own binary,
//! with the build and runtime settings cargo-lambda and Lambda expect.

use phone_test_support::paths::workspace_root;
use serde_yaml::Value;
use std::collections::BTreeMap;

/// The template, with CloudFormation tags (`!Ref X`) kept as tagged values.
fn template() -> Value {
    let path = workspace_root().join("template.yaml");
    let text = std::fs::read_to_string(&path).expect("reading template.yaml");
    serde_yaml::from_str(&text).expect("template.yaml is YAML")
}

/// `functions/<dir>` → the package name, which is the binary name (no crate renames its bin).
fn function_crates() -> BTreeMap<String, String> {
    let dir = workspace_root().join("functions");
    let mut crates = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("reading functions/") {
        let entry = entry.expect("directory entry");
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        assert!(
            !text.contains("[[bin]]"),
            "{}: a [[bin]] section may rename the binary; the template relies on binary = package name",
            manifest.display()
        );
        let name = text
            .lines()
            .skip_while(|l| l.trim() != "[package]")
            .find_map(|l| {
                let (key, value) = l.split_once('=')?;
                (key.trim() == "name").then(|| value.trim().trim_matches('"').to_owned())
            })
            .unwrap_or_else(|| panic!("{}: no package name", manifest.display()));
        crates.insert(entry.file_name().to_string_lossy().into_owned(), name);
    }
    crates
}

/// Every `AWS::Serverless::Function` in the template, by logical id.
fn template_functions(template: &Value) -> BTreeMap<String, Value> {
    template["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .map(|(id, r)| (id.as_str().unwrap_or_default().to_owned(), r.clone()))
        .collect()
}

/// Logical id → the binary its Metadata builds.
fn templated_binaries(template: &Value) -> BTreeMap<String, String> {
    template_functions(template)
        .into_iter()
        .map(|(id, f)| {
            let binary = f["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{id}: no Metadata.BuildProperties.Binary"))
                .to_owned();
            (id, binary)
        })
        .collect()
}

#[test]
fn every_function_crate_is_deployed_by_the_template() {
    let binaries: Vec<String> = templated_binaries(&template()).into_values().collect();
    for (dir, binary) in function_crates() {
        assert!(
            binaries.contains(&binary),
            "functions/{dir} (binary `{binary}`) has no function in template.yaml; templated: {binaries:?}"
        );
    }
}

#[test]
fn every_templated_binary_is_a_function_crate() {
    let crates: Vec<String> = function_crates().into_values().collect();
    for (id, binary) in templated_binaries(&template()) {
        assert!(
            crates.contains(&binary),
            "template.yaml {id} builds binary `{binary}`, but no crate under functions/ is named so; crates: {crates:?}"
        );
    }
}

#[test]
fn no_binary_is_deployed_twice() {
    let mut seen = BTreeMap::new();
    for (id, binary) in templated_binaries(&template()) {
        if let Some(other) = seen.insert(binary.clone(), id.clone()) {
            panic!("binary `{binary}` is built by both {other} and {id}");
        }
    }
}

#[test]
fn functions_are_built_by_cargo_lambda_for_arm64_custom_runtime() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    for (id, function) in template_functions(&template) {
        let setting = |key: &str| -> Value {
            let own = &function["Properties"][key];
            if own.is_null() {
                globals[key].clone()
            } else {
                own.clone()
            }
        };
        assert_eq!(
            function["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{id}: BuildMethod"
        );
        assert_eq!(
            setting("Runtime").as_str(),
            Some("provided.al2023"),
            "{id}: Runtime"
        );
        assert_eq!(
            setting("Handler").as_str(),
            Some("bootstrap"),
            "{id}: Handler"
        );
        assert_eq!(
            setting("Architectures"),
            serde_yaml::from_str::<Value>("[arm64]").unwrap(),
            "{id}: Architectures"
        );
        // cargo-lambda builds a workspace binary from the workspace root.
        assert_eq!(setting("CodeUri").as_str(), Some("."), "{id}: CodeUri");
        let timeout = setting("Timeout").as_u64().expect("Timeout");
        let memory = setting("MemorySize").as_u64().expect("MemorySize");
        assert!((128..=10240).contains(&memory), "{id}: MemorySize {memory}");
        let has_http_route = function["Properties"]["Events"]
            .as_mapping()
            .map(|events| {
                events
                    .values()
                    .any(|e| e["Type"].as_str() == Some("HttpApi"))
            })
            .unwrap_or(false);
        if has_http_route {
            // An HTTP API integration ends at 30 s whatever the function's timeout.
            assert!(timeout < 30, "{id}: Timeout {timeout} s behind an HTTP API");
        }
    }
}

/// The routes each area's router serves, as `METHOD /path` with API Gateway's `{param}` names.
#[test]
fn every_endpoint_has_a_route() {
    let expected = [
        ("health", "GET /health"),
        ("health", "GET /openapi.json"),
        ("voice", "POST /voice/incoming"),
        ("voice", "POST /voice/recording"),
        ("voice", "POST /voice/status"),
        ("voice", "POST /voice/stream-ended"),
        ("voice", "POST /voice/outbound"),
        ("voice", "POST /voice/outbound/status"),
        ("voice", "POST /voice/outbound/amd"),
        ("calls", "GET /calls/{callSid}"),
        ("calls", "GET /calls"),
        ("calls", "GET /console"),
        ("calls", "GET /console/calls/{callSid}"),
        ("calls", "GET /console/login"),
        ("calls", "POST /console/login"),
        ("calls", "POST /console/logout"),
        ("calls", "GET /console/assets/{file}"),
        ("calls", "POST /calls/{callSid}/analysis"),
        ("calls", "GET /webhooks/deliveries"),
        ("calls", "POST /calls"),
        ("agent", "POST /agent"),
        ("agent", "DELETE /memory/{number}"),
        ("agent", "GET /reminders"),
        ("agent", "DELETE /reminders/{id}"),
        ("calendar", "GET /calendar/events"),
        ("calendar", "POST /calendar/events"),
        ("calendar", "PATCH /calendar/events/{id}"),
        ("calendar", "DELETE /calendar/events/{id}"),
        ("sms", "POST /sms/send"),
        ("sms", "GET /sms/list"),
        ("sms", "GET /sms/details/{sid}"),
        ("sms", "POST /sms/incoming"),
        ("email", "POST /email/send"),
        ("email", "GET /email/inbox"),
        ("auth", "GET /auth/google"),
        ("auth", "GET /auth/google/callback"),
    ];
    let template = template();
    let mut routes = Vec::new();
    for (_, function) in template_functions(&template) {
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        for event in function["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flat_map(|m| m.values())
            .filter(|e| e["Type"].as_str() == Some("HttpApi"))
        {
            let p = &event["Properties"];
            let route = format!(
                "{} {}",
                p["Method"].as_str().unwrap_or_default(),
                p["Path"].as_str().unwrap_or_default()
            );
            routes.push((binary.clone(), route));
        }
    }
    for (binary, route) in expected {
        assert!(
            routes.contains(&(binary.to_owned(), route.to_owned())),
            "no `{route}` route to `{binary}` in template.yaml"
        );
    }
    assert_eq!(
        routes.len(),
        expected.len(),
        "unexpected routes: {routes:?}"
    );
}

fn tagged(text: &str) -> Value {
    serde_yaml::from_str(text).expect("a tagged YAML value")
}

/// The webhook queue (docs/observability.md "Webhooks"): the functions that run tools or the
/// analysis may only send to it, the delivery function only consumes it, with only failed
/// messages returned, a dead-letter queue after the in-process schedule's 4 attempts, and a
/// visibility timeout above the delivery function's timeout.
#[test]
fn the_webhook_queue_is_wired_with_least_privilege() {
    let template = template();
    let resources = &template["Resources"];
    assert_eq!(
        template["Globals"]["Function"]["Environment"]["Variables"]["WEBHOOK_QUEUE_URL"],
        tagged("!Ref WebhookQueue")
    );
    assert!(
        !serde_yaml::to_string(&template)
            .unwrap()
            .contains("WEBHOOK_SECRET"),
        "WEBHOOK_SECRET belongs in the configuration secret, not the template"
    );

    let queue = &resources["WebhookQueue"]["Properties"];
    assert_eq!(
        queue["RedrivePolicy"]["deadLetterTargetArn"],
        tagged("!GetAtt WebhookDeadLetterQueue.Arn")
    );
    // phone_api::webhook_delivery::MAX_RECEIVES: the attempts of RetrySchedule::default().
    assert_eq!(queue["RedrivePolicy"]["maxReceiveCount"].as_u64(), Some(4));
    let delivery = &resources["WebhookDeliveryFunction"];
    assert_eq!(
        delivery["Metadata"]["BuildProperties"]["Binary"].as_str(),
        Some("webhook-delivery")
    );
    let timeout = delivery["Properties"]["Timeout"].as_u64().expect("Timeout");
    let visibility = queue["VisibilityTimeout"]
        .as_u64()
        .expect("VisibilityTimeout");
    assert!(
        visibility > timeout,
        "visibility {visibility} s <= timeout {timeout} s"
    );

    let events: Vec<&Value> = delivery["Properties"]["Events"]
        .as_mapping()
        .expect("Events")
        .values()
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["Type"].as_str(), Some("SQS"));
    let source = &events[0]["Properties"];
    assert_eq!(source["Queue"], tagged("!GetAtt WebhookQueue.Arn"));
    assert_eq!(
        source["FunctionResponseTypes"],
        serde_yaml::from_str::<Value>("[ReportBatchItemFailures]").unwrap()
    );

    let send = &resources["WebhookSendPolicy"]["Properties"]["PolicyDocument"]["Statement"];
    assert_eq!(send.as_sequence().map(Vec::len), Some(1), "{send:?}");
    assert_eq!(send[0]["Effect"].as_str(), Some("Allow"));
    assert_eq!(send[0]["Action"].as_str(), Some("sqs:SendMessage"));
    assert_eq!(send[0]["Resource"], tagged("!GetAtt WebhookQueue.Arn"));

    let senders = [
        "calls",
        "agent",
        "calendar",
        "sms",
        "email",
        "email-processor",
    ];
    for (id, function) in template_functions(&template) {
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_default();
        let policies = function["Properties"]["Policies"]
            .as_sequence()
            .cloned()
            .unwrap_or_default();
        let sends = policies.contains(&tagged("!Ref WebhookSendPolicy"));
        let polls = policies.iter().any(|p| !p["SQSPollerPolicy"].is_null());
        assert_eq!(sends, senders.contains(&binary), "{id}: WebhookSendPolicy");
        assert_eq!(polls, binary == "webhook-delivery", "{id}: SQSPollerPolicy");
        if polls {
            assert_eq!(
                policies
                    .iter()
                    .find_map(|p| p.get("SQSPollerPolicy"))
                    .map(|p| &p["QueueName"]),
                Some(&tagged("!GetAtt WebhookQueue.QueueName")),
                "{id}: polls only the webhook queue"
            );
        }
    }
}
