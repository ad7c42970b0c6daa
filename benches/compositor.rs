//! Compositor cost: one frame (compose + output pipeline) of 1,000 pixels in 8 zones on two strips,
//! with static zones and with every zone running an effect; then the same on two SK6812 RGBW strips
//! (4 bytes a pixel, accurate white extraction). Run: `cargo bench --bench compositor`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use diuna::color::Rgb;
use diuna::config::Config;
use diuna::effects;
use diuna::engine::compositor::Compositor;
use diuna::engine::{ColorMode, MasterState, ZoneState};
use diuna::output::OutFrame;

#[path = "../tests/it/testconfig.rs"]
mod testconfig;
use testconfig::TestConfig;

/// The benches' 1,000-pixel layout at `fps` (strip `a` with an 8 A budget); `strip_keys` are added to
/// both strips (e.g. an RGBW colour order).
fn layout(fps: u32, strip_keys: &[&str]) -> Config {
    let text = TestConfig::new("bench")
        .top(&format!("fps = {fps}"))
        .bench_1000(
            &[&["max_current_ma = 8000"], strip_keys].concat(),
            strip_keys,
            |_| Vec::new(),
        )
        .build();
    Config::from_toml(&text.replace("{dir}", "/tmp")).expect("bench layout")
}

fn bench(c: &mut Criterion) {
    let cfg = layout(60, &[]);
    let start = Instant::now();
    let master = MasterState {
        brightness: 200,
        ..Default::default()
    };
    let mut group = c.benchmark_group("frame_1000px_8zones");
    group.throughput(Throughput::Elements(1000));

    let statics: Vec<ZoneState> = (0..8)
        .map(|i| ZoneState::new(Rgb::new(30 * i as u8, 100, 200), 180, true, None))
        .collect();
    let mut comp = Compositor::new(&cfg.layout, cfg.render.easing, start);
    let mut frame = OutFrame::new(&cfg.layout);
    group.bench_function("static", |b| {
        b.iter(|| {
            comp.render(start, start, black_box(&statics), &master);
            black_box(comp.encode(&mut frame, true));
        })
    });

    let animated: Vec<ZoneState> = (0..8)
        .map(|i| {
            let e = i % effects::count();
            ZoneState::new(Rgb::new(255, 80, 10), 180, true, Some(e))
        })
        .collect();
    let mut comp = Compositor::new(&cfg.layout, cfg.render.easing, start);
    let mut t = start;
    group.bench_function("animated", |b| {
        b.iter(|| {
            t += Duration::from_micros(16_667);
            comp.render(t, t, black_box(&animated), &master);
            black_box(comp.encode(&mut frame, false));
        })
    });

    // Every registered effect on its own, full 1,000-pixel layout (one zone per effect cycling).
    for (e, fx) in effects::REGISTRY.iter().enumerate() {
        let zones: Vec<ZoneState> = (0..8)
            .map(|_| ZoneState::new(Rgb::new(255, 80, 10), 180, true, Some(e)))
            .collect();
        let mut comp = Compositor::new(&cfg.layout, cfg.render.easing, start);
        let mut t = start;
        group.bench_function(format!("effect/{}", fx.name()), |b| {
            b.iter(|| {
                t += Duration::from_micros(16_667);
                comp.render(t, t, black_box(&zones), &master);
                black_box(comp.encode(&mut frame, false));
            })
        });
    }
    group.finish();
    bench_rgbw(c, start, &master);
}

/// The same frames on RGBW strips: white extraction per pixel, 4 bytes a pixel, and (for rgbw zones)
/// the white plane.
fn bench_rgbw(c: &mut Criterion, start: Instant, master: &MasterState) {
    let keys = [
        "led_type = \"sk6812\"",
        "color_order = \"GRBW\"",
        "white = \"accurate\"",
    ];
    let cfg = layout(30, &keys);
    let mut group = c.benchmark_group("frame_1000px_8zones_rgbw");
    group.throughput(Throughput::Elements(1000));
    let mut frame = OutFrame::new(&cfg.layout);

    let statics: Vec<ZoneState> = (0..8)
        .map(|i| ZoneState::new(Rgb::new(30 * i as u8, 100, 200), 180, true, None))
        .collect();
    let mut comp = Compositor::new(&cfg.layout, cfg.render.easing, start);
    group.bench_function("static", |b| {
        b.iter(|| {
            comp.render(start, start, black_box(&statics), master);
            black_box(comp.encode(&mut frame, true));
        })
    });

    let explicit: Vec<ZoneState> = statics
        .iter()
        .map(|z| {
            let mut z = z.clone();
            z.color_mode = ColorMode::Rgbw { w: 120 };
            z
        })
        .collect();
    let mut comp = Compositor::new(&cfg.layout, cfg.render.easing, start);
    group.bench_function("static_rgbw_colour", |b| {
        b.iter(|| {
            comp.render(start, start, black_box(&explicit), master);
            black_box(comp.encode(&mut frame, true));
        })
    });

    let animated: Vec<ZoneState> = (0..8)
        .map(|i| {
            let e = i % effects::count();
            ZoneState::new(Rgb::new(255, 80, 10), 180, true, Some(e))
        })
        .collect();
    let mut comp = Compositor::new(&cfg.layout, cfg.render.easing, start);
    let mut t = start;
    group.bench_function("animated", |b| {
        b.iter(|| {
            t += Duration::from_micros(16_667);
            comp.render(t, t, black_box(&animated), master);
            black_box(comp.encode(&mut frame, false));
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = bench
}
criterion_main!(benches);
