/*
 * fuzz_audio.c - libFuzzer harness for dc_audio_read (libsndfile through
 * virtual I/O): arbitrary bytes through fmemopen.  A successful decode must
 * be consistent; short 8/16/24-bit PCM results must survive a WAV write and
 * read-back sample-exactly.
 */
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/media.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	FILE *f = fmemopen((void *)data, size, "rb");
	if (!f)
		return 0;
	struct dc_audio au;
	enum dc_status st = dc_audio_read(f, &au);
	fclose(f);
	if (st != DC_OK) {
		if (au.data || !dc_errmsg()[0])
			__builtin_trap();
		return 0;
	}
	if (au.channels < 1 || au.channels > DC_AUDIO_MAX_CHANNELS || au.frames == 0 || !au.data)
		__builtin_trap();
	int sub = au.subtype;
	if ((sub == SF_FORMAT_PCM_16 || sub == SF_FORMAT_PCM_24 || sub == SF_FORMAT_PCM_U8) &&
	    au.frames * (size_t)au.channels <= 1u << 16) {
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		if (dc_audio_write(m, &au, "wav", sub) != DC_OK)
			__builtin_trap();
		fclose(m);
		f = fmemopen(buf, len, "rb");
		struct dc_audio back;
		if (dc_audio_read(f, &back) != DC_OK || back.frames != au.frames ||
		    back.channels != au.channels ||
		    memcmp(back.data, au.data, au.frames * au.channels * sizeof(float)) != 0)
			__builtin_trap();
		fclose(f);
		free(buf);
		dc_audio_release(&back);
	}
	dc_audio_release(&au);
	return 0;
}

/* libsndfile leaks libvorbis state on some malformed Ogg streams (it is
 * not ours to fix); keep LeakSanitizer on for everything else. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libvorbis.so\nleak:libogg.so\n";
}
