//! compare.svg: image sizes at a glance. One bar per image on a log scale
//! (sizes span four orders of magnitude), colour by language, pale for the
//! naive single-stage builds, so both comparisons show in one picture.

use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::format::bytes;
use crate::record::{ImageRecord, Report};

const RUST: RGBColor = RGBColor(0xce, 0x42, 0x2b);
const GO: RGBColor = RGBColor(0x00, 0xad, 0xd8);
const PYTHON: RGBColor = RGBColor(0xe0, 0xa8, 0x00);
const OTHER: RGBColor = RGBColor(0x80, 0x80, 0x80);
const BAR_HEIGHT: u32 = 30;

pub fn render(report: &Report) -> Result<String> {
    let bars: Vec<(&ImageRecord, f64)> = report
        .images
        .iter()
        .filter_map(|i| i.size_bytes.map(|s| (i, s as f64)))
        .collect();
    let mut svg = String::new();
    {
        let height = 150 + BAR_HEIGHT * bars.len().max(1) as u32;
        let root = SVGBackend::with_string(&mut svg, (1000, height)).into_drawing_area();
        draw(&root, &bars).map_err(|e| anyhow!("cannot draw the chart: {e}"))?;
        root.present()
            .map_err(|e| anyhow!("cannot draw the chart: {e}"))?;
    }
    Ok(svg)
}

type DrawResult =
    Result<(), DrawingAreaErrorKind<<SVGBackend<'static> as DrawingBackend>::ErrorType>>;

fn draw(root: &DrawingArea<SVGBackend, Shift>, bars: &[(&ImageRecord, f64)]) -> DrawResult {
    root.fill(&WHITE)?;
    let smallest = bars.iter().map(|b| b.1).fold(f64::INFINITY, f64::min);
    let largest = bars.iter().map(|b| b.1).fold(1.0, f64::max);
    // Whole decades, with room on the right for the value labels.
    let low = if smallest.is_finite() {
        10f64.powf(smallest.log10().floor())
    } else {
        1e4
    };
    let high = 10f64.powf((largest * 3.0).log10().ceil());
    let n = bars.len() as i32;
    let (head, body) = root.split_vertically(70);
    legend(&head)?;
    let mut chart = ChartBuilder::on(&body)
        .margin(16)
        .margin_right(40)
        .x_label_area_size(40)
        .y_label_area_size(190)
        .build_cartesian_2d(
            (low..high).log_scale(),
            (0..(n - 1).max(0)).into_segmented(),
        )?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc("bytes as Docker reports them (docker image inspect .Size)")
        .x_label_formatter(&|v| bytes(*v))
        // One label per bar: left alone, plotters thins them out.
        .y_labels(bars.len() + 1)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => bars
                .get((n - 1 - *i) as usize)
                .map(|(r, _)| r.tag.clone())
                .unwrap_or_default(),
            _ => String::new(),
        })
        .label_style(("sans-serif", 14))
        .draw()?;

    // Top to bottom in report order: index 0 is drawn at the top.
    for (index, (record, size)) in bars.iter().enumerate() {
        let row = n - 1 - index as i32;
        let colour = colour_of(record);
        let style = if record.multi_stage {
            colour.filled()
        } else {
            colour.mix(0.35).filled()
        };
        let mut bar = Rectangle::new(
            [
                (low, SegmentValue::Exact(row)),
                (*size, SegmentValue::Exact(row + 1)),
            ],
            style,
        );
        bar.set_margin(4, 4, 0, 0);
        chart.draw_series(std::iter::once(bar))?;
        // SVG drops leading spaces: the gap after the bar is an offset.
        let label = EmptyElement::at((*size, SegmentValue::CenterOf(row)))
            + Text::new(
                bytes(*size),
                (6, 0),
                TextStyle::from(("sans-serif", 13).into_font())
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            );
        chart.draw_series(std::iter::once(label))?;
    }

    Ok(())
}

/// Title and legend above the plot, where no bar can hide them.
fn legend(area: &DrawingArea<SVGBackend, Shift>) -> DrawResult {
    area.draw(&Text::new(
        "Image size (log scale): Rust vs original, multi-stage vs naive",
        (16, 12),
        ("sans-serif", 22),
    ))?;
    let mut x = 16;
    for (label, colour, alpha) in [
        ("Rust", RUST, 1.0),
        ("Go", GO, 1.0),
        ("Python", PYTHON, 1.0),
        ("pale: naive single-stage build", OTHER, 0.35),
    ] {
        area.draw(&Rectangle::new(
            [(x, 46), (x + 14, 58)],
            colour.mix(alpha).filled(),
        ))?;
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
