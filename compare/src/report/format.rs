//! Numbers as people read them, in the units Docker prints (decimal).

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

pub fn opt_millis(ms: Option<f64>) -> String {
    ms.map_or_else(dash, millis)
}

pub fn times(x: Option<f64>) -> String {
    match x {
        Some(x) if x >= 100.0 => format!("{x:.0}x"),
        Some(x) => format!("{x:.2}x"),
        None => dash(),
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
        assert_eq!(millis(12_345.0), "12.3 s");
        assert_eq!(millis(4.26), "4.3 ms");
        assert_eq!(times(Some(1234.4)), "1234x");
    }
}
