#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![warn(clippy::missing_const_for_fn)]

use js_sys::JsString;
use wasm_bindgen::prelude::*;

mod de;
mod error;
mod ser;

pub use de::Deserializer;
pub use error::Error;
pub use ser::Serializer;

type Result<T> = std::result::Result<T, Error>;

// PATCH (video-handoff, 4): no cache of the converted keys (a hash map's code, for a speed-up this
// SDK's few, rare objects do not need; see PATCH.md).
fn static_str_to_js(s: &'static str) -> JsString {
    s.into()
}

/// Custom bindings to avoid using fallible `Reflect` for plain objects.
#[wasm_bindgen]
extern "C" {
    type ObjectExt;

    #[wasm_bindgen(method, indexing_getter)]
    fn get_with_ref_key(this: &ObjectExt, key: &JsString) -> JsValue;

    #[wasm_bindgen(method, indexing_setter)]
    fn set(this: &ObjectExt, key: JsString, value: JsValue);
}

/// Converts [`JsValue`] into a Rust type.
pub fn from_value<T: serde::de::DeserializeOwned>(value: JsValue) -> Result<T> {
    T::deserialize(Deserializer::from(value))
}

/// Converts a Rust value into a [`JsValue`].
pub fn to_value<T: serde::ser::Serialize + ?Sized>(value: &T) -> Result<JsValue> {
    value.serialize(&Serializer::new())
}

/// Serialization and deserialization functions that pass JavaScript objects through unchanged.
///
/// This module is compatible with the `serde(with)` annotation, so for example if you create
/// the struct
///
/// ```rust
/// #[derive(serde::Serialize)]
/// struct MyStruct {
///     int_field: i32,
///     #[serde(with = "serde_wasm_bindgen::preserve")]
///     js_field: js_sys::Int8Array,
/// }
///
/// let s = MyStruct {
///     int_field: 5,
///     js_field: js_sys::Int8Array::new_with_length(1000),
/// };
/// ```
///
/// then `serde_wasm_bindgen::to_value(&s)`
/// will return a JsValue representing an object with two fields (`int_field` and `js_field`), where
/// `js_field` will be an `Int8Array` pointing to the same underlying JavaScript object as `s.js_field` does.
pub mod preserve {
    use serde::{de::Error, Serialize};
    use wasm_bindgen::{
        convert::{FromWasmAbi, IntoWasmAbi},
        JsCast, JsValue,
    };

    // Some arbitrary string that no one will collide with unless they try.
    pub(crate) const PRESERVED_VALUE_MAGIC: &str = "1fc430ca-5b7f-4295-92de-33cf2b145d38";

    #[derive(Serialize)]
    #[serde(rename = "1fc430ca-5b7f-4295-92de-33cf2b145d38")]
    struct PreservedValueSerWrapper(u32);

    // PATCH (video-handoff, 2): our deserializer answers a tuple struct of the magic name
    // with one `u64`: the value's ABI index in the low 32 bits and `PRESERVED_VALUE_TAG` (the
    // magic's first eight hex digits) in the high 32. Upstream sent a two-element sequence,
    // the magic string then the index, and checked the string before its `unsafe` cast; the
    // tag is that check in one number, made before the cast below. Another deserializer
    // would have to forge the tag, as it would have had to forge upstream's string.
    pub(crate) const PRESERVED_VALUE_TAG: u64 = 0x1fc4_30ca << 32;

    struct Abi(u32);

    impl<'de> serde::de::Visitor<'de> for Abi {
        type Value = Abi;

        fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
            formatter.write_str("serde-wasm-bindgen's tagged value index")
        }

        fn visit_u64<E: Error>(self, v: u64) -> Result<Self::Value, E> {
            if v & !0xffff_ffff != PRESERVED_VALUE_TAG {
                return Err(E::custom("not serde-wasm-bindgen's deserializer"));
            }
            Ok(Abi(v as u32))
        }
    }

    /// Serialize any `JsCast` value.
    ///
    /// When used with the `Serializer` in `serde_wasm_bindgen`, this serializes the value by
    /// passing it through as a `JsValue`.
    ///
    /// This function is compatible with the `serde(serialize_with)` derive annotation.
    pub fn serialize<S: serde::Serializer, T: JsCast>(val: &T, ser: S) -> Result<S::Ok, S::Error> {
        // It's responsibility of serde-wasm-bindgen's Serializer to clone the value.
        // For all other serializers, using reference instead of cloning here will ensure that we don't
        // create accidental leaks.
        PreservedValueSerWrapper(val.as_ref().into_abi()).serialize(ser)
    }

    /// Deserialize any `JsCast` value.
    ///
    /// When used with the `Derializer` in `serde_wasm_bindgen`, this serializes the value by
    /// passing it through as a `JsValue` and casting it.
    ///
    /// This function is compatible with the `serde(deserialize_with)` derive annotation.
    pub fn deserialize<'de, D: serde::Deserializer<'de>, T: JsCast>(de: D) -> Result<T, D::Error> {
        // PATCH (video-handoff, 2): the tagged index (see `Abi`), checked before the cast.
        let wrap = de.deserialize_tuple_struct(PRESERVED_VALUE_MAGIC, 2, Abi(0))?;
        // When used with our deserializer this unsafe is correct, because the
        // deserializer just converted a JsValue into_abi.
        //
        // Other deserializers are unlikely to end up here, thanks to the tag checked in
        // `Abi::visit_u64`. Even if some other deserializer ends up here, this may be
        // incorrect but it shouldn't be UB because JsValues are represented using indices
        // into a JS-side (i.e. bounds-checked) array.
        let val: JsValue = unsafe { FromWasmAbi::from_abi(wrap.0) };
        // PATCH (video-handoff, 5): no message built for a value of the wrong type.
        val.dyn_into()
            .map_err(|_| D::Error::custom("incompatible JS value"))
    }
}
