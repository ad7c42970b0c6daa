//! Compositor cost: one frame (compose + output pipeline) of 1,000 pixels in 8 zones on two strips,
//! with static zones and with every zone running an effect. Run: `cargo bench --bench compositor`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use diuna::color::Rgb;
use diuna::config::Config;
use diuna::effects;
use diuna::engine::compositor::Compositor;
use diuna::engine::{MasterState, ZoneState};
use diuna::output::OutFrame;

fn layout_toml() -> String {
    let mut s = String::from(
        "[[strips]]\nid=\"a\"\ngpio=18\ndma=10\nmax_current_ma=8000\n[[strips]]\nid=\"b\"\ngpio=19\ndma=11\n",
    );
    for i in 0..8 {
        let strip = if i < 4 { "a" } else { "b" };
        s.push_str(&format!(
            "[[zones]]\nid=\"z{i}\"\nstrip=\"{strip}\"\npixels=125\nreversed={}\n",
            i % 2 == 1
        ));
    }
    s
}

fn bench(c: &mut Criterion) {
    let cfg = Config::from_toml(&format!("fps = 60\n{}", layout_toml())).expect("bench layout");
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
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = bench
}
criterion_main!(benches);
