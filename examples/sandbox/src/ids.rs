//! Identifiers in the vendor's style. All are opaque to clients; only their look matters.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

/// A session ID like the vendor's: `2_` + base64url of
/// `1~<applicationId>~~<createdAtMs>~<random>~P~`, so it starts with `2_MX` (`2_MX4` for
/// numeric project keys, as in the vendor's examples).
pub fn session_id(application_id: &str, created_at_ms: u64) -> String {
    let mut random = [0u8; 18];
    rand::thread_rng().fill_bytes(&mut random);
    let inner = format!(
        "1~{application_id}~~{created_at_ms}~{}~P~",
        URL_SAFE_NO_PAD.encode(random)
    );
    format!("2_{}", URL_SAFE_NO_PAD.encode(inner))
}

/// A random (version 4) UUID, lower case: connection and stream IDs look like this at the
/// vendor.
pub fn uuid() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn session_ids_look_like_the_vendors() {
        let id = super::session_id("12345678", 1_700_000_000_000);
        assert!(id.starts_with("2_MX4xMjM0NTY3OH5-"), "{id}");
        assert_ne!(id, super::session_id("12345678", 1_700_000_000_000));
    }

    #[test]
    fn uuids_are_v4_shaped() {
        let u = super::uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }
}
