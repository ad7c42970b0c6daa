#!/usr/bin/env bash
# Writes deploy/hot-functions.txt: the functions a running daemon executes, which
# deploy/link-hot-first.sh places first in a release binary (why: see that script).
#
#   deploy/profile-hot-functions.sh
#
# It builds a static release binary with symbols (in target/hot-profile) and runs it on the seed config
# (config/diuna.toml: two simulated strips, five zones) against a Mosquitto on a free port, twice. The
# first run leaves the state file that every later start restores. The second runs under valgrind's
# callgrind while paho-mqtt does what a Home Assistant user does: switches every zone on with one of the
# original effects, changes brightness, colour and effect speed 300 times at 50 a second, switches the
# master off and on, selects a preset; then SIGTERM stops the daemon. Every function that ran in the
# binary (std, the dependencies and the C library included) is listed without crate hashes: first, by
# name, those that ran over and over; then, by name, the rest.
# Re-run it when the code has changed much (CI says when fewer than 90 % of the listed functions are
# found): a function missing from the list still works, it only lands among the cold ones. Needs
# valgrind, mosquitto and python3 with paho-mqtt (what .ci/run installs, plus valgrind). Takes about
# a minute after the build.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$src"
for tool in valgrind mosquitto python3 c++filt; do
    command -v "$tool" >/dev/null || { echo "profile-hot-functions: $tool not found" >&2; exit 1; }
done

# v0 symbol names, as link-hot-first.sh's builds have: they name each instance of a generic function
# by its type arguments (the legacy names differ only by a hash, which differs between targets).
# Static, as the Pi Zero's package is: the C library's functions are then in the binary, and listed.
host=$(rustc -vV | sed -n 's/^host: //p')
target_dir=$src/target/hot-profile
RUSTFLAGS="-C symbol-mangling-version=v0 -C target-feature=+crt-static" CARGO_PROFILE_RELEASE_STRIP=none \
    cargo build --release --target "$host" --target-dir "$target_dir"
bin=$target_dir/$host/release/diuna

tmp=$(mktemp -d "${TMPDIR:-/tmp}/diuna-hot.XXXXXX")
broker=
daemon=
cleanup() {
    [[ -n $daemon ]] && kill "$daemon" 2>/dev/null
    [[ -n $broker ]] && kill "$broker" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" >"$tmp/mosquitto.conf"
mosquitto -c "$tmp/mosquitto.conf" >"$tmp/mosquitto.log" 2>&1 &
broker=$!

{
    echo 'device_id = "seed"'
    sed -e "s/^port = 1883/port = $port/" -e 's/^host = "localhost"/host = "127.0.0.1"/' \
        -e "s#^path = \"/tmp/diuna-state.json\"#path = \"$tmp/state.json\"#" config/diuna.toml
} >"$tmp/diuna.toml"
grep -q "port = $port" "$tmp/diuna.toml" || { echo "profile-hot-functions: config/diuna.toml has no 'port = 1883'" >&2; exit 1; }

cat >"$tmp/workload.py" <<'EOF'
import sys, time
import paho.mqtt.client as mqtt

port, full = int(sys.argv[1]), sys.argv[2] == "full"
online = []
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, "hot-profile")
c.on_message = lambda _c, _u, m: online.append(m.payload == b"online")
c.connect("127.0.0.1", port)
c.subscribe("diuna/seed/availability")
c.loop_start()
deadline = time.time() + 120  # the daemon starts slowly under valgrind
while not any(online):
    if time.time() > deadline:
        sys.exit("profile-hot-functions: the daemon never came online")
    time.sleep(0.1)
if not full:
    sys.exit(0)

zones = ["floor", "desk", "top", "middle", "bottom"]
effects = ["breathe", "color_fade", "snake", "breathe", "color_snake"]
for z, e in zip(zones, effects):
    c.publish(f"diuna/seed/{z}/set", '{"state":"ON","effect":"%s"}' % e, qos=1)
t0 = time.time()
for n in range(300):
    z, r = zones[n % 5], n // 5
    if r % 3 == 0:
        c.publish(f"diuna/seed/{z}/set", '{"brightness":%d}' % (100 + r % 150), qos=1)
    elif r % 3 == 1:
        c.publish(f"diuna/seed/{z}/speed/set", str(20 + r % 60), qos=1)
    else:
        c.publish(f"diuna/seed/{z}/set", '{"color":{"r":%d,"g":80,"b":200}}' % (r * 7 % 256), qos=1)
    time.sleep(max(0.0, t0 + (n + 1) / 50 - time.time()))
c.publish("diuna/seed/all/set", '{"state":"OFF"}', qos=1)
time.sleep(1)
c.publish("diuna/seed/all/set", '{"state":"ON","brightness":200}', qos=1)
c.publish("diuna/seed/set", '{"preset":"warm_white","zone":"desk"}', qos=1)
time.sleep(2)
c.loop_stop()
c.disconnect()
EOF

# run <online | full> [a command to run the daemon under]: starts the daemon,
# waits until it is online, runs the workload, stops it with SIGTERM.
run() {
    local workload=$1
    shift
    "$@" "$bin" --config "$tmp/diuna.toml" </dev/null >"$tmp/diuna.log" 2>&1 &
    daemon=$!
    python3 "$tmp/workload.py" "$port" "$workload"
    kill -TERM "$daemon"
    wait "$daemon" || { echo "profile-hot-functions: the daemon did not stop cleanly:" >&2; tail -20 "$tmp/diuna.log" >&2; exit 1; }
    daemon=
}

# A first run leaves the state file that every later start restores, as at a user's; the second is
# the profile.
run online
run full valgrind --tool=callgrind --demangle=no --compress-strings=no --callgrind-out-file="$tmp/callgrind.out"

# Per function of diuna's binary ("ob=" names the object): how often it was called ("calls=" lines,
# under the callee's "cfn=") and how many instructions it ran itself (cost lines; the one after a
# "calls=" line is the call's inclusive cost, not the caller's own). Callgrind marks a recursive call's
# depth with 'N.
awk -v bin="$bin" '
    /^ob=/ { ob = substr($0, 4); next }
    /^fn=/ { fn = substr($0, 4); sub(/'"'"'[0-9]+$/, "", fn); ours = (ob == bin); if (ours) seen[fn] = 1; next }
    /^cfn=/ { cfn = substr($0, 5); sub(/'"'"'[0-9]+$/, "", cfn); next }
    /^calls=/ { split($1, a, "="); calls[cfn] += a[2]; inclusive = 1; next }
    /^[0-9+*-]/ { if (inclusive) inclusive = 0; else if (ours) own[fn] += $NF; next }
    END { for (f in seen) if (f !~ /^0x|^\(below main\)/) printf "%d\t%d\t%s\n", calls[f], own[f], f }
' "$tmp/callgrind.out" >"$tmp/functions.tsv"
cut -f3 "$tmp/functions.tsv" | sort -u | deploy/link-hot-first.sh --names >"$tmp/names.tsv"
# "1<TAB>name" for what runs over and over (called 100 times or more, or a million instructions of its
# own: the frame and command paths, the loops of the threads), "0<TAB>name" for the rest (start-up,
# now and then). A name shared by several symbols is steady if one of them is.
awk -F'\t' 'NR == FNR { if ($1 >= 100 || $2 >= 1000000) steady[$3] = 1; next }
             { if ($2 in steady) hot[$1] = 1; else if (!($1 in hot)) hot[$1] = 0 }
             END { for (n in hot) print hot[n] "\t" n }' "$tmp/functions.tsv" "$tmp/names.tsv" >"$tmp/hot.tsv"
count=$(wc -l <"$tmp/hot.tsv")
steady=$(grep -c '^1' "$tmp/hot.tsv" || true)
[[ $count -gt 100 && $steady -gt 10 ]] || { echo "profile-hot-functions: only $count functions ran ($steady over and over): is the profile right?" >&2; exit 1; }
{
    echo "# The functions a running diuna executes, without crate hashes: deploy/link-hot-first.sh links"
    echo "# them first, in this order. Written by deploy/profile-hot-functions.sh from $(git rev-parse --short HEAD)."
    echo "# $steady run over and over (the frame and command paths), together for the caches:"
    grep '^1' "$tmp/hot.tsv" | cut -f2 | LC_ALL=C sort
    echo "# $((count - steady)) run at start-up or now and then:"
    grep '^0' "$tmp/hot.tsv" | cut -f2 | LC_ALL=C sort
} >deploy/hot-functions.txt
echo "profile-hot-functions: deploy/hot-functions.txt lists $count functions, $steady of them run over and over"
