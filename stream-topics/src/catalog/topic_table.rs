//! One `[topics."<name>"]` table: `event`, `partitions` and the optional settings, into a
//! [`TopicSpec`].

use std::ops::Range;

use toml::Spanned;
use toml::de::DeValue;

use crate::catalog::error::{CatalogError, Source};
use crate::catalog::settings::{Place, SETTING_KEYS, Settings};
use crate::catalog::spec::TopicSpec;
use crate::catalog::value::{describe, in_file_order, integer, unknown_key};

type Value<'a, 'i> = &'a Spanned<DeValue<'i>>;

/// The table of topic `name` (declared at `name_span`), `defaults` filling the settings it
/// does not set.
pub(super) fn read_topic(
    name: &str,
    name_span: Range<usize>,
    table: Value<'_, '_>,
    defaults: &Settings,
    source: Source<'_>,
) -> Result<TopicSpec, CatalogError> {
    let DeValue::Table(fields) = table.get_ref() else {
        let message = format!(
            "topic `{name}` is {}; expected a table with `event` and `partitions`, e.g. \
             `[topics.\"signals.raw\"]`",
            describe(table.get_ref())
        );
        return Err(source.error(table.span(), &["topics", name], message));
    };
    let (mut event, mut partitions) = (None, None);
    let mut settings = Settings::default();
    for (field, value) in in_file_order(fields) {
        let key: &str = field.get_ref().as_ref();
        match key {
            "event" => event = Some(value),
            "partitions" => partitions = Some(value),
            _ if settings.read(key, value, Place::Topic(name), source)? => {}
            _ => return Err(unknown_field(name, field.span(), key, value, source)),
        }
    }
    let missing = |key: &str, add: &str| {
        let message = format!("topic `{name}` has no `{key}`; add {add}");
        source.error(name_span.clone(), &["topics", name], message)
    };
    let event = event.ok_or_else(|| {
        missing(
            "event",
            "the event type its envelopes carry, e.g. `event = \"trading_signal\"`",
        )
    })?;
    let partitions = partitions
        .ok_or_else(|| missing("partitions", "its partition count, e.g. `partitions = 6`"))?;
    Ok(TopicSpec {
        name: name.to_owned(),
        event: read_event(name, event, source)?,
        partitions: read_partitions(name, partitions, source)?,
        settings: settings.or(defaults),
    })
}

fn unknown_field(
    name: &str,
    span: Range<usize>,
    key: &str,
    value: Value<'_, '_>,
    source: Source<'_>,
) -> CatalogError {
    let expected: Vec<&str> = ["event", "partitions"]
        .into_iter()
        .chain(SETTING_KEYS)
        .collect();
    let mut message = unknown_key(key, &format!(" in topic `{name}`"), &expected);
    if value.get_ref().is_table() {
        message.push_str(&format!(
            ", and a topic name with dots is quoted, as `[topics.\"{name}.{key}\"]`"
        ));
    }
    source.error(span, &["topics", name, key], message)
}

fn read_event(
    name: &str,
    event: Value<'_, '_>,
    source: Source<'_>,
) -> Result<String, CatalogError> {
    let text = event
        .get_ref()
        .as_str()
        .filter(|s| !s.trim().is_empty() && s.trim() == *s);
    let Some(text) = text else {
        let message = format!(
            "`event` of topic `{name}` is {}; expected the event type its envelopes carry, \
             without spaces around it, e.g. `event = \"trading_signal\"`",
            describe(event.get_ref())
        );
        return Err(source.error(event.span(), &["topics", name, "event"], message));
    };
    Ok(text.to_owned())
}

fn read_partitions(
    name: &str,
    partitions: Value<'_, '_>,
    source: Source<'_>,
) -> Result<i32, CatalogError> {
    let count = integer(partitions.get_ref())
        .and_then(|p| i32::try_from(p).ok())
        .filter(|p| *p >= 1);
    count.ok_or_else(|| {
        let message = format!(
            "`partitions` of topic `{name}` is {}; expected a whole number from 1 to {}",
            describe(partitions.get_ref()),
            i32::MAX
        );
        source.error(partitions.span(), &["topics", name, "partitions"], message)
    })
}
