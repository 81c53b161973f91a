//! W3C trace context on records: the `traceparent` and `tracestate` headers.
//!
//! A consumed record's `traceparent` (written by any W3C-conformant producer: streamkit, a
//! Python service with OpenTelemetry, ...) is continued by its handling: the consumer's message
//! span carries its `trace_id`, and every record the handler publishes through its
//! [`Context`](crate::handler::extract::Context) gets a `traceparent` with the same trace id and
//! this handling as its parent, plus the incoming `tracestate` unchanged. One signal's way
//! through five services is one trace.
//!
//! A record without a valid `traceparent` starts a trace whose id is its envelope's
//! `correlation_id` (16 bytes either way), so the records of one chain share a trace id even when
//! an upstream service does not propagate one. With the `otel` feature, the message span is an
//! OpenTelemetry span whose parent is the incoming `traceparent`, and sends made inside it carry
//! that span's own context.

use std::sync::Arc;

use rdkafka::message::{Header, OwnedHeaders};
use uuid::Uuid;

use crate::kafka::record::RecordMeta;

/// The header of the W3C trace parent.
pub const TRACEPARENT: &str = "traceparent";
/// The header of the W3C trace state (vendor data, passed on unchanged).
pub const TRACESTATE: &str = "tracestate";

/// A W3C `traceparent`: trace id, parent (span) id and flags.
///
/// ```
/// use stream_core::kafka::trace_context::TraceParent;
/// let h = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
/// let t = TraceParent::parse(h).unwrap();
/// assert_eq!(t.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!(t.sampled());
/// assert_eq!(t.to_header(), h);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// The trace id (never all zeros).
    pub trace_id: [u8; 16],
    /// The id of the span that is the parent of the receiver's work (never all zeros).
    pub parent_id: [u8; 8],
    /// The trace flags (bit 0: sampled).
    pub flags: u8,
}

impl TraceParent {
    /// Parses a `traceparent` value: version `00` exactly, or a later version's first four
    /// fields (as the specification asks); `None` for anything invalid, all-zero ids included.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        let mut fields = value.split('-');
        let (version, trace, parent, flags) = (
            fields.next()?,
            fields.next()?,
            fields.next()?,
            fields.next()?,
        );
        let version = u8::from_str_radix(version, 16)
            .ok()
            .filter(|_| version.len() == 2)?;
        if version == 0xff || (version == 0 && fields.next().is_some()) {
            return None;
        }
        let mut trace_id = [0u8; 16];
        let mut parent_id = [0u8; 8];
        hex_into(trace, &mut trace_id)?;
        hex_into(parent, &mut parent_id)?;
        let flags = u8::from_str_radix(flags, 16)
            .ok()
            .filter(|_| flags.len() == 2)?;
        if trace_id == [0; 16] || parent_id == [0; 8] {
            return None;
        }
        Some(Self {
            trace_id,
            parent_id,
            flags,
        })
    }

    /// The header value, version `00`.
    pub fn to_header(&self) -> String {
        String::from_utf8_lossy(&self.header_bytes()).into_owned()
    }

    /// The header value, version `00`, without an allocation.
    fn header_bytes(&self) -> [u8; 55] {
        let mut out = [b'-'; 55];
        out[..2].copy_from_slice(b"00");
        hex_to(&self.trace_id, &mut out[3..35]);
        hex_to(&self.parent_id, &mut out[36..52]);
        hex_to(&[self.flags], &mut out[53..55]);
        out
    }

    /// The trace id in lower-case hex (32 digits), as tracing back ends show it.
    pub fn trace_id_hex(&self) -> String {
        let mut out = [0u8; 32];
        hex_to(&self.trace_id, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Whether the sampled flag is set.
    pub fn sampled(&self) -> bool {
        self.flags & 1 == 1
    }
}

/// A trace parent and the trace state that travels with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// The `traceparent` to write.
    pub parent: TraceParent,
    /// The `tracestate` to write, unchanged from the incoming record.
    pub state: Option<Arc<str>>,
}

impl TraceContext {
    /// The context of handling `record` (whose envelope's correlation id is `correlation_id`):
    /// the trace of its `traceparent` (or the correlation id's), with a new span id for this
    /// handling, which is the parent of what the handler publishes.
    pub fn of_handling(record: &RecordMeta, correlation_id: Uuid) -> Self {
        let incoming = record
            .find_header(c"traceparent")
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(TraceParent::parse);
        let (trace_id, flags, state) = match incoming {
            Some(p) => {
                let state = record
                    .find_header(c"tracestate")
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .filter(|s| !s.trim().is_empty())
                    .map(Arc::from);
                (p.trace_id, p.flags, state)
            }
            None => (*correlation_id.as_bytes(), 1, None),
        };
        let trace_id = if trace_id == [0; 16] {
            *Uuid::now_v7().as_bytes()
        } else {
            trace_id
        };
        Self {
            parent: TraceParent {
                trace_id,
                parent_id: new_span_id(),
                flags,
            },
            state,
        }
    }

    /// `headers` with this context's `traceparent` (and `tracestate`) added.
    pub fn add_to(&self, headers: OwnedHeaders) -> OwnedHeaders {
        let parent = self.parent.header_bytes();
        let headers = headers.insert(Header {
            key: TRACEPARENT,
            value: Some(&parent[..]),
        });
        match &self.state {
            Some(state) => headers.insert(Header {
                key: TRACESTATE,
                value: Some(&**state),
            }),
            None => headers,
        }
    }
}

/// The context a send writes: the current OpenTelemetry span's (with the `otel` feature, when
/// there is one), else `handling`'s (sends caused by a consumed record), else none.
pub(crate) fn outgoing(handling: Option<&TraceContext>) -> Option<TraceContext> {
    #[cfg(feature = "otel")]
    if let Some(current) = crate::kafka::otel_context::current_context(handling) {
        return Some(current);
    }
    handling.cloned()
}

/// A random, non-zero span id.
pub(crate) fn new_span_id() -> [u8; 8] {
    loop {
        let id = fastrand::u64(..);
        if id != 0 {
            return id.to_be_bytes();
        }
    }
}

/// Names the message's trace on its span (when the span is on); with the `otel` feature, makes
/// the span continue the record's `traceparent`. Called before the span is first entered.
pub(crate) fn continue_on_span(span: &tracing::Span, record: &RecordMeta) {
    if span.is_disabled() {
        return;
    }
    let Some(parent) = record
        .find_header(c"traceparent")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(TraceParent::parse)
    else {
        return;
    };
    span.record("trace_id", parent.trace_id_hex().as_str());
    #[cfg(feature = "otel")]
    crate::kafka::otel_context::set_remote_parent(span, &parent, record.find_header(c"tracestate"));
}

fn hex_into(text: &str, out: &mut [u8]) -> Option<()> {
    if text.len() != out.len() * 2 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    // Upper-case hex is not valid in a traceparent.
    text.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        .then_some(())
}

/// `bytes` in lower-case hex into `out` (twice as long).
fn hex_to(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (b, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0xf)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic::Broker;

    const H: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn invalid_parents_are_refused() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad}");
        }
        assert!(
            TraceParent::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x")
                .is_some()
        );
    }

    #[test]
    fn handling_continues_the_incoming_trace_with_a_span_of_its_own() {
        let record = RecordMeta::new("paper.a.b", Broker::new("paper").unwrap(), 0, 1)
            .with_headers(
                [(TRACEPARENT, H), (TRACESTATE, "k=v")]
                    .into_iter()
                    .collect(),
            );
        let ctx = TraceContext::of_handling(&record, Uuid::now_v7());
        let incoming = TraceParent::parse(H).unwrap();
        assert_eq!(ctx.parent.trace_id, incoming.trace_id);
        assert_ne!(ctx.parent.parent_id, incoming.parent_id);
        assert_eq!(ctx.state.as_deref(), Some("k=v"));
    }

    #[test]
    fn a_record_without_a_parent_is_traced_by_its_correlation_id() {
        let record = RecordMeta::new("paper.a.b", Broker::new("paper").unwrap(), 0, 1);
        let correlation = Uuid::now_v7();
        let ctx = TraceContext::of_handling(&record, correlation);
        assert_eq!(&ctx.parent.trace_id, correlation.as_bytes());
        assert!(ctx.state.is_none());
    }
}
