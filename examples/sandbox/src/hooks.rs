//! Sandbox-only fault injection, set through the admin API. The added latency lives in an
//! atomic read on every frame; the rest is kept under the sandbox's state lock.

use std::collections::{HashMap, VecDeque};

use serde::Deserialize;
use serde_json::{json, Value};

/// Connect attempts remembered as failing, so the client's own retries of one attempt fail
/// alike (bounded: the oldest are forgotten).
const REMEMBERED_ATTEMPTS: usize = 1024;
/// The vendor client asks for the session info up to three times in one attempt when the
/// answer is empty (1006: at 0, +600 and +1200 ms); error answers it does not retry.
const REQUESTS_PER_1006_ATTEMPT: u32 = 3;

/// The vendor error codes a failing connect may be given: 1006 (connect failed, the
/// transient kind), 1004 (authentication), 1005 (invalid session), 2001 (unexpected server
/// response).
pub const CONNECT_FAULT_CODES: [u32; 4] = [1006, 1004, 1005, 2001];

#[derive(Default)]
pub struct Hooks {
    /// Session ID -> the next connect attempts that fail, and with which code.
    pub fail_connects: HashMap<String, FailRule>,
    /// Connect attempts under way that failed: the client's connection ID, the code, and how
    /// many of the attempt's session-info requests have been answered.
    failed_attempts: VecDeque<Attempt>,
    /// Session ID -> delay before the session info is answered.
    pub delay_connects: HashMap<String, u64>,
    pub drop_signals: Vec<DropRule>,
}

struct Attempt {
    connection_id: String,
    code: u32,
    requests: u32,
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

    /// Whether this session-info request fails. A connect attempt is what the app sees as
    /// one `session.connect()`: the client names it by the connection ID it chose and, for an
    /// empty (1006) answer, asks twice more on its own. Those requests fail alike without
    /// using the count; a request after them is a new attempt, even with the same ID (the
    /// client keeps its ID when the app retries on the same Session object).
    pub fn connect_fault(&mut self, session_id: &str, connection_id: &str) -> Option<ConnectFault> {
        if let Some(pos) = self
            .failed_attempts
            .iter()
            .position(|a| a.connection_id == connection_id)
        {
            let a = &mut self.failed_attempts[pos];
            if a.code == 1006 && a.requests < REQUESTS_PER_1006_ATTEMPT {
                a.requests += 1;
                return Some(ConnectFault { code: a.code });
            }
            self.failed_attempts.remove(pos);
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
        self.failed_attempts.push_back(Attempt {
            connection_id: connection_id.to_owned(),
            code,
            requests: 1,
        });
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
        h.fail_connects.insert(
            "s".into(),
            FailRule {
                count: 2,
                code: 1006,
            },
        );
        let fails = |h: &mut Hooks, cid: &str| h.connect_fault("s", cid).is_some();
        // Attempt 1: the client's three requests all fail; the count goes to 1.
        assert!(fails(&mut h, "c1") && fails(&mut h, "c1") && fails(&mut h, "c1"));
        // The app retries on the same Session (same ID): attempt 2 uses the last failure.
        assert!(fails(&mut h, "c1") && fails(&mut h, "c1") && fails(&mut h, "c1"));
        // Attempt 3 gets in, with that ID or any other.
        assert!(!fails(&mut h, "c1"));
        assert!(!fails(&mut h, "c2"));
        assert_eq!(h.connect_fault("other", "c3"), None);
    }

    #[test]
    fn an_error_answer_is_one_request_per_attempt() {
        let mut h = Hooks::default();
        h.fail_connects.insert(
            "s".into(),
            FailRule {
                count: 1,
                code: 1004,
            },
        );
        assert_eq!(
            h.connect_fault("s", "c1"),
            Some(ConnectFault { code: 1004 })
        );
        // The client does not retry a 1004; the next request is a new attempt.
        assert_eq!(h.connect_fault("s", "c1"), None);
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
