//! The engine: zone state, the compositor and the deadline-paced render loop that owns them.
//!
//! Other tasks reach it only through an [`EngineHandle`] (commands in) and the [`Event`] bus (changes
//! out). The render loop runs on its own OS thread and never touches tokio's runtime; it shows frames
//! on the output itself, or hands them to the output thread when the writes wait (`output::Placement`).

pub mod clock;
pub mod command;
pub mod compositor;
pub mod control;
pub mod input_event;
pub mod master;
pub mod playlist;
pub mod queue;
pub mod render_loop;
pub mod scene;
pub mod settings;
pub mod stats;
pub mod stream_config;
pub mod stream_frame;
pub mod stream_layer;
pub mod sunrise;
pub mod sync;
pub mod zone;

pub use command::{Command, EngineHandle, Event, SceneCommand, SendError, Snapshot, Target};
pub use control::{Control, DeviceCommand, DeviceState, EditTarget};
pub use input_event::{Button, ButtonAction, InputEvent};
pub use render_loop::{EngineInit, StartError, parse_effect, spawn};
pub use settings::{Easing, LiveSettings, RenderConfig};
pub use zone::{ColorMode, ColorSet, EffectChoice, LightCommand, MasterState, ZoneState};
