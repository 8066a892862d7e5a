use wasm_bindgen::prelude::*;

/// A newtype that represents Serde errors as JavaScript exceptions.
#[derive(Debug)]
pub struct Error(JsValue);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        #[wasm_bindgen]
        extern "C" {
            #[wasm_bindgen(js_name = String)]
            pub fn to_string(value: &JsValue) -> String;
        }

        to_string(&self.0).fmt(f)
    }
}

impl std::error::Error for Error {}

impl Error {
    /// Creates a JavaScript `Error` with a given message.
    ///
    /// PATCH (video-handoff, 5): the message is not formatted. Formatting it links
    /// `alloc::fmt::format` and the `Display` of serde's `Unexpected` and `Expected` values
    /// into the shipped wasm, and video-handoff never shows these messages (it reports its
    /// own, naming the option or field to fix).
    pub fn new<T: std::fmt::Display>(_msg: T) -> Self {
        Error::fixed()
    }

    // PATCH (video-handoff, 5): the one message.
    fn fixed() -> Self {
        Error(JsError::new("serde-wasm-bindgen: the value does not fit the expected type").into())
    }
}

impl serde::ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error::new(msg)
    }
}

impl serde::de::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error::new(msg)
    }

    // PATCH (video-handoff, 5): serde's default bodies of these build `format_args!` over
    // `de::Unexpected` and `de::Expected`; even unread, those arguments keep their `Display`
    // (core's float formatting, about 16 KB gzip) in the wasm. None is built here.
    fn invalid_type(_: serde::de::Unexpected, _: &dyn serde::de::Expected) -> Self {
        Error::fixed()
    }

    fn invalid_value(_: serde::de::Unexpected, _: &dyn serde::de::Expected) -> Self {
        Error::fixed()
    }

    fn invalid_length(_: usize, _: &dyn serde::de::Expected) -> Self {
        Error::fixed()
    }

    fn unknown_variant(_: &str, _: &'static [&'static str]) -> Self {
        Error::fixed()
    }

    fn unknown_field(_: &str, _: &'static [&'static str]) -> Self {
        Error::fixed()
    }

    fn missing_field(_: &'static str) -> Self {
        Error::fixed()
    }

    fn duplicate_field(_: &'static str) -> Self {
        Error::fixed()
    }
}

/// This conversion is needed for `?` to just work when using wasm-bindgen
/// imports that return JavaScript exceptions as `Result<T, JsValue>`.
impl From<JsValue> for Error {
    fn from(error: JsValue) -> Error {
        Error(error)
    }
}

// This conversion is needed for `?` to just work in wasm-bindgen exports
// that return `Result<T, JsValue>` to throw JavaScript exceptions.
impl From<Error> for JsValue {
    fn from(error: Error) -> JsValue {
        error.0
    }
}
