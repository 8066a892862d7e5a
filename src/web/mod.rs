//! The web shell (wasm32 only): binds the vendor's `OT` API and the DOM, and drives the engine.
//!
//! Split by what each part owns; a callback passes through each stage once, data flowing one
//! way, run by the loop in `drive`:
//!
//! ```text
//! OT / DOM / app callback ──▶ listener ──▶ decode ──────────────────────▶ engine
//!                                          (JsValue ──▶ engine Input)       │
//!                                             └─ news of a vendor object ─▶ effects (its
//!                                                owner) ──▶ engine Input ───┤
//!        app ◀── present ◀────────────── events ◀───────────────────────────┤
//!        OT / DOM ◀── effects ◀──────── commands ◀──────────────────────────┘
//! ```
//!
//! - [`listener`]: every JS callback the shell hands out, and the handles that take them back.
//! - [`drive`]: the run loop (inbox, engine, events out), hook calls with nothing borrowed.
//! - [`schedule`]: the one timer and a drive in a task of its own.
//! - [`decode`]: what a callback heard, read into the engine's input, or into news for the
//!   part that owns the vendor object it is about (and the handoff signal parsed).
//! - [`effects`]: the sessions, subscribers, publishers, tiles and meters; each command's OT and
//!   DOM work in the part that owns those objects, at once (when is the engine's decision),
//!   cleaned up on drop.
//! - [`hooks`]: the app's `tokenProvider`, `resolveSession` and `participantKey`.
//! - [`present`]: events to the app, in order, after the engine call returned.
//! - [`contract`]: what crosses into JS, declared once (serde + tsify).
//! - [`ot`]: typed externs for the part of the OT API we use.
//! - [`call`]: [`Call`], what `js/index.js` wraps into the public `HandoffCall`.

pub mod call;
pub mod contract;
pub mod decode;
pub mod drive;
pub mod effects;
pub mod hooks;
pub mod listener;
pub mod ot;
pub mod present;
pub mod schedule;

pub use call::Call;

// Talc instead of the default dlmalloc: the same single-threaded general-purpose allocator
// job in a fraction of dlmalloc's code.
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
