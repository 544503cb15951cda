//! A scaling chart per module and workload: speed-up against workers, one line per executor,
//! the ideal line (min(workers, cores)) in grey and the usable core count marked. SVG text made
//! by plotters; it only draws the figures the stress stage computed.

use ftaudit_model::{ExecutorKind, StressFacts, WorkloadResult};
use plotters::prelude::*;

const SIZE: (u32, u32) = (560, 360);

fn colour(kind: ExecutorKind) -> RGBColor {
    match kind {
        ExecutorKind::Threads => RGBColor(0x1f, 0x77, 0xb4),
        ExecutorKind::Subinterpreters => RGBColor(0x2c, 0xa0, 0x2c),
        ExecutorKind::Processes => RGBColor(0xd6, 0x27, 0x28),
    }
}

/// None when the workload has no timed points (a generic workload, or one that did not run).
pub fn scaling_svg(facts: &StressFacts, workload: &WorkloadResult, cores: usize) -> Option<String> {
    let series: Vec<(ExecutorKind, Vec<(f64, f64)>)> = workload
        .executors
        .iter()
        .map(|e| {
            let points = e
                .points
                .iter()
                .filter_map(|p| p.speedup.map(|s| (p.workers as f64, s.median)))
                .collect::<Vec<_>>();
            (e.kind, points)
        })
        .filter(|(_, points)| !points.is_empty())
        .collect();
    series_svg(
        &format!("{} - {}", facts.module, workload.workload),
        series,
        cores,
        SIZE,
    )
}

/// The chart of the matrix page's module rows: same figures, smaller.
pub fn matrix_scaling_svg(module: &str, scaling: &ftaudit_model::MatrixScaling) -> Option<String> {
    let series = scaling
        .series
        .iter()
        .map(|s| {
            (
                s.executor,
                s.points.iter().map(|&(w, y)| (w as f64, y)).collect(),
            )
        })
        .collect();
    series_svg(
        &format!("{module} - {}", scaling.workload),
        series,
        scaling.cores,
        (420, 270),
    )
}

/// Speed-up against workers, one line per executor, the ideal in grey.
fn series_svg(
    title: &str,
    series: Vec<(ExecutorKind, Vec<(f64, f64)>)>,
    cores: usize,
    size: (u32, u32),
) -> Option<String> {
    if series.is_empty() {
        return None;
    }
    let max_workers = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(x, _)| *x))
        .fold(1.0, f64::max);
    let max_speedup = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
        .fold(cores as f64, f64::max);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d(
                1f64..max_workers.max(2.0),
                0f64..(max_speedup * 1.15).max(1.5),
            )
            .ok()?;
        chart
            .configure_mesh()
            .x_desc("workers")
            .y_desc("speed-up over 1 worker")
            .x_labels(max_workers as usize)
            .draw()
            .ok()?;
        let grey = RGBColor(0x99, 0x99, 0x99);
        let ideal: Vec<(f64, f64)> = (1..=max_workers as usize)
            .map(|n| (n as f64, n.min(cores.max(1)) as f64))
            .collect();
        chart
            .draw_series(LineSeries::new(ideal, grey.stroke_width(1)))
            .ok()?
            .label(format!("ideal on {cores} core(s)"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], grey));
        let marker = cores as f64;
        chart
            .draw_series(LineSeries::new(
                vec![(marker, 0.0), (marker, max_speedup * 1.15)],
                grey.mix(0.4),
            ))
            .ok()?;
        for (kind, points) in series {
            let c = colour(kind);
            chart
                .draw_series(LineSeries::new(points.clone(), c.stroke_width(2)))
                .ok()?
                .label(kind.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
            chart
                .draw_series(points.into_iter().map(|p| Circle::new(p, 3, c.filled())))
                .ok()?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(grey)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .ok()?;
        root.present().ok()?;
    }
    Some(svg)
}
