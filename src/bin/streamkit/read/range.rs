//! [`OffsetRange`]: `A..B` on the command line.

/// Offsets from `start` (included) to `end` (excluded); either may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OffsetRange {
    /// The first offset taken, if bounded.
    pub start: Option<i64>,
    /// The first offset not taken, if bounded.
    pub end: Option<i64>,
}

impl OffsetRange {
    /// Whether `offset` is in the range.
    pub fn contains(&self, offset: i64) -> bool {
        self.start.is_none_or(|s| offset >= s) && self.end.is_none_or(|e| offset < e)
    }
}

/// `A..B`, `A..` or `..B`, offsets of 0 or more, `A < B`.
pub fn parse_offset_range(text: &str) -> Result<OffsetRange, String> {
    let expected = || format!("expected `A..B`, `A..` or `..B` with offsets A < B, found `{text}`");
    let (a, b) = text.split_once("..").ok_or_else(expected)?;
    let bound = |s: &str| -> Result<Option<i64>, String> {
        match s {
            "" => Ok(None),
            s => s
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .map(Some)
                .ok_or_else(expected),
        }
    };
    let range = OffsetRange {
        start: bound(a)?,
        end: bound(b)?,
    };
    match (range.start, range.end) {
        (Some(a), Some(b)) if a >= b => Err(expected()),
        _ => Ok(range),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        let r = parse_offset_range("3..5").unwrap();
        assert!(!r.contains(2) && r.contains(3) && r.contains(4) && !r.contains(5));
        assert!(parse_offset_range("3..").unwrap().contains(1_000_000));
        assert!(!parse_offset_range("..5").unwrap().contains(5));
        assert!(parse_offset_range("5..3").is_err());
        assert!(parse_offset_range("5").unwrap_err().contains("`5`"));
        assert!(parse_offset_range("-1..3").is_err());
    }
}
