#!/usr/bin/env bash
# Builds diuna's release binary for this machine linked as the packages are: through
# deploy/link-hot-first.sh, which places the code a running daemon executes first, for 1.4–1.9 MiB less
# memory at the same speed (docs/PERFORMANCE.md, "Hot functions first"). The arguments go to
# `cargo build --release`; the binary is <target dir>/release/diuna.
#
#   deploy/build-release.sh --features hardware            # on a Pi; then: sudo deploy/install.sh
#   deploy/build-release.sh --locked --target-dir target/hot-first   # what CI and the frame_cost bench build
#
# It needs rustup's toolchain, whose `rust-lld` does the link; without it (Debian's rustc-web has none) it
# stops before compiling anything, and `cargo build --release` builds the same program, linked as usual.
# Cross builds for the Pi go through deploy/cross-build.sh, which links the same way.
set -euo pipefail
cd "$(dirname "$0")/.."

host=$(rustc -vV | sed -n 's/^host: //p')
lld="$(rustc --print sysroot)/lib/rustlib/$host/bin/gcc-ld/ld.lld"
if [[ ! -x $lld ]]; then
    echo "build-release: this toolchain has no $lld (rustup's toolchains ship it);" >&2
    echo "build-release: \`cargo build --release $*\` builds the same program, linked as usual" >&2
    exit 1
fi
# The linker variable names the target, e.g. CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER.
export "CARGO_TARGET_$(tr 'a-z.-' 'A-Z__' <<<"$host")_LINKER=$PWD/deploy/link-hot-first.sh"
# v0 symbol names tell a generic function's instances apart, so the hot list can name the ones we run.
export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C symbol-mangling-version=v0"
exec cargo build --release "$@"
