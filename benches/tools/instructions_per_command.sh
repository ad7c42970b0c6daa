#!/usr/bin/env bash
# Instructions the daemon's runtime thread executes per MQTT command, counted by valgrind's callgrind:
# a figure that, unlike CPU time on a shared machine, does not move with the host's noise.
#
#   benches/tools/instructions_per_command.sh <diuna binary> [seconds]
#
# It runs the `commands` part of `cargo bench --bench frame_cost` (five seed zones animated, 50 QoS 1
# commands a second: brightness and effect-speed changes) with the daemon under callgrind, zeroes the
# counters once the daemon is settled, and dumps them `seconds` (default 8) later, so start-up and
# shutdown are left out. It prints each thread's instructions and the runtime thread's per command.
# DIUNA_IPC_RATE sets the commands per second (default 50; under valgrind the daemon keeps up with
# 200, not with 800).
# A binary with symbols (CARGO_PROFILE_RELEASE_STRIP=none) lets callgrind_annotate name the functions
# in the dump it leaves in /tmp/diuna-cg/.
set -euo pipefail

bin=$(realpath "${1:?usage: $0 <diuna binary> [seconds]}")
secs=${2:-8}
rate=${DIUNA_IPC_RATE:-50}
here=$(cd "$(dirname "$0")/../.." && pwd)
out=/tmp/diuna-cg
mkdir -p "$out"
rm -f "$out"/cg.* "$out"/wrap.sh

cd "$here"
cargo bench --bench frame_cost --no-run 2>/dev/null
bench=$(ls -t target/release/deps/frame_cost-* | grep -v '\.d$' | head -1)

cat >"$out/wrap.sh" <<EOF
#!/bin/sh
exec valgrind -q --tool=callgrind --separate-threads=yes --callgrind-out-file=$out/cg.%p "$bin" "\$@"
EOF
chmod +x "$out/wrap.sh"

DIUNA_FC_BIN="$out/wrap.sh" DIUNA_FC_ONLY=commands DIUNA_FC_RATE=$rate DIUNA_FC_SECS=$((secs + 12)) \
    timeout 300 "$bench" >"$out/bench.log" 2>&1 &
runner=$!
# Under valgrind the daemon takes a few seconds to start and connect.
sleep 8
pid=$(pgrep -f "callgrind.*$bin" | head -1)
callgrind_control -z "$pid" >/dev/null
sleep "$secs"
callgrind_control -d "$pid" >/dev/null
sleep 1
for f in "$out"/cg."$pid".1-*; do
    n=$(awk '/^(summary|totals):/ {print $2; exit}' "$f")
    echo "thread ${f##*-}: $n instructions in ${secs} s"
done
main=$(awk '/^(summary|totals):/ {print $2; exit}' "$out/cg.$pid.1-01")
echo "runtime thread (01): $((main / (secs * rate))) instructions per command"
wait "$runner" || true
