//! The query parameters whoami's endpoints take, read as Go's `net/http`
//! and `strconv` read them, without allocating.

use std::time::Duration;

/// The first value of `name` in `query`, as Go's `url.Values.Get` gives it
/// (without percent-decoding: no parameter here needs escapes).
pub fn param<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?
        .split('&')
        .find_map(|pair| match pair.split_once('=') {
            Some((key, value)) if key == name => Some(value),
            None if pair == name => Some(""),
            _ => None,
        })
}

/// Go's `strconv.ParseBool`; anything it refuses is false, as whoami takes it.
pub fn is_true(value: Option<&str>) -> bool {
    matches!(value, Some("1" | "t" | "T" | "true" | "TRUE" | "True"))
}

/// A duration in Go's `time.ParseDuration` syntax: `300ms`, `1.5s`,
/// `1m30s`, `2h45m`, `0`; units ns, us (or µs), ms, s, m, h. Negative
/// durations, which Go accepts and whoami sleeps for no time, are refused.
pub fn go_duration(text: &str) -> Result<Duration, &'static str> {
    const BAD: &str = "is not a duration such as 100ms, 1.5s or 1m30s";
    if text.starts_with('-') {
        return Err("must not be negative");
    }
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(BAD);
    }
    let mut nanos: u64 = 0;
    while !rest.is_empty() {
        let (whole, after) = split_digits(rest);
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after) => split_digits(after),
            None => ("", after),
        };
        if whole.is_empty() && fraction.is_empty() {
            return Err(BAD);
        }
        let unit_end = after
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        let scale: u64 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(BAD),
        };
        // u64 arithmetic, checked: u128 would pull in its division routines.
        let whole = match whole {
            "" => Some(0),
            digits => digits.parse::<u64>().ok(),
        };
        // Digit by digit, each worth a tenth of the last: the sum stays
        // under `scale`, and what is finer than a nanosecond drops out.
        let mut step = scale;
        let mut fraction_nanos = 0u64;
        for digit in fraction.bytes() {
            step /= 10;
            fraction_nanos += u64::from(digit - b'0') * step;
        }
        nanos = whole
            .and_then(|whole| whole.checked_mul(scale))
            .and_then(|n| n.checked_add(fraction_nanos))
            .and_then(|n| n.checked_add(nanos))
            .ok_or(TOO_LONG)?;
        rest = after;
    }
    Ok(Duration::from_nanos(nanos))
}

const TOO_LONG: &str = "is too long";

fn split_digits(text: &str) -> (&str, &str) {
    text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    )
}

/// whoami's `/data` units, binary as in its source (KB = 1024); none means bytes.
pub fn unit(text: Option<&str>) -> Option<u64> {
    let text = text.unwrap_or("");
    ["", "kb", "mb", "gb", "tb"]
        .iter()
        .position(|unit| text.eq_ignore_ascii_case(unit))
        .map(|power| 1u64 << (10 * power))
}

/// A byte count for `--max-data`: `1048576`, `512KB`, `1GiB`, `1TB`
/// (binary units, as `/data`'s).
pub fn byte_count(text: &str) -> Result<u64, String> {
    let (number, unit_text) = split_digits(text.trim());
    let unit_text = unit_text.trim();
    let unit_text = unit_text
        .strip_suffix("iB")
        .map(|prefix| format!("{prefix}B"))
        .unwrap_or_else(|| unit_text.to_owned());
    let factor = match unit_text.as_str() {
        "" | "B" => Some(1),
        other => unit(Some(other)),
    };
    let Some(factor) = factor else {
        return Err(format!(
            "unknown unit {unit_text:?}: use B, KB, MB, GB or TB"
        ));
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("{text:?} is not a byte count such as 1048576, 512KB or 1GiB"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_finds_the_first_value_of_a_name_only() {
        let query = Some("wait=1s&size=2&wait=3s&env&x=");
        assert_eq!(param(query, "wait"), Some("1s"));
        assert_eq!(param(query, "size"), Some("2"));
        assert_eq!(param(query, "env"), Some(""));
        assert_eq!(param(query, "x"), Some(""));
        assert_eq!(param(query, "ize"), None);
        assert_eq!(param(None, "wait"), None);
    }

    #[test]
    fn is_true_takes_what_go_parses_as_true() {
        for yes in ["1", "t", "T", "true", "TRUE", "True"] {
            assert!(is_true(Some(yes)), "{yes}");
        }
        for no in ["0", "false", "yes", "", "tRuE"] {
            assert!(!is_true(Some(no)), "{no}");
        }
        assert!(!is_true(None));
    }

    #[test]
    fn go_durations_parse_as_go_parses_them() {
        let ms = Duration::from_millis;
        assert_eq!(go_duration("100ms"), Ok(ms(100)));
        assert_eq!(go_duration("1.5s"), Ok(ms(1500)));
        assert_eq!(go_duration("1m30s"), Ok(ms(90_000)));
        assert_eq!(go_duration("2h45m"), Ok(ms(9_900_000)));
        assert_eq!(go_duration("+1s"), Ok(ms(1000)));
        assert_eq!(go_duration("0"), Ok(Duration::ZERO));
        assert_eq!(go_duration(".5s"), Ok(ms(500)));
        assert_eq!(go_duration("1.s"), Ok(ms(1000)));
        assert_eq!(go_duration("3us"), Ok(Duration::from_micros(3)));
        assert_eq!(go_duration("3µs"), Ok(Duration::from_micros(3)));
        assert_eq!(go_duration("3μs"), Ok(Duration::from_micros(3)));
        assert_eq!(go_duration("7ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(
            go_duration("0.0000000000000000019s"),
            Ok(Duration::ZERO),
            "digits past 18 add nothing"
        );
    }

    #[test]
    fn bad_go_durations_say_why() {
        for bad in [
            "forever", "", "1", "10", "s", ".s", "1x", "1s2", "1.5.s", "0s-",
        ] {
            assert_eq!(
                go_duration(bad),
                Err("is not a duration such as 100ms, 1.5s or 1m30s"),
                "{bad}"
            );
        }
        assert_eq!(go_duration("-1s"), Err("must not be negative"));
        assert_eq!(go_duration("99999999999h"), Err("is too long"));
        assert_eq!(go_duration("123456789012345678901ns"), Err("is too long"));
        assert_eq!(
            go_duration("18446744073709551615ns").map(|d| d.as_nanos()),
            Ok(u128::from(u64::MAX))
        );
        assert_eq!(go_duration("18446744073709551616ns"), Err("is too long"));
    }

    #[test]
    fn units_are_binary_and_case_blind() {
        assert_eq!(unit(None), Some(1));
        assert_eq!(unit(Some("")), Some(1));
        assert_eq!(unit(Some("KB")), Some(1024));
        assert_eq!(unit(Some("mb")), Some(1 << 20));
        assert_eq!(unit(Some("Gb")), Some(1 << 30));
        assert_eq!(unit(Some("tb")), Some(1 << 40));
        assert_eq!(unit(Some("PB")), None);
    }

    #[test]
    fn byte_counts_take_binary_units() {
        assert_eq!(byte_count("1048576"), Ok(1 << 20));
        assert_eq!(byte_count("512KB"), Ok(512 << 10));
        assert_eq!(byte_count("1GiB"), Ok(1 << 30));
        assert_eq!(byte_count("2 MiB"), Ok(2 << 20));
        assert_eq!(byte_count("3B"), Ok(3));
        assert_eq!(
            byte_count("1PB"),
            Err("unknown unit \"PB\": use B, KB, MB, GB or TB".to_owned())
        );
        assert!(byte_count("lots").is_err());
        assert!(byte_count("99999999999TB").is_err());
    }
}
