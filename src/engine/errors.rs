//! Why things are refused or fail: a handoff signal or move request that is not obeyed
//! ([`Rejection`]: its [`RejectReason`] code and the field to blame) and a handoff attempt that failed
//! ([`HandoffError`]). Each has a sentence a person can act on and a code a program can test.

use core::fmt;

use serde::Serialize;

use super::PERMANENT_CONNECT_CODES;

/// Why a handoff signal (or a move the app asked for) was not obeyed: the stable,
/// machine-readable code the app receives (serialized camelCase: `notFromServer`,
/// `wrongType`, ...; the TypeScript type is `RejectCode`). The live session is never
/// disturbed by one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(target_arch = "wasm32", derive(tsify::Tsify))]
#[cfg_attr(target_arch = "wasm32", tsify(rename = "RejectCode"))]
#[non_exhaustive]
pub enum RejectReason {
    /// `from` was a client connection: only the app server may move the call.
    NotFromServer,
    /// `data` is not a JSON object.
    NotJson,
    /// `v` is missing or is not 1.
    UnsupportedVersion,
    /// `sessionId` is absent.
    MissingSessionId,
    /// `sessionId` is the empty string.
    EmptySessionId,
    /// `sessionId` is longer than the protocol allows.
    OversizeSessionId,
    /// `sessionId` has a character outside the vendor's set (letters, digits, `-_~.`).
    BadSessionId,
    /// A known field has the wrong JSON type or an out-of-range value
    /// ([`Rejection::field`] names it).
    WrongType,
    /// `data` is over 8 kB.
    TooLarge,
    /// Names the session already being moved to, or already live.
    Duplicate,
    /// Names a session this client already left, or its deadline has passed.
    Stale,
}

/// A signal or move request refused: why, and for [`RejectReason::WrongType`] the field to
/// blame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub reason: RejectReason,
    pub field: Option<&'static str>,
}

impl From<RejectReason> for Rejection {
    fn from(reason: RejectReason) -> Self {
        Rejection {
            reason,
            field: None,
        }
    }
}

impl Rejection {
    /// A known field with the wrong JSON type or an out-of-range value.
    pub fn wrong_type(field: &'static str) -> Self {
        Rejection {
            reason: RejectReason::WrongType,
            field: Some(field),
        }
    }
}

/// Why a handoff attempt failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandoffError {
    /// `session.connect` failed; the vendor's error in `detail`, its numeric code in `code`.
    ConnectFailed { detail: String, code: Option<u32> },
    /// `session.connect` did not finish within `connect_timeout_ms`.
    ConnectTimeout,
    /// No token in the signal and no `tokenProvider`.
    NoToken,
    /// The app's `tokenProvider` failed (threw, rejected, or answered no token).
    TokenProviderFailed { detail: String, permanent: bool },
    /// The app's `resolveSession` failed.
    ResolveFailed { detail: String, permanent: bool },
    /// An app hook did not answer within [`Config::hook_timeout_ms`].
    HookTimeout { hook: Hook },
    /// Publishing into the new session failed.
    PublishFailed { detail: String },
}

/// The app's asynchronous hooks (the shell calls them for [`Command::RequestToken`] and
/// [`Command::ResolveSession`]).
///
/// [`Command::RequestToken`]: super::Command::RequestToken
/// [`Command::ResolveSession`]: super::Command::ResolveSession
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    /// `tokenProvider(sessionId)`, answered with [`super::Input::Token`].
    TokenProvider,
    /// `resolveSession(oldSessionId)`, answered with [`super::Input::Resolved`].
    ResolveSession,
}
// There is no "deadline passed" error: when the deadline (minus the margin) leaves no time
// for another attempt, the last attempt's own error is reported with `will_retry: false`,
// so the app learns both that the move was given up and why the last attempt failed.

impl HandoffError {
    /// No retry can fix it: the vendor's [`PERMANENT_CONNECT_CODES`], no token at all, or
    /// a hook that said so.
    pub fn permanent(&self) -> bool {
        match self {
            HandoffError::ConnectFailed { code: Some(c), .. } => {
                PERMANENT_CONNECT_CODES.contains(c)
            }
            HandoffError::NoToken => true,
            HandoffError::TokenProviderFailed { permanent, .. }
            | HandoffError::ResolveFailed { permanent, .. } => *permanent,
            _ => false,
        }
    }
}

impl Rejection {
    /// What is wrong, in a sentence (without saying what was rejected).
    pub fn problem(&self) -> &'static str {
        match self.reason {
            RejectReason::NotFromServer => {
                "it came from a client; only the app server (REST signal API) may move the call"
            }
            RejectReason::NotJson => "its data is not a JSON object",
            RejectReason::UnsupportedVersion => {
                "\"v\" must be 1; upgrade video-handoff or send protocol version 1"
            }
            RejectReason::MissingSessionId => "\"sessionId\" is missing",
            RejectReason::EmptySessionId => "\"sessionId\" is empty",
            RejectReason::OversizeSessionId => "\"sessionId\" is longer than 256 bytes",
            RejectReason::BadSessionId => "\"sessionId\" may only hold letters, digits and - _ ~ .",
            RejectReason::WrongType => match self.field.unwrap_or_default() {
                "sessionId" => "\"sessionId\" must be a string",
                "token" => "\"token\" must be a string of at most 4096 bytes",
                "reason" => "\"reason\" must be a string of at most 128 bytes",
                "deadline" => "\"deadline\" must be a non-negative number (epoch ms)",
                "spreadMs" => "\"spreadMs\" must be a number from 0 to 600000",
                "id" => "\"id\" must be a string of at most 128 bytes",
                _ => "a field has the wrong JSON type or is out of range",
            },
            RejectReason::TooLarge => "its data is over 8192 bytes",
            RejectReason::Duplicate => {
                "it names the session already live or already being moved to"
            }
            RejectReason::Stale => {
                "it names a session this client already left, or its deadline has passed"
            }
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("handoff signal ignored: ")?;
        f.write_str(self.problem())
    }
}

impl HandoffError {
    /// What went wrong and what to check, in a sentence; the vendor's or the app's own words
    /// are in [`HandoffError::detail`].
    pub fn text(&self) -> &'static str {
        match self {
            HandoffError::ConnectFailed { .. } => {
                "connecting to the session failed; check the session ID, token and network"
            }
            HandoffError::ConnectTimeout => {
                "connecting to the session timed out; check the network or raise connectTimeoutMs"
            }
            HandoffError::NoToken => {
                "no token for the session: send one in the handoff signal or pass a tokenProvider"
            }
            HandoffError::TokenProviderFailed { .. } => "the app's tokenProvider failed",
            HandoffError::ResolveFailed { .. } => {
                "the app's resolveSession failed; trying the next way back into the call"
            }
            HandoffError::HookTimeout {
                hook: Hook::TokenProvider,
            } => "the app's tokenProvider did not answer in time (hookTimeoutMs)",
            HandoffError::HookTimeout {
                hook: Hook::ResolveSession,
            } => "the app's resolveSession did not answer in time (hookTimeoutMs)",
            HandoffError::PublishFailed { .. } => {
                "publishing the camera and microphone failed; check device permissions"
            }
        }
    }

    /// The vendor's or the app's own words about the failure, if any.
    pub fn detail(&self) -> Option<&str> {
        match self {
            HandoffError::ConnectFailed { detail, .. }
            | HandoffError::TokenProviderFailed { detail, .. }
            | HandoffError::ResolveFailed { detail, .. }
            | HandoffError::PublishFailed { detail } => Some(detail),
            HandoffError::ConnectTimeout
            | HandoffError::NoToken
            | HandoffError::HookTimeout { .. } => None,
        }
    }
}

impl fmt::Display for HandoffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())?;
        if let Some(detail) = self.detail().filter(|d| !d.is_empty()) {
            f.write_str(" (")?;
            f.write_str(detail)?;
            f.write_str(")")?;
        }
        Ok(())
    }
}
