#!/usr/bin/env bash
# Re-record the bundled transcript: serve the scripted answers in tinyinvoice.script.json on loopback, run the
# pipeline against them with --record, and keep the transcript. Run it after changing a prompt template.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --bin agentless --bin scripted-model-server
work=$(mktemp -d)
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
./target/debug/scripted-model-server examples/tinyinvoice.script.json > "$work/url" &
server_pid=$!
for _ in $(seq 50); do [ -s "$work/url" ] && break; sleep 0.1; done
base_url=$(cat "$work/url")
rm -f examples/tinyinvoice.transcript.jsonl
./target/debug/agentless "${@:-run}" \
  --repo examples/tinyinvoice --issue examples/tinyinvoice.issue.md --out "$work/run" \
  --model openai-compatible:scripted --base-url "$base_url" --no-cache \
  --record examples/tinyinvoice.transcript.jsonl >/dev/null
echo "recorded $(wc -l < examples/tinyinvoice.transcript.jsonl) answers in examples/tinyinvoice.transcript.jsonl"
