//! Rounds and spread: every timing is measured once per round, and reported
//! as its median with the min–max range over the rounds.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One figure over the rounds: each round's value, its median and range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// One value per round, in the order measured.
    pub rounds: Vec<f64>,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Figure {
    /// The figure of `values`; None when there are none.
    pub fn of(values: &[f64]) -> Option<Figure> {
        let median = median(values)?;
        Some(Figure {
            rounds: values.to_vec(),
            median,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        })
    }

    /// Whether `threshold` lies inside the range: the rounds disagree on it.
    pub fn straddles(&self, threshold: f64) -> bool {
        self.min < threshold && threshold < self.max
    }
}

/// Milliseconds to the microsecond: finer is noise, and rounder numbers
/// keep compare.json readable.
pub fn ms(duration: Duration) -> f64 {
    round_to(duration.as_secs_f64() * 1000.0, 3)
}

pub fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// The middle value (the mean of the two middle ones for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(ms(Duration::from_nanos(126_063_679)), 126.064);
    }

    #[test]
    fn a_figure_keeps_its_rounds_and_their_range() {
        let figure = Figure::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!(figure.rounds, [3.0, 1.0, 2.0]);
        assert_eq!((figure.median, figure.min, figure.max), (2.0, 1.0, 3.0));
        assert!(figure.straddles(1.5));
        assert!(!figure.straddles(3.0) && !figure.straddles(0.5));
        assert_eq!(Figure::of(&[]), None);
    }
}
