#!/usr/bin/env bash
# Runs every test of the project: `npm test` (or `bash tests/run.sh`).
#   bash tests/run.sh          everything (installs what is missing first)
#   bash tests/run.sh e2e      only the end-to-end browser tests (`npm run e2e`), in the
#                              browser E2E_BROWSER names (chromium unless set, or firefox)
#   bash tests/run.sh size     only print the shipped sizes (`npm run size`)
#   bash tests/run.sh build    only build what the browser tests load (`npm run bench:handoff`)
#
# Each stage's output goes to the terminal; the counts of passed and failed tests of every
# runner (cargo, wasm-bindgen-test, node:test) are added up into the last line.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mode="${1:-all}"

export CARGO_TERM_COLOR=never
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export SANDBOX_BIN="$CARGO_TARGET_DIR/debug/video-handoff-sandbox"

passed=0
failed=0
broken=()
log_dir="$(mktemp -d)"
trap 'rm -rf "$log_dir"' EXIT

sum_lines() { awk '{ s += $1 } END { print s + 0 }'; }

# Runs one stage, shows its output, and adds its test counts (or one failure if it broke
# without reporting any) to the totals.
stage() {
  local name="$1"
  shift
  local log="$log_dir/$name.log"
  echo
  echo "==> $name: $*"
  local start=$SECONDS
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local p f
  # cargo test / wasm-bindgen-test: "test result: ok. 12 passed; 0 failed; ..."
  p=$(grep -oE 'test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' | sum_lines)
  f=$(grep -oE '[0-9]+ passed; [0-9]+ failed' "$log" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' | sum_lines)
  # node:test: "# pass 5" / "# fail 0" (or "ℹ pass 5" with the spec reporter)
  local np nf
  np=$(grep -oE '^(#|ℹ) pass [0-9]+' "$log" | grep -oE '[0-9]+$' | sum_lines)
  nf=$(grep -oE '^(#|ℹ) fail [0-9]+' "$log" | grep -oE '[0-9]+$' | sum_lines)
  p=$(( ${p:-0} + ${np:-0} ))
  f=$(( ${f:-0} + ${nf:-0} ))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1 # the stage broke before its runner could count (build error, lint)
  fi
  passed=$((passed + p))
  failed=$((failed + f))
  if [ "$rc" -ne 0 ]; then
    broken+=("$name")
  fi
  echo "<== $name: exit $rc, $p passed, $f failed, $((SECONDS - start)) s"
}

build_wasm() {
  npm run build
}

build_sandbox() {
  cargo build -p video-handoff-sandbox
}

# The shell's browser tests: wasm-bindgen-test in headless Chromium (`--chrome`) or Firefox
# (`--firefox`), against an in-page OT test double. The capabilities (fake media, autoplay)
# come from tests/browsers.mjs, where every browser test's flags and prefs are.
web_tests() {
  local caps="$log_dir/webdriver.json"
  node tests/browsers.mjs --webdriver-json >"$caps" || return 1
  # wasm-bindgen-test-runner takes the first driver it finds in its environment (geckodriver
  # before chromedriver), whatever wasm-pack was asked for: give it only the one meant.
  local driver
  if [ "$1" = --firefox ]; then
    driver=(-u CHROMEDRIVER "GECKODRIVER=${GECKODRIVER:-$(command -v geckodriver)}")
  else
    driver=(-u GECKODRIVER "CHROMEDRIVER=${CHROMEDRIVER:-$(command -v chromedriver)}")
  fi
  env "${driver[@]}" \
    WASM_BINDGEN_TEST_WEBDRIVER_JSON="$caps" \
    WASM_BINDGEN_TEST_TIMEOUT=900 \
    wasm-pack test --headless "$1" -- --test web_shell --test web_figures --test web_leak -- --nocapture
}

types() {
  npx tsc -p tests/types --noEmit && npx tsc -p tests/types/tsconfig.strict.json --noEmit
}

# The end-to-end suite runs routed (the platform's default, where rotations happen); the
# relayed (peer-to-peer) mode keeps its main rotation and one failure scenario.
e2e_relayed() {
  E2E_MEDIA_MODE=relayed node_tests \
    --test-name-pattern 'SDK: three participants|connecting to the new session fails twice|no page made a request' \
    tests/e2e/handoff.test.mjs tests/e2e/failures.test.mjs
}

# The scenarios of the end-to-end suite that `npm test` also runs in Firefox (the whole suite
# in Firefox: `E2E_BROWSER=firefox npm run e2e`): the main rotation with the SDK, the mixed
# call (two Chromium pages and one Firefox page), and the failures that exercise other paths
# (retried connects, a dropped signal, a second rotation): the whole Firefox suite would add
# about 10 minutes to the 30 that `npm test` may take on a 2-core machine.
e2e_firefox() {
  E2E_BROWSER=firefox node_tests \
    --test-name-pattern 'SDK: three participants|mixed call|connecting to the new session fails twice|signal is dropped|second rotation|no page made a request' \
    tests/e2e/handoff.test.mjs tests/e2e/mixed.test.mjs tests/e2e/failures.test.mjs
}

node_tests() {
  # One test file at a time: the browser tests share two cores and must not overlap. Bounded:
  # a test file whose process cannot exit (a handle left open after a failed hook) ends the
  # stage after 20 minutes instead of the run (the longest stage takes about 8).
  timeout -k 30 "${NODE_STAGE_TIMEOUT_S:-1200}" node --test --test-concurrency=1 --test-reporter=tap "$@"
}

bash examples/setup.sh --browser || {
  echo "setup failed: see the messages above"
  exit 1
}

case "$mode" in
  size)
    stage wasm-build build_wasm
    node tests/package/size.mjs
    exit $?
    ;;
  build)
    stage wasm-build build_wasm
    stage sandbox-build build_sandbox
    [ "${#broken[@]}" -eq 0 ]
    exit $?
    ;;
  e2e)
    # Which browser (E2E_BROWSER: chromium unless set), as the browser itself says.
    node tests/browsers.mjs --version || exit 1
    stage wasm-build build_wasm
    stage sandbox-build build_sandbox
    stage e2e node_tests tests/e2e/*.test.mjs
    stage e2e-relayed e2e_relayed
    ;;
  all)
    stage fmt cargo fmt --all -- --check
    stage clippy cargo clippy --workspace --all-targets -- -D warnings
    stage clippy-wasm cargo clippy --lib --target wasm32-unknown-unknown -- -D warnings
    stage cargo-test cargo test --workspace -- --show-output # shows the property test's counts
    stage wasm-build build_wasm
    stage types types
    stage web-shell web_tests --chrome
    stage web-shell-firefox web_tests --firefox
    stage sandbox-build build_sandbox
    stage node-tests node_tests examples/sandbox/tests/*.test.mjs examples/app-server/test/*.test.mjs tests/web/*.test.mjs tests/package/*.test.mjs
    stage e2e node_tests tests/e2e/*.test.mjs
    stage e2e-relayed e2e_relayed
    node tests/browsers.mjs --version firefox
    stage e2e-firefox e2e_firefox
    stage size node tests/package/size.mjs
    ;;
  *)
    echo "usage: bash tests/run.sh [all|e2e|size]" >&2
    exit 2
    ;;
esac

# What failed, once more at the end where a CI log's tail shows it: each failed node:test
# with its error (up to its stack), each failed cargo or wasm-bindgen test's name and panic.
failures() {
  awk '
    /^ *not ok / && !/# SKIP/ { show = 1; n = 0 }
    show { print; n++ }
    show && (/^ *stack:/ || n >= 25) { show = 0 }
    /^failures:$/ { failing = 1 }
    /^successes:$|^test result:/ { failing = 0 }
    failing && /^---- .* (stdout|output) ----$/ { cargo = 1; n = 0 }
    cargo { print; n++ }
    cargo && (/^note: run with/ || /^failures:$/ || n >= 15) { cargo = 0 }
  ' "$@"
}

echo
if [ ${#broken[@]} -gt 0 ]; then
  for name in "${broken[@]}"; do
    echo "--- what failed in $name:"
    failures "$log_dir/$name.log"
  done
  echo "stages that failed: ${broken[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#broken[@]} -eq 0 ]
