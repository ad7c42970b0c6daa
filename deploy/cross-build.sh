#!/usr/bin/env bash
# Cross-build release binaries of diuna, with real WS281x/GPIO support (`--features hardware`), for a
# Raspberry Pi from an x86-64 Debian/Ubuntu machine, using Debian's cross compilers.
#
#   deploy/cross-build.sh                     # aarch64, armv7 and armv6
#   deploy/cross-build.sh aarch64             # 64-bit Pi OS only (Pi 3, 4, 5, Zero 2 W, CM3/CM4)
#   deploy/cross-build.sh armv7 -- --locked   # 32-bit Debian armhf (Pi 2+); arguments after -- go to cargo
#   deploy/cross-build.sh armv6               # 32-bit Pi OS or Debian armhf on every Pi, Zero and Pi 1 too
#
# Targets: aarch64-unknown-linux-gnu (64-bit Pi OS), armv7-unknown-linux-gnueabihf (ARMv7: Debian's armhf,
# a Pi 2 or newer) and arm-unknown-linux-gnueabi (ARMv6: the Pi 1 / Zero / Zero W's ARM1176, and every
# newer Pi). Raspberry Pi OS's armhf is ARMv6 + VFP, Debian's armhf is ARMv7 Thumb-2, and Debian ships no
# ARMv6 hard-float C library: its armhf cross libraries (crt1.o, libc_nonshared.a, libgcc.a, crtbegin.o)
# crash a Pi Zero with SIGILL before main. The C runtime Debian does ship for older cores is armel
# (ARMv5TE, ARM state, soft-float calling convention), which an ARM1176 runs. So armv6 builds for
# arm-unknown-linux-gnueabi against Debian's armel cross glibc, linked statically (it then runs on any
# 32-bit ARM Linux, Pi OS and Debian armhf included, which have no armel loader), with the Pi's VFPv2 used
# inside functions (softfp: Rust -C target-cpu=arm1176jzf-s, C -mfloat-abi=softfp) and the C parts
# compiled for ARMv6 in ARM state. Its smoke test runs under `qemu-arm -cpu arm1176` (the Pi Zero's
# core), which faults on any ARMv7 instruction that runs. With cargo-deb installed it then makes the
# armhf and armel Debian packages of that binary (target/debian/).
#
# Rust standard library: `rustup target add` when rustup has it for the target; when it cannot (some
# mirrors have no std for arm-unknown-linux-gnueabi), std is built from the rust-src component with
# `-Z build-std` (RUSTC_BOOTSTRAP=1; std's own dependencies come from crates.io). The script says which.
#
# Every target links through deploy/link-hot-first.sh: the cross gcc drives Rust's own lld, which places
# the functions a running daemon executes (deploy/hot-functions.txt) first, so the code it never runs is
# never resident (x86-64: 1.4 MiB less peak RSS dynamic, 1.9 MiB static; docs/PERFORMANCE.md, "Hot
# functions first").
#
# Output: target/<triple>/release/diuna (or under $CARGO_TARGET_DIR). CARGO_BUILD_JOBS=1 limits the
# parallelism on a small machine.
#
# Run as root, it installs what it needs with apt-get; otherwise it says which packages are missing.
# rs_ws281x's build script compiles the rpi_ws281x C library with the cross gcc (cc crate, CC_<triple>) and
# generates its bindings with bindgen through libclang (BINDGEN_EXTRA_CLANG_ARGS_<triple> points clang at
# the cross headers); it also runs `git submodule update`, so git must be installed.
#
# aarch64 and armv7 link dynamically against the cross glibc of the build machine (Debian 12: glibc 2.36,
# the same as Pi OS bookworm); the script prints the newest glibc symbol version each needs: the Pi's glibc
# (`ldd --version`) must be at least that. armv6 is static and needs none. With qemu-user-static installed
# it then runs deploy/smoke-test.sh on each binary under qemu (simulated strips: no Pi needed) and exits
# non-zero if a smoke test fails. The spi and pio drivers are pure Rust and always built; `hardware` adds
# rpi_ws281x and rppal.
set -euo pipefail

ARMV6=arm-unknown-linux-gnueabi
ALL_TARGETS=(aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf "$ARMV6")

die() {
    echo "cross-build: $*" >&2
    exit 1
}

# The Debian (GNU) triple of a Rust target: the prefix of its cross tools and its directory under /usr.
gnu_triple() {
    case "$1" in
        aarch64-unknown-linux-gnu) echo aarch64-linux-gnu ;;
        armv7-unknown-linux-gnueabihf) echo arm-linux-gnueabihf ;;
        "$ARMV6") echo arm-linux-gnueabi ;;
        *) die "unsupported target $1 (use one of: ${ALL_TARGETS[*]})" ;;
    esac
}

# The Debian packages a target needs.
packages_for() {
    case "$1" in
        aarch64-unknown-linux-gnu) echo gcc-aarch64-linux-gnu libc6-dev-arm64-cross ;;
        armv7-unknown-linux-gnueabihf) echo gcc-arm-linux-gnueabihf libc6-dev-armhf-cross ;;
        "$ARMV6") echo gcc-arm-linux-gnueabi libc6-dev-armel-cross ;;
    esac
}

# The qemu user-mode emulator that can smoke-test a target's binary, if any.
qemu_for() {
    case "$1" in
        aarch64-unknown-linux-gnu) echo qemu-aarch64-static ;;
        armv7-unknown-linux-gnueabihf | "$ARMV6") echo qemu-arm-static ;;
    esac
}

# How many objects of an ARM object, archive or binary say they need each CPU architecture (readelf's
# Tag_CPU_arch: v5TE, v6, v6KZ, v7, ...), e.g. "1884 x v5TE".
cpu_arch() {
    arm-linux-gnueabi-readelf -A "$@" 2>/dev/null | sed -n 's/^ *Tag_CPU_arch: *//p' | sort | uniq -c |
        awk '{ printf "%s%d x %s", sep, $1, $2; sep = ", " }'
}

# The members of an ARM archive that say they need more than ARMv6 or NEON, e.g. "sha256-armv4 (v7 NEONv1)".
above_v6() {
    arm-linux-gnueabi-readelf -A "$1" 2>/dev/null | awk '
        function flush() { if (m != "" && (a ~ /^v[78]/ || n != "")) { printf "%s%s (%s%s)", sep, m, a, n; sep = ", " } }
        /^File: / { flush(); m = $2; sub(/.*\(/, "", m); sub(/\)$/, "", m); sub(/^[0-9a-f]+-/, "", m); sub(/\.o$/, "", m); a = ""; n = "" }
        /Tag_CPU_arch:/ { a = $2 }
        /Tag_Advanced_SIMD_arch:/ { n = " " $2 }
        END { flush() }'
}

# What the objects that went into an armv6 binary say they need (readelf -A): the C runtime and libgcc
# (Debian's armel), the C and assembly the build scripts compiled (rpi_ws281x, ring). The Rust code (one
# object after fat LTO) is compiled for the arm1176jzf-s (v6KZ + VFPv2). lld (deploy/link-hot-first.sh)
# does not merge the objects' attributes: the binary carries the first object's (crt1.o's), so the objects
# are what to read. Fails if anything but ring says it needs more than ARMv6.
armv6_attributes() {
    local bin=$1 dir=$2 gnu=$3 f above
    local libdir=/usr/$gnu/lib gccdir
    gccdir=$(dirname "$("$gnu-gcc" -print-libgcc-file-name)")
    # Floating point in Rust and C code is VFP (armel's glibc and libm are soft-float).
    echo "  VFP arithmetic instructions: $("$gnu-objdump" -d --no-show-raw-insn "$bin" | grep -cE $'\tv(add|sub|mul|div|mla|mls|nmul|sqrt)\\.f(32|64)\t')"
    echo "  CPU architecture attributes (readelf -A):"
    echo "    binary (lld: the first object's, crt1.o's): $("$gnu-readelf" -A "$bin" | sed -n 's/^ *Tag_\(CPU_arch\|THUMB_ISA_use\|FP_arch\|Advanced_SIMD_arch\): */\1 /p' | paste -sd, | sed 's/,/, /g')"
    # The newest build-script outputs (older builds with other flags may linger in the target directory).
    # shellcheck disable=SC2012  # ls -t: sorting by time; these paths have no odd characters
    for f in "$libdir/crt1.o" "$libdir/libc.a" "$libdir/libm.a" "$gccdir/crtbeginT.o" "$gccdir/libgcc.a" \
        "$gccdir/libgcc_eh.a" "$(ls -t "$dir"/build/rs_ws281x-*/out/libws2811.a 2>/dev/null | head -n1)" \
        "$(ls -t "$dir"/build/ring-*/out/libring_core_*[0-9]_.a 2>/dev/null | head -n1)"; do
        [[ -f $f ]] || continue
        echo "    $(basename "$f"): $(cpu_arch "$f")"
        above=$(above_v6 "$f")
        [[ -z $above ]] && continue
        # ring's NEON routines: ring calls them only when the kernel reports NEON (AT_HWCAP); a Pi 1 /
        # Zero runs its plain ARM code.
        echo "      above v6 or NEON: $above"
        [[ $f == */libring_core_* ]] || die "$f has code for more than ARMv6: $above"
    done
}

targets=()
cargo_args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --) shift; cargo_args=("$@"); break ;;
        -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        aarch64 | arm64) targets+=(aarch64-unknown-linux-gnu) ;;
        armv7) targets+=(armv7-unknown-linux-gnueabihf) ;;
        armv6 | armhf | armel | zero | pi0) targets+=("$ARMV6") ;;
        *-*) gnu_triple "$1" >/dev/null; targets+=("$1") ;;
        *) die "unknown argument $1 (try --help)" ;;
    esac
    shift
done
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=("${ALL_TARGETS[@]}")
fi

cd "$(dirname "$0")/.."
[[ -f Cargo.toml ]] || die "run me from a diuna source tree (no Cargo.toml in $PWD)"
if [[ -n ${RUSTFLAGS:-}${CARGO_ENCODED_RUSTFLAGS:-} ]]; then
    # They would replace the per-target flags below (v0 symbol names; armv6's static link and CPU).
    die "unset RUSTFLAGS / CARGO_ENCODED_RUSTFLAGS: they override the flags this script sets for each target"
fi

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

# 2. Rust standard libraries for the targets: rustup's, or else std built from the rust-src component.
command -v cargo >/dev/null || die "cargo not found (install Rust with rustup)"
build_std=" "
if command -v rustup >/dev/null; then
    installed=$(rustup target list --installed)
    for t in "${targets[@]}"; do
        grep -qx "$t" <<<"$installed" && continue
        if out=$(rustup target add "$t" 2>&1); then
            continue
        fi
        echo "cross-build: rustup cannot install the $t standard library ($(grep -m1 -i error <<<"$out")): building it from rust-src" >&2
        rustup component add rust-src || die "neither the $t standard library nor rust-src could be installed"
        build_std+="$t "
    done
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
    std_args=()
    std="rustup's std"
    if [[ $build_std == *" $t "* ]]; then
        # std,panic_abort: what -Z build-std needs for either panic strategy ([profile.release] unwinds).
        std_args=(-Z "build-std=std,panic_abort")
        std="std built from rust-src"
    fi
    echo "cross-build: building $t with $gnu-gcc ($std)"
    (
        # The cross gcc drives the link through deploy/link-hot-first.sh, which has Rust's lld put the
        # functions the daemon runs first (deploy/hot-functions.txt names them by their v0 symbol names).
        export "CARGO_TARGET_${upper}_LINKER=$PWD/deploy/link-hot-first.sh"
        export DIUNA_LINK_CC="$gnu-gcc" DIUNA_LINK_NM="$gnu-nm"
        rustflags="-C symbol-mangling-version=v0"
        export "CC_${var}=$gnu-gcc"
        export "AR_${var}=$gnu-ar"
        # bindgen runs libclang with -target $t; point it at the cross C headers (Debian keeps them in
        # /usr/<gnu>/include, which --sysroot=/usr/<gnu> also finds).
        export "BINDGEN_EXTRA_CLANG_ARGS_${var}=--sysroot=/usr/$gnu -I/usr/$gnu/include"
        export RPI_WS281X_SYSROOT="/usr/$gnu"
        if [[ $t == "$ARMV6" ]]; then
            # C (rpi_ws281x, ring) for the ARM1176: ARMv6 with VFPv2 inside functions, soft-float calls
            # (softfp, as armel's libraries expect), ARM state (no Thumb-2).
            export "CFLAGS_${var}=-march=armv6kz+fp -mfpu=vfp -mfloat-abi=softfp -marm"
            # Rust (std included): the target is ARMv6 with soft-float calls; target-cpu=arm1176jzf-s
            # (ARMv6KZ + VFPv2, the Pi 1 / Zero's core) lets the code inside functions use the VFP.
            # Static: no armel loader on an armhf system.
            rustflags+=" -C target-cpu=arm1176jzf-s -C target-feature=+crt-static"
        fi
        export "CARGO_TARGET_${upper}_RUSTFLAGS=$rustflags"
        if [[ ${#std_args[@]} -gt 0 ]]; then
            export RUSTC_BOOTSTRAP=1
        fi
        cargo build --release --features hardware --target "$t" ${std_args[@]+"${std_args[@]}"} \
            ${cargo_args[@]+"${cargo_args[@]}"}
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
    # shellcheck disable=SC2012  # ls -t: the newest link's report; cargo's paths have no odd characters
    echo "  hot functions: $(cat "$(ls -t "$(dirname "$bin")"/deps/diuna-*.hot-first | head -n1)")"
    if "$gnu-readelf" -l "$bin" | grep INTERP >/dev/null; then # not -q: under pipefail it may cut readelf off
        glibc=$("$gnu-objdump" -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n1 || true)
        libs=$("$gnu-readelf" -d "$bin" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | paste -sd' ' || true)
        echo "  needs: $libs; ${glibc:-no versioned glibc symbols} (the Pi's glibc must be at least this)"
    else
        echo "  needs: no shared libraries (static)"
    fi
    qemu=$(qemu_for "$t")
    qemu_args=(-L "/usr/$gnu")
    if [[ $t == "$ARMV6" ]]; then
        armv6_attributes "$bin" "$target_dir/$t/release" "$gnu"
        qemu_args=(-cpu arm1176)
    fi
    if command -v "$qemu" >/dev/null; then
        echo "  smoke test under $qemu ${qemu_args[*]}:"
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

# 5. The armhf and armel Debian packages, from the armv6 binary (with cargo-deb installed). cargo-deb names
# the architecture after the target triple (gnueabi: armel), so the armhf package is the same package
# relabelled; both drop the empty Depends: line cargo-deb writes for a static binary.
if [[ " ${targets[*]} " == *" $ARMV6 "* ]]; then
    if cargo deb --version >/dev/null 2>&1; then
        debdir=$target_dir/debian
        bin=$target_dir/$ARMV6/release/diuna
        echo
        echo "cross-build: Debian packages from the armv6 binary (cargo deb --no-build --target $ARMV6)"
        # It prints the package's path, target/debian/diuna_<version>-1_armel.deb, and warns that a static
        # binary has no $auto dependencies (shown only if it fails).
        log=$(mktemp)
        armel=$(cargo deb --no-build --no-strip --target "$ARMV6" -o "$debdir/" 2>"$log" | tail -n1) || true
        if [[ $armel != *_armel.deb || ! -f $armel ]]; then
            cat "$log" >&2
            die "cargo deb made no armel package"
        fi
        rm -f "$log"
        for arch in armel armhf; do
            root=$(mktemp -d)
            chmod 755 "$root" # the package's ./ (mktemp makes it 0700)
            dpkg-deb -R "$armel" "$root"
            sed -i -e "s/^Architecture: .*/Architecture: $arch/" -e '/^Depends: *$/d' "$root/DEBIAN/control"
            deb=${armel%_armel.deb}_$arch.deb
            dpkg-deb --root-owner-group -b "$root" "$deb.new" >/dev/null
            mv "$deb.new" "$deb"
            cmp -s "$root/usr/bin/diuna" "$bin" || die "$deb: usr/bin/diuna is not $bin"
            rm -rf "$root"
            echo "  $deb ($(stat -c %s "$deb") bytes): $(dpkg-deb -f "$deb" Package Version Architecture Depends | paste -sd' ')"
            echo "    $(dpkg-deb -c "$deb" | grep ' ./usr/bin/diuna$')   (= $bin)"
        done
    else
        echo
        echo "cross-build: no cargo-deb: Debian packages skipped (cargo install cargo-deb --locked)"
    fi
fi
echo
echo "Copy one to the Pi and install it:  scp ${built[0]} pi@raspberrypi:  then on the Pi,"
echo "from a source tree or unpacked release:  sudo deploy/install.sh ~/diuna"
