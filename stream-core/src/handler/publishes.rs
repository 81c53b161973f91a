//! [`DeclaredOutputs`]: the topics a handler declares it publishes (`publishes = [...]`), and
//! the run-time check of every publish through its [`Context`](crate::handler::extract::Context).

use crate::handler::error::HandlerError;
use crate::topic::{Topic, TopicPattern};

/// The outputs a handler declared, as the service hands them to its context. Each is a catalog
/// topic name without the broker (`signals.validated`: that topic on any broker), a full topic
/// (`paper.signals.validated`), or a pattern (`*.signals.validated`).
#[derive(Debug, Clone)]
pub struct DeclaredOutputs {
    handler: String,
    outputs: Vec<String>,
}

impl DeclaredOutputs {
    /// The outputs `handler` declared.
    pub fn new(handler: &str, outputs: &[String]) -> Self {
        Self {
            handler: handler.to_owned(),
            outputs: outputs.to_vec(),
        }
    }

    /// Whether `topic` is one of the declared outputs.
    pub fn allows(&self, topic: &str) -> bool {
        let without_broker = topic.split_once('.').map(|(_, rest)| rest);
        self.outputs.iter().any(|declared| {
            if declared == topic || without_broker == Some(declared.as_str()) {
                return true;
            }
            declared.contains('*')
                && matches!(
                    (TopicPattern::parse(declared), Topic::parse(topic)),
                    (Ok(p), Ok(t)) if p.matches(&t)
                )
        })
    }

    /// `Ok` for a declared output; else a permanent error naming the declaration to add.
    pub fn check(&self, topic: &str) -> Result<(), HandlerError> {
        if self.allows(topic) {
            return Ok(());
        }
        let add = topic.split_once('.').map_or(topic, |(_, rest)| rest);
        Err(HandlerError::permanent(format!(
            "handler `{}` published to `{topic}`, which it does not declare: add `{add}` to its `publishes` (`#[stream_handler(..., publishes = [{}])]`, or `HandlerSpec::publishes`)",
            self.handler,
            self.outputs
                .iter()
                .map(|o| format!("\"{o}\""))
                .chain(std::iter::once(format!("\"{add}\"")))
                .collect::<Vec<_>>()
                .join(", "),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(outputs: &[&str]) -> DeclaredOutputs {
        let outputs: Vec<String> = outputs.iter().map(|o| (*o).to_owned()).collect();
        DeclaredOutputs::new("validate", &outputs)
    }

    #[test]
    fn names_full_topics_and_patterns_match() {
        let d = declared(&["signals.validated", "paper.orders.new", "*.audit.log"]);
        assert!(d.allows("zerodha.signals.validated"));
        assert!(d.allows("paper.orders.new"));
        assert!(!d.allows("zerodha.orders.new"));
        assert!(d.allows("zerodha.audit.log"));
        assert!(!d.allows("paper.signals.raw"));
    }

    #[test]
    fn an_undeclared_topic_names_the_declaration_to_add() {
        let err = declared(&["signals.validated"])
            .check("paper.orders.new")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("handler `validate` published to `paper.orders.new`, which it does not declare: add `orders.new` to its `publishes`"),
            "{err}"
        );
        assert!(
            err.contains(r#"publishes = ["signals.validated", "orders.new"]"#),
            "{err}"
        );
    }
}
