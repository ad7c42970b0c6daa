#!/usr/bin/env bash
# Smoke-test a diuna binary with simulated strips: no Pi, no LEDs, no broker needed. Runs a native binary
# directly, or a cross-built one under an emulator given after the binary.
#
#   deploy/smoke-test.sh target/release/diuna
#   deploy/smoke-test.sh target/aarch64-unknown-linux-gnu/release/diuna qemu-aarch64-static -L /usr/aarch64-linux-gnu
#   deploy/smoke-test.sh target/armv7-unknown-linux-gnueabihf/release/diuna qemu-arm-static -L /usr/arm-linux-gnueabihf
#
# Checks, each printed as PASS or FAIL:
#   1. `diuna --version` runs;
#   2. `diuna --check-config config/diuna.toml` exits 0 and prints the zone map;
#   3. the daemon, started on a generated config (two simulated strips with capture files, the second
#      standing in for the spi driver; RGB order, gamma 1.0, no fade-in, MQTT off, no keyboard), writes
#      frames whose wire bytes equal the configured zone colours;
#   4. on SIGTERM it exits with status 0 within 5 s;
#   5. the last frame it captured for each strip is black (the fade-out);
#   6. it saved its state file on the way out;
#   7. `diuna --systemd-drop-in` prints a drop-in for the config (no root, an empty DeviceAllow= list).
# Exits 0 when every check passed, 1 otherwise. SMOKE_START_TIMEOUT (seconds, default 30) bounds the wait for
# the first frames (a debug build under qemu starts slowly).
set -uo pipefail

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
    sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
    [[ $# -ge 1 ]]
    exit $?
fi
bin=$1
shift
runner=("$@")
src=$(cd "$(dirname "$0")/.." && pwd)
start_timeout=${SMOKE_START_TIMEOUT:-30}

[[ -f $bin ]] || { echo "smoke-test: $bin: no such file" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/diuna-smoke.XXXXXX")
pid=
# shellcheck disable=SC2317  # only called by the trap, which older shellchecks do not see
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

failed=0
pass() { echo "PASS: $*"; }
fail() {
    echo "FAIL: $*"
    failed=1
}
# Prints the indented tail of a file (a log) after a failure.
show() {
    echo "  --- ${2:-last lines of} $1:"
    tail -n "${3:-15}" "$1" | sed 's/^/  | /'
}
run() { "${runner[@]}" "$bin" "$@"; }

echo "smoke-test: $bin${runner[*]:+ (under ${runner[*]})}"

# 1. It runs at all.
if version=$(run --version 2>&1); then
    pass "--version: $version"
else
    fail "--version: $version"
fi

# 2. The example config is valid and the zone map is printed.
if [[ -f $src/config/diuna.toml ]]; then
    if run --check-config "$src/config/diuna.toml" >"$tmp/check.out" 2>&1; then
        if grep -q 'zone floor' "$tmp/check.out" && grep -q '^strip main' "$tmp/check.out"; then
            pass "--check-config config/diuna.toml exits 0 and prints the zone map"
            sed 's/^/  | /' "$tmp/check.out"
        else
            fail "--check-config config/diuna.toml exits 0 but prints no zone map"
            show "$tmp/check.out" output
        fi
    else
        fail "--check-config config/diuna.toml exits $?"
        show "$tmp/check.out" output
    fi
else
    echo "SKIP: --check-config: no $src/config/diuna.toml"
fi

# 3. Frames on the simulated wire. Zone colours with brightness 255, gamma 1.0 and RGB order appear on the
# wire byte for byte: strip "one" = 2 x 123456 then 3 x abcdef, strip "two" = 4 x 00ff80.
cat >"$tmp/sim.toml" <<EOF
device_id = "smoke"
name = "Diuna smoke test"
fps = 30

[render]
fade_in = "0s"
fade_out = "300ms"
transition = "0s"

[mqtt]
enabled = false

[state]
path = "$tmp/state.json"

[shutdown]
leds = "off"

[lamp]
zone = "a"

[input]
keyboard = "none"

[[strips]]
id = "one"
driver = "sim"
gpio = 18
dma = 10
led_type = "ws2812"
color_order = "RGB"
gamma = 1.0
max_current_ma = 0
capture = "$tmp/one.jsonl"

[[strips]]
id = "two"
driver = "sim"
emulate = "spi"
gpio = 10
led_type = "ws2812"
color_order = "RGB"
gamma = 1.0
max_current_ma = 0
capture = "$tmp/two.jsonl"

[[zones]]
id = "a"
strip = "one"
pixels = 2
color = [18, 52, 86]
brightness = 255
on = true

[[zones]]
id = "b"
strip = "one"
pixels = 3
color = [171, 205, 239]
brightness = 255
on = true

[[zones]]
id = "c"
strip = "two"
pixels = 4
color = [0, 255, 128]
brightness = 255
on = true
EOF
want_one=123456123456abcdefabcdefabcdef
want_two=00ff8000ff8000ff8000ff80
black_one=${want_one//?/0}
black_two=${want_two//?/0}

# The rgb field of the last line captured for a strip.
last_rgb() {
    [[ -s $1 ]] || return 0
    tail -n 1 "$1" | sed -n 's/.*"rgb":"\([0-9a-f]*\)".*/\1/p'
}

if ! run --check-config "$tmp/sim.toml" >"$tmp/simcheck.out" 2>&1; then
    fail "the generated sim config is not valid"
    show "$tmp/simcheck.out" output
    exit 1
fi

started=$(date +%s%N)
# Not through run(): $! must be the daemon (or its emulator, which passes signals on), not a subshell.
"${runner[@]}" "$bin" --config "$tmp/sim.toml" </dev/null >"$tmp/daemon.log" 2>&1 &
pid=$!
seen=no
deadline=$((SECONDS + start_timeout))
while ((SECONDS < deadline)); do
    if [[ $(last_rgb "$tmp/one.jsonl") == "$want_one" && $(last_rgb "$tmp/two.jsonl") == "$want_two" ]]; then
        seen=yes
        break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if [[ $seen == yes ]]; then
    ms=$((($(date +%s%N) - started) / 1000000))
    frames=$(cat "$tmp/one.jsonl" "$tmp/two.jsonl" | wc -l)
    pass "configured colours on the wire after ${ms} ms ($frames frames): one=$want_one two=$want_two"
elif ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid"
    fail "the daemon exited ($?) before showing the configured colours"
    show "$tmp/daemon.log"
    pid=
else
    fail "no frame with the configured colours within ${start_timeout}s: one=$(last_rgb "$tmp/one.jsonl") two=$(last_rgb "$tmp/two.jsonl")"
    show "$tmp/daemon.log"
fi

# 4. SIGTERM: exit 0 within 5 s.
if [[ -n $pid ]]; then
    kill -TERM "$pid"
    term=$(date +%s%N)
    while kill -0 "$pid" 2>/dev/null && (($(date +%s%N) - term < 5000000000)); do
        sleep 0.05
    done
    ms=$((($(date +%s%N) - term) / 1000000))
    if kill -0 "$pid" 2>/dev/null; then
        fail "still running 5 s after SIGTERM (killed)"
        kill -KILL "$pid"
        wait "$pid" 2>/dev/null
        show "$tmp/daemon.log"
    else
        wait "$pid"
        rc=$?
        if [[ $rc -eq 0 ]]; then
            pass "SIGTERM: exit status 0 after ${ms} ms"
        else
            fail "SIGTERM: exit status $rc after ${ms} ms"
            show "$tmp/daemon.log"
        fi
    fi
    pid=

    # 5. The fade-out ends black.
    one=$(last_rgb "$tmp/one.jsonl")
    two=$(last_rgb "$tmp/two.jsonl")
    if [[ $one == "$black_one" && $two == "$black_two" ]]; then
        pass "last captured frames are black (one=$one two=$two)"
    else
        fail "last captured frames are not black: one=$one two=$two"
    fi

    # 6. The state was flushed.
    if [[ -s $tmp/state.json ]]; then
        pass "state saved to state.json ($(stat -c %s "$tmp/state.json") bytes)"
    else
        fail "no state.json after shutdown"
        show "$tmp/daemon.log"
    fi
fi

# 7. The systemd drop-in for the simulated config: nothing to allow, no root.
if dropin=$(run --systemd-drop-in --config "$tmp/sim.toml" 2>&1) &&
    grep -qx 'DeviceAllow=' <<<"$dropin" && ! grep -q 'User=root' <<<"$dropin"; then
    pass "--systemd-drop-in: $(grep -c '^DeviceAllow=' <<<"$dropin") DeviceAllow line(s), no root"
else
    fail "--systemd-drop-in: $dropin"
fi

if [[ $failed -eq 0 ]]; then
    echo "smoke-test: all checks passed"
else
    echo "smoke-test: FAILED"
fi
exit "$failed"
