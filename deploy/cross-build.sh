#!/usr/bin/env bash
# Cross-build release binaries of diuna, with real WS281x/GPIO support (`--features hardware`), for a
# Raspberry Pi from an x86-64 Debian/Ubuntu machine, using Debian's cross compilers.
#
#   deploy/cross-build.sh                     # aarch64 and armv7 (and armv6 when ARMV6_SYSROOT is set)
#   deploy/cross-build.sh aarch64             # 64-bit Pi OS only (Pi 3, 4, 5, Zero 2 W, CM3/CM4)
#   deploy/cross-build.sh armv7 -- --locked   # 32-bit Debian armhf (Pi 2+); arguments after -- go to cargo
#   ARMV6_SYSROOT=/srv/pios-armhf deploy/cross-build.sh armv6   # 32-bit Pi OS: every Pi, Zero and Pi 1 too
#
# Targets: aarch64-unknown-linux-gnu (64-bit Pi OS), armv7-unknown-linux-gnueabihf (ARMv7: Debian's armhf,
# a Pi 2 or newer) and arm-unknown-linux-gnueabihf (ARMv6 + VFP: Raspberry Pi OS's armhf, whose userland
# is built for the Pi 1 / Zero / Zero W and so runs on every Pi). Debian's armhf cross libraries are
# ARMv7 Thumb-2 (its crt1.o, libc_nonshared.a, libgcc.a, crtbegin.o): linked into an ARMv6 binary they
# crash a Pi Zero with SIGILL before main. The armv6 build therefore links against a Pi OS armhf sysroot
# given as ARMV6_SYSROOT (the root of a 32-bit Pi OS with libc6-dev, at least its /lib, /usr/lib and
# /usr/include: `rsync -a pi@raspberrypi:/lib pi@raspberrypi:/usr/include pi@raspberrypi:/usr/lib DIR/`
# with DIR/usr made first, or debootstrap --arch=armhf from the Raspbian archive), still with Debian's cross
# gcc, made to pick the sysroot's ARMv6 start files and libgcc first (-B) and to compile C for ARMv6.
# Its smoke test runs under `qemu-arm -cpu arm1176` (the Pi Zero's core), which faults on any ARMv7
# instruction on the start-up path.
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
ARMV6=arm-unknown-linux-gnueabihf

die() {
    echo "cross-build: $*" >&2
    exit 1
}

# The Debian (GNU) triple of a Rust target: the prefix of its cross tools and its directory under /usr.
gnu_triple() {
    case "$1" in
        aarch64-unknown-linux-gnu) echo aarch64-linux-gnu ;;
        armv7-unknown-linux-gnueabihf | "$ARMV6") echo arm-linux-gnueabihf ;;
        *) die "unsupported target $1 (use one of: ${ALL_TARGETS[*]} $ARMV6)" ;;
    esac
}

# The Debian packages a target needs.
packages_for() {
    case "$1" in
        aarch64-unknown-linux-gnu) echo gcc-aarch64-linux-gnu libc6-dev-arm64-cross ;;
        armv7-unknown-linux-gnueabihf) echo gcc-arm-linux-gnueabihf libc6-dev-armhf-cross ;;
        "$ARMV6") echo gcc-arm-linux-gnueabihf ;;
    esac
}

# The qemu user-mode emulator that can smoke-test a target's binary, if any.
qemu_for() {
    case "$1" in
        aarch64-unknown-linux-gnu) echo qemu-aarch64-static ;;
        armv7-unknown-linux-gnueabihf | "$ARMV6") echo qemu-arm-static ;;
    esac
}

# The CPU architecture an ARM object or binary says it needs (readelf's Tag_CPU_arch: v6, v6KZ, v7, ...).
cpu_arch() {
    arm-linux-gnueabihf-readelf -A "$1" 2>/dev/null | sed -n 's/^ *Tag_CPU_arch: *//p' | sort -u | tr '\n' ' '
}

# Checks ARMV6_SYSROOT and prints the sysroot's gcc library directory (its ARMv6 crtbegin.o and libgcc).
armv6_sysroot() {
    local root=${ARMV6_SYSROOT:-}
    [[ -n $root ]] || die "armv6 needs ARMV6_SYSROOT: the root of a 32-bit Raspberry Pi OS (see --help)"
    local crt=$root/usr/lib/arm-linux-gnueabihf/crt1.o
    [[ -f $crt ]] || die "ARMV6_SYSROOT=$root has no usr/lib/arm-linux-gnueabihf/crt1.o (libc6-dev)"
    case "$(cpu_arch "$crt")" in
        *v7*) die "ARMV6_SYSROOT=$root is an ARMv7 (Debian armhf) sysroot: its crt1.o is ARMv7; use Raspberry Pi OS's" ;;
    esac
    local gccdir
    gccdir=$(find "$root/usr/lib/gcc/arm-linux-gnueabihf" -name crtbegin.o -printf '%h\n' 2>/dev/null | sort -V | tail -n1)
    [[ -n $gccdir ]] || die "ARMV6_SYSROOT=$root has no usr/lib/gcc/arm-linux-gnueabihf/<version>/crtbegin.o (libgcc-<version>-dev)"
    echo "$gccdir"
}

targets=()
cargo_args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --) shift; cargo_args=("$@"); break ;;
        -h | --help) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        aarch64 | arm64) targets+=(aarch64-unknown-linux-gnu) ;;
        armv7) targets+=(armv7-unknown-linux-gnueabihf) ;;
        armv6 | armhf | zero | pi0) targets+=("$ARMV6") ;;
        *-*) gnu_triple "$1" >/dev/null; targets+=("$1") ;;
        *) die "unknown argument $1 (try --help)" ;;
    esac
    shift
done
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=("${ALL_TARGETS[@]}")
    [[ -z ${ARMV6_SYSROOT:-} ]] || targets+=("$ARMV6")
fi

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
        if [[ $t == "$ARMV6" ]]; then
            gccdir=$(armv6_sysroot)
            root=$ARMV6_SYSROOT
            # C (rpi_ws281x, ring) for the ARM1176: ARMv6 with VFPv2, ARM state (no Thumb-2).
            export "CFLAGS_${var}=-march=armv6kz+fp -mfpu=vfp -mfloat-abi=hard -marm --sysroot=$root"
            export "BINDGEN_EXTRA_CLANG_ARGS_${var}=--sysroot=$root -I$root/usr/include -I$root/usr/include/arm-linux-gnueabihf"
            export RPI_WS281X_SYSROOT="$root"
            # Link against the sysroot's ARMv6 glibc, start files and libgcc, ahead of the cross gcc's own
            # (ARMv7) ones.
            export "CARGO_TARGET_${upper}_RUSTFLAGS=-C link-arg=--sysroot=$root -C link-arg=-B$gccdir -C link-arg=-B$root/usr/lib/arm-linux-gnueabihf -C link-arg=-L$gccdir"
        fi
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
        qemu_args=(-L "/usr/$gnu")
        if [[ $t == "$ARMV6" ]]; then
            qemu_args=(-cpu arm1176 -L "$ARMV6_SYSROOT")
            echo "  CPU architecture attributes: $(cpu_arch "$bin")(ring's NEON code says v7 but runs only where NEON is detected; the arm1176 run below is the proof)"
        fi
        if ! SMOKE_START_TIMEOUT=${SMOKE_START_TIMEOUT:-60} deploy/smoke-test.sh "$bin" "$qemu" "${qemu_args[@]}" | sed 's/^/    /'; then
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
