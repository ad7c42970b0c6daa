#!/bin/sh
# Prepares the system for the diuna service; run as root after installing the binary and whenever the
# config's drivers or inputs change. Safe to run again. Used by deploy/install.sh and the Debian
# package's postinst (as /usr/share/diuna/service-setup.sh).
#
#   service-setup.sh [BINARY] [CONFIG]      (defaults: /usr/bin/diuna, /etc/diuna/diuna.toml)
#
# 1. the groups spi, gpio, input (Pi OS has them; created on other systems) and the system user diuna
#    in them, which the unit runs as;
# 2. /etc/diuna readable by the diuna group (the config may hold MQTT credentials: not world-readable);
# 3. /etc/udev/rules.d/99-diuna-leds.rules, which gives the Pi 5's /dev/leds* to the gpio group;
# 4. the drop-in /etc/systemd/system/diuna.service.d/10-devices.conf from
#    `diuna --systemd-drop-in`: exactly the devices the config uses, root only for ws281x on PWM/PCM.
#    An invalid config leaves the previous drop-in in place.
set -eu

BIN=${1:-/usr/bin/diuna}
CONFIG=${2:-/etc/diuna/diuna.toml}
DROPIN_DIR=/etc/systemd/system/diuna.service.d
HERE=$(dirname "$0")

for g in spi gpio input; do
    getent group "$g" >/dev/null || groupadd --system "$g"
done
if ! getent passwd diuna >/dev/null; then
    useradd --system --no-create-home --home-dir /var/lib/diuna --shell /usr/sbin/nologin \
        --user-group --groups spi,gpio,input diuna
else
    usermod -a -G spi,gpio,input diuna
fi

if [ -d /etc/diuna ]; then
    chgrp diuna /etc/diuna
    chmod 0750 /etc/diuna
    [ -f "$CONFIG" ] && chgrp diuna "$CONFIG" && chmod 0640 "$CONFIG"
fi

for rules in "$HERE/99-diuna-leds.rules" /usr/share/diuna/99-diuna-leds.rules; do
    if [ -f "$rules" ]; then
        install -D -m 0644 "$rules" /etc/udev/rules.d/99-diuna-leds.rules
        break
    fi
done

if [ -f "$CONFIG" ] && dropin=$("$BIN" --systemd-drop-in --config "$CONFIG"); then
    install -d -m 0755 "$DROPIN_DIR"
    printf '%s\n' "$dropin" >"$DROPIN_DIR/10-devices.conf.new"
    mv -f "$DROPIN_DIR/10-devices.conf.new" "$DROPIN_DIR/10-devices.conf"
    echo "service-setup: wrote $DROPIN_DIR/10-devices.conf for $CONFIG"
else
    echo "service-setup: $CONFIG missing or invalid: $DROPIN_DIR/10-devices.conf left as it was" >&2
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
fi
