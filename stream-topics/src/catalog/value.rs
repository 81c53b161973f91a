//! Reading TOML values for the catalog: tables in file order, values and key paths as error
//! messages quote them.

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use crate::suggest::closest;

/// One `key = value` of a table, both with their spans.
pub(super) type Entry<'a, 'i> = (&'a Spanned<DeString<'i>>, &'a Spanned<DeValue<'i>>);

/// The entries of a table in the order they appear in the file, so the first mistake reported is
/// the first one in the file whatever order `toml::map::Map` keeps.
pub(super) fn in_file_order<'a, 'i>(table: &'a DeTable<'i>) -> Vec<Entry<'a, 'i>> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

/// `topics."signals.raw".partitions`: a TOML key path, quoting segments that need it.
pub(super) fn key_path(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| {
            if !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                (*p).to_owned()
            } else {
                format!("{p:?}")
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// `the string "x"`, `the integer 0`, `a table`: a value as an error message quotes it.
pub(super) fn describe(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => format!("the string {:?}", s.as_ref()),
        DeValue::Integer(i) if i.radix() == 10 => format!("the integer {}", i.as_str()),
        DeValue::Float(f) => format!("the float {}", f.as_str()),
        DeValue::Boolean(b) => format!("the boolean {b}"),
        DeValue::Integer(_) => "an integer".to_owned(),
        DeValue::Datetime(_) => "a datetime".to_owned(),
        DeValue::Array(_) => "an array".to_owned(),
        DeValue::Table(_) => "a table".to_owned(),
    }
}

/// An integer value in any radix TOML allows (`6`, `0x6`), if it fits an `i64`.
pub(super) fn integer(value: &DeValue<'_>) -> Option<i64> {
    let i = value.as_integer()?;
    i64::from_str_radix(i.as_str(), i.radix()).ok()
}

/// `unknown key `x`; did you mean `y`? …`: shared by every table of the file. `place` follows the
/// key (` in topic `signals.raw``, or empty at the top).
pub(super) fn unknown_key(key: &str, place: &str, expected: &[&str]) -> String {
    let suggestion = closest(key, expected.iter().copied());
    let expected: Vec<String> = expected.iter().map(|k| format!("`{k}`")).collect();
    format!(
        "unknown key `{key}`{place}; {}expected {}",
        did_you_mean(suggestion),
        one_of(&expected)
    )
}

/// `a`, `a or b`, `a, b or c`: alternatives as a sentence lists them.
pub(super) fn one_of(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// `did you mean `x`? ` when there is a suggestion, else nothing.
pub(super) fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |s| format!("did you mean `{s}`? "))
}
