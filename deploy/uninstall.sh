#!/usr/bin/env bash
# Remove the diuna service and binary installed by deploy/install.sh. Run as root; running it again is safe.
#
#   sudo deploy/uninstall.sh            # keeps /etc/diuna (config) and /var/lib/diuna (state)
#   sudo deploy/uninstall.sh --purge    # removes those too
set -euo pipefail

UNIT=/etc/systemd/system/diuna.service

die() {
    echo "uninstall: $*" >&2
    exit 1
}

purge=no
while [[ $# -gt 0 ]]; do
    case "$1" in
        --purge) purge=yes ;;
        -h | --help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument $1 (try --help)" ;;
    esac
    shift
done

[[ $(id -u) -eq 0 ]] || die "run me as root: sudo $0 $*"

if [[ -d /run/systemd/system ]]; then
    # Stopping fades the LEDs out (or leaves them lit, per [shutdown] leds) and publishes "offline".
    systemctl disable --now diuna.service 2>/dev/null || true
fi
rm -f "$UNIT"
if [[ -d /run/systemd/system ]]; then
    systemctl daemon-reload
    systemctl reset-failed diuna.service 2>/dev/null || true
fi
rm -f /usr/bin/diuna /etc/udev/rules.d/99-diuna-leds.rules
rm -rf /usr/share/doc/diuna
echo "uninstall: removed the diuna service and /usr/bin/diuna"

if [[ $purge == yes ]]; then
    # Also local changes made with `systemctl edit diuna`.
    rm -rf /etc/diuna /var/lib/diuna "$UNIT.d"
    if [[ -d /run/systemd/system ]]; then
        systemctl daemon-reload
    fi
    # The service user service-setup.sh created (its groups spi, gpio, input stay: Pi OS owns them).
    if getent passwd diuna >/dev/null; then
        userdel diuna 2>/dev/null || true
    fi
    echo "uninstall: removed /etc/diuna, /var/lib/diuna, $UNIT.d and the diuna user"
else
    echo "uninstall: kept /etc/diuna (config), /var/lib/diuna (state) and any $UNIT.d drop-ins: --purge removes them"
fi
