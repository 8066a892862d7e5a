//! The JS contract, declared once in Rust: what the app passes in ([`options`]), what it
//! receives ([`events`]) and the errors it sees ([`errors`]). serde-wasm-bindgen converts
//! the values; tsify writes the TypeScript types into pkg/video_handoff.d.ts, which
//! js/index.d.ts re-exports.

pub mod errors;
pub mod events;
pub mod options;
