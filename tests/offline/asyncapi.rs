//! The AsyncAPI document of a service validates against the official AsyncAPI 3.0.0 JSON Schema
//! (`tests/fixtures/asyncapi/3.0.0.json`) and says what the handlers read and write: the whole
//! trading pipeline built in this process, and the risk-manager example as a process started
//! with `STREAMKIT_ASYNCAPI` and no reachable broker.

#[allow(dead_code)]
#[path = "../../examples/trading/mod.rs"]
mod trading;

#[path = "../support/risk_manager_example.rs"]
#[allow(dead_code)]
mod risk_manager_example;

use serde_json::Value;
use streamkit::service::asyncapi::asyncapi_document;
use streamkit::topic::Catalog;

fn validator() -> jsonschema::Validator {
    let path = risk_manager_example::repo().join("tests/fixtures/asyncapi/3.0.0.json");
    let schema: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    jsonschema::draft7::new(&schema).expect("the AsyncAPI schema compiles")
}

fn assert_valid(doc: &Value) {
    let errors: Vec<String> = validator()
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not a valid AsyncAPI 3.0.0 document:\n{}",
        errors.join("\n")
    );
}

fn pipeline_document() -> Value {
    let catalog = Catalog::parse(include_str!("../../topics.toml")).unwrap();
    let handlers: Vec<_> = streamkit::service::registry::registered()
        .map(|entry| (entry.make)())
        .collect();
    asyncapi_document("trading-pipeline", &catalog, &handlers)
}

#[test]
fn the_trading_pipelines_document_is_valid_asyncapi_3() {
    let doc = pipeline_document();
    assert_valid(&doc);
    assert_eq!(doc["asyncapi"], "3.0.0");
    assert_eq!(doc["info"]["title"], "trading-pipeline");
    // The schema does reject what is not AsyncAPI 3.0.0 (a 2.x action name).
    let mut broken = doc.clone();
    broken["operations"]["check_limits.receive.paper.signals.raw"]["action"] = "subscribe".into();
    assert!(!validator().is_valid(&broken));
}

#[test]
fn channels_are_topics_per_broker_with_their_dead_letters() {
    let doc = pipeline_document();
    let channels = doc["channels"].as_object().unwrap();
    for broker in ["paper", "zerodha"] {
        for name in [
            "market.ticks",
            "signals.raw",
            "signals.validated",
            "signals.rejected",
            "orders.placed",
            "orders.filled",
            "pnl.snapshots",
        ] {
            let topic = format!("{broker}.{name}");
            assert_eq!(channels[&topic]["address"], topic.as_str(), "{topic}");
        }
        // Only topics some handler reads have dead letters.
        let dlq = &channels[&format!("{broker}.signals.raw.dlq")];
        assert!(dlq["messages"]["dead_letter"]["$ref"].is_string(), "{dlq}");
        assert!(!channels.contains_key(&format!("{broker}.pnl.snapshots.dlq")));
    }
    let raw = &channels["paper.signals.raw"];
    assert_eq!(raw["bindings"]["kafka"]["partitions"], 3);
    assert_eq!(
        raw["messages"]["trading_signal"]["$ref"],
        "#/components/messages/trading_signal"
    );
    let headers = &doc["components"]["messages"]["dead_letter"]["headers"]["properties"];
    for header in [
        "dlq.original_topic",
        "dlq.error",
        "dlq.error_kind",
        "dlq.attempts",
        "dlq.service",
        "dlq.group",
    ] {
        assert!(headers[header].is_object(), "{header}: {headers}");
    }
}

#[test]
fn operations_receive_per_handler_and_send_per_declared_output() {
    let doc = pipeline_document();
    let ops = &doc["operations"];
    let receive = &ops["check_limits.receive.zerodha.signals.raw"];
    assert_eq!(receive["action"], "receive");
    assert_eq!(receive["channel"]["$ref"], "#/channels/zerodha.signals.raw");
    assert_eq!(
        receive["bindings"]["kafka"]["groupId"]["enum"][0],
        "risk-manager.signals"
    );
    assert_eq!(
        receive["messages"][0]["$ref"],
        "#/channels/zerodha.signals.raw/messages/trading_signal"
    );
    for (op, channel) in [
        (
            "check_limits.send.paper.signals.validated",
            "paper.signals.validated",
        ),
        (
            "check_limits.send.zerodha.signals.rejected",
            "zerodha.signals.rejected",
        ),
        ("book_fill.send.paper.pnl.snapshots", "paper.pnl.snapshots"),
        (
            "check_limits.dead_letter.paper.signals.raw",
            "paper.signals.raw.dlq",
        ),
    ] {
        assert_eq!(ops[op]["action"], "send", "{op}");
        assert_eq!(
            ops[op]["channel"]["$ref"],
            format!("#/channels/{channel}"),
            "{op}"
        );
    }
}

#[test]
fn each_event_has_its_envelope_around_its_data_schema() {
    let doc = pipeline_document();
    let schemas = &doc["components"]["schemas"];
    let envelope = &schemas["validated_signal"];
    assert_eq!(
        envelope["properties"]["event_type"]["const"],
        "validated_signal"
    );
    assert_eq!(
        envelope["properties"]["data"]["$ref"],
        "#/components/schemas/validated_signal.data"
    );
    assert_eq!(envelope["properties"]["id"]["type"], "string");
    assert!(!envelope.to_string().contains("#/$defs/"), "{envelope}");
    let data = &schemas["validated_signal.data"]["properties"];
    assert_eq!(data["position_after"]["type"], "string");
    assert_eq!(data["position_after"]["format"], "decimal");
    assert_eq!(
        data["signal"]["properties"]["side"]["enum"],
        serde_json::json!(["BUY", "SELL"])
    );
    assert_eq!(
        schemas["pnl_snapshot.data"]["properties"]["positions"]["additionalProperties"]["format"],
        "decimal"
    );
}

#[test]
fn the_risk_manager_writes_its_document_without_a_broker() {
    let dir = std::env::temp_dir().join(format!("streamkit-asyncapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("risk-manager.asyncapi.json");
    // Nothing listens on port 1: the document is written without contacting a broker.
    let out = std::process::Command::new(risk_manager_example::risk_manager())
        .env("STREAMKIT_ASYNCAPI", &path)
        .env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
        .env_remove("STREAMKIT_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("risk-manager: AsyncAPI document of 1 handler(s) written to"),
        "{stdout}"
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_valid(&doc);
    let ops: Vec<&String> = doc["operations"].as_object().unwrap().keys().collect();
    assert!(
        ops.iter().all(|op| op.starts_with("check_limits.")),
        "{ops:?}"
    );
    assert_eq!(ops.len(), 2 + 2 + 4, "{ops:?}"); // receive and dead-letter per broker, 4 outputs
    assert!(
        doc["components"]["schemas"]["rejected_signal.data"]["properties"]["reason"].is_object()
    );
}

#[test]
fn streamkit_asyncapi_prints_the_document_of_a_service_binary() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_streamkit"))
        .arg("asyncapi")
        .arg(risk_manager_example::risk_manager())
        .env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
        .env_remove("STREAMKIT_CONFIG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("the document on stdout");
    assert_valid(&doc);
    assert_eq!(doc["info"]["title"], "risk-manager");

    // Not a service: exit 2 with the reason.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_streamkit"))
        .args(["asyncapi", "/bin/true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("wrote no AsyncAPI document"), "{stderr}");
}
