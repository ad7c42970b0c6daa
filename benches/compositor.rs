//! Compositor cost: one frame (compose + output pipeline) of 1,000 pixels in 8 zones on two strips,
//! with static zones and with every zone running an effect; then the same on two SK6812 RGBW strips
//! (4 bytes a pixel, accurate white extraction). Run: `cargo bench --bench compositor`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
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

/// Static zones in eight different colours.
fn statics() -> Vec<ZoneState> {
    (0..8)
        .map(|i| ZoneState::new(Rgb::new(30 * i as u8, 100, 200), 180, true, None))
        .collect()
}

/// Eight zones, each running effect `effect(i)`.
fn running(effect: impl Fn(usize) -> usize) -> Vec<ZoneState> {
    (0..8)
        .map(|i| ZoneState::new(Rgb::new(255, 80, 10), 180, true, Some(effect(i))))
        .collect()
}

/// One frame of `zones` on `cfg`'s layout: at one instant with every strip sent (`moving` false), or
/// 60 FPS apart with only the strips that changed.
fn frames(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    cfg: &Config,
    zones: &[ZoneState],
    master: &MasterState,
    moving: bool,
) {
    let start = Instant::now();
    let mut comp = Compositor::new(&cfg.layout, cfg.render.easing, start);
    let mut frame = OutFrame::new(&cfg.layout);
    let mut t = start;
    group.bench_function(name, |b| {
        b.iter(|| {
            if moving {
                t += Duration::from_micros(16_667);
            }
            comp.render(t, t, black_box(zones), master);
            black_box(comp.encode(&mut frame, !moving));
        })
    });
}

fn bench(c: &mut Criterion) {
    let cfg = layout(60, &[]);
    let master = MasterState {
        brightness: 200,
        ..Default::default()
    };
    let mut group = c.benchmark_group("frame_1000px_8zones");
    group.throughput(Throughput::Elements(1000));
    frames(&mut group, "static", &cfg, &statics(), &master, false);
    let animated = running(|i| i % effects::count());
    frames(&mut group, "animated", &cfg, &animated, &master, true);
    // Every registered effect on its own, full 1,000-pixel layout (one zone per effect cycling).
    for (e, fx) in effects::REGISTRY.iter().enumerate() {
        let name = format!("effect/{}", fx.name());
        frames(&mut group, &name, &cfg, &running(|_| e), &master, true);
    }
    group.finish();
    bench_rgbw(c, &master);
}

/// The same frames on RGBW strips: white extraction per pixel, 4 bytes a pixel, and (for rgbw zones)
/// the white plane.
fn bench_rgbw(c: &mut Criterion, master: &MasterState) {
    let keys = [
        "led_type = \"sk6812\"",
        "color_order = \"GRBW\"",
        "white = \"accurate\"",
    ];
    let cfg = layout(30, &keys);
    let mut group = c.benchmark_group("frame_1000px_8zones_rgbw");
    group.throughput(Throughput::Elements(1000));
    frames(&mut group, "static", &cfg, &statics(), master, false);
    let explicit: Vec<ZoneState> = statics()
        .into_iter()
        .map(|mut z| {
            z.color_mode = ColorMode::Rgbw { w: 120 };
            z
        })
        .collect();
    frames(
        &mut group,
        "static_rgbw_colour",
        &cfg,
        &explicit,
        master,
        false,
    );
    let animated = running(|i| i % effects::count());
    frames(&mut group, "animated", &cfg, &animated, master, true);
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = bench
}
criterion_main!(benches);
