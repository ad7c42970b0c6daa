#!/usr/bin/env bash
# Install (or upgrade) diuna as a systemd service on a Raspberry Pi. Run as root from a source tree or an
# unpacked release; running it again is safe.
#
#   sudo deploy/install.sh                  # binary from ./target/release/diuna (or ./diuna)
#   sudo deploy/install.sh path/to/diuna    # a binary built elsewhere (deploy/cross-build.sh)
#   sudo deploy/install.sh --no-start ...   # install and enable, but do not (re)start now
#
# It installs the binary as /usr/bin/diuna, creates /etc/diuna/diuna.toml only if there is none yet (from
# deploy/diuna.toml, the Pi default; without it from config/diuna.toml with driver = "ws281x", the state in
# /var/lib/diuna and no sim capture files), creates /var/lib/diuna, installs deploy/diuna.service, checks
# the config with `diuna --check-config`, runs deploy/service-setup.sh (the diuna user, the /dev/leds*
# udev rule, the drop-in with the config's devices) and then enables and (re)starts the service. An
# existing /etc/diuna/diuna.toml is never changed (its group becomes diuna).
set -euo pipefail

CONFIG_DIR=/etc/diuna
CONFIG=$CONFIG_DIR/diuna.toml
STATE_DIR=/var/lib/diuna
BIN=/usr/bin/diuna
UNIT=/etc/systemd/system/diuna.service
DOC_DIR=/usr/share/doc/diuna

die() {
    echo "install: $*" >&2
    exit 1
}

start=yes
binary=
while [[ $# -gt 0 ]]; do
    case "$1" in
        --no-start) start=no ;;
        -h | --help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1 (try --help)" ;;
        *) [[ -z $binary ]] || die "only one binary, please"; binary=$1 ;;
    esac
    shift
done

[[ $(id -u) -eq 0 ]] || die "run me as root: sudo $0 $*"

# The tree this script came from: it holds config/diuna.toml and deploy/diuna.service.
src=$(cd "$(dirname "$0")/.." && pwd)

# 1. The binary.
if [[ -z $binary ]]; then
    for candidate in "$src/target/release/diuna" "$src/diuna" "$PWD/target/release/diuna"; do
        if [[ -f $candidate ]]; then
            binary=$candidate
            break
        fi
    done
    [[ -n $binary ]] || die "no binary found: build one (cargo build --release --features hardware) or pass its path"
fi
[[ -f $binary ]] || die "$binary: no such file"
if ! version=$("$binary" --version 2>&1); then
    die "$binary does not run here ($version). Is it built for this machine ($(uname -m))? $(file -b "$binary" 2>/dev/null || true)"
fi
if grep -qa 'this build has no hardware support' "$binary"; then
    echo "install: WARNING: $binary was built without --features hardware: strips with driver = \"ws281x\" will not start" >&2
fi
if [[ $binary -ef $BIN ]]; then
    echo "install: $BIN is already the binary given"
else
    install -D -m 0755 "$binary" "$BIN.new"
    mv -f "$BIN.new" "$BIN"
    echo "install: installed $version as $BIN"
fi

# 2. The configuration, only if there is none.
install -d -m 0755 "$CONFIG_DIR"
if [[ -e $CONFIG ]]; then
    echo "install: keeping the existing $CONFIG"
else
    # deploy/diuna.toml is the Pi default (the same file the Debian package installs); older trees only
    # have the laptop example, which is adapted on the fly.
    pi_default=$src/deploy/diuna.toml
    example=$src/config/diuna.toml
    tmp=$(mktemp "$CONFIG_DIR/.diuna.toml.XXXXXX")
    trap 'rm -f "$tmp"' EXIT
    if [[ -f $pi_default ]]; then
        {
            echo "# Created by deploy/install.sh from deploy/diuna.toml on $(date -u +%Y-%m-%d)."
            cat "$pi_default"
        } >"$tmp"
    else
        [[ -f $example ]] || die "$CONFIG does not exist and there is no $pi_default or $example to create it from"
        {
            echo "# Created by deploy/install.sh from config/diuna.toml on $(date -u +%Y-%m-%d)."
            # Real strips; the state in the service's state directory; no sim capture files (active or
            # commented).
            sed -e 's/^\([[:space:]]*driver[[:space:]]*=[[:space:]]*\)"sim"/\1"ws281x"/' \
                -e '/^\[state\]/,/^\[/ s|^\([[:space:]]*path[[:space:]]*=[[:space:]]*\)"[^"]*".*$|\1"/var/lib/diuna/state.json"|' \
                -e '/^[[:space:]]*#\{0,1\}[[:space:]]*capture[[:space:]]*=/d' \
                "$example"
        } >"$tmp"
    fi
    chmod 0640 "$tmp"
    mv "$tmp" "$CONFIG"
    trap - EXIT
    echo "install: created $CONFIG (driver = \"ws281x\"): edit the strips, zones and [mqtt] for your setup"
fi

# 3. The state directory (systemd's StateDirectory= would create it too).
install -d -m 0755 "$STATE_DIR"

# 4. The documentation the unit points to.
if [[ -f $src/deploy/RASPBERRY-PI.md ]]; then
    install -D -m 0644 "$src/deploy/RASPBERRY-PI.md" "$DOC_DIR/RASPBERRY-PI.md"
fi

# 5. Check the configuration before anything starts with it.
echo "install: checking $CONFIG"
if ! "$BIN" --check-config "$CONFIG"; then
    die "$CONFIG is not valid (see above): fix it and run me again"
fi

# 6. The service: the unit, the diuna user, the udev rule and the drop-in with exactly the devices this
# config needs (root only for ws281x on PWM/PCM).
install -D -m 0644 "$src/deploy/diuna.service" "$UNIT"
echo "install: installed $UNIT"
sh "$src/deploy/service-setup.sh" "$BIN" "$CONFIG"
if [[ ! -d /run/systemd/system ]]; then
    echo "install: systemd is not running here: enable it later with  systemctl enable --now diuna"
    exit 0
fi
systemctl daemon-reload
systemctl enable diuna.service
if [[ $start == no ]]; then
    echo "install: enabled; not started (--no-start): systemctl start diuna"
    exit 0
fi
# restart, not start: an upgrade must replace the running binary. With Type=notify this waits until the
# daemon says it is ready, or has failed.
if ! systemctl restart diuna.service; then
    systemctl --no-pager --full status diuna.service || true
    journalctl --no-pager -u diuna.service -n 30 || true
    die "diuna did not start (see above; deploy/RASPBERRY-PI.md has a troubleshooting section)"
fi
systemctl --no-pager --full status diuna.service || true
echo
echo "install: diuna is running. Follow its logs with:  journalctl -u diuna -f"
echo "         Reload the config after editing it:     systemctl reload diuna"
