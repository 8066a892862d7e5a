#!/usr/bin/env bash
# `npm run demo`: builds what is needed, starts the sandbox and the app server, and prints the
# demo page's URL. Ctrl-C stops both.
#
# Environment (all optional):
#   APP_PORT=3000        the app server (and the page)
#   SANDBOX_PORT=3410    the sandbox (Video API emulator)
#   DEMO_SKIP_BUILD=1    reuse the last wasm and sandbox builds
#   CARGO_TARGET_DIR     default: target/ in the repository
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

app_port="${APP_PORT:-3000}"
sandbox_port="${SANDBOX_PORT:-3410}"
application_id="video-handoff-demo"
run_dir="$root/.tmp/demo-$$" # .tmp/ is gitignored: the dev keys never reach a commit
sandbox_bin="$CARGO_TARGET_DIR/debug/video-handoff-sandbox"

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for pair in "APP_PORT:$app_port" "SANDBOX_PORT:$sandbox_port"; do
  name="${pair%%:*}"
  port="${pair#*:}"
  if port_taken "$port"; then
    echo "demo: port $port is taken; free it or choose another with $name=<port> npm run demo" >&2
    exit 1
  fi
done

bash examples/setup.sh

if [ "${DEMO_SKIP_BUILD:-0}" != 1 ]; then
  echo "demo: building the SDK (npm run build: wasm-pack, then wasm-opt)"
  npm run build
  echo "demo: building the sandbox"
  cargo build -p video-handoff-sandbox
fi
for need in pkg/video_handoff.js "$sandbox_bin"; do
  if [ ! -e "$need" ]; then
    echo "demo: $need is missing; run without DEMO_SKIP_BUILD=1" >&2
    exit 1
  fi
done

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'echo; echo "demo: stopping"; exit 0' INT TERM

# A fresh dev key pair for this run (Node's crypto: the sandbox's own `keygen` is slow in a
# debug build): private.key for the app server, public.pem for the sandbox.
mkdir -p "$run_dir"
node --input-type=module -e '
  import { generateKeyPairSync } from "node:crypto";
  import { writeFileSync } from "node:fs";
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  writeFileSync(process.argv[1] + "/private.key", privateKey, { mode: 0o600 });
  writeFileSync(process.argv[1] + "/public.pem", publicKey);
' "$run_dir"
# The application's signature secret for this run: the sandbox signs its callbacks with it and
# the app server refuses any callback that is not (environment only: never on a command line).
signature_secret="$(node -e 'process.stdout.write(require("node:crypto").randomBytes(24).toString("base64url"))')"
# The sandbox admin API's bearer token for this run (behind "Rotate now" and the latency slider).
admin_token="$(node -e 'process.stdout.write(require("node:crypto").randomBytes(24).toString("base64url"))')"

# Waits until `file` has a line starting with `prefix`; prints the URL after it.
wait_for_line() {
  local file="$1" prefix="$2" pid="$3" i
  for i in $(seq 1 150); do
    local line
    line="$(grep -m1 "^$prefix" "$file" 2>/dev/null || true)"
    if [ -n "$line" ]; then
      echo "${line#"$prefix"}"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      return 1
    fi
    sleep 0.1
  done
  return 1
}

SANDBOX_SIGNATURE_SECRET="$signature_secret" SANDBOX_ADMIN_TOKEN="$admin_token" "$sandbox_bin" \
  --host 127.0.0.1 --port "$sandbox_port" \
  --application-id "$application_id" \
  --public-key-file "$run_dir/public.pem" \
  --callback-url "http://127.0.0.1:$app_port/callbacks" \
  > >(tee "$run_dir/sandbox.log" | sed -u 's/^/[sandbox] /') 2>&1 &
pids+=("$!")
if ! sandbox_url="$(wait_for_line "$run_dir/sandbox.log" "sandbox listening on " "${pids[0]}")"; then
  echo "demo: the sandbox did not start (see its output above)" >&2
  exit 1
fi

VONAGE_APPLICATION_ID="$application_id" \
  VONAGE_PRIVATE_KEY="$run_dir/private.key" \
  VONAGE_SIGNATURE_SECRET="$signature_secret" \
  VONAGE_VIDEO_HOST="$sandbox_url" \
  SANDBOX_ADMIN_TOKEN="$admin_token" \
  PORT="$app_port" \
  node examples/app-server/server.js \
  > >(tee "$run_dir/app.log" | sed -u 's/^/[app] /;s/^\[app\] \[app\] /[app] /') 2>&1 &
pids+=("$!")
if ! app_url="$(wait_for_line "$run_dir/app.log" "app server listening on " "${pids[1]}")"; then
  echo "demo: the app server did not start (see its output above)" >&2
  exit 1
fi

cat <<MSG

  ┌──────────────────────────────────────────────────────────────────────┐
    video-handoff demo is running

    Open  $app_url/?room=demo   in two or more browser tabs,
    enter a name, join, then press "Rotate now" and watch the video.
    Naive baseline (disconnect, then rejoin):  $app_url/?room=demo&naive=1

    sandbox (Video API emulator): $sandbox_url
    Ctrl-C stops everything.
  └──────────────────────────────────────────────────────────────────────┘

MSG

# Exits (and cleans up) when either process ends.
wait -n "${pids[@]}"
echo "demo: a process exited; stopping" >&2
exit 1
