#!/usr/bin/env bats
# install.bats - `make install DESTDIR=...` gives a tree whose diffcore.pc
# compiles and links a small program against the installed library.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
bats_require_minimum_version 1.5.0

setup() {
	cd "$DC_TOP"
	[ -z "${SANITIZE:-}" ] || skip "not under SANITIZE"
}

@test "make install into DESTDIR, then pkg-config compiles a program" {
	d="$BATS_TEST_TMPDIR/root"
	run make -s install DESTDIR="$d" PREFIX=/usr
	assert_success
	[ -f "$d/usr/lib/libdiffcore.so.0.1.0" ]
	[ -L "$d/usr/lib/libdiffcore.so.0" ]
	[ -f "$d/usr/lib/libdiffcore.a" ]
	[ -f "$d/usr/include/diffcore/diffcore.h" ]
	[ -f "$d/usr/share/man/man7/diffcore.7" ]
	run objdump -p "$d/usr/lib/libdiffcore.so.0.1.0"
	assert_output --partial "SONAME               libdiffcore.so.0"
	cat > "$BATS_TEST_TMPDIR/hello.c" <<'C'
#include <diffcore/diffcore.h>
#include <stdio.h>
int main(void)
{
	float x[4] = { 1, 2, 3, 4 };
	dc_softmax_forward(x, x, 1, 4);
	printf("%s %.4f %s\n", DC_VERSION_STRING, x[3], dc_dtype_name(DC_BF16));
	return 0;
}
C
	export PKG_CONFIG_SYSROOT_DIR="$d" PKG_CONFIG_PATH="$d/usr/lib/pkgconfig"
	run sh -c "cc -o '$BATS_TEST_TMPDIR/hello' '$BATS_TEST_TMPDIR/hello.c' \$(pkg-config --cflags --libs diffcore)"
	assert_success
	LD_LIBRARY_PATH="$d/usr/lib" run "$BATS_TEST_TMPDIR/hello"
	assert_success
	assert_output "0.1.0 0.6439 BF16"
}
