//! Sandbox-only fault injection, set through the admin API. The added latency lives in an
//! atomic read on every frame; the rest is kept under the sandbox's state lock.

use std::collections::{HashMap, VecDeque};

use serde::Deserialize;
use serde_json::{json, Value};

/// Connect attempts remembered as failing, so the client's own retries of one attempt fail
/// alike (bounded: the oldest are forgotten).
const REMEMBERED_ATTEMPTS: usize = 1024;

/// The vendor error codes a failing connect may be given: 1006 (connect failed, the
/// transient kind), 1004 (authentication), 1005 (invalid session), 2001 (unexpected server
/// response).
pub const CONNECT_FAULT_CODES: [u32; 4] = [1006, 1004, 1005, 2001];

#[derive(Default)]
pub struct Hooks {
    /// Session ID -> the next connect attempts that fail, and with which code.
    pub fail_connects: HashMap<String, FailRule>,
    /// Connection IDs (one per connect attempt) already failed, with their code.
    failed_attempts: VecDeque<(String, u32)>,
    /// Session ID -> delay before the session info is answered.
    pub delay_connects: HashMap<String, u64>,
    pub drop_signals: Vec<DropRule>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailRule {
    pub count: u32,
    pub code: u32,
}

/// A connect attempt the hooks make fail, with the vendor code the client is to see.
#[derive(Debug, PartialEq, Eq)]
pub struct ConnectFault {
    pub code: u32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DropRule {
    pub connection_id: String,
    /// Only signals of this type; none: every signal.
    #[serde(rename = "type")]
    pub signal_type: Option<String>,
    /// Also drop the relayed WebRTC negotiation to that connection.
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

    /// Whether this connect attempt fails. The client names an attempt by the connection ID
    /// it chose and retries its session-info request within one attempt (1006 is retried
    /// twice), so an attempt that failed keeps failing and only a new one consumes the count.
    pub fn connect_fault(&mut self, session_id: &str, connection_id: &str) -> Option<ConnectFault> {
        if let Some((_, code)) = self
            .failed_attempts
            .iter()
            .find(|(c, _)| c == connection_id)
        {
            return Some(ConnectFault { code: *code });
        }
        let rule = self.fail_connects.get_mut(session_id)?;
        let code = rule.code;
        rule.count = rule.count.saturating_sub(1);
        if rule.count == 0 {
            self.fail_connects.remove(session_id);
        }
        if self.failed_attempts.len() >= REMEMBERED_ATTEMPTS {
            self.failed_attempts.pop_front();
        }
        self.failed_attempts
            .push_back((connection_id.to_owned(), code));
        Some(ConnectFault { code })
    }

    pub fn to_json(&self, latency_ms: u64) -> Value {
        json!({
            "latencyMs": latency_ms,
            "failConnects": self.fail_connects.iter()
                .map(|(s, r)| json!({"sessionId": s, "count": r.count, "code": r.code}))
                .collect::<Vec<_>>(),
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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailConnects {
    pub session_id: String,
    /// Default 1; 0 disarms.
    pub count: Option<u32>,
    /// One of [`CONNECT_FAULT_CODES`]; default 1006.
    pub code: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DelayConnects {
    pub session_id: String,
    /// 0 removes the delay.
    pub ms: u64,
}

/// Hook values a test may set: beyond them a typo would hang a test run, not test anything.
pub const MAX_LATENCY_MS: u64 = 10_000;
pub const MAX_DELAY_MS: u64 = 120_000;

impl HooksPatch {
    /// Checks the values before anything changes; the reason names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.latency_ms.is_some_and(|ms| ms > MAX_LATENCY_MS) {
            return Err(format!("latencyMs must be at most {MAX_LATENCY_MS}"));
        }
        if let Some(f) = &self.fail_connects {
            if let Some(code) = f.code {
                if !CONNECT_FAULT_CODES.contains(&code) {
                    return Err(format!(
                        "failConnects.code must be one of {CONNECT_FAULT_CODES:?}"
                    ));
                }
            }
        }
        if self
            .delay_connects
            .as_ref()
            .is_some_and(|d| d.ms > MAX_DELAY_MS)
        {
            return Err(format!("delayConnects.ms must be at most {MAX_DELAY_MS}"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_attempt_keeps_failing_and_only_new_attempts_use_the_count() {
        let mut h = Hooks::default();
        h.fail_connects
            .insert("s".into(), FailRule { count: 1, code: 1006 });
        assert_eq!(h.connect_fault("s", "c1"), Some(ConnectFault { code: 1006 }));
        // The client's own retry of the same attempt.
        assert_eq!(h.connect_fault("s", "c1"), Some(ConnectFault { code: 1006 }));
        // A new attempt: the count is used up.
        assert_eq!(h.connect_fault("s", "c2"), None);
        assert_eq!(h.connect_fault("other", "c3"), None);
    }

    #[test]
    fn hook_values_are_checked() {
        let p: HooksPatch =
            serde_json::from_value(json!({"failConnects": {"sessionId": "s", "code": 1234}}))
                .unwrap();
        assert!(p.validate().unwrap_err().contains("failConnects.code"));
        let p: HooksPatch = serde_json::from_value(json!({"latencyMs": 99_999})).unwrap();
        assert!(p.validate().is_err());
        assert!(serde_json::from_value::<HooksPatch>(json!({"latency": 1})).is_err());
    }
}
