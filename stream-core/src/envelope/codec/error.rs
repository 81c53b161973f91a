//! [`CodecError`]: which field of an envelope failed to encode or decode, and why.

use std::fmt;

/// Why an envelope could not be encoded or decoded.
///
/// [`CodecError::field`] names the field that failed (`id`, `timestamp`, `data.price`), when one
/// did, and [`CodecError::kind`] is a short stable string for a dead letter's headers. A decode
/// error from [`decode`](fn@crate::envelope::codec::decode) or
/// [`RawEnvelope::decode`](crate::envelope::codec::RawEnvelope::decode) keeps the record's bytes
/// ([`CodecError::bytes`]) so the record can be dead-lettered as it was.
///
/// ```
/// use stream_core::envelope::codec;
/// let err = codec::decode::<serde_json::Value>(br#"{"id": "not-a-uuid"}"#).unwrap_err();
/// assert_eq!(err.kind(), "decode");
/// assert_eq!(err.field(), Some("id"));
/// assert!(err.to_string().starts_with("cannot decode envelope field `id`: "), "{err}");
/// ```
pub struct CodecError {
    pub(super) kind: Kind,
    pub(super) field: Option<String>,
    pub(super) message: String,
    pub(super) bytes: Option<Box<[u8]>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Decode,
    Encode,
}

impl CodecError {
    pub(super) fn decode(
        path: Option<String>,
        prefix: Option<&str>,
        err: &serde_json::Error,
        bytes: Option<&[u8]>,
    ) -> Self {
        let mut message = err.to_string();
        // serde_json appends the position. Keep it for malformed JSON; drop it when a field says
        // where the value is wrong (and for `data` text, where it is not a position in the record).
        // serde_path_to_error writes `.` for the root and `?` for a key it never read.
        let field = path
            .map(|p| p.trim_end_matches(".?").to_owned())
            .filter(|p| p != "." && p != "?");
        if err.is_data() && err.line() != 0 && (field.is_some() || prefix.is_some()) {
            let suffix = format!(" at line {} column {}", err.line(), err.column());
            if let Some(stripped) = message.strip_suffix(&suffix) {
                message.truncate(stripped.len());
            }
        }
        let mut field = match (prefix, field) {
            (Some(prefix), Some(path)) => Some(format!("{prefix}.{path}")),
            (Some(prefix), None) => Some(prefix.to_owned()),
            (None, path) => path,
        };
        // rust_decimal, reading a JSON object where a Decimal belongs, complains about the
        // object's first key (with arbitrary_precision it expects serde_json's number token
        // there); say what is wrong at the Decimal's own path instead.
        if message == "expected field with custom name" {
            message = "invalid type: map, expected a decimal as a string or number".to_owned();
            field = field.and_then(|p| p.rfind('.').map(|dot| p[..dot].to_owned()));
        }
        // serde reports a missing field at its parent; name the field itself.
        if let Some(missing) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name.to_owned())
        {
            let full = match field {
                Some(parent) => format!("{parent}.{missing}"),
                None => missing,
            };
            message = format!("missing field `{full}`");
            field = Some(full);
        }
        CodecError {
            kind: Kind::Decode,
            field,
            message,
            bytes: bytes.map(Box::from),
        }
    }

    pub(super) fn encode_message(message: String) -> Self {
        CodecError {
            kind: Kind::Encode,
            field: None,
            message,
            bytes: None,
        }
    }

    pub(super) fn encode(err: &serde_json::Error) -> Self {
        CodecError {
            kind: Kind::Encode,
            field: None,
            message: err.to_string(),
            bytes: None,
        }
    }

    /// `"decode"` or `"encode"`: a short stable name of the failure, for a dead letter's
    /// `error.kind` header and for metrics labels.
    ///
    /// ```
    /// let err = stream_core::envelope::codec::decode::<()>(b"nope").unwrap_err();
    /// assert_eq!(err.kind(), "decode");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self.kind {
            Kind::Decode => "decode",
            Kind::Encode => "encode",
        }
    }

    /// The path of the field that failed (`id`, `timestamp`, `data.legs[0].price`), or `None`
    /// when the document as a whole is at fault (not JSON, not an object, trailing bytes).
    ///
    /// ```
    /// let err = stream_core::envelope::codec::decode::<()>(b"{").unwrap_err();
    /// assert_eq!(err.field(), None);
    /// ```
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    /// What was wrong, without the field path: `missing field `id``, `invalid type: ...`.
    ///
    /// ```
    /// let err = stream_core::envelope::codec::decode::<()>(b"{}").unwrap_err();
    /// assert_eq!(err.message(), "missing field `id`");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The record bytes that failed to decode, as they were; `None` for an encode error and for
    /// [`RawEnvelope::into_typed`](crate::envelope::codec::RawEnvelope::into_typed) (the caller
    /// holds the record).
    ///
    /// ```
    /// let err = stream_core::envelope::codec::decode::<()>(b"\xff garbage").unwrap_err();
    /// assert_eq!(err.bytes(), Some(&b"\xff garbage"[..]));
    /// ```
    pub fn bytes(&self) -> Option<&[u8]> {
        self.bytes.as_deref()
    }

    /// Takes the kept record bytes out of the error.
    ///
    /// ```
    /// let err = stream_core::envelope::codec::decode::<()>(b"[]").unwrap_err();
    /// assert_eq!(err.into_bytes().as_deref(), Some(&b"[]"[..]));
    /// ```
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        self.bytes.map(Vec::from)
    }

    /// Whether this is a decode error (the record is malformed: dead-letter it, do not retry).
    ///
    /// ```
    /// assert!(stream_core::envelope::codec::decode::<()>(b"").unwrap_err().is_decode());
    /// ```
    pub fn is_decode(&self) -> bool {
        self.kind == Kind::Decode
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kind, &self.field) {
            (Kind::Encode, _) => write!(f, "cannot encode envelope: {}", self.message),
            (Kind::Decode, Some(_)) if self.message.starts_with("missing field") => {
                write!(f, "cannot decode envelope: {}", self.message)
            }
            (Kind::Decode, Some(field)) => {
                write!(
                    f,
                    "cannot decode envelope field `{field}`: {}",
                    self.message
                )
            }
            (Kind::Decode, None) => write!(f, "cannot decode envelope: {}", self.message),
        }
    }
}

impl fmt::Debug for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodecError")
            .field("kind", &self.kind())
            .field("field", &self.field)
            .field("message", &self.message)
            .field("bytes", &self.bytes.as_ref().map(|b| b.len()))
            .finish()
    }
}

impl std::error::Error for CodecError {}

/// A serde_json error as a codec error: one with a position in its input is a decode error,
/// one without an encode error (serde_json gives no position to what it fails to write; note
/// that `serde_json::from_value` errors have none either).
///
/// ```
/// use stream_core::envelope::codec::CodecError;
/// let err = serde_json::from_str::<u8>("x").unwrap_err();
/// assert_eq!(CodecError::from(err).kind(), "decode");
/// let err = serde_json::to_vec(&std::collections::HashMap::from([((1, 2), 3)])).unwrap_err();
/// assert_eq!(CodecError::from(err).kind(), "encode");
/// ```
impl From<serde_json::Error> for CodecError {
    fn from(err: serde_json::Error) -> Self {
        if err.line() == 0 {
            CodecError::encode(&err)
        } else {
            CodecError::decode(None, None, &err, None)
        }
    }
}
