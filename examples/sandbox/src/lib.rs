//! A local emulator of the Vonage Video API for development, the demo and tests: the
//! vendor's REST dialect (driven by `@vonage/video`), the vendor client's own protocol (the
//! real `@vonage/client-sdk-video` connects through `OT.setProxyUrl`; PROTOCOL.md), relayed
//! WebRTC negotiation and a media router for routed sessions, session-monitoring callbacks, rotation, and sandbox-only test hooks.
//! See README.md.

pub mod admin;
pub mod auth;
pub mod callbacks;
pub mod config;
pub mod hooks;
pub mod ids;
pub mod keygen;
pub mod outbox;
pub mod rest;
pub mod router;
pub mod server;
pub mod state;
pub mod vendor;
pub mod wire;

pub use config::Config;
pub use server::{start, Running};
