#!/bin/sh
# build.sh -- the one entry point: fetch and verify third-party sources,
# build the static musl binary, run the tests, run the demo.
#
#   ./build.sh            build out/regcred (static-PIE, musl, stripped) for
#                         this machine's architecture (also out/ARCH/regcred)
#   ./build.sh test       everything: unit tests (glibc, ASan+UBSan), the
#                         fuzzers (30 s each), the ASan and UBSan-trap
#                         builds, the pytest suites (integration, release,
#                         end to end)
#   ./build.sh unit       cmocka unit tests only
#   ./build.sh unit-arm64 the unit tests cross-built for arm64, run under qemu-user
#   ./build.sh fuzz [S]   every libFuzzer harness for S seconds (default 60)
#   ./build.sh e2e        the end-to-end suite against a real kube-apiserver
#   ./build.sh bench      regcred against the job it replaces: bench/results.md
#   ./build.sh image      out/amd64/regcred and out/arm64/regcred, and the
#                         release image: one OCI image index holding both
#                         (out/regcred.oci.tar); prints the index's digest
#   ./build.sh callgrind  out/regcred and the bench's twin without seccomp
#   ./build.sh demo       start the stand-ins, run one refresh, show the Secret
#   ./build.sh clean      remove out/ and .vendor/
#
# Run as root on a fresh Debian machine it installs what it lacks.
set -eu
LC_ALL=C
export LC_ALL
umask 022
TOP=$(cd "$(dirname "$0")" && pwd)
cd "$TOP"
VDIR=$TOP/.vendor
OUT=$TOP/out
GEN=$OUT/gen
HOST_ARCH=$(dpkg --print-architecture)
# What `./build.sh image` ships, Debian's (and OCI's) architecture names.
IMAGE_ARCHES="amd64 arm64"

die() { echo "build.sh: $*" >&2; exit 1; }
say() { echo "build.sh: $*" >&2; }

# --- tools -----------------------------------------------------------------
need_pkgs() {
	missing=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	[ "$(id -u)" = 0 ] || die "missing packages:$missing (install them, or run as root)"
	say "installing$missing"
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
}

# A deb-src entry for the same mirror(s) as the machine's deb entries.
ensure_deb_src() {
	src=/etc/apt/sources.list.d/regcred-deb-src.sources
	apt-get source --print-uris jsmn >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] || die "apt-get source needs a deb-src entry; run as root once"
	[ -f /etc/apt/sources.list.d/debian.sources ] ||
		die "no /etc/apt/sources.list.d/debian.sources to derive deb-src from"
	sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$src"
	apt-get update -qq >/dev/null
}

# --- targets ---------------------------------------------------------------
# A target is a Debian architecture (amd64, arm64: also the OCI names).
# For this machine's own architecture regcred is built with Debian's
# musl-gcc; for the other one with Debian's cross compiler, pointed at
# musl-dev:ARCH's headers and libc.a (Debian's musl-gcc wrapper is
# host-only). Both get the same flags and the same static-PIE link.
# target_set ARCH sets:
#   T_ARCH     the Debian/OCI name          T_MACHINE  ELF machine (readelf -h)
#   T_GCC      the gcc driver (crt files, libgcc, the link)
#   T_CC       the compiler for musl: T_GCC plus musl's headers
#   T_MUSL_LIB musl's libc.a and crt*.o     T_STRIP    strip for the target
#   T_BR       the BearSSL variant name (musl for amd64: the cache keeps it)
#   T_PKGS     the Debian packages the target needs
target_set() { # arch
	case "$1" in
	amd64) triple=x86_64-linux-gnu T_MACHINE="Advanced Micro Devices X86-64" T_BR=musl ;;
	arm64) triple=aarch64-linux-gnu T_MACHINE=AArch64 T_BR=musl-arm64 ;;
	*) die "unknown target architecture $1 (amd64, arm64)" ;;
	esac
	T_ARCH=$1
	T_MUSL_LIB=/usr/lib/${triple%%-*}-linux-musl
	if [ "$1" = "$HOST_ARCH" ]; then
		T_GCC=gcc T_CC=musl-gcc T_STRIP=strip
		T_PKGS="musl-tools musl-dev:$1"
	else
		T_GCC=$triple-gcc T_STRIP=$triple-strip
		T_CC="$T_GCC -nostdinc -isystem /usr/include/${triple%%-*}-linux-musl"
		T_PKGS="gcc-$(echo "$triple" | tr _ -) musl-dev:$1"
		# the compiler's own headers (stddef.h, stdarg.h...) after musl's
		if command -v "$T_GCC" >/dev/null; then
			T_CC="$T_CC -isystem $($T_GCC -print-file-name=include)"
		fi
	fi
}

# The target's packages; a foreign one needs dpkg to know its architecture.
target_need() { # arch
	target_set "$1"
	if [ "$1" != "$HOST_ARCH" ] &&
		! dpkg --print-foreign-architectures | grep -qx "$1"; then
		[ "$(id -u)" = 0 ] || die "dpkg --add-architecture $1 is needed (run as root)"
		say "dpkg --add-architecture $1"
		dpkg --add-architecture "$1"
		apt-get update -qq >/dev/null
	fi
	need_pkgs $T_PKGS
	target_set "$1" # again: T_CC asks the compiler just installed
}

# --- third-party sources ---------------------------------------------------
lock_lines() { grep -v '^#' vendor/lock | grep -v '^[[:space:]]*$'; }

fetch_one() { # name srcpkg version file sha256
	dl=$VDIR/dl/$4
	if [ -f "$dl" ] && echo "$5  $dl" | sha256sum -c --status; then
		return 0
	fi
	ensure_deb_src
	mkdir -p "$VDIR/dl"
	uri=$(apt-get source --print-uris "$2=$3" 2>/dev/null |
		awk -v f="$4" '$2 == f { gsub("\x27", "", $1); print $1 }')
	[ -n "$uri" ] || die "apt-get source does not know $4 ($2=$3)"
	rm -f "$dl.part"
	/usr/lib/apt/apt-helper download-file "$uri" "$dl.part" >/dev/null 2>&1 ||
		die "download of $4 failed"
	got=$(sha256sum "$dl.part" | cut -d' ' -f1)
	if [ "$got" != "$5" ]; then
		rm -f "$dl.part"
		die "SHA-256 MISMATCH for $4: expected $5, got $got"
	fi
	mv "$dl.part" "$dl"
}

vendor_fetch() {
	lock_lines | while read -r name pkg ver file sum lic; do
		fetch_one "$name" "$pkg" "$ver" "$file" "$sum"
		stamp=$VDIR/src/$name.sha256
		if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
			rm -rf "$VDIR/src/$name"
			mkdir -p "$VDIR/src/$name"
			tar -xf "$VDIR/dl/$file" -C "$VDIR/src/$name" --strip-components=1
			echo "$sum" >"$stamp"
		fi
	done
	[ -f "$VDIR/src/bearssl/inc/bearssl.h" ] || die "BearSSL not unpacked"
	[ -f "$VDIR/src/jsmn/jsmn.h" ] || die "jsmn not unpacked"
}

lock_field() { # name column
	lock_lines | awk -v n="$1" -v c="$2" '$1 == n { print $c }'
}

# --- BearSSL ---------------------------------------------------------------
# Same compiler and code generation as regcred; not our warning set.
# BR_RDRAND=0 BR_USE_URANDOM=0: the only entropy is what regcred injects.
BR_DEFS="-DBR_RDRAND=0 -DBR_USE_URANDOM=0"
# What is compiled: a copy of the verified tree with our patches applied.
BR_SRC=$VDIR/src/bearssl-patched

# Our patches to BearSSL (vendor/patches/NNNN-name.patch, unified diffs,
# each with a header saying what, why and the measured effect; SECURITY.md
# explains each). Applied in name order to a copy of the tree vendor_fetch
# verified; the archive itself is never changed. A patch that does not
# apply exactly fails the build.
bearssl_patches() { ls vendor/patches/*.patch 2>/dev/null | sort; }
bearssl_patches_sum() {
	{ lock_field bearssl 5; for p in $(bearssl_patches); do cat "$p"; done; } |
		sha256sum | cut -c1-16
}

bearssl_patch() {
	need_pkgs patch
	key=$(bearssl_patches_sum)
	[ -f "$BR_SRC.key" ] && [ "$(cat "$BR_SRC.key")" = "$key" ] && return 0
	say "applying $(bearssl_patches | wc -l) patches to BearSSL"
	rm -rf "$BR_SRC" "$BR_SRC.key"
	cp -a "$VDIR/src/bearssl" "$BR_SRC"
	for p in $(bearssl_patches); do
		patch -s -d "$BR_SRC" -p1 -F0 -N --no-backup-if-mismatch \
			-r - <"$p" >/dev/null || die "BearSSL patch $p does not apply"
	done
	echo "$key" >"$BR_SRC.key"
}

# Optimisation per file, release builds only (bench/results.md has the
# measurements): -O3 on the field and bignum arithmetic where the CPU goes,
# -O2 on the T0 engines and SHA-2; everything else keeps the size flags.
BR_O3=${BR_O3-"src/ec/ec_p256_m31.c src/ec/ec_c25519_m31.c src/int/i31_montmul.c src/int/i62_modpow2.c"}
BR_O2=${BR_O2-"src/ssl/ssl_hs_client.c src/x509/x509_minimal.c src/hash/sha2small.c src/hash/sha2big.c"}
bearssl_file_opt() { # variant file
	case "$1" in musl*) ;; *) return 0 ;; esac
	case " $BR_O3 " in *" $2 "*) echo -O3; return 0 ;; esac
	case " $BR_O2 " in *" $2 "*) echo -O2 ;; esac
}

bearssl_build() { # variant cc cflags...
	variant=$1 cc=$2
	shift 2
	bearssl_patch
	lib=$VDIR/build/$variant/libbearssl.a
	key=$(printf '%s\n' "$cc $* $BR_DEFS O3:$BR_O3 O2:$BR_O2" "$(bearssl_patches_sum)" | sha256sum | cut -c1-16)
	[ -f "$lib" ] && [ "$(cat "$lib.key" 2>/dev/null)" = "$key" ] && return 0
	say "building BearSSL ($variant)"
	obj=$VDIR/build/$variant/obj
	n=0
	rm -rf "$obj" "$lib"
	mkdir -p "$obj"
	for f in $(cd "$BR_SRC" && find src -name '*.c' | sort); do
		"$cc" "$@" $(bearssl_file_opt "$variant" "$f") $BR_DEFS \
			-I"$BR_SRC/inc" -I"$BR_SRC/src" \
			-ffile-prefix-map="$BR_SRC"=bearssl \
			-c "$BR_SRC/$f" -o "$obj/$(echo "$f" | tr / _ | sed 's/\.c$/.o/')" &
		n=$((n + 1))
		[ $((n % $(nproc))) -eq 0 ] && wait
	done
	wait
	[ "$(ls "$obj" | wc -l)" -eq "$n" ] || die "BearSSL ($variant) did not compile"
	(cd "$obj" && find . -name '*.o' | sort | xargs ar rcD "$lib")
	echo "$key" >"$lib.key"
}

# brssl (host tool) writes the trust anchors as C.
brssl_build() {
	bin=$VDIR/build/host/brssl
	[ -x "$bin" ] && return 0
	bearssl_build host gcc -O1
	say "building brssl (host tool for trust anchors)"
	gcc -O1 -I"$BR_SRC/inc" -o "$bin" \
		$(find "$BR_SRC/tools" -name '*.c' | sort) "$VDIR/build/host/libbearssl.a"
}

anchors_gen() {
	brssl_build
	mkdir -p "$GEN"
	pem=$GEN/anchors.pem
	: >"$pem"
	: >"$GEN/anchors.list"
	grep -v '^#' vendor/anchors | grep -v '^[[:space:]]*$' | while read -r sum file why; do
		f=/usr/share/ca-certificates/mozilla/$file
		[ -f "$f" ] || die "trust anchor $file missing from ca-certificates"
		got=$(openssl x509 -in "$f" -outform DER | sha256sum | cut -d' ' -f1)
		[ "$got" = "$sum" ] || die "trust anchor $file changed: expected $sum, got $got"
		openssl x509 -in "$f" >>"$pem"
		subj=$(openssl x509 -in "$f" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
		printf '%s %s\n' "$sum" "$subj" >>"$GEN/anchors.list"
	done
	{
		echo '/* Generated by build.sh from vendor/anchors; do not edit. */'
		echo '#include "bearssl.h"'
		echo '#include "anchors.h"'
		"$VDIR/build/host/brssl" ta -q "$pem"
		echo 'const br_x509_trust_anchor *const anchors_embedded = TAs;'
		echo 'const size_t anchors_embedded_num = TAs_NUM;'
		echo '/* regcred version: one indented line per anchor; a string, not pointers. */'
		echo 'const char anchors_embedded_names[] = ""'
		sed 's/^[0-9a-f]* //; s/\\/\\\\/g; s/"/\\"/g; s/^/\t"  /; s/$/\\n"/' "$GEN/anchors.list"
		echo ';'
	} >"$GEN/anchors_gen.c.tmp"
	mv "$GEN/anchors_gen.c.tmp" "$GEN/anchors_gen.c"
}

# The compiler and musl of each target, for `regcred version` (main.c
# picks its own architecture's); "none" for a target not installed here.
buildinfo_target() { # arch
	target_set "$1"
	ccver=none
	if command -v "$T_GCC" >/dev/null; then
		ccver=$($T_GCC --version | head -n1)
	fi
	muslver=$(dpkg-query -W -f='${Version}' "musl-dev:$1" 2>/dev/null || echo none)
	m=$(echo "$triple" | cut -d- -f1 | tr a-z A-Z)
	printf '#define BUILD_CC_%s "%s"\n' "$m" "$ccver"
	printf '#define BUILD_MUSL_%s "%s"\n' "$m" "$muslver"
}

buildinfo_gen() {
	mkdir -p "$GEN"
	commit=$(git rev-parse --verify -q HEAD || echo unknown)
	git diff --quiet HEAD -- 2>/dev/null || commit="$commit-dirty"
	{
		echo '/* Generated by build.sh; do not edit. */'
		printf '#define BUILD_VERSION "%s"\n' "$(cat VERSION)"
		printf '#define BUILD_COMMIT "%s"\n' "$commit"
		for a in $IMAGE_ARCHES; do
			buildinfo_target "$a"
		done
		printf '#define BUILD_BEARSSL "%s sha256:%s"\n' "$(lock_field bearssl 3)" "$(lock_field bearssl 5)"
		printf '#define BUILD_JSMN "%s sha256:%s"\n' "$(lock_field jsmn 3)" "$(lock_field jsmn 5)"
	} >"$GEN/buildinfo.h.tmp"
	if ! cmp -s "$GEN/buildinfo.h.tmp" "$GEN/buildinfo.h"; then
		mv "$GEN/buildinfo.h.tmp" "$GEN/buildinfo.h"
	else
		rm -f "$GEN/buildinfo.h.tmp"
	fi
}

# --- regcred ---------------------------------------------------------------
WARN="-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wsign-compare"
STD="-std=c11 -D_DEFAULT_SOURCE"
CODEGEN="-Os -fPIE -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fstack-protector-strong"
# (no _FORTIFY_SOURCE: musl has no checking wrappers, it would do nothing)
# regcred's own code is not where the CPU goes (BearSSL is): smallest code.
OWN_OPT="-Oz"

srcs() { ls src/*.c | sort; }
lib_srcs() { srcs | grep -v '^src/main\.c$'; }
incs() { echo "-iquote src -I$GEN -I$BR_SRC/inc -I$VDIR/src/jsmn"; }

# Static-PIE link with musl (Debian's musl-gcc specs only do static non-PIE),
# for the target target_set chose.
musl_link() { # out objs...
	o=$1
	shift
	$T_GCC -static-pie -nostdlib -nostartfiles -o "$o" \
		$T_MUSL_LIB/rcrt1.o $T_MUSL_LIB/crti.o "$($T_GCC -print-file-name=crtbeginS.o)" \
		"$@" -L$T_MUSL_LIB -lc "$($T_GCC -print-libgcc-file-name)" \
		"$($T_GCC -print-file-name=crtendS.o)" $T_MUSL_LIB/crtn.o \
		-Wl,--gc-sections -Wl,--build-id=none -Wl,-z,relro,-z,now \
		-Wl,-z,noexecstack -Wl,--hash-style=gnu -Wl,-Map,"$o.map"
}

compile_musl() { # arch out extra-cflags bearssl-variant
	target_set "$1"
	o=$2 extra=$3
	d=$OUT/obj/$1-$(basename "$o")
	rm -rf "$d"
	mkdir -p "$d"
	for f in $(srcs) "$GEN/anchors_gen.c"; do
		$T_CC $STD $CODEGEN $OWN_OPT $extra $WARN $(incs) -ffile-prefix-map="$TOP"=. \
			-c "$f" -o "$d/$(basename "$f" .c).o"
	done
	musl_link "$o" $(ls "$d"/*.o | sort) "$VDIR/build/$4/libbearssl.a"
}

# out/ARCH/regcred: static-PIE (no interpreter, nothing NEEDED), for
# ARCH's ELF machine, without musl's vfprintf. Same flags for every
# target, BearSSL included.
build_target() { # arch
	target_need "$1"
	bearssl_build "$T_BR" $T_CC $CODEGEN
	t=$OUT/$1
	mkdir -p "$t"
	compile_musl "$1" "$t/regcred.unstripped" "" "$T_BR"
	target_set "$1"
	$T_STRIP --strip-all -o "$t/regcred" "$t/regcred.unstripped"
	readelf -h "$t/regcred" | grep -q "Machine: *$T_MACHINE\$" ||
		die "out/$1/regcred is not for $T_MACHINE"
	readelf -l "$t/regcred" | grep -q INTERP && die "out/$1/regcred has PT_INTERP"
	readelf -d "$t/regcred" | grep -q NEEDED && die "out/$1/regcred has DT_NEEDED"
	! grep -q 'libc\.a(vfprintf\.lo)' "$t/regcred.unstripped.map" ||
		die "musl's vfprintf (11 KiB) got linked: format with fmt_print (src/fmt.h)"
	# never a table-based AES (cache timing): BearSSL's aes_big/aes_small
	! grep -q 'libbearssl\.a(src_symcipher_aes_\(big\|small\)_' "$t/regcred.unstripped.map" ||
		die "out/$1/regcred links a table-based AES (aes_big/aes_small)"
	BUILT_ARCHES="${BUILT_ARCHES:-} $1"
	say "out/$1/regcred: $(wc -c <"$t/regcred") bytes"
}
BUILT_ARCHES=""

# out/regcred is this machine's architecture's binary (out/HOST/regcred).
build_release() {
	need_pkgs ca-certificates openssl
	target_need "$HOST_ARCH"
	vendor_fetch
	anchors_gen
	buildinfo_gen
	build_target "$HOST_ARCH"
	for f in regcred regcred.unstripped regcred.unstripped.map; do
		cp "$OUT/$HOST_ARCH/$f" "$OUT/$f"
	done
	sbom_gen
	say "out/regcred: $(wc -c <"$OUT/regcred") bytes; SBOM out/regcred.spdx.json"
}

# Every architecture the image ships; the SBOM then covers them all.
build_all() {
	for a in $IMAGE_ARCHES; do
		target_need "$a" # before buildinfo_gen names the compilers
	done
	build_release
	for a in $IMAGE_ARCHES; do
		[ "$a" = "$HOST_ARCH" ] || build_target "$a"
	done
	sbom_gen
}

# The release build plus a test hook (REGCRED_LOCKTEST, see main.c) that
# does what the lockdown forbids; never shipped.
build_locktest() {
	target_set "$HOST_ARCH"
	compile_musl "$HOST_ARCH" "$OUT/regcred-locktest" "-DREGCRED_LOCKTEST" "$T_BR"
}

# The benchmark's callgrind twin: the release build without the seccomp
# filter (valgrind 3.19 cannot run seccomp(2)), unstripped; never shipped.
build_callgrind() {
	target_set "$HOST_ARCH"
	compile_musl "$HOST_ARCH" "$OUT/regcred-callgrind" "-DREGCRED_CALLGRIND" "$T_BR"
}

# The binary issue 12's CPU target was set on (8.6 ms on 2026-11-29), built
# from its commit so the bench can measure it beside today's: a ratio in one
# run holds across machines, an absolute figure does not. Cached by commit;
# skipped (with a note) where the clone lacks that history.
# The commit is bench/run.py's BASE_COMMIT (it labels the figures); on
# success BENCH_BASE_BIN is its binary, else empty.
build_bench_base() {
	BENCH_BASE_BIN=
	base=$(sed -n 's/^BASE_COMMIT, BASE_CPU_MS = "\([0-9a-f]*\)".*/\1/p' bench/run.py)
	[ -n "$base" ] || die "bench: no BASE_COMMIT in bench/run.py"
	dir=${REGCRED_BENCH_CACHE:-$HOME/.cache/regcred-bench}/$base
	if [ ! -x "$dir/out/regcred" ]; then
		git cat-file -e "$base^{commit}" 2>/dev/null || {
			say "bench: commit $base not in this clone; no baseline"
			return 0
		}
		build_bench_commit "$base" "$dir" || return 1
	fi
	BENCH_BASE_BIN=$dir/out/regcred
}

build_bench_commit() {
	rm -rf "$2" && git clone -q --no-checkout "$TOP" "$2" || return 1
	git -C "$2" checkout -q --detach "$1" || return 1
	mkdir -p "$2/.vendor" && cp -r "$VDIR/dl" "$2/.vendor/" || return 1
	# only its binary is needed: that commit's SBOM step no longer finds
	# musl's source hash the way it asked (fixed since), after the link
	(cd "$2" && ./build.sh build >"$2/build.log" 2>&1)
	[ -x "$2/out/regcred" ] || die "bench: building $1 failed ($2/build.log)"
}

# Static musl build with UBSan in trap mode (no runtime needed).
build_ubsan() {
	UB="-fsanitize=undefined -fsanitize-undefined-trap-on-error"
	bearssl_build musl-ubsan musl-gcc $CODEGEN $UB
	compile_musl "$HOST_ARCH" "$OUT/regcred-ubsan" "$UB" musl-ubsan
}

# glibc build with ASan+UBSan, for the integration suite and unit tests.
GLIBC_SAN="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
build_asan() {
	bearssl_build glibc-asan gcc $GLIBC_SAN
	gcc $STD $GLIBC_SAN $WARN $(incs) -o "$OUT/regcred-asan" $(srcs) "$GEN/anchors_gen.c" \
		"$VDIR/build/glibc-asan/libbearssl.a"
}

# --- bill of materials -----------------------------------------------------
# out/regcred.spdx.json (SPDX 2.3): regcred (out/regcred, and after
# `./build.sh image` each other architecture's out/ARCH/regcred as
# SPDXRef-regcred-ARCH), musl, BearSSL, jsmn and the compiled-in trust
# anchors; every binary links the same sources. Deterministic: `created` is SOURCE_DATE_EPOCH,
# the namespace is derived from the binary's and the inputs' hashes.
json_safe() { # refuses what would need escaping in our hand-written JSON
	case "$1" in *'"'* | *'\'*) die "unexpected quote or backslash in: $1" ;; esac
	printf '%s' "$1"
}

sbom_pkg() { # id name version license sha256 debian-source supplier purpose comment
	printf '{"SPDXID":"SPDXRef-%s","name":"%s","versionInfo":"%s",' "$1" "$(json_safe "$2")" "$3"
	printf '"downloadLocation":"NOASSERTION","filesAnalyzed":false,'
	printf '"licenseConcluded":"%s","licenseDeclared":"%s","copyrightText":"NOASSERTION",' "$4" "$4"
	printf '"checksums":[{"algorithm":"SHA256","checksumValue":"%s"}],' "$5"
	[ -n "$6" ] && printf '"externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:deb/debian/%s@%s?arch=source"}],' "$6" "$3"
	printf '"supplier":"%s","primaryPackagePurpose":"%s","comment":"%s"}' "$7" "$8" "$(json_safe "$9")"
}

musl_source_sha() {
	v=$(dpkg-query -W -f='${Version}' "musl-dev:$HOST_ARCH")
	ensure_deb_src
	apt-get source --print-uris "musl=$v" 2>/dev/null |
		awk '$2 ~ /\.orig\.tar\.[a-z]+$/ { sub("SHA256:", "", $4); print $4 }'
}

# The architectures built by this run besides the host's.
sbom_others() {
	for a in $BUILT_ARCHES; do
		[ "$a" = "$HOST_ARCH" ] || echo "$a"
	done | sort -u
}

sbom_binaries() { # regcred's SPDX ids
	echo regcred
	for a in $(sbom_others); do
		echo "regcred-$a"
	done
}

sbom_regcred() { # version
	sbom_pkg regcred regcred "$1" MIT "$(sha256sum "$OUT/regcred" | cut -d' ' -f1)" "" \
		"Organization: regcred developers" APPLICATION \
		"static-PIE executable out/regcred (linux/$HOST_ARCH); checksum is of the binary"
	for a in $(sbom_others); do
		printf ','
		sbom_pkg "regcred-$a" regcred "$1" MIT "$(sha256sum "$OUT/$a/regcred" | cut -d' ' -f1)" "" \
			"Organization: regcred developers" APPLICATION \
			"static-PIE executable out/$a/regcred (linux/$a); checksum is of the binary"
	done
}

# Our BearSSL patches, one package each (a source file, its SHA-256, its
# header's first line), related to BearSSL by PATCH_APPLIED.
sbom_patched_note() {
	[ "$1" = bearssl ] || return 0
	printf ' with %d regcred patches (vendor/patches; PATCH_APPLIED below)' "$(bearssl_patches | wc -l)"
}
sbom_patch_id() { b=${1##*/}; echo "patch-${b%%-*}"; }
sbom_patches() {
	for p in $(bearssl_patches); do
		printf ','
		sbom_pkg "$(sbom_patch_id "$p")" "${p##*/}" "$(lock_field bearssl 3)" MIT \
			"$(sha256sum "$p" | cut -d' ' -f1)" "" "Organization: regcred developers" SOURCE \
			"patch to BearSSL applied at build time (vendor/patches, SECURITY.md): $(head -n1 "$p")"
	done
}

sbom_gen() {
	SDE=$(source_date_epoch)
	created=$(date -u -d "@$SDE" +%Y-%m-%dT%H:%M:%SZ)
	version=$(cat VERSION)
	muslv=$(dpkg-query -W -f='${Version}' "musl-dev:$HOST_ARCH")
	muslsum=$(musl_source_sha)
	[ -n "$muslsum" ] || die "SBOM: no source SHA-256 for musl $muslv"
	muslarch=$HOST_ARCH
	for a in $(sbom_others); do
		[ "$(dpkg-query -W -f='${Version}' "musl-dev:$a")" = "$muslv" ] ||
			die "SBOM: musl-dev:$a is not version $muslv"
		muslarch="$muslarch, $a"
	done
	bins=$OUT/regcred
	for a in $(sbom_others); do
		bins="$bins $OUT/$a/regcred"
	done
	ns=$(cat $bins vendor/lock vendor/anchors $(bearssl_patches) | sha256sum | cut -c1-32)
	describes=$(sbom_binaries | sed 's/.*/"SPDXRef-&"/' | paste -sd, -)
	{
		printf '{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT",'
		printf '"name":"regcred-%s","documentNamespace":"https://spdx.regcred.invalid/regcred-%s-%s",' "$version" "$version" "$ns"
		printf '"creationInfo":{"created":"%s","creators":["Tool: regcred build.sh"]},' "$created"
		printf '"documentDescribes":[%s],"packages":[' "$describes"
		sbom_regcred "$version"
		printf ','
		sbom_pkg musl musl "$muslv" MIT "$muslsum" musl "Organization: Debian" LIBRARY \
			"Debian binary package musl-dev ($muslarch: libc.a, statically linked); checksum is of the source archive"
		lock_lines | while read -r name pkg ver file sum lic; do
			printf ','
			sbom_pkg "$name" "$name" "$ver" "$lic" "$sum" "$pkg" "Organization: Debian" LIBRARY \
				"Debian source package $pkg, $file; compiled from source$(sbom_patched_note "$name")"
		done
		sbom_patches
		i=0
		grep -v '^#' vendor/anchors | grep -v '^[[:space:]]*$' | while read -r sum file why; do
			i=$((i + 1))
			subj=$(grep "^$sum " "$GEN/anchors.list" | cut -d' ' -f2-)
			printf ','
			sbom_pkg "anchor-$i" "$subj" "$(dpkg-query -W -f='${Version}' ca-certificates)" \
				NOASSERTION "$sum" ca-certificates "Organization: Debian" OTHER \
				"trust anchor compiled in ($why); checksum is the SHA-256 fingerprint of the DER certificate"
		done
		printf '],"relationships":['
		sep=""
		for b in $(sbom_binaries); do
			printf '%s{"spdxElementId":"SPDXRef-DOCUMENT","relationshipType":"DESCRIBES","relatedSpdxElement":"SPDXRef-%s"}' "$sep" "$b"
			sep=,
		done
		for p in $(bearssl_patches); do
			printf ',{"spdxElementId":"SPDXRef-%s","relationshipType":"PATCH_APPLIED","relatedSpdxElement":"SPDXRef-bearssl"}' "$(sbom_patch_id "$p")"
		done
		n=$(grep -v '^#' vendor/anchors | grep -cv '^[[:space:]]*$')
		for b in $(sbom_binaries); do
			for d in musl $(lock_lines | awk '{ print $1 }'); do
				printf ',{"spdxElementId":"SPDXRef-%s","relationshipType":"STATIC_LINK","relatedSpdxElement":"SPDXRef-%s"}' "$b" "$d"
			done
			i=1
			while [ "$i" -le "$n" ]; do
				printf ',{"spdxElementId":"SPDXRef-%s","relationshipType":"CONTAINS","relatedSpdxElement":"SPDXRef-anchor-%d"}' "$b" "$i"
				i=$((i + 1))
			done
		done
		printf ']}\n'
	} >"$OUT/regcred.spdx.json.tmp"
	mv "$OUT/regcred.spdx.json.tmp" "$OUT/regcred.spdx.json"
}

# --- release image ---------------------------------------------------------
# An OCI image assembled here, not by podman or Docker, so that its digest
# depends on nothing but its inputs: per architecture one layer (a
# deterministic tar of /regcred, gzip -n), config and manifest, and the
# image index naming both, all canonical JSON (sorted keys, no white
# space) carrying what the Containerfile declares.
IMG_SOURCE=https://github.com/regcred/regcred
IMG_DESC="Keeps an Artifact Registry image-pull Secret fresh from a workload's federated identity"

source_date_epoch() {
	git log -1 --format=%ct 2>/dev/null || die "SOURCE_DATE_EPOCH: not a git checkout"
}

det_tar() { # out dir names...
	o=$1 d=$2
	shift 2
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SDE" \
		--format=gnu -C "$d" -cf "$o" "$@"
}

blob_put() { # file -> prints digest hex, stores blob
	h=$(sha256sum "$1" | cut -d' ' -f1)
	cp "$1" "$IMG/blobs/sha256/$h"
	echo "$h"
}

# The platform as OCI writes it (Go's names; arm64 is ARMv8).
image_platform() { # arch
	case "$1" in
	arm64) printf '{"architecture":"arm64","os":"linux","variant":"v8"}' ;;
	*) printf '{"architecture":"%s","os":"linux"}' "$1" ;;
	esac
}

# org.opencontainers.image.*, keys sorted: the config's labels, and the
# annotations of the index and of each manifest.
image_annotations() { # created revision version
	printf '{"org.opencontainers.image.created":"%s",' "$1"
	printf '"org.opencontainers.image.description":"%s",' "$IMG_DESC"
	printf '"org.opencontainers.image.licenses":"MIT",'
	printf '"org.opencontainers.image.revision":"%s",' "$2"
	printf '"org.opencontainers.image.source":"%s",' "$IMG_SOURCE"
	printf '"org.opencontainers.image.title":"regcred",'
	printf '"org.opencontainers.image.version":"%s"}' "$3"
}

image_config() { # arch diff_id created revision version
	case "$1" in
	arm64) printf '{"architecture":"arm64",' ;;
	*) printf '{"architecture":"%s",' "$1" ;;
	esac
	printf '"config":{"Entrypoint":["/regcred"],'
	printf '"Labels":%s,' "$(image_annotations "$3" "$4" "$5")"
	printf '"User":"65532:65532"},"created":"%s","os":"linux",' "$3"
	printf '"rootfs":{"diff_ids":["sha256:%s"],"type":"layers"}' "$2"
	[ "$1" = arm64 ] && printf ',"variant":"v8"'
	printf '}'
}

# One architecture's image: layer (/regcred, 0755, root), config,
# manifest as blobs; prints the manifest's descriptor for the index.
image_manifest() { # arch created revision version
	w=$OUT/image-work/$1
	rm -rf "$w"
	mkdir -p "$w/layer"
	cp "$OUT/$1/regcred" "$w/layer/regcred"
	chmod 0755 "$w/layer/regcred"
	det_tar "$w/layer.tar" "$w/layer" regcred
	diff_id=$(sha256sum "$w/layer.tar" | cut -d' ' -f1)
	gzip -n -9 -c "$w/layer.tar" >"$w/layer.tar.gz"
	layer=$(blob_put "$w/layer.tar.gz")
	image_config "$1" "$diff_id" "$2" "$3" "$4" >"$w/config.json"
	config=$(blob_put "$w/config.json")
	printf '{"annotations":%s,"config":{"digest":"sha256:%s","mediaType":"application/vnd.oci.image.config.v1+json","size":%d},"layers":[{"digest":"sha256:%s","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":%d}],"mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2}' \
		"$(image_annotations "$2" "$3" "$4")" "$config" "$(wc -c <"$w/config.json")" \
		"$layer" "$(wc -c <"$w/layer.tar.gz")" >"$w/manifest.json"
	manifest=$(blob_put "$w/manifest.json")
	echo "sha256:$manifest" >"$OUT/$1/regcred.oci.digest"
	printf '{"digest":"sha256:%s","mediaType":"application/vnd.oci.image.manifest.v1+json","platform":%s,"size":%d}' \
		"$manifest" "$(image_platform "$1")" "$(wc -c <"$w/manifest.json")"
}

# The release image: an OCI image index with one manifest per
# architecture in IMAGE_ARCHES (that order), in an OCI layout archive.
image_build() {
	build_all
	image_assemble
}

image_assemble() { # from out/ARCH/regcred as build_all left them
	SDE=$(source_date_epoch)
	created=$(date -u -d "@$SDE" +%Y-%m-%dT%H:%M:%SZ)
	revision=$(git rev-parse --verify -q HEAD || echo unknown)
	version=$(cat VERSION)
	IMG=$OUT/image
	rm -rf "$IMG" "$OUT/image-work"
	mkdir -p "$IMG/blobs/sha256"
	descs=""
	for a in $IMAGE_ARCHES; do
		descs="$descs${descs:+,}$(image_manifest "$a" "$created" "$revision" "$version")"
	done
	printf '{"annotations":%s,"manifests":[%s],"mediaType":"application/vnd.oci.image.index.v1+json","schemaVersion":2}' \
		"$(image_annotations "$created" "$revision" "$version")" "$descs" >"$OUT/image-work/index.json"
	index=$(blob_put "$OUT/image-work/index.json")
	# The name the archive gives the image, regcred:VERSION, in both
	# annotations loaders read: org.opencontainers.image.ref.name (what
	# skopeo and podman select with oci-archive:FILE:regcred:VERSION;
	# containerd takes a ref.name holding a ':' as a whole name, not a bare
	# tag) and io.containerd.image.name (read first by containerd's importer
	# and by podman load). podman load names it localhost/regcred:VERSION,
	# as it does every name without a registry. The layout's index.json
	# is not part of the image index: the name does not change its digest.
	printf '{"manifests":[{"annotations":{"io.containerd.image.name":"regcred:%s","org.opencontainers.image.ref.name":"regcred:%s"},"digest":"sha256:%s","mediaType":"application/vnd.oci.image.index.v1+json","size":%d}],"schemaVersion":2}' \
		"$version" "$version" "$index" "$(wc -c <"$OUT/image-work/index.json")" >"$IMG/index.json"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$IMG/oci-layout"
	det_tar "$OUT/regcred.oci.tar" "$IMG" oci-layout index.json blobs
	echo "sha256:$index" >"$OUT/regcred.oci.digest"
	echo "sha256:$index"
}

unit_tests() {
	need_pkgs libcmocka-dev
	mkdir -p "$OUT/unit"
	fail=0
	for t in $(ls tests/unit/test_*.c 2>/dev/null | sort); do
		n=$(basename "$t" .c)
		gcc $STD $GLIBC_SAN $WARN $(incs) -Itests/unit -o "$OUT/unit/$n" "$t" \
			$(lib_srcs) "$GEN/anchors_gen.c" "$VDIR/build/glibc-asan/libbearssl.a" -lcmocka
		(cd tests/unit && "$OUT/unit/$n") || fail=1
	done
	[ "$fail" = 0 ] || die "unit tests failed"
}

# The unit tests cross-built for another architecture and run under
# qemu-user (binfmt_misc not needed): glibc and cmocka of that
# architecture (Debian multiarch), BearSSL built alike, UBSan in trap
# mode. Not ASan: its shadow memory does not map under qemu-user.
unit_tests_cross() { # arch
	target_need "$1"
	qemu=qemu-${triple%%-*}-static
	need_pkgs "libcmocka-dev:$1" qemu-user-static
	flags="-O1 -g -fsanitize=undefined -fsanitize-undefined-trap-on-error"
	bearssl_build "glibc-$1-ubsan" "$T_GCC" $flags
	mkdir -p "$OUT/unit-$1"
	fail=0
	for t in $(ls tests/unit/test_*.c | sort); do
		n=$(basename "$t" .c)
		$T_GCC $STD $flags $WARN $(incs) -Itests/unit -o "$OUT/unit-$1/$n" "$t" \
			$(lib_srcs) "$GEN/anchors_gen.c" "$VDIR/build/glibc-$1-ubsan/libbearssl.a" \
			-L/usr/lib/$triple -lcmocka
		(cd tests/unit && $qemu "$OUT/unit-$1/$n") || fail=1
	done
	[ "$fail" = 0 ] || die "unit tests ($1, under $qemu) failed"
}

# End to end: a real kube-apiserver, etcd and a matching kubectl, built from
# their Go modules (tests/e2e/build.sh caches them; a cold build takes about
# 6 minutes).
e2e_tests() {
	sh tests/e2e/build.sh >/dev/null
	REGCRED_BIN="$OUT/regcred" python3 -m pytest -q tests/e2e
}

py_deps() {
	# iproute2, util-linux and mount: the network and mount namespaces
	# the integration suite puts Azure IMDS and the cloud names in
	# tinyproxy and squid: the real proxies of tests/integration/test_proxy.py
	need_pkgs python3 openssl iproute2 util-linux mount tinyproxy squid curl
	python3 -c 'import pytest, cryptography, azure.identity, prometheus_client' 2>/dev/null &&
		return 0
	need_pkgs python3-pip
	python3 -m pip install -q -r tests/requirements.txt ||
		python3 -m pip install -q --break-system-packages \
			-r tests/requirements.txt
}

# --- fuzzing ---------------------------------------------------------------
# libFuzzer harnesses (tests/fuzz/fuzz_*.c), built by clang with ASan+UBSan
# against every src/*.c but main.c and a BearSSL built the same way. Each
# runs over its seed corpus and its regressions, then fuzzes for SECONDS
# (new inputs go to out/fuzz/corpus/). A crash input is written to
# tests/fuzz/regressions/<harness>/: commit it, every later run replays it.
# A new crash input becomes a regression; one already kept is not copied.
fuzz_keep() { # crashes-dir regressions-dir
	for c in "$1"/*; do
		[ -f "$c" ] || continue
		for r in "$2"/*; do
			[ -f "$r" ] && cmp -s "$c" "$r" && continue 2
		done
		cp "$c" "$2/"
		say "new regression input: $2/${c##*/}"
	done
}

FUZZ_SAN="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
fuzz_tests() { # seconds
	case "$1" in '' | *[!0-9]*) die "fuzz: SECONDS must be a number" ;; esac
	need_pkgs clang libclang-rt-14-dev ca-certificates openssl
	vendor_fetch
	[ -f "$GEN/anchors_gen.c" ] || anchors_gen
	# BearSSL's T0 interpreters under comparison tracing run 20x slower
	bearssl_build clang-fuzz clang $FUZZ_SAN -fsanitize=fuzzer-no-link \
		-fno-sanitize-coverage=trace-cmp
	d=$OUT/fuzz
	rm -rf "$d/obj"
	mkdir -p "$d/obj"
	for f in $(lib_srcs) "$GEN/anchors_gen.c"; do
		clang $STD $FUZZ_SAN -fsanitize=fuzzer-no-link $WARN $(incs) \
			-c "$f" -o "$d/obj/$(basename "$f" .c).o"
	done
	fail=0
	for t in $(ls tests/fuzz/fuzz_*.c | sort); do
		n=$(basename "$t" .c)
		h=${n#fuzz_}
		clang $STD $FUZZ_SAN -fsanitize=fuzzer $WARN $(incs) -Itests/fuzz \
			-o "$d/$n" "$t" $(ls "$d"/obj/*.o | sort) \
			"$VDIR/build/clang-fuzz/libbearssl.a"
		rm -rf "$d/crashes/$h"
		mkdir -p "$d/corpus/$h" "$d/crashes/$h" "tests/fuzz/regressions/$h"
		say "fuzz $h: seeds and regressions, then $1 s"
		if ! "$d/$n" -max_total_time="$1" -timeout=10 -print_final_stats=1 \
			-dict="tests/fuzz/$h.dict" -artifact_prefix="$d/crashes/$h/" \
			"$d/corpus/$h" "tests/fuzz/corpus/$h" \
			"tests/fuzz/regressions/$h" >"$d/$h.log" 2>&1; then
			tail -n 60 "$d/$h.log" >&2
			fail=1
		fi
		grep -h '^#[0-9]*[[:space:]]*DONE' "$d/$h.log" >&2 || :
		fuzz_keep "$d/crashes/$h" "tests/fuzz/regressions/$h"
	done
	[ "$fail" = 0 ] || die "fuzzing failed: crash inputs in tests/fuzz/regressions/"
}

cmd_test() {
	build_all
	build_locktest
	build_ubsan
	build_asan
	unit_tests
	unit_tests_cross arm64
	fuzz_tests 30
	py_deps
	# the arm64 release binary runs under qemu-user (tests/integration/harness.py)
	need_pkgs qemu-user-static
	REGCRED_BINS="$OUT/regcred $OUT/regcred-ubsan $OUT/regcred-asan $OUT/arm64/regcred" \
		REGCRED_LOCKTEST_BIN="$OUT/regcred-locktest" \
		python3 -m pytest -q tests/integration
	need_pkgs podman runc skopeo diffoscope-minimal
	image_assemble >/dev/null
	python3 -m pytest -q tests/release
	e2e_tests
}

# The whole file is parsed before anything runs (edits during a run are safe).
main() {
	# Steps run one per line, never in an && list: sh ignores `set -e`
	# inside functions called from one, and a failure must stop the build.
	case "${1:-build}" in
	build) build_release ;;
	test) cmd_test ;;
	unit)
		build_release
		build_asan
		unit_tests
		;;
	unit-arm64)
		build_release
		unit_tests_cross arm64
		;;
	e2e)
		build_release
		py_deps
		e2e_tests
		;;
	image) image_build ;;
	callgrind)
		build_release
		build_callgrind
		;;
	bench)
		image_build >/dev/null
		build_callgrind
		build_bench_base
		py_deps
		sh tests/e2e/build.sh >/dev/null
		python3 bench/run.py ${BENCH_BASE_BIN:+--baseline "$BENCH_BASE_BIN"}
		;;
	demo)
		build_release
		py_deps
		python3 tests/demo.py "$OUT/regcred"
		;;
	fuzz) fuzz_tests "${2:-60}" ;;
	clean) rm -rf "$OUT" "$VDIR" ;;
	gen)
		vendor_fetch
		anchors_gen
		buildinfo_gen
		;;
	*) die "usage: ./build.sh [build|test|unit|unit-arm64|e2e|image|callgrind|bench|demo|fuzz|clean]" ;;
	esac
}

main "$@"; exit $?
