//! Numbers as people read them, in the units Docker prints (decimal).

use crate::record::Figure;

pub fn bytes(value: f64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = value;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    match unit {
        0 => format!("{value:.0} B"),
        _ if value >= 100.0 => format!("{value:.0} {}", UNITS[unit]),
        _ => format!("{value:.1} {}", UNITS[unit]),
    }
}

/// Every digit, in groups of three: `1 100 000 bytes`, for budgets that
/// a rounded figure would blur.
pub fn exact_bytes(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(' ');
        }
        grouped.push(digit);
    }
    format!("{grouped} bytes")
}

pub fn opt_bytes<T: Into<f64>>(value: Option<T>) -> String {
    value.map_or_else(dash, |v| bytes(v.into()))
}

/// Milliseconds below 10 s, seconds above.
pub fn millis(ms: f64) -> String {
    if ms >= 10_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

pub fn micros(us: f64) -> String {
    format!("{us:.1} µs")
}

pub fn per_second(value: f64) -> String {
    if value >= 10_000.0 {
        format!("{:.1}k", value / 1000.0)
    } else {
        format!("{value:.0}")
    }
}

/// `median (min–max)` of a figure in the given unit; just the median when
/// every round gave the same value; a dash when not measured.
pub fn spread(figure: Option<&Figure>, unit: fn(f64) -> String) -> String {
    match figure {
        None => dash(),
        Some(f) if f.min == f.max => unit(f.median),
        Some(f) => format!("{} ({}–{})", unit(f.median), unit(f.min), unit(f.max)),
    }
}

pub fn times(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}x")
    } else {
        format!("{x:.2}x")
    }
}

pub fn dash() -> String {
    "–".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_docker() {
        assert_eq!(bytes(812_000.0), "812 kB");
        assert_eq!(bytes(1_340_000_000.0), "1.3 GB");
        assert_eq!(bytes(12.0), "12 B");
        assert_eq!(exact_bytes(1_100_000), "1 100 000 bytes");
        assert_eq!(exact_bytes(840), "840 bytes");
        assert_eq!(millis(12_345.0), "12.3 s");
        assert_eq!(millis(4.26), "4.3 ms");
        assert_eq!(times(1234.4), "1234x");
        assert_eq!(per_second(61_999.0), "62.0k");
    }

    #[test]
    fn a_spread_shows_its_range_only_when_rounds_differ() {
        let varied = Figure::of(&[7.2, 7.4, 7.3]).unwrap();
        assert_eq!(spread(Some(&varied), micros), "7.3 µs (7.2 µs–7.4 µs)");
        let steady = Figure::of(&[2.0, 2.0]).unwrap();
        assert_eq!(spread(Some(&steady), times), "2.00x");
        assert_eq!(spread(None, times), "–");
    }
}
