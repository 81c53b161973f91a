//! Python interop from the same source: pydantic v2 models generated (datamodel-code-generator,
//! pinned in `scripts/pyenv interop`'s venv) from the JSON Schemas in the risk manager's own
//! AsyncAPI document, and a real Python service (`tests/python/interop.py`, aiokafka) against the
//! risk-manager example as a process on the real broker: Python writes signals, the Rust service
//! answers, Python reads every answer through the generated models and checks it; this test
//! asserts on what Python read back.
//!
//! The topics are of a trading broker of this run only (`py-<unique>.signals.*`): the example's
//! `*.signals.raw` subscription picks them up, and its answers go to the same broker, so nothing
//! here meets the records of other tests on `paper`/`zerodha`. The example's consumer group is
//! its own (`risk-manager.signals`), shared with `process_example_service_sigkill`: run at the
//! same time on one broker, the two tests' instances would share partitions (`scripts/test`
//! runs test binaries one after another).

#[path = "../support/risk_manager_example.rs"]
#[allow(dead_code)]
mod risk_manager_example;

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use stream_core::testing;

use risk_manager_example::{repo, risk_manager, signal};

/// The schemas the Python side needs, as one standalone JSON Schema per event type: the
/// envelope of the AsyncAPI document with its data schema put in place.
fn write_schemas(asyncapi: &Value, dir: &Path) {
    let schemas = &asyncapi["components"]["schemas"];
    for (event, title) in [
        ("trading_signal", "TradingSignalEnvelope"),
        ("validated_signal", "ValidatedSignalEnvelope"),
        ("rejected_signal", "RejectedSignalEnvelope"),
    ] {
        let mut schema = schemas[event].clone();
        assert!(schema.is_object(), "no schema of {event} in the document");
        schema["properties"]["data"] = schemas[format!("{event}.data")].clone();
        schema["title"] = title.into();
        std::fs::write(dir.join(format!("{event}.json")), schema.to_string()).unwrap();
    }
}

/// The risk manager's AsyncAPI document, written by the example itself without a broker.
fn asyncapi_document(dir: &Path) -> Value {
    let path = dir.join("risk-manager.asyncapi.json");
    let out = Command::new(risk_manager())
        .env("STREAMKIT_ASYNCAPI", &path)
        .env("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `datamodel-codegen` on each schema: `models/<event>.py`.
fn generate_models(python: &str, schemas: &Path, models: &Path) {
    std::fs::create_dir_all(models).unwrap();
    for event in ["trading_signal", "validated_signal", "rejected_signal"] {
        let out = Command::new(python)
            .args([
                "-m",
                "datamodel_code_generator",
                "--input-file-type",
                "jsonschema",
            ])
            .args(["--output-model-type", "pydantic_v2.BaseModel"])
            .arg("--input")
            .arg(schemas.join(format!("{event}.json")))
            .arg("--output")
            .arg(models.join(format!("{event}.py")))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "datamodel-codegen {event}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn python_reads_the_risk_managers_answers_through_generated_models() {
    let broker = testing::unique_name("py");
    let topics: Vec<String> = ["raw", "validated", "rejected"]
        .iter()
        .map(|t| format!("{broker}.signals.{t}"))
        .collect();
    let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    testing::create_topics(&refs, 3).await;

    let dir = std::env::temp_dir().join(format!("streamkit-{broker}"));
    let (schemas, models) = (dir.join("schemas"), dir.join("models"));
    std::fs::create_dir_all(&schemas).unwrap();
    write_schemas(&asyncapi_document(&dir), &schemas);
    let python = tokio::task::spawn_blocking(|| testing::script("pyenv", &["interop"]))
        .await
        .unwrap();
    generate_models(&python, &schemas, &models);

    let log = dir.join("risk-manager.log");
    let service = Command::new(risk_manager())
        .env("KAFKA_BOOTSTRAP_SERVERS", testing::bootstrap_servers())
        .env("STREAMKIT_INSTANCE", &broker)
        .env("STREAMKIT_CREATE_MISSING_TOPICS", "1")
        .env_remove("STREAMKIT_CONFIG")
        .env_remove("STREAMKIT_REDIS_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start the risk_manager example");
    let script = repo().join("tests/python/interop.py");
    let (models_arg, broker_arg) = (models.clone(), broker.clone());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg("--models")
            .arg(models_arg)
            .args(["--broker", &broker_arg])
            .env("KAFKA_BOOTSTRAP_SERVERS", testing::bootstrap_servers())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    signal(&service, libc::SIGTERM);
    let mut service = service;
    let stopped = service.wait().unwrap();
    let service_log = std::fs::read_to_string(&log).unwrap_or_default();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "interop.py failed:\n{stdout}\n{}\nrisk manager:\n{service_log}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stopped.success(),
        "the risk manager did not stop cleanly:\n{service_log}"
    );
    testing::delete_topics(&refs).await;
    let _ = std::fs::remove_dir_all(&dir);

    let read: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(read.last().unwrap()["answers"], 6, "{stdout}");
    let answers = &read[..read.len() - 1];
    assert_eq!(answers.len(), 6, "{stdout}");
    let verdicts: Vec<(&str, Option<&str>)> = answers
        .iter()
        .map(|a| {
            (
                a["event_type"].as_str().unwrap(),
                a["position_after"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("validated_signal", Some("150")),
            ("validated_signal", Some("300")),
            ("rejected_signal", None),
            ("validated_signal", Some("199.75")),
            ("rejected_signal", None),
            ("validated_signal", Some("400.00")),
        ],
        "{stdout}"
    );
    let prices: Vec<&str> = answers
        .iter()
        .map(|a| a["price"].as_str().unwrap())
        .collect();
    assert_eq!(
        prices,
        [
            "2450.5500",
            "98765432109876.54321",
            "0.000123",
            "1.1",
            "2450.55",
            "7.000"
        ]
    );
    let quantities: Vec<&str> = answers
        .iter()
        .map(|a| a["quantity"].as_str().unwrap())
        .collect();
    assert_eq!(
        quantities,
        ["150", "150", "150", "100.25", "200.250000001", "200.25"]
    );
    for a in answers {
        // Python's signals start their chains: the answer keeps the chain and names its cause.
        assert_eq!(a["correlation_id"], a["signal_id"], "{a}");
        assert_eq!(a["causation_id"], a["signal_id"], "{a}");
        let id: uuid::Uuid = a["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(id.get_version_num(), 7, "{a}");
        let at = a["timestamp"].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(at).is_ok() && at.ends_with('Z'),
            "{a}"
        );
        if a["event_type"] == "rejected_signal" {
            assert!(
                a["reason"]
                    .as_str()
                    .unwrap()
                    .contains("over the limit of 400"),
                "{a}"
            );
        }
    }
}
