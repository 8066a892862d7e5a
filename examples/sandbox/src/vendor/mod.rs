//! The vendor client's protocol, so that the real `@vonage/client-sdk-video` connects to the
//! sandbox unmodified (`OT.setProxyUrl(<sandbox base URL>)`; docs/vendor-protocol.md, and what is
//! our guess of the vendor's server is listed in PROTOCOL.md).
//!
//! With a proxy set the client rewrites each of its URLs to `<proxy>/<original host><path>`,
//! so the sandbox serves the vendor's hosts as path prefixes:
//!
//! | route | file |
//! | --- | --- |
//! | `GET /anvil.opentok.com/session/{sid}` (session info), `/config.opentok.com/...`, `/hlg.tokbox.com/...` | `anvil.rs` |
//! | the WebSocket at the session info's `messaging_url` | `socket.rs` |
//! | Rumor frames, Raptor messages | `rumor.rs`, `raptor.rs` |

pub mod anvil;
pub mod raptor;
pub mod rumor;
pub mod socket;

/// The made-up host of the sandbox's messaging server. The client connects to
/// `<proxy>/<MESSAGING_HOST>/rumor`; `.invalid` never resolves, so without the proxy
/// nothing could reach it.
pub const MESSAGING_HOST: &str = "messaging.sandbox.invalid";
pub const MESSAGING_PATH: &str = "/messaging.sandbox.invalid/rumor";
