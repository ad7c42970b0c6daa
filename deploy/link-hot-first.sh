#!/usr/bin/env bash
# A linker for release builds that puts the functions a running daemon executes first in the binary,
# together, so that the rest of its code is never read from disk nor counted in its memory.
#
#   CARGO_TARGET_<TRIPLE>_LINKER=deploy/link-hot-first.sh cargo build --release ...
#   (deploy/cross-build.sh does this for every Pi build)
#
# Why: a read fault on a program's code maps the 64 KiB around the page it needs (the kernel's
# fault-around), and with fat LTO the code a running daemon needs (about 1.5 MB of its 3.6 MB of x86-64
# code) is spread over nearly every 64 KiB of it: 93 % of the code was resident, 3.3 MiB of a peak RSS
# of 7.0 MiB. Placed together, the executed functions cost their own size and little more
# (docs/PERFORMANCE.md, "Hot functions first").
#
# How: it is called as rustc calls `cc` (the C compiler drives the link). It lists the functions the
# objects define (nm), demangles them without their crate hashes (c++filt, then sed: the hashes differ
# between targets and builds, the names do not), and hands lld the ones deploy/hot-functions.txt names,
# in its order, as a symbol ordering file, with the list's C library functions by name (a static build
# links them from libc.a). lld is Rust's own (the `gcc-ld` directory of the host's
# sysroot), for every target. deploy/profile-hot-functions.sh writes the list. A function the list does
# not name is linked after the listed ones, as before: a stale list costs memory, never correctness.
#
# Environment: DIUNA_LINK_CC (default cc: the C compiler that drives the link, e.g. a cross gcc),
# DIUNA_LINK_NM (default nm). It writes to <output>.hot-first how many of the listed Rust functions
# it found (CI checks that ratio), how many C names it passed on, and how many symbols it ordered.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
list="$here/hot-functions.txt"
cc=${DIUNA_LINK_CC:-cc}
nm=${DIUNA_LINK_NM:-nm}

# With --names: read mangled symbol names, write "demangled-without-crate-hashes<TAB>mangled" (what
# profile-hot-functions.sh uses too, so that both sides name a function alike).
if [[ ${1:-} == --names ]]; then
    mangled=$(mktemp)
    trap 'rm -f "$mangled"' EXIT
    cat >"$mangled"
    # shellcheck disable=SC2094  # both read the file: c++filt its lines, paste them beside its output
    c++filt <"$mangled" | sed -E 's/\[[0-9a-f]{5,16}\]//g; s/::h[0-9a-f]{16}$//' | paste - "$mangled"
    exit 0
fi

out=
objects=()
prev=
for arg in "$@"; do
    [[ $prev == -o ]] && out=$arg
    case $arg in *.o | *.a) objects+=("$arg") ;; esac
    prev=$arg
done
# Only diuna itself (cargo links it as deps/diuna-<hash>); build scripts and tests link as usual.
case $(basename "$out") in
    diuna | diuna-*) ;;
    *) exec "$cc" "$@" ;;
esac

host=$(rustc -vV | sed -n 's/^host: //p')
gcc_ld="$(rustc --print sysroot)/lib/rustlib/$host/bin/gcc-ld"
[[ -x $gcc_ld/ld.lld ]] || {
    echo "link-hot-first: no $gcc_ld/ld.lld (Rust's own lld, shipped with rustup's toolchains)" >&2
    exit 1
}

order=$(mktemp)
counts=$(mktemp)
trap 'rm -f "$order" "$counts"' EXIT
if [[ ${#objects[@]} -gt 0 && -f $list ]]; then
    # "rank<TAB>symbol", rank being the line of the list that names it: the text symbols (t/T/w/W) of
    # the objects that the list names (several symbols can share a name: a generic's copies in std),
    # and the list's C names as they are (the C library's, which the linker finds by -lc and a static
    # build links; a dynamic one has none of them, and lld passes over what it does not have).
    "$nm" --defined-only -P "${objects[@]}" 2>/dev/null | awk 'NF >= 2 && $2 ~ /^[tTwW]$/ { print $1 }' |
        sort -u | "$0" --names |
        awk -F'\t' 'NR == FNR { if ($0 !~ /^#/ && $0 != "") { rank[$0] = ++n; if ($0 ~ /^[A-Za-z_][A-Za-z0-9_.]*$/) c[$0] = 1 } next }
                    ($1 in rank) { print rank[$1] "\t" $2; if (!($1 in c)) found[$1] = 1; done[$2] = 1 }
                    END { for (f in found) nf++; for (x in c) { nc++; if (!(x in done)) print rank[x] "\t" x }
                          print nf + 0, n - nc, nc + 0 > "/dev/stderr" }' "$list" - 2>"$counts" |
        sort -n -k1,1 -s | cut -f2 >"$order"
    read -r found rust c_names <"$counts"
    echo "$found of the $rust Rust functions listed found, $c_names C functions named, $(wc -l <"$order") symbols ordered" >"$out.hot-first"
fi

"$cc" "$@" -B"$gcc_ld" -fuse-ld=lld -Wl,--symbol-ordering-file="$order" -Wl,--no-warn-symbol-ordering
