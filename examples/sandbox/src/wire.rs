//! The JSON shapes of connections and streams: as the vendor client reads them (Raptor
//! `created` content and the connect snapshot) and as session-monitoring callbacks carry them
//! (the vendor's field names). One place for every shape.

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::auth::Role;

/// A client connection.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnInfo {
    pub connection_id: String,
    pub creation_time: u64,
    pub data: String,
}

impl ConnInfo {
    /// As the client's `Connection.fromHash` reads it. `permissions` decide the client's
    /// `session.capabilities` (publish, subscribe, forceunpublish, forcedisconnect, forcemute).
    pub fn raptor(&self, role: Role) -> Value {
        json!({
            "id": self.connection_id,
            "creationTime": self.creation_time,
            "data": self.data,
            "permissions": role.permissions(),
        })
    }

    /// A connection inside another object (a stream's owner).
    pub fn raptor_ref(&self) -> Value {
        json!({"id": self.connection_id, "creationTime": self.creation_time, "data": self.data})
    }
}

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct Dims {
    pub width: u32,
    pub height: u32,
}

/// A published stream: what the callbacks and `/admin/state` report, read from the
/// publisher's channels.
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

/// A stream: its summary and the object clients get in `created` (the publisher's content,
/// with its connection and creation time added).
#[derive(Clone, Debug)]
pub struct Stream {
    pub info: StreamInfo,
    pub raptor: Value,
}

/// The fields of a publisher's `create stream` content that the vendor client sends (its
/// `Message.streams.create`); anything else is dropped, never stored or relayed.
const STREAM_FIELDS: &[&str] = &[
    "publisherAudioFallbackEnabled",
    "subscriberAudioFallbackEnabled",
    "e2ee",
    "minBitrate",
    "maxBitrate",
    "sourceStreamId",
];
/// The fields of a channel (`Message.streams.channelFromOTChannel`).
const CHANNEL_FIELDS: &[&str] = &[
    "id",
    "type",
    "active",
    "width",
    "height",
    "orientation",
    "frameRate",
    "source",
    "fitMode",
];
/// At most this many attributes in a channel (channel updates add none past it).
const MAX_CHANNEL_ATTRIBUTES: usize = 16;
/// The largest string or `customProperties` kept from a stream's content, in bytes.
const MAX_FIELD_BYTES: usize = 1024;

/// Keeps the listed fields whose values are scalars (a string at most `MAX_FIELD_BYTES`).
fn known_fields(from: &Map<String, Value>, names: &[&str]) -> Map<String, Value> {
    let mut kept = Map::new();
    for name in names {
        let Some(v) = from.get(*name) else { continue };
        let ok = match v {
            Value::String(s) => s.len() <= MAX_FIELD_BYTES,
            Value::Bool(_) | Value::Number(_) | Value::Null => true,
            _ => false,
        };
        if ok {
            kept.insert((*name).to_owned(), v.clone());
        }
    }
    kept
}

/// What a publisher may put in a stream: a `channel` list of objects with string `id` and
/// `type`, and a string `name` if any; of the rest only the vendor client's own fields are
/// kept (`customProperties` only when its JSON is at most `MAX_FIELD_BYTES`), so a client
/// cannot make every later joiner download what it made up.
pub fn stream_from_publish(
    stream_id: &str,
    owner: &ConnInfo,
    content: &Value,
    now: u64,
) -> Result<Stream, &'static str> {
    let Some(Value::Object(obj)) = Some(content) else {
        return Err("stream content must be an object");
    };
    let name = match obj.get("name") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) if s.len() <= 1024 => s.clone(),
        Some(_) => return Err("stream name must be a string of at most 1024 bytes"),
    };
    let channels = match obj.get("channel") {
        Some(Value::Array(a)) if a.len() <= 8 => a,
        _ => return Err("stream content needs a channel list (at most 8)"),
    };
    for c in channels {
        let ok = c.get("id").is_some_and(Value::is_string)
            && matches!(
                c.get("type").and_then(Value::as_str),
                Some("audio" | "video" | "data" | "caption")
            );
        if !ok {
            return Err("each channel needs a string id and a type audio, video, data or caption");
        }
    }
    let mut raptor = known_fields(obj, STREAM_FIELDS);
    if let Some(custom) = obj.get("customProperties") {
        if custom.is_object() && custom.to_string().len() <= MAX_FIELD_BYTES {
            raptor.insert("customProperties".into(), custom.clone());
        }
    }
    let channel: Vec<Value> = channels
        .iter()
        .filter_map(Value::as_object)
        .map(|c| Value::Object(known_fields(c, CHANNEL_FIELDS)))
        .collect();
    raptor.insert("channel".into(), Value::Array(channel));
    raptor.insert("id".into(), json!(stream_id));
    raptor.insert("name".into(), json!(name));
    raptor.insert("creationTime".into(), json!(now));
    raptor.insert("connection".into(), owner.raptor_ref());
    let mut stream = Stream {
        info: StreamInfo {
            stream_id: stream_id.to_owned(),
            connection: owner.clone(),
            name,
            has_audio: false,
            has_video: false,
            video_type: None,
            creation_time: now,
            video_dimensions: None,
        },
        raptor: Value::Object(raptor),
    };
    stream.summarize();
    Ok(stream)
}

impl Stream {
    fn channels(&self) -> impl Iterator<Item = &Value> {
        self.raptor["channel"].as_array().into_iter().flatten()
    }

    /// Recomputes the summary from the channels (after publish or a channel update).
    fn summarize(&mut self) {
        let active = |kind: &str| {
            self.channels().any(|c| {
                c["type"] == kind && c.get("active").and_then(Value::as_bool).unwrap_or(true)
            })
        };
        let (has_audio, has_video) = (active("audio"), active("video"));
        let video = self.channels().find(|c| c["type"] == "video").cloned();
        self.info.has_audio = has_audio;
        self.info.has_video = has_video;
        self.info.video_type = video.as_ref().map(|v| {
            v.get("source")
                .and_then(Value::as_str)
                .unwrap_or("camera")
                .to_owned()
        });
        self.info.video_dimensions = video.and_then(|v| {
            Some(Dims {
                width: u32::try_from(v.get("width")?.as_u64()?).ok()?,
                height: u32::try_from(v.get("height")?.as_u64()?).ok()?,
            })
        });
    }

    /// Applies a channel update (`active`, `width`, `height`, ...) from the publisher; the
    /// changed attributes, or `None` when there is no such channel or nothing usable changed.
    pub fn update_channel(&mut self, channel: &str, changes: &Value) -> Option<Value> {
        let Value::Object(changes) = changes else {
            return None;
        };
        let list = self.raptor.get_mut("channel")?.as_array_mut()?;
        let ch = list
            .iter_mut()
            .find(|c| c["id"] == channel)?
            .as_object_mut()?;
        let mut applied = Map::new();
        for (k, v) in changes {
            // Flags and numbers only; an attribute the channel lacks is added only while the
            // channel has fewer than MAX_CHANNEL_ATTRIBUTES (the vendor's are about ten).
            let new_key = !ch.contains_key(k);
            if matches!(k.as_str(), "id" | "type")
                || !(v.is_boolean() || v.is_number())
                || (new_key && (ch.len() >= MAX_CHANNEL_ATTRIBUTES || k.len() > 64))
            {
                continue;
            }
            if ch.get(k) != Some(v) {
                ch.insert(k.clone(), v.clone());
                applied.insert(k.clone(), v.clone());
            }
        }
        if applied.is_empty() {
            return None;
        }
        self.summarize();
        Some(Value::Object(applied))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> ConnInfo {
        ConnInfo {
            connection_id: "c1".into(),
            creation_time: 1,
            data: "d".into(),
        }
    }

    /// What the vendor client sends to publish a camera (its `channelFromOTChannel`).
    fn camera() -> Value {
        json!({"id": "s1", "name": "Ada", "channel": [
            {"id": "audio1", "type": "audio", "active": true},
            {"id": "video1", "type": "video", "active": true, "width": 640, "height": 480,
             "orientation": 0, "frameRate": 30, "source": "camera", "fitMode": "cover"},
        ]})
    }

    #[test]
    fn a_published_camera_is_summarized_and_owned() {
        let s = stream_from_publish("s1", &owner(), &camera(), 5).unwrap();
        assert!(s.info.has_audio && s.info.has_video);
        assert_eq!(s.info.video_type.as_deref(), Some("camera"));
        assert_eq!(
            s.info.video_dimensions,
            Some(Dims {
                width: 640,
                height: 480
            })
        );
        assert_eq!(s.raptor["connection"]["id"], "c1");
        assert_eq!(s.raptor["creationTime"], 5);
    }

    #[test]
    fn channel_updates_change_the_summary_and_report_only_changes() {
        let mut s = stream_from_publish("s1", &owner(), &camera(), 5).unwrap();
        let changed = s
            .update_channel("video1", &json!({"active": false, "width": 640}))
            .unwrap();
        assert_eq!(changed, json!({"active": false}));
        assert!(!s.info.has_video);
        assert_eq!(s.update_channel("video1", &json!({"active": false})), None);
        assert_eq!(s.update_channel("nope", &json!({"active": true})), None);
    }

    #[test]
    fn malformed_publishes_are_refused() {
        let bad = [
            json!("x"),
            json!({"channel": "x"}),
            json!({"channel": [{"id": 1, "type": "audio"}]}),
            json!({"channel": [{"id": "a", "type": "smell"}]}),
            json!({"name": 5, "channel": []}),
        ];
        for b in bad {
            assert!(stream_from_publish("s", &owner(), &b, 0).is_err(), "{b}");
        }
    }
}
