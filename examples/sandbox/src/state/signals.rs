//! Signals: from a client or from the REST API, to a whole session or one connection.
//!
//! The recipient's client dispatches a signal by its `X-TB-FROM-ADDRESS`: the sender's
//! connection ID, or `""` for the server (the app then sees `from === null`). The sandbox
//! writes that header itself from who really sent it, so no client can send a signal that
//! looks server-originated.

use super::{Refusal, Sandbox};
use crate::hooks::Delivery;
use crate::ids;

/// Signal limits, the vendor's.
pub const MAX_SIGNAL_DATA_BYTES: usize = 8192;
pub const MAX_SIGNAL_TYPE_CHARS: usize = 128;

impl Sandbox {
    /// A signal from a client (`from`) or the REST API (`from: None`) to the whole session
    /// (`to: None`, the sender included) or one connection.
    pub fn signal(
        &self,
        sid: &str,
        from: Option<&str>,
        to: Option<&str>,
        signal_type: &str,
        data: &str,
    ) -> Result<(), Refusal> {
        validate_signal(signal_type, data)?;
        let mut g = self.lock();
        let inner = &mut *g;
        let s = Self::live_session(&mut inner.sessions, sid)?;
        if let Some(f) = from {
            if s.member(f).is_none() {
                return Err(Refusal::new(1010, "OT_NOT_CONNECTED", "not connected"));
            }
        }
        let message = s.scope.signal(to, signal_type, data, &ids::uuid());
        let recipients: Vec<&str> = match to {
            None => s
                .members
                .iter()
                .map(|m| m.info.connection_id.as_str())
                .collect(),
            Some(cid) if s.member(cid).is_some() => vec![cid],
            Some(_) => {
                return Err(Refusal::new(
                    404,
                    "OT_NOT_FOUND",
                    "no such connection in this session",
                ))
            }
        };
        for cid in recipients {
            if !inner.hooks.drops(cid, Delivery::Signal(signal_type)) {
                s.send_to(cid, from.unwrap_or(""), &message);
            }
        }
        Ok(())
    }
}

/// The vendor's signal limits; codes are HTTP statuses (REST and Raptor answers alike).
pub fn validate_signal(signal_type: &str, data: &str) -> Result<(), Refusal> {
    if signal_type.chars().count() > MAX_SIGNAL_TYPE_CHARS {
        return Err(Refusal::new(
            413,
            "OT_INVALID_PARAMETER",
            "signal type is longer than 128 characters",
        ));
    }
    if !signal_type
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '~'))
    {
        return Err(Refusal::new(
            400,
            "OT_INVALID_PARAMETER",
            "signal type may only hold A-Z a-z 0-9 - _ ~",
        ));
    }
    if data.len() > MAX_SIGNAL_DATA_BYTES {
        return Err(Refusal::new(
            413,
            "OT_INVALID_PARAMETER",
            "signal data is larger than 8192 bytes",
        ));
    }
    Ok(())
}
