//! [`HandlerError`] and its [`ErrorKind`]: how a handler's failure is retried or dead-lettered.

use std::fmt;

use crate::envelope::codec::error::CodecError;
use crate::kafka::producer::error::ProduceError;

/// Whether an error is worth retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A transient failure (timeout, unavailable dependency): retried per the retry policy,
    /// then dead-lettered.
    Retryable,
    /// A failure that will not go away (invalid input, rejected by a rule): dead-lettered at once.
    Permanent,
    /// The payload did not match the handler's type: dead-lettered at once.
    Decode,
    /// The handler panicked: dead-lettered at once (a bug does not heal on retry).
    Panic,
    /// The envelope breaks its topic's contract (an event type the handler does not read, a
    /// `broker` other than the topic's): dead-lettered before the handler runs.
    Contract,
}

impl ErrorKind {
    /// The short stable name written in dead-letter headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retryable => "retryable",
            Self::Permanent => "permanent",
            Self::Decode => "decode",
            Self::Panic => "panic",
            Self::Contract => "contract",
        }
    }
}

/// The error a handler returns. `?` on any error type makes it retryable; say
/// [`HandlerError::permanent`] when retrying cannot help.
///
/// ```
/// use stream_core::handler::{HandlerError, ErrorKind};
/// fn check(qty: i64) -> Result<(), HandlerError> {
///     if qty <= 0 {
///         return Err(HandlerError::permanent(format!("quantity {qty} is not positive")));
///     }
///     let _n: u8 = "300".parse()?; // any std error converts, as retryable
///     Ok(())
/// }
/// assert_eq!(check(-1).unwrap_err().kind(), ErrorKind::Permanent);
/// assert_eq!(check(1).unwrap_err().kind(), ErrorKind::Retryable);
/// ```
pub struct HandlerError {
    kind: ErrorKind,
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl HandlerError {
    /// A transient error: retry it.
    pub fn retryable(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            kind: ErrorKind::Retryable,
            source: error.into(),
        }
    }

    /// An error that retrying cannot fix: dead-letter the message now.
    pub fn permanent(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            kind: ErrorKind::Permanent,
            source: error.into(),
        }
    }

    /// The message could not be decoded into the handler's types.
    pub fn decode(error: CodecError) -> Self {
        Self {
            kind: ErrorKind::Decode,
            source: Box::new(error),
        }
    }

    /// The handler panicked with `message`.
    pub fn panic(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Panic,
            source: message.into().into(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether the retry policy applies.
    pub fn is_retryable(&self) -> bool {
        self.kind == ErrorKind::Retryable
    }

    /// The underlying error.
    pub fn source_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.source
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for HandlerError {
    fn from(error: E) -> Self {
        Self::retryable(error)
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} error: {}", self.kind.as_str(), self.source)
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerError")
            .field("kind", &self.kind)
            .field("source", &self.source)
            .finish()
    }
}

/// A send failure as a handler error: permanent when the record itself is wrong (it does not
/// encode, its topic name is invalid, it is too large), else retryable.
pub(crate) fn handler_error(e: ProduceError) -> HandlerError {
    match e {
        ProduceError::Serialization(_)
        | ProduceError::Topic(_)
        | ProduceError::MessageTooLarge { .. }
        | ProduceError::RefusedAsTooLarge { .. } => HandlerError::permanent(e),
        other => HandlerError::retryable(other),
    }
}
