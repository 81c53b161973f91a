//! [`ServiceName`]: the name of a service, as an envelope's `source` carries it.
//!
//! Every envelope names the service that made it, and a service makes and reads envelopes by the
//! thousand with the same few names. As a `String` that name was an allocation for every
//! envelope made (the producer copied its own name), every envelope decoded and every clone of
//! one; as shared text it is a reference count, and whether it needs escaping in JSON is worked
//! out once, when the name is made, instead of on every encode.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The name of a service (`risk-manager`): shared, immutable text that clones by a reference
/// count. Any text is a name; the wire format does not restrict it.
///
/// It reads like a `&str` (it derefs to one, and compares with `str`, `&str` and `String`), and
/// serializes as a plain JSON string.
///
/// ```
/// use stream_core::ServiceName;
///
/// let name = ServiceName::new("risk-manager");
/// let copy = name.clone(); // no new allocation
/// assert_eq!(copy, "risk-manager");
/// assert_eq!(copy.len(), 12);
/// assert_eq!(serde_json::to_string(&name).unwrap(), r#""risk-manager""#);
/// let read: ServiceName = serde_json::from_str(r#""py-strategy""#).unwrap();
/// assert_eq!(read.as_str(), "py-strategy");
/// ```
#[derive(Clone)]
pub struct ServiceName {
    text: Arc<str>,
    /// Whether `text` can go between JSON quotes as it is (no quote, backslash or control
    /// character in it): the encoder then copies it without looking at it.
    plain: bool,
}

impl ServiceName {
    /// A name from any text.
    ///
    /// ```
    /// let name = stream_core::ServiceName::new(String::from("clock"));
    /// assert_eq!(name.as_str(), "clock");
    /// ```
    pub fn new(text: impl Into<Arc<str>>) -> Self {
        let text = text.into();
        let plain = !text.bytes().any(crate::envelope::escape::needs_escape);
        ServiceName { text, plain }
    }

    /// A name read from a JSON string that had no escape sequence and no control character in
    /// it, so that it needs no escaping when written back.
    pub(crate) fn unescaped(text: &str) -> Self {
        debug_assert!(ServiceName::new(text).plain, "{text:?}");
        ServiceName {
            text: Arc::from(text),
            plain: true,
        }
    }

    /// The name as text.
    ///
    /// ```
    /// assert_eq!(stream_core::ServiceName::new("clock").as_str(), "clock");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the name goes into a JSON string as it is, with nothing to escape.
    pub(crate) fn is_plain(&self) -> bool {
        self.plain
    }
}

impl Deref for ServiceName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

impl AsRef<str> for ServiceName {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

impl Borrow<str> for ServiceName {
    fn borrow(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, as `str` does: width, alignment and precision apply (`{:<16}`, `{:.8}`).
        f.pad(&self.text)
    }
}

impl fmt::Debug for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.text, f)
    }
}

impl PartialEq for ServiceName {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for ServiceName {}

impl std::hash::Hash for ServiceName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl PartialOrd for ServiceName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ServiceName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.text.cmp(&other.text)
    }
}

macro_rules! eq_text {
    ($($other:ty),*) => {$(
        impl PartialEq<$other> for ServiceName {
            fn eq(&self, other: &$other) -> bool {
                *self.text == **other
            }
        }
        impl PartialEq<ServiceName> for $other {
            fn eq(&self, other: &ServiceName) -> bool {
                **self == *other.text
            }
        }
    )*};
}
eq_text!(&str, String);

impl PartialEq<str> for ServiceName {
    fn eq(&self, other: &str) -> bool {
        *self.text == *other
    }
}

impl PartialEq<ServiceName> for str {
    fn eq(&self, other: &ServiceName) -> bool {
        *self == *other.text
    }
}

impl From<&str> for ServiceName {
    fn from(text: &str) -> Self {
        ServiceName::new(text)
    }
}

impl From<String> for ServiceName {
    fn from(text: String) -> Self {
        ServiceName::new(text)
    }
}

impl From<&String> for ServiceName {
    fn from(text: &String) -> Self {
        ServiceName::new(text.as_str())
    }
}

impl From<Box<str>> for ServiceName {
    fn from(text: Box<str>) -> Self {
        ServiceName::new(text)
    }
}

impl From<std::borrow::Cow<'_, str>> for ServiceName {
    fn from(text: std::borrow::Cow<'_, str>) -> Self {
        ServiceName::new(text.as_ref())
    }
}

impl From<Arc<str>> for ServiceName {
    fn from(text: Arc<str>) -> Self {
        ServiceName::new(text)
    }
}

impl From<&ServiceName> for ServiceName {
    fn from(name: &ServiceName) -> Self {
        name.clone()
    }
}

impl From<ServiceName> for String {
    fn from(name: ServiceName) -> Self {
        name.text.as_ref().to_owned()
    }
}

/// The empty name, as `String::default()` is the empty string.
impl Default for ServiceName {
    fn default() -> Self {
        ServiceName::new("")
    }
}

impl Serialize for ServiceName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for ServiceName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ServiceName;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a service name (a string)")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<ServiceName, E> {
                Ok(ServiceName::new(text))
            }

            fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<ServiceName, E> {
                // What `String` takes from formats that hand strings over as bytes.
                std::str::from_utf8(bytes)
                    .map(ServiceName::new)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Bytes(bytes), &self))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::ServiceName;

    #[test]
    fn knows_which_names_need_escaping() {
        for (text, plain) in [
            ("risk-manager", true),
            ("", true),
            ("résumé ✓", true),
            ("a\"b", false),
            ("a\\b", false),
            ("tab\there", false),
            ("\u{1f}", false),
            ("\u{7f}", true),
        ] {
            let name = ServiceName::new(text);
            assert_eq!(name.is_plain(), plain, "{text:?}");
            // What the flag promises: the text is its own JSON string body.
            let json = serde_json::to_string(&name).unwrap();
            assert_eq!(json == format!("\"{text}\""), plain, "{text:?}");
        }
    }

    #[test]
    fn compares_and_hashes_as_its_text() {
        use std::collections::HashSet;
        let name = ServiceName::new("clock");
        assert_eq!(name, "clock");
        assert_eq!("clock", name);
        assert_eq!(name, String::from("clock"));
        assert_eq!(*"clock", name);
        assert!(ServiceName::new("a") < ServiceName::new("b"));
        let set: HashSet<ServiceName> = [name.clone()].into();
        assert!(set.contains("clock"));
        assert_eq!(format!("{name} {name:?}"), "clock \"clock\"");
        // Formatted as a `str` is: width, alignment and precision apply.
        assert_eq!(
            format!("[{name:>7}|{name:<7}|{name:.3}]"),
            "[  clock|clock  |clo]"
        );
        assert_eq!(ServiceName::default(), "");
        let owned: ServiceName = std::borrow::Cow::Borrowed("a").into();
        assert_eq!(owned, ServiceName::from(Box::<str>::from("a")));
    }
}
