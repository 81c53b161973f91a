//! A consumer refuses `enable.auto.commit` set to anything but `false`: streamkit commits only
//! offsets whose handlers finished, and librdkafka's auto-commit would commit what was merely
//! polled. The error names the key and the value. No broker is needed: nothing connects.

use stream_core::Error;
use stream_core::consumer::MessageConsumer;
use stream_core::kafka::config::KafkaConfig;

fn consumer_with(config: KafkaConfig) -> stream_core::Result<MessageConsumer> {
    MessageConsumer::new(&config, &["paper.signals.raw"], "risk.signals")
}

#[test]
fn auto_commit_on_is_refused_naming_the_key() {
    for value in ["true", "1", " TRUE "] {
        let config = KafkaConfig::new("127.0.0.1:1").set("enable.auto.commit", value);
        let err = consumer_with(config).expect_err("auto-commit must be refused");
        match &err {
            Error::Config { key, message } => {
                assert_eq!(key, "enable.auto.commit");
                assert!(message.contains(&format!("found `{value}`")), "{message}");
            }
            other => panic!("expected a configuration error, got {other:?}"),
        }
        assert_eq!(
            err.to_string(),
            format!(
                "bad configuration `enable.auto.commit`: expected `false` (streamkit commits only finished offsets), found `{value}`"
            )
        );
    }
}

#[test]
fn auto_commit_off_or_unset_is_accepted() {
    let unset = consumer_with(KafkaConfig::new("127.0.0.1:1"));
    assert!(unset.is_ok(), "{unset:?}");
    let off = consumer_with(KafkaConfig::new("127.0.0.1:1").set("enable.auto.commit", "false"));
    assert!(off.is_ok(), "{off:?}");
}
