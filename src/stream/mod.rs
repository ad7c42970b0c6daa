//! Realtime input: DDP and E1.31 (sACN) receivers that feed the compositor's realtime layer.
//!
//! `ddp.rs` and `e131.rs` parse and validate datagrams (pure, allocation-free); `mapping.rs` places the
//! realtime pixel space on zones; `sources.rs` decides which sender holds the stream (E1.31 priority and
//! sequence, DDP first-come); `receiver.rs` is the supervised task that owns the sockets and hands
//! frames to the render loop through recycled buffers. Nothing here blocks or stalls the render loop:
//! when it is behind, frames are dropped and counted.

pub mod ddp;
pub mod e131;
pub mod mapping;
pub mod receiver;
pub mod sources;
