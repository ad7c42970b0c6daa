//! What the render loop is configured with: frame rate, refresh, default transition and fade times,
//! and easing. The config module validates the file into these; the engine owns the types because it
//! is what consumes them (the lower layer owns what both use).

use std::time::Duration;

use crate::layout::Layout;

/// How transitions ease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Easing {
    Linear,
    InOut,
}

impl Easing {
    /// Maps linear progress 0–1 to eased progress 0–1.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        let x = x.clamp(0.0, 1.0);
        match self {
            Easing::Linear => x,
            Easing::InOut => x * x * (3.0 - 2.0 * x),
        }
    }
}

/// The `[render]` section and `fps`, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderConfig {
    pub fps: u32,
    /// Resend the frame this often even when nothing changes.
    pub refresh: Duration,
    /// Default transition of a light command without one.
    pub transition: Duration,
    pub fade_in: Duration,
    pub fade_out: Duration,
    pub easing: Easing,
}

/// What a SIGHUP may change while running: the render settings and the strips' gamma and power
/// limits (the layout's shape itself must be unchanged; `app.rs` checks that first).
#[derive(Clone, Debug)]
pub struct LiveSettings {
    pub render: RenderConfig,
    pub layout: Layout,
}
