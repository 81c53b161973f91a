//! "Did you mean": the closest candidate by edit distance, offered only when it is close.

/// The candidate closest to `input`, if it is close: at most 3 edits (insertion, deletion,
/// substitution, or swap of two neighbours) and at most a third of the longer string. A candidate
/// that differs only in case counts as one edit. Ties go to the earliest candidate.
pub(crate) fn closest<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        if candidate == input {
            continue;
        }
        let mut d = strsim::osa_distance(input, candidate);
        if input.eq_ignore_ascii_case(candidate) {
            d = 1;
        }
        let longest = input.chars().count().max(candidate.chars().count());
        if d <= 3 && 3 * d <= longest && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn close_candidates_are_offered() {
        let topics = ["paper.signals.raw", "paper.signals.validated"];
        assert_eq!(
            closest("paper.signal.raw", topics),
            Some("paper.signals.raw")
        );
        assert_eq!(closest("zerodah", ["paper", "zerodha"]), Some("zerodha"));
        assert_eq!(closest("papr", ["paper", "zerodha"]), Some("paper"));
        assert_eq!(closest("PAPER", ["paper"]), Some("paper"));
    }

    #[test]
    fn far_candidates_are_not() {
        assert_eq!(closest("x", ["paper", "zerodha"]), None);
        assert_eq!(closest("pap", ["paper"]), None); // 2 edits in 5 characters
        assert_eq!(closest("kite", ["paper", "zerodha"]), None);
        assert_eq!(closest("paper.orders.placed", ["paper.signals.raw"]), None);
    }

    #[test]
    fn the_nearest_wins_and_ties_go_to_the_first() {
        assert_eq!(closest("abcdef", ["abcxyz", "abcdxf"]), Some("abcdxf"));
        assert_eq!(closest("abcdef", ["abcdex", "abcdey"]), Some("abcdex"));
    }
}
