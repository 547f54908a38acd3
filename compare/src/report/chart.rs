//! The charts: one horizontal bar per row, colour by language, pale for the
//! naive single-stage builds, and a min–max whisker where the value comes
//! from rounds. Sizes and memory span orders of magnitude: log scale.

use anyhow::{anyhow, Result};
use plotters::coord::ranged1d::{SegmentedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordi32;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::record::{Figure, ImageRecord};

const RUST: RGBColor = RGBColor(0xce, 0x42, 0x2b);
const GO: RGBColor = RGBColor(0x00, 0xad, 0xd8);
const PYTHON: RGBColor = RGBColor(0xe0, 0xa8, 0x00);
const OTHER: RGBColor = RGBColor(0x80, 0x80, 0x80);
const BAR_HEIGHT: u32 = 30;

/// One bar: its label, whose image it is, its value and spread.
pub struct Bar<'a> {
    pub label: String,
    pub image: &'a ImageRecord,
    pub value: f64,
    /// min–max over the rounds; None for a value measured once.
    pub range: Option<(f64, f64)>,
    /// A part of the value drawn dark inside the bar from its start (the
    /// user time of a CPU bar: the rest is the kernel's).
    pub part: Option<f64>,
}

impl<'a> Bar<'a> {
    pub fn of(label: String, image: &'a ImageRecord, figure: &Figure) -> Self {
        Bar {
            label,
            image,
            value: figure.median,
            range: Some((figure.min, figure.max)),
            part: None,
        }
    }
}

pub struct Chart<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub log: bool,
    pub format: fn(f64) -> String,
    /// What the bars' dark parts are, for the legend; None when no bar has one.
    pub part: Option<&'a str>,
}

impl Chart<'_> {
    pub fn render(&self, bars: &[Bar]) -> Result<String> {
        let mut svg = String::new();
        {
            let height = 150 + BAR_HEIGHT * bars.len().max(1) as u32;
            let root = SVGBackend::with_string(&mut svg, (1000, height)).into_drawing_area();
            self.draw(&root, bars)
                .map_err(|e| anyhow!("cannot draw {}: {e}", self.title))?;
            root.present()
                .map_err(|e| anyhow!("cannot draw {}: {e}", self.title))?;
        }
        Ok(svg)
    }

    fn draw(&self, root: &DrawingArea<SVGBackend, Shift>, bars: &[Bar]) -> DrawResult {
        root.fill(&WHITE)?;
        let top = |b: &Bar| b.range.map_or(b.value, |r| r.1.max(b.value));
        let largest = bars.iter().map(top).fold(1e-9, f64::max);
        let n = bars.len() as i32;
        let (head, body) = root.split_vertically(70);
        legend(&head, self.title, self.part)?;
        let mut chart = ChartBuilder::on(&body);
        chart
            .margin(16)
            .margin_right(40)
            .x_label_area_size(40)
            .y_label_area_size(230);
        let rows = (0..(n - 1).max(0)).into_segmented();
        if self.log {
            let smallest = bars.iter().map(|b| b.value).fold(f64::INFINITY, f64::min);
            // Whole decades, with room on the right for the value labels.
            let low = if smallest.is_finite() && smallest > 0.0 {
                10f64.powf(smallest.log10().floor())
            } else {
                1.0
            };
            let high = 10f64.powf((largest * 3.0).log10().ceil());
            let mut c = chart.build_cartesian_2d((low..high).log_scale(), rows)?;
            self.mesh(&mut c, bars)?;
            self.bars(&mut c, bars, low)
        } else {
            let mut c = chart.build_cartesian_2d(0.0..largest * 1.25, rows)?;
            self.mesh(&mut c, bars)?;
            self.bars(&mut c, bars, 0.0)
        }
    }

    fn mesh<X>(
        &self,
        chart: &mut ChartContext<SVGBackend, Cartesian2d<X, SegmentedCoord<RangedCoordi32>>>,
        bars: &[Bar],
    ) -> DrawResult
    where
        X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let n = bars.len() as i32;
        let format = self.format;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(self.x_desc)
            .x_label_formatter(&|v| format(*v))
            // One label per bar: left alone, plotters thins them out.
            .y_labels(bars.len() + 1)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => bars
                    .get((n - 1 - *i) as usize)
                    .map(|b| b.label.clone())
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .label_style(("sans-serif", 14))
            .draw()
    }

    fn bars<X>(
        &self,
        chart: &mut ChartContext<SVGBackend, Cartesian2d<X, SegmentedCoord<RangedCoordi32>>>,
        bars: &[Bar],
        origin: f64,
    ) -> DrawResult
    where
        X: Ranged<ValueType = f64>,
    {
        let n = bars.len() as i32;
        // Top to bottom in the given order: index 0 is drawn at the top.
        for (index, bar) in bars.iter().enumerate() {
            let row = n - 1 - index as i32;
            let colour = colour_of(bar.image);
            let style = if bar.image.multi_stage {
                colour.filled()
            } else {
                colour.mix(0.35).filled()
            };
            let mut rect = Rectangle::new(
                [
                    (origin, SegmentValue::Exact(row)),
                    (bar.value, SegmentValue::Exact(row + 1)),
                ],
                style,
            );
            rect.set_margin(4, 4, 0, 0);
            chart.draw_series(std::iter::once(rect))?;
            if let Some(part) = bar.part {
                let mut inner = Rectangle::new(
                    [
                        (origin, SegmentValue::Exact(row)),
                        (part, SegmentValue::Exact(row + 1)),
                    ],
                    BLACK.mix(0.45).filled(),
                );
                inner.set_margin(10, 10, 0, 0);
                chart.draw_series(std::iter::once(inner))?;
            }
            let mut label_at = bar.value;
            if let Some((min, max)) = bar.range {
                let whisker = BLACK.stroke_width(2);
                let centre = SegmentValue::CenterOf(row);
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(min, centre.clone()), (max, centre)],
                    whisker,
                )))?;
                for end in [min, max] {
                    chart.draw_series(std::iter::once(PathElement::new(
                        vec![
                            (end, SegmentValue::Exact(row)),
                            (end, SegmentValue::Exact(row + 1)),
                        ],
                        whisker,
                    )))?;
                }
                label_at = label_at.max(max);
            }
            // SVG drops leading spaces: the gap after the bar is an offset.
            let text = EmptyElement::at((label_at, SegmentValue::CenterOf(row)))
                + Text::new(
                    (self.format)(bar.value),
                    (8, 0),
                    TextStyle::from(("sans-serif", 13).into_font())
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                );
            chart.draw_series(std::iter::once(text))?;
        }
        Ok(())
    }
}

type DrawResult =
    Result<(), DrawingAreaErrorKind<<SVGBackend<'static> as DrawingBackend>::ErrorType>>;

/// Title and legend above the plot, where no bar can hide them.
fn legend(area: &DrawingArea<SVGBackend, Shift>, title: &str, part: Option<&str>) -> DrawResult {
    area.draw(&Text::new(title.to_owned(), (16, 12), ("sans-serif", 22)))?;
    let mut x = 16;
    let mut entries = vec![
        ("Rust", RUST, 1.0),
        ("Go", GO, 1.0),
        ("Python", PYTHON, 1.0),
        ("pale: naive single-stage build", OTHER, 0.35),
        ("whiskers: min–max over the rounds", OTHER, 0.0),
    ];
    if let Some(part) = part {
        entries.push((part, BLACK, 0.45));
    }
    for (label, colour, alpha) in entries {
        if alpha > 0.0 {
            area.draw(&Rectangle::new(
                [(x, 46), (x + 14, 58)],
                colour.mix(alpha).filled(),
            ))?;
        }
        area.draw(&Text::new(label, (x + 20, 46), ("sans-serif", 14)))?;
        x += 40 + 8 * label.len() as i32;
    }
    Ok(())
}

fn colour_of(record: &ImageRecord) -> RGBColor {
    match record.language.as_str() {
        "rust" => RUST,
        "go" => GO,
        "python" => PYTHON,
        _ => OTHER,
    }
}
