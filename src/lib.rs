//! `video-handoff`: moves a live Vonage Video (OpenTok) call from one session to another
//! without anyone seeing or hearing it ("make before break").
//!
//! - [`engine`]: the pure, sans-IO state machine that decides everything (native and wasm).
//! - `web` (wasm32 only): the shell that binds the `OT` API and the DOM and drives the engine.

pub mod engine;
mod sorted_map;

#[cfg(target_arch = "wasm32")]
pub mod web;
