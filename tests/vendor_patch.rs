//! The vendored serde-wasm-bindgen (`vendor/serde-wasm-bindgen`, see its PATCH.md) is used
//! through `[patch.crates-io]`, which cargo drops without an error when the version it patches
//! is no longer the one asked for (a tsify or serde-wasm-bindgen update): the package would
//! then ship the published crate and grow by about 20 KB gzip. These checks fail first.
#![cfg(not(target_arch = "wasm32"))]

use std::fs;
use std::path::Path;

fn read(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `[[package]]` entries of Cargo.lock named `name`: (version, source if any).
fn locked(lock: &str, name: &str) -> Vec<(String, Option<String>)> {
    lock.split("[[package]]")
        .skip(1)
        .filter_map(|block| {
            let field = |key: &str| {
                block.lines().find_map(|l| {
                    l.strip_prefix(key)
                        .and_then(|v| v.strip_prefix(" = \""))
                        .and_then(|v| v.strip_suffix('"'))
                        .map(str::to_owned)
                })
            };
            (field("name")? == name)
                .then(|| (field("version").unwrap_or_default(), field("source")))
        })
        .collect()
}

/// The versions PATCH.md says the patch was made against: `Made against: serde-wasm-bindgen
/// X, tsify Y`.
fn made_against() -> (String, String) {
    let patch = read("vendor/serde-wasm-bindgen/PATCH.md");
    let line = patch
        .lines()
        .find_map(|l| l.strip_prefix("Made against: "))
        .expect("PATCH.md has a `Made against: ...` line");
    let version = |crate_name: &str| {
        line.split(", ")
            .find_map(|part| part.strip_prefix(crate_name))
            .and_then(|v| v.split_whitespace().next())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("PATCH.md names the {crate_name} version"))
    };
    (version("serde-wasm-bindgen "), version("tsify "))
}

#[test]
fn the_patch_applies_to_the_versions_it_was_made_against() {
    let lock = read("Cargo.lock");
    let (swb, tsify) = made_against();

    assert_eq!(
        locked(&lock, "serde-wasm-bindgen"),
        vec![(swb.clone(), None)],
        "Cargo.lock must hold serde-wasm-bindgen {swb} once, from vendor/ (no registry source): \
         the [patch] no longer applies; re-make vendor/serde-wasm-bindgen (see its PATCH.md)"
    );
    let tsify_locked: Vec<String> = locked(&lock, "tsify").into_iter().map(|(v, _)| v).collect();
    assert_eq!(
        tsify_locked,
        vec![tsify.clone()],
        "tsify moved from {tsify}, the version the serde-wasm-bindgen patch was made against: \
         check what it needs of serde-wasm-bindgen and update PATCH.md"
    );
    assert!(
        !lock.contains("[[patch.unused]]"),
        "cargo lists a [patch] as unused: vendor/serde-wasm-bindgen no longer applies"
    );
}

#[test]
fn the_vendored_crate_is_the_version_patch_md_names() {
    let (swb, _) = made_against();
    let manifest = read("vendor/serde-wasm-bindgen/Cargo.toml");
    assert!(
        manifest
            .lines()
            .any(|l| l == format!("version = \"{swb}\"")),
        "vendor/serde-wasm-bindgen/Cargo.toml is not version {swb}"
    );
    let root = read("Cargo.toml");
    assert!(
        root.contains("serde-wasm-bindgen = { path = \"vendor/serde-wasm-bindgen\" }"),
        "the workspace no longer patches serde-wasm-bindgen with vendor/"
    );
}
