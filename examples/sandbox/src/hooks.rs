//! Sandbox-only fault injection, set through the admin API. The added latency lives in an
//! atomic read on every frame; the rest is kept under the sandbox's state lock.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Default)]
pub struct Hooks {
    /// Session ID -> how many of the next connects fail with OT_CONNECT_FAILED.
    pub fail_connects: HashMap<String, u32>,
    /// Session ID -> delay before `connected` is answered.
    pub delay_connects: HashMap<String, u64>,
    pub drop_signals: Vec<DropRule>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DropRule {
    pub connection_id: String,
    /// Only signals of this type; none: every signal.
    #[serde(rename = "type")]
    pub signal_type: Option<String>,
    /// Also drop WebRTC relay frames to that connection.
    #[serde(default)]
    pub rtc: bool,
}

/// What is being delivered, for the drop rules.
pub enum Delivery<'a> {
    Signal(&'a str),
    Rtc,
}

impl Hooks {
    pub fn drops(&self, to_connection: &str, what: Delivery<'_>) -> bool {
        self.drop_signals.iter().any(|r| {
            r.connection_id == to_connection
                && match what {
                    Delivery::Signal(t) => r.signal_type.as_deref().is_none_or(|only| only == t),
                    Delivery::Rtc => r.rtc,
                }
        })
    }

    /// Consumes one failure for `session_id` if any is armed.
    pub fn take_connect_failure(&mut self, session_id: &str) -> bool {
        match self.fail_connects.get_mut(session_id) {
            Some(n) if *n > 0 => {
                *n -= 1;
                if *n == 0 {
                    self.fail_connects.remove(session_id);
                }
                true
            }
            _ => false,
        }
    }

    pub fn to_json(&self, latency_ms: u64) -> Value {
        json!({
            "latencyMs": latency_ms,
            "failConnects": self.fail_connects.iter()
                .map(|(s, n)| json!({"sessionId": s, "count": n})).collect::<Vec<_>>(),
            "delayConnects": self.delay_connects.iter()
                .map(|(s, ms)| json!({"sessionId": s, "ms": ms})).collect::<Vec<_>>(),
            "dropSignals": self.drop_signals.iter()
                .map(|r| json!({"connectionId": r.connection_id, "type": r.signal_type, "rtc": r.rtc}))
                .collect::<Vec<_>>(),
        })
    }
}

/// Body of `POST /admin/hooks`: every field optional, merged into the current hooks.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HooksPatch {
    pub latency_ms: Option<u64>,
    pub fail_connects: Option<FailConnects>,
    pub delay_connects: Option<DelayConnects>,
    pub drop_signals: Option<DropRule>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailConnects {
    pub session_id: String,
    /// Default 1; 0 disarms.
    pub count: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DelayConnects {
    pub session_id: String,
    /// 0 removes the delay.
    pub ms: u64,
}
