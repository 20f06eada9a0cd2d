#!/usr/bin/env bash
# Compares wsspec's verdicts with the real Autobahn|Testsuite on all 216 permessage-deflate
# cases (12.x/13.x): the reference server with --deflate, Node `ws` with perMessageDeflate,
# Python `websockets`, the reference server without deflate (every case UNIMPLEMENTED), and
# each deflate fault switch on the 13.j it concerns. `cargo test` compares a fixed subset of
# these (rows .1-.4 of every 12.j/13.j and 12.1.11); this script runs the rest too.
#
# Autobahn needs 15+ minutes per server for the 216 cases, so expect 30-60 minutes on a
# two-core machine. It installs what it needs like the tests do (scripts/autobahn/install.sh,
# conformance/servers/ensure-installed.sh) and uses a release build of wsspec.
#
#   scripts/autobahn/compare-deflate.sh [cargo test arguments...]
#
# Env: WSSPEC_DIFF_JOBS (servers compared at once, default 4), WSSPEC_DIFF_ONLY
# (comma-separated server names, e.g. node-ws+deflate), WSSPEC_DIFF_LIMIT (seconds per tool
# and server, default 3600 here). Raw output of every run stays in
# target/autobahn/runs/<server>/.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
cargo build --release --locked --bin wsspec
# A copy of the binary, so that rebuilding during the run does not change what is compared.
bin="$(mktemp -d)/wsspec"
cp "${CARGO_TARGET_DIR:-$repo/target}/release/wsspec" "$bin"
WSSPEC_DIFF_LIMIT="${WSSPEC_DIFF_LIMIT:-3600}" WSSPEC_DIFF_BIN="$bin" exec cargo test --release --locked \
    --test autobahn_differential -- --ignored permessage_deflate_all_216 --nocapture "$@"
