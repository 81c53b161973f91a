//! "Did you mean" for a mistyped macro argument: the closest valid name, offered only when close
//! (the rule of `stream-topics`' suggestions for topics: at most 3 edits, and at most a third of
//! the longer name).

/// `did you mean `x`? ` when a candidate is close to `input`, else nothing.
pub(crate) fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let d = strsim::osa_distance(input, candidate);
        let longest = input.chars().count().max(candidate.chars().count());
        if d > 0 && d <= 3 && 3 * d <= longest && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, candidate));
        }
    }
    best.map_or_else(String::new, |(_, c)| format!("did you mean `{c}`? "))
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn close_names_are_offered() {
        let valid = [
            "topics",
            "group",
            "retry",
            "dlq",
            "dedup",
            "concurrency",
            "crate",
        ];
        assert_eq!(did_you_mean("grop", valid), "did you mean `group`? ");
        assert_eq!(did_you_mean("topic", valid), "did you mean `topics`? ");
        assert_eq!(
            did_you_mean("concurency", valid),
            "did you mean `concurrency`? "
        );
        assert_eq!(
            did_you_mean("nmae", ["name", "crate"]),
            "did you mean `name`? "
        );
        assert_eq!(
            did_you_mean("typ", ["type", "crate"]),
            "did you mean `type`? "
        );
        assert_eq!(did_you_mean("colour", valid), "");
        assert_eq!(did_you_mean("x", valid), "");
    }
}
