//! Session-monitoring callbacks: POSTed as JSON, one at a time and in order, each retried
//! with exponential backoff while the receiver fails (non-2xx or no answer).

use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// Attempts per callback before it is given up (about 13 s of retries in all).
const MAX_ATTEMPTS: u32 = 8;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub struct Callbacks {
    tx: Option<UnboundedSender<Value>>,
}

impl Callbacks {
    /// Starts the delivery task when a URL is configured (needs a Tokio runtime).
    pub fn start(url: Option<String>) -> Self {
        let tx = url.map(|url| {
            let (tx, rx) = unbounded_channel();
            tokio::spawn(deliver_all(url, rx));
            tx
        });
        Callbacks { tx }
    }

    pub fn send(&self, body: Value) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(body);
        }
    }
}

async fn deliver_all(url: String, mut rx: UnboundedReceiver<Value>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("HTTP client");
    while let Some(body) = rx.recv().await {
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=MAX_ATTEMPTS {
            let outcome = client.post(&url).json(&body).send().await;
            let failure = match outcome {
                Ok(r) if r.status().is_success() => None,
                Ok(r) => Some(format!("HTTP {}", r.status().as_u16())),
                Err(e) => Some(format!("{}", without_url(e))),
            };
            let Some(why) = failure else { break };
            let event = body.get("event").and_then(Value::as_str).unwrap_or("?");
            if attempt == MAX_ATTEMPTS {
                eprintln!("sandbox: callback {event} given up after {attempt} attempts: {why}");
                break;
            }
            eprintln!("sandbox: callback {event} attempt {attempt} failed ({why}); retrying in {backoff:?}");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

fn without_url(e: reqwest::Error) -> reqwest::Error {
    e.without_url()
}
