//! Times on the command line: an age (`10m` ago) or an RFC 3339 instant.

use chrono::{DateTime, Duration, Utc};

/// `30s`, `10m`, `2h`, `1d` (that long ago) or `2026-12-02T09:15:00Z`.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let age = parse_age(text).ok_or_else(|| {
        format!(
            "expected an age (`30s`, `10m`, `2h`, `1d`) or an RFC 3339 time \
             (`2026-12-02T09:15:00Z`), found `{text}`"
        )
    })?;
    Utc::now().checked_sub_signed(age).ok_or_else(|| {
        format!("`{text}` ago is before the earliest time there is; give a shorter age")
    })
}

fn parse_age(text: &str) -> Option<Duration> {
    let unit_at = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(unit_at);
    let n: i64 = number.parse().ok()?;
    match unit {
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_instants() {
        let ten_minutes_ago = parse_time("10m").unwrap();
        let age = Utc::now() - ten_minutes_ago;
        assert!(age >= Duration::minutes(10) && age < Duration::minutes(11));
        assert_eq!(
            parse_time("2026-12-02T09:15:00Z").unwrap().to_rfc3339(),
            "2026-12-02T09:15:00+00:00"
        );
        assert!(
            parse_time("10 minutes")
                .unwrap_err()
                .contains("`10 minutes`")
        );
        assert!(parse_time("m").is_err());
    }

    #[test]
    fn an_age_beyond_the_calendar_is_an_error() {
        let err = parse_time("99999999999d").unwrap_err();
        assert!(err.contains("`99999999999d` ago"), "{err}");
    }
}
