//! The JSON the sandbox sends: WebSocket frames to clients (PROTOCOL.md) and the bodies of
//! session-monitoring callbacks (the vendor's field names). One place for every shape.

use axum::extract::ws::Utf8Bytes;
use serde::Serialize;
use serde_json::{json, Value};

/// A client connection as clients see it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnInfo {
    pub connection_id: String,
    pub creation_time: u64,
    pub data: String,
}

#[derive(Clone, Copy, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Dims {
    pub width: u32,
    pub height: u32,
}

/// A published stream as clients see it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamInfo {
    pub stream_id: String,
    pub connection: ConnInfo,
    pub name: String,
    pub has_audio: bool,
    pub has_video: bool,
    pub video_type: Option<String>,
    pub creation_time: u64,
    pub video_dimensions: Option<Dims>,
}

/// Serialises one frame once; clones of the result share the bytes (cheap fan-out).
pub fn frame(v: Value) -> Utf8Bytes {
    Utf8Bytes::from(v.to_string())
}

/// Adds `reqId` to a frame when the request carried one.
pub fn with_req(mut v: Value, req_id: &Option<Value>) -> Value {
    if let (Some(id), Some(obj)) = (req_id, v.as_object_mut()) {
        obj.insert("reqId".into(), id.clone());
    }
    v
}

pub fn error(code: u32, name: &str, message: &str, req_id: &Option<Value>) -> Value {
    with_req(
        json!({"t": "error", "code": code, "name": name, "message": message}),
        req_id,
    )
}

// ---- Session-monitoring callback bodies (the vendor's field names) ----

pub fn cb_connection(c: &ConnInfo) -> Value {
    json!({"id": c.connection_id, "createdAt": c.creation_time, "data": c.data})
}

pub fn cb_stream(s: &StreamInfo) -> Value {
    json!({
        "id": s.stream_id,
        "connection": cb_connection(&s.connection),
        "createdAt": s.creation_time,
        "name": s.name,
        "videoType": s.video_type,
    })
}
