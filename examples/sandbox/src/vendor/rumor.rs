//! Rumor, the vendor client's binary WebSocket framing (docs/vendor-protocol.md §3; the client's
//! `RumorMessage.serialize`/`deserialize`). Every frame, both ways:
//!
//! ```text
//! u32 BE length of the rest | u8 0 | u8 0 | u8 type | u8 address count
//! per address: u16 BE length, UTF-8
//! u8 header count | per header: u16 BE length, UTF-8 key, u16 BE length, UTF-8 value
//! UTF-8 payload (the rest of the frame)
//! ```

use std::fmt;

pub const SUBSCRIBE: u8 = 0;
pub const UNSUBSCRIBE: u8 = 1;
pub const MESSAGE: u8 = 2;
pub const CONNECT: u8 = 3;
pub const DISCONNECT: u8 = 4;
pub const PING: u8 = 7;
pub const PONG: u8 = 8;
pub const STATUS: u8 = 9;

const KNOWN_TYPES: [u8; 8] = [
    SUBSCRIBE,
    UNSUBSCRIBE,
    MESSAGE,
    CONNECT,
    DISCONNECT,
    PING,
    PONG,
    STATUS,
];

/// Headers every Raptor exchange uses.
pub const TRANSACTION_ID: &str = "TRANSACTION-ID";
pub const FROM_ADDRESS: &str = "X-TB-FROM-ADDRESS";
pub const TOKEN_AUTH: &str = "X-TB-TOKEN-AUTH";
pub const STATUS_HEADER: &str = "STATUS";
pub const CONTENT_TYPE: &str = "Content-Type";
pub const RAPTOR_V2: &str = "application/x-raptor+v2";

/// One Rumor frame. Headers keep their order (a JS object's insertion order on the client).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub kind: u8,
    pub addresses: Vec<String>,
    pub headers: Vec<(String, String)>,
    pub payload: String,
}

/// Why bytes from a client are not a Rumor frame.
#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer than the 8 bytes of the fixed header.
    TooShort,
    /// The length field does not match the frame's size.
    Length {
        declared: usize,
        actual: usize,
    },
    /// Bytes 4 and 5 are not zero.
    Reserved,
    UnknownType(u8),
    /// A length runs past the end of the frame.
    Truncated(&'static str),
    NotUtf8(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooShort => write!(f, "shorter than the 8-byte Rumor header"),
            DecodeError::Length { declared, actual } => write!(
                f,
                "length field says {declared} bytes follow, the frame has {actual}"
            ),
            DecodeError::Reserved => write!(f, "reserved bytes 4-5 are not zero"),
            DecodeError::UnknownType(t) => write!(f, "unknown Rumor message type {t}"),
            DecodeError::Truncated(what) => write!(f, "{what} runs past the end of the frame"),
            DecodeError::NotUtf8(what) => write!(f, "{what} is not UTF-8"),
        }
    }
}

impl Frame {
    pub fn new(kind: u8, addresses: Vec<String>, payload: impl Into<String>) -> Self {
        Frame {
            kind,
            addresses,
            headers: Vec::new(),
            payload: payload.into(),
        }
    }

    pub fn with_header(mut self, key: &str, value: impl Into<String>) -> Self {
        self.headers.push((key.to_owned(), value.into()));
        self
    }

    /// The first header named `key` (exact case, as the client reads them).
    pub fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The frame's bytes. Counts and lengths that do not fit their fields are clamped to what
    /// fits: frames the sandbox builds are far below every limit.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.payload.len());
        out.extend_from_slice(&[0, 0, 0, 0, 0, 0, self.kind]);
        let addresses = &self.addresses[..self.addresses.len().min(255)];
        out.push(addresses.len() as u8);
        for a in addresses {
            put_str(&mut out, a);
        }
        let headers = &self.headers[..self.headers.len().min(255)];
        out.push(headers.len() as u8);
        for (k, v) in headers {
            put_str(&mut out, k);
            put_str(&mut out, v);
        }
        out.extend_from_slice(self.payload.as_bytes());
        let rest = (out.len() - 4).min(u32::MAX as usize) as u32;
        out[..4].copy_from_slice(&rest.to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Frame, DecodeError> {
        if bytes.len() < 8 {
            return Err(DecodeError::TooShort);
        }
        let declared = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        if declared != bytes.len() - 4 {
            return Err(DecodeError::Length {
                declared,
                actual: bytes.len() - 4,
            });
        }
        if bytes[4] != 0 || bytes[5] != 0 {
            return Err(DecodeError::Reserved);
        }
        let kind = bytes[6];
        if !KNOWN_TYPES.contains(&kind) {
            return Err(DecodeError::UnknownType(kind));
        }
        let mut r = Reader { bytes, at: 8 };
        let mut addresses = Vec::with_capacity(bytes[7] as usize);
        for _ in 0..bytes[7] {
            addresses.push(r.string("an address")?);
        }
        let count = r.byte("the header count")?;
        let mut headers = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let key = r.string("a header name")?;
            let value = r.string("a header value")?;
            headers.push((key, value));
        }
        let payload = std::str::from_utf8(&bytes[r.at..])
            .map_err(|_| DecodeError::NotUtf8("the payload"))?
            .to_owned();
        Ok(Frame {
            kind,
            addresses,
            headers,
            payload,
        })
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    let b = &s.as_bytes()[..s.len().min(u16::MAX as usize)];
    out.extend_from_slice(&(b.len() as u16).to_be_bytes());
    out.extend_from_slice(b);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or(DecodeError::Truncated(what))?;
        self.at += 1;
        Ok(b)
    }

    fn string(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let len = u16::from_be_bytes([self.byte(what)?, self.byte(what)?]) as usize;
        let end = self.at + len;
        let raw = self
            .bytes
            .get(self.at..end)
            .ok_or(DecodeError::Truncated(what))?;
        self.at = end;
        String::from_utf8(raw.to_vec()).map_err(|_| DecodeError::NotUtf8(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes the vendor client's `RumorMessage.Connect("c1", "symphony.x").serialize()`
    /// produces for a fixed transaction id (its header order: uniqueId, TRANSACTION-ID,
    /// notifyDisconnectAddress), written out by hand from its serializer.
    fn client_connect_bytes() -> Vec<u8> {
        let mut b = vec![0, 0, 0, 0, 0, 0, CONNECT, 0, 3];
        for (k, v) in [
            ("uniqueId", "c1"),
            ("TRANSACTION-ID", "t1"),
            ("notifyDisconnectAddress", "symphony.x"),
        ] {
            b.extend_from_slice(&(k.len() as u16).to_be_bytes());
            b.extend_from_slice(k.as_bytes());
            b.extend_from_slice(&(v.len() as u16).to_be_bytes());
            b.extend_from_slice(v.as_bytes());
        }
        let rest = (b.len() - 4) as u32;
        b[..4].copy_from_slice(&rest.to_be_bytes());
        b
    }

    #[test]
    fn decodes_the_clients_connect() {
        let f = Frame::decode(&client_connect_bytes()).unwrap();
        assert_eq!(f.kind, CONNECT);
        assert!(f.addresses.is_empty());
        assert_eq!(f.header("uniqueId"), Some("c1"));
        assert_eq!(f.header("notifyDisconnectAddress"), Some("symphony.x"));
        assert_eq!(f.payload, "");
    }

    #[test]
    fn encodes_byte_for_byte_like_the_client() {
        let f = Frame::new(CONNECT, vec![], "")
            .with_header("uniqueId", "c1")
            .with_header("TRANSACTION-ID", "t1")
            .with_header("notifyDisconnectAddress", "symphony.x");
        assert_eq!(f.encode(), client_connect_bytes());
    }

    #[test]
    fn round_trips_addresses_headers_and_utf8_payloads() {
        let f = Frame::new(
            MESSAGE,
            vec!["/v2/partner/k/session/s".into(), "é".into()],
            r#"{"method":"signal","content":{"data":"ünï"}}"#,
        )
        .with_header(TRANSACTION_ID, "abc")
        .with_header(FROM_ADDRESS, "");
        assert_eq!(Frame::decode(&f.encode()).unwrap(), f);
    }

    #[test]
    fn refuses_what_is_not_a_frame() {
        assert_eq!(Frame::decode(&[0, 0, 0]), Err(DecodeError::TooShort));
        let mut b = Frame::new(PING, vec![], "").encode();
        b[3] += 1;
        assert!(matches!(Frame::decode(&b), Err(DecodeError::Length { .. })));
        let mut b = Frame::new(PING, vec![], "").encode();
        b[4] = 1;
        assert_eq!(Frame::decode(&b), Err(DecodeError::Reserved));
        let mut b = Frame::new(PING, vec![], "").encode();
        b[6] = 5;
        assert_eq!(Frame::decode(&b), Err(DecodeError::UnknownType(5)));
        // One address announced, none present.
        let mut b = Frame::new(PING, vec![], "").encode();
        b[7] = 1;
        assert_eq!(Frame::decode(&b), Err(DecodeError::Truncated("an address")));
        let mut b = Frame::new(MESSAGE, vec![], "x").encode();
        let last = b.len() - 1;
        b[last] = 0xff;
        assert_eq!(Frame::decode(&b), Err(DecodeError::NotUtf8("the payload")));
    }
}
