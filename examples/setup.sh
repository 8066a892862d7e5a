#!/usr/bin/env bash
# Installs what the demo and the tests need, only what is missing: idempotent, and quick when
# everything is there already. Used by `npm run demo` and by `npm test`.
#
#   bash examples/setup.sh            Rust wasm target, wasm-pack, wasm-bindgen, npm packages
#   bash examples/setup.sh --browser  the same, plus Chromium and chromedriver, Firefox ESR and
#                                     geckodriver (browser tests) and redis-server (the app
#                                     server's shared-store tests)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"

browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) browser=1 ;;
    -h | --help)
      sed -n '2,9p' "$0"
      exit 0
      ;;
    *)
      echo "setup: unknown option $arg (try --help)" >&2
      exit 2
      ;;
  esac
done

say() { echo "setup: $*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "setup: needs root to run: $* (no sudo here); install it yourself and run again" >&2
    return 1
  fi
}

apt_updated=0
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: $* missing and no apt-get here; install it with your package manager" >&2
    return 1
  fi
  if [ "$apt_updated" -eq 0 ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

for tool in cargo rustup node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "setup: $tool not found; install Rust (rustup) and Node 20 first" >&2
    exit 1
  fi
done

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! wasm-pack --version >/dev/null 2>&1; then
  say "installing wasm-pack (cargo install, a few minutes)"
  cargo install --locked wasm-pack || cargo install wasm-pack
fi

# wasm-pack's own download of wasm-bindgen fails on machines without general internet; it
# uses a wasm-bindgen on PATH whose version matches the crate's (pinned with `=`), so put it
# there. Its --locked install can fail when the registry index lags its lock file.
bindgen_version=$(sed -n 's/^wasm-bindgen = "=\(.*\)"$/\1/p' Cargo.toml)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $bindgen_version" ]; then
  say "installing wasm-bindgen-cli $bindgen_version (cargo install, a few minutes)"
  cargo install --locked --force wasm-bindgen-cli --version "$bindgen_version" ||
    cargo install --force wasm-bindgen-cli --version "$bindgen_version"
fi

# npm writes node_modules/.package-lock.json on every install: older than the lock file
# means the lock file changed since.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi

if [ "$browser" -eq 1 ]; then
  if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    say "installing Chromium and chromedriver"
    apt_install chromium chromium-driver
  fi
  # Firefox ESR for the Firefox runs of the browser tests (tests/browsers.mjs drives it
  # through puppeteer-core), and geckodriver for `wasm-pack test --firefox`.
  if ! command -v firefox-esr >/dev/null 2>&1; then
    say "installing Firefox ESR"
    apt_install firefox-esr
  fi
  if ! geckodriver --version >/dev/null 2>&1; then
    say "installing geckodriver (cargo install, a few minutes)"
    cargo install --locked geckodriver || cargo install geckodriver
  fi
  # The app server's tests start their own redis-server (a real one, never a mock).
  if ! command -v redis-server >/dev/null 2>&1; then
    say "installing redis-server"
    apt_install redis-server
  fi
fi
