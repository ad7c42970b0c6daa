#!/usr/bin/env bash
# Cross-build release binaries of diuna, with real WS281x/GPIO support (`--features hardware`), for a
# Raspberry Pi from an x86-64 Debian/Ubuntu machine, using Debian's cross compilers.
#
#   deploy/cross-build.sh                     # both targets
#   deploy/cross-build.sh aarch64             # 64-bit Pi OS only (Pi 3, 4, Zero 2 W, CM3/CM4)
#   deploy/cross-build.sh armv7 -- --locked   # 32-bit Pi OS only; arguments after -- go to cargo
#
# Targets: aarch64-unknown-linux-gnu (64-bit Pi OS) and armv7-unknown-linux-gnueabihf (32-bit Pi OS on a
# Pi 2 or newer). ARMv6 boards (Pi 1, Zero, Zero W) need arm-unknown-linux-gnueabihf, which Debian's armhf
# cross compiler does not target: build on the Pi itself there (see deploy/RASPBERRY-PI.md).
#
# Output: target/<triple>/release/diuna (or under $CARGO_TARGET_DIR). CARGO_BUILD_JOBS=1 limits the
# parallelism on a small machine.
#
# Run as root, it installs what it needs with apt-get; otherwise it says which packages are missing.
# rs_ws281x's build script compiles the rpi_ws281x C library with the cross gcc (cc crate, CC_<triple>) and
# generates its bindings with bindgen through libclang (BINDGEN_EXTRA_CLANG_ARGS_<triple> points clang at
# the cross headers); it also runs `git submodule update`, so git must be installed.
#
# The binaries link against the cross glibc of the build machine (Debian 12: glibc 2.36, the same as Pi OS
# bookworm). The script prints the newest glibc symbol version each binary needs: the Pi's glibc
# (`ldd --version`) must be at least that. With qemu-user-static installed it then runs
# deploy/smoke-test.sh on each binary under qemu (simulated strips: no Pi needed) and exits non-zero if
# a smoke test fails. The spi and pio drivers are pure Rust and always built; `hardware` adds rpi_ws281x
# and rppal.
set -euo pipefail

ALL_TARGETS=(aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf)

die() {
    echo "cross-build: $*" >&2
    exit 1
}

# The Debian (GNU) triple of a Rust target: the prefix of its cross tools and its directory under /usr.
gnu_triple() {
    case "$1" in
        aarch64-unknown-linux-gnu) echo aarch64-linux-gnu ;;
        armv7-unknown-linux-gnueabihf) echo arm-linux-gnueabihf ;;
        *) die "unsupported target $1 (use one of: ${ALL_TARGETS[*]})" ;;
    esac
}

# The Debian packages a target needs.
packages_for() {
    case "$1" in
        aarch64-unknown-linux-gnu) echo gcc-aarch64-linux-gnu libc6-dev-arm64-cross ;;
        armv7-unknown-linux-gnueabihf) echo gcc-arm-linux-gnueabihf libc6-dev-armhf-cross ;;
    esac
}

# The qemu user-mode emulator that can smoke-test a target's binary, if any.
qemu_for() {
    case "$1" in
        aarch64-unknown-linux-gnu) echo qemu-aarch64-static ;;
        armv7-unknown-linux-gnueabihf) echo qemu-arm-static ;;
    esac
}

targets=()
cargo_args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --) shift; cargo_args=("$@"); break ;;
        -h | --help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        aarch64 | arm64) targets+=(aarch64-unknown-linux-gnu) ;;
        armv7 | armhf) targets+=(armv7-unknown-linux-gnueabihf) ;;
        *-*) gnu_triple "$1" >/dev/null; targets+=("$1") ;;
        *) die "unknown argument $1 (try --help)" ;;
    esac
    shift
done
[[ ${#targets[@]} -gt 0 ]] || targets=("${ALL_TARGETS[@]}")

cd "$(dirname "$0")/.."
[[ -f Cargo.toml ]] || die "run me from a diuna source tree (no Cargo.toml in $PWD)"

# 1. Debian packages.
needed=(libclang-dev git file binutils)
for t in "${targets[@]}"; do
    read -r -a pkgs <<<"$(packages_for "$t")"
    needed+=("${pkgs[@]}")
done
missing=()
for p in "${needed[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "cross-build: installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    else
        die "missing packages: ${missing[*]} (run me as root, or: sudo apt-get install ${missing[*]})"
    fi
fi

# 2. Rust standard libraries for the targets.
command -v cargo >/dev/null || die "cargo not found (install Rust with rustup)"
if command -v rustup >/dev/null; then
    rustup target add "${targets[@]}" || die "rustup could not add the targets ${targets[*]}"
else
    echo "cross-build: no rustup; assuming the standard libraries for ${targets[*]} are installed" >&2
fi

# 3. Build each target.
target_dir=${CARGO_TARGET_DIR:-target}
built=()
for t in "${targets[@]}"; do
    gnu=$(gnu_triple "$t")
    var=${t//-/_}              # aarch64_unknown_linux_gnu
    upper=${var^^}             # AARCH64_UNKNOWN_LINUX_GNU
    echo "cross-build: building $t with $gnu-gcc"
    (
        export "CARGO_TARGET_${upper}_LINKER=$gnu-gcc"
        export "CC_${var}=$gnu-gcc"
        export "AR_${var}=$gnu-ar"
        # bindgen runs libclang with -target $t; point it at the cross C headers (Debian keeps them in
        # /usr/<gnu>/include, which --sysroot=/usr/<gnu> also finds).
        export "BINDGEN_EXTRA_CLANG_ARGS_${var}=--sysroot=/usr/$gnu -I/usr/$gnu/include"
        export RPI_WS281X_SYSROOT="/usr/$gnu"
        cargo build --release --features hardware --target "$t" ${cargo_args[@]+"${cargo_args[@]}"}
    )
    built+=("$target_dir/$t/release/diuna")
done

# 4. Report and smoke-test.
smoke_failed=()
echo
for bin in "${built[@]}"; do
    t=$(basename "$(dirname "$(dirname "$bin")")")
    gnu=$(gnu_triple "$t")
    file "$bin"
    echo "  size: $(du -h "$bin" | cut -f1) ($(stat -c %s "$bin") bytes)"
    glibc=$("$gnu-objdump" -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n1 || true)
    echo "  needs: ${glibc:-no versioned glibc symbols} (the Pi's glibc must be at least this)"
    qemu=$(qemu_for "$t")
    if command -v "$qemu" >/dev/null; then
        echo "  smoke test under $qemu:"
        if ! SMOKE_START_TIMEOUT=${SMOKE_START_TIMEOUT:-60} deploy/smoke-test.sh "$bin" "$qemu" -L "/usr/$gnu" | sed 's/^/    /'; then
            smoke_failed+=("$t")
        fi
    else
        echo "  no $qemu: smoke test skipped (apt-get install qemu-user-static)"
    fi
done
if [[ ${#smoke_failed[@]} -gt 0 ]]; then
    die "smoke test failed for ${smoke_failed[*]}"
fi
echo
echo "Copy one to the Pi and install it:  scp ${built[0]} pi@raspberrypi:  then on the Pi,"
echo "from a source tree or unpacked release:  sudo deploy/install.sh ~/diuna"
