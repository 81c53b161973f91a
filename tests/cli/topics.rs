//! `streamkit topics check` and `apply` on the real broker, as a user runs them: each test has a
//! broker namespace of its own, so only its own topics are in its catalog; what the command did
//! is read back from the cluster through the admin client, not through the command.

#[path = "../support/cli.rs"]
mod cli;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use stream_core::kafka::admin::{Replication, TopicAdmin, TopicCreation};

use cli::{catalog_file, run, unique_broker};

const TIMEOUT: Duration = Duration::from_secs(30);

fn admin() -> TopicAdmin {
    TopicAdmin::new(&stream_core::testing::kafka_config()).expect("admin client")
}

/// Creates `topic` by admin, as if by hand, with `configs`.
async fn create(topic: &str, partitions_wanted: i32, configs: &[(&str, &str)]) {
    let creation = TopicCreation {
        name: topic.to_owned(),
        partitions: partitions_wanted,
        replication: Replication::Fixed(1),
        configs: configs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    admin()
        .create_topics(&[creation], TIMEOUT)
        .await
        .expect("create the topic");
    // the command must find it: wait until the cluster's metadata shows it
    stream_core::testing::wait_until(TIMEOUT, "the topic in the metadata", || async move {
        partitions(&[topic]).await == [Some(partitions_wanted)]
    })
    .await;
}

/// The partition count of each of `topics` on the cluster (`None`: no such topic).
async fn partitions(topics: &[&str]) -> Vec<Option<i32>> {
    let names: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
    admin().partitions(&names, TIMEOUT).await.expect("metadata")
}

/// Every config in effect on `topic`, by key.
async fn configs(topic: &str) -> BTreeMap<String, String> {
    let all = admin()
        .configs(&[topic.to_owned()], TIMEOUT)
        .await
        .expect("describe configs");
    all.into_iter()
        .flatten()
        .filter_map(|c| Some((c.name, c.value?)))
        .collect()
}

async fn delete(topics: &[&str]) {
    admin()
        .delete(topics, TIMEOUT)
        .await
        .expect("delete topics");
}

/// The JSON line of `topic` in a `--json` run.
fn line_of<'a>(lines: &'a [Value], topic: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["topic"] == topic)
        .unwrap_or_else(|| panic!("no line for {topic} in {lines:?}"))
}

/// Two topics and a dead-letter topic: `signals.raw` exists with fewer partitions and another
/// retention (and a config the catalog does not declare); `orders.filled` and
/// `signals.raw.dlq` are missing.
fn drifted_catalog(broker: &str) -> std::path::PathBuf {
    catalog_file(&format!(
        r#"
        brokers = ["{broker}"]
        [defaults]
        cleanup_policy = "delete"
        [topics."signals.raw"]
        event = "trading_signal"
        partitions = 4
        retention = "1d"
        dlq_retention = "3d"
        [topics."orders.filled"]
        event = "order_filled"
        partitions = 2
        replication = 1
        retention = "12h"
        "#
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn check_finds_drift_and_apply_fixes_it_once() {
    let broker = unique_broker();
    let (raw, dlq, filled) = (
        format!("{broker}.signals.raw"),
        format!("{broker}.signals.raw.dlq"),
        format!("{broker}.orders.filled"),
    );
    create(
        &raw,
        2,
        &[
            ("retention.ms", "3600000"),
            ("max.message.bytes", "2000000"),
        ],
    )
    .await;
    let catalog = drifted_catalog(&broker);

    let check = run(&catalog, &["topics", "check"]).expect_code(1);
    assert!(check.stdout.contains("missing"), "{}", check.stdout);
    assert!(
        check
            .stdout
            .contains("partitions 2 < 4, retention.ms 3600000 ≠ 86400000"),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("3 of 3 topics differ"),
        "{}",
        check.stdout
    );
    let lines = run(&catalog, &["--json", "topics", "check"])
        .expect_code(1)
        .json_lines();
    assert_eq!(lines.len(), 3, "one object a topic: {lines:?}");
    assert_eq!(line_of(&lines, &filled)["status"], "missing");
    assert_eq!(line_of(&lines, &dlq)["kind"], "dead_letter");
    let differences = &line_of(&lines, &raw)["differences"];
    assert_eq!(differences[0]["what"], "partitions");
    assert_eq!(
        (
            differences[0]["cluster"].as_i64(),
            differences[0]["catalog"].as_i64()
        ),
        (Some(2), Some(4))
    );
    assert_eq!(differences[1]["key"], "retention.ms");
    assert_eq!(differences[1]["cluster"], "3600000");

    let dry = run(&catalog, &["topics", "apply", "--dry-run"]).expect_code(0);
    assert!(
        dry.stdout
            .contains("dry run: 4 change(s) planned, nothing changed"),
        "{}",
        dry.stdout
    );
    let mut planned: Vec<(String, String, bool)> =
        run(&catalog, &["--json", "topics", "apply", "--dry-run"])
            .expect_code(0)
            .json_lines()
            .iter()
            .map(|l| {
                let action = l["action"].as_str().unwrap().to_owned();
                (
                    action,
                    l["topic"].as_str().unwrap().to_owned(),
                    l["done"].as_bool().unwrap(),
                )
            })
            .collect();
    let mut wanted = [
        ("raise_partitions", &raw),
        ("set_configs", &raw),
        ("create", &dlq),
        ("create", &filled),
    ]
    .map(|(a, t)| (a.to_owned(), t.clone(), false))
    .to_vec();
    wanted.sort();
    planned.sort();
    assert_eq!(planned, wanted);
    assert_eq!(
        partitions(&[&raw, &dlq, &filled]).await,
        [Some(2), None, None]
    );
    assert_eq!(configs(&raw).await["retention.ms"], "3600000");
    run(&catalog, &["topics", "check"]).expect_code(1);

    let applied = run(&catalog, &["topics", "apply"]).expect_code(0);
    assert!(
        applied.stdout.contains("applied 4 change(s)"),
        "{}",
        applied.stdout
    );
    assert_eq!(
        partitions(&[&raw, &dlq, &filled]).await,
        [Some(4), Some(4), Some(2)]
    );
    let raw_configs = configs(&raw).await;
    assert_eq!(raw_configs["retention.ms"], "86400000");
    assert_eq!(raw_configs["cleanup.policy"], "delete");
    assert_eq!(
        raw_configs["max.message.bytes"], "2000000",
        "an undeclared override is kept"
    );
    assert_eq!(configs(&dlq).await["retention.ms"], "259200000");
    assert_eq!(configs(&filled).await["retention.ms"], "43200000");
    let replication = admin()
        .replication_factors(std::slice::from_ref(&filled), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(replication, [Some(1)]);

    let check = run(&catalog, &["topics", "check"]).expect_code(0);
    assert!(
        check.stdout.contains("3 topics match the catalog"),
        "{}",
        check.stdout
    );
    let again = run(&catalog, &["topics", "apply"]).expect_code(0);
    assert_eq!(again.stdout.trim(), "nothing to change");
    assert!(
        run(&catalog, &["--json", "topics", "apply"])
            .expect_code(0)
            .json_lines()
            .is_empty()
    );

    delete(&[&raw, &dlq, &filled]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lowering_partitions_and_changing_replication_are_refused() {
    let broker = unique_broker();
    let topic = format!("{broker}.signals.raw");
    create(&topic, 3, &[]).await;
    let catalog = catalog_file(&format!(
        "brokers = [\"{broker}\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\n\
         partitions = 1\nreplication = 2\nretention = \"1h\"\n"
    ));

    let check = run(&catalog, &["topics", "check"]).expect_code(1);
    assert!(
        check.stdout.contains("partitions 3 > 1, replication 1 ≠ 2"),
        "{}",
        check.stdout
    );
    let apply = run(&catalog, &["topics", "apply"]).expect_code(1);
    assert!(
        apply
            .stdout
            .contains("Kafka cannot lower a partition count"),
        "{}",
        apply.stdout
    );
    assert!(
        apply.stdout.contains("replication 1 ≠ 2"),
        "{}",
        apply.stdout
    );
    assert!(
        apply.stdout.contains("applied 1 change(s); 2 refused"),
        "{}",
        apply.stdout
    );
    assert!(
        apply.stderr.contains("cannot be applied"),
        "{}",
        apply.stderr
    );
    // what can be done is done; what cannot is left as it was
    assert_eq!(partitions(&[&topic]).await, [Some(3)]);
    assert_eq!(configs(&topic).await["retention.ms"], "3600000");

    let lines = run(&catalog, &["--json", "topics", "apply"])
        .expect_code(1)
        .json_lines();
    let actions: Vec<(&str, &str, bool)> = lines
        .iter()
        .map(|l| {
            let difference = l["difference"].as_str().unwrap_or("");
            (
                l["action"].as_str().unwrap(),
                difference,
                l["done"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("refuse", "partitions 3 > 1", false),
            ("refuse", "replication 1 ≠ 2", false)
        ]
    );

    delete(&[&topic]).await;
}

#[test]
fn a_bad_catalog_exits_2_naming_the_file_and_key() {
    let catalog = catalog_file(
        "brokers = [\"paper\"]\n[topics.\"signals.raw\"]\nevent = \"trading_signal\"\n\
         partitions = 6\nretention = \"7 days\"\n",
    );
    let check = run(&catalog, &["topics", "check"]).expect_code(2);
    let wanted = format!(
        "{}:5:13: `retention` of topic `signals.raw` is the string \"7 days\"; expected a duration",
        catalog.display()
    );
    assert!(check.stderr.contains(&wanted), "{}", check.stderr);
}

#[test]
fn an_unreachable_cluster_exits_3() {
    let catalog = catalog_file(&format!(
        "brokers = [\"{}\"]\n[topics.\"signals.raw\"]\nevent = \"x\"\npartitions = 1\n",
        unique_broker()
    ));
    let check = run(
        &catalog,
        &["--bootstrap-servers", "127.0.0.1:1", "topics", "check"],
    )
    .expect_code(3);
    assert!(
        check
            .stderr
            .contains("could not read the catalog's topics from the cluster at 127.0.0.1:1"),
        "{}",
        check.stderr
    );
}
