/*
 * voice.c - a tts-synth voice: a FastSpeech 2 folder (lib/models/
 * fastspeech2.h) whose config.json also holds the symbol table the model
 * was trained with ("symbols", ming024's text/symbols.py list, written by
 * share/diffcore/tools/fs2_convert.py --symbols) and the audio parameters
 * of its mel spectrograms.  Our phones (the CMU radio set of
 * lib/text/phonemize.h) map onto the ARPAbet symbols:
 *
 *   vowels      upper case plus stress: ih1 -> IH1; ax -> AH, axr -> ER;
 *               el em en -> AH L, AH M, AH N (stress on AH)
 *   consonants  upper case: hh -> HH; hv -> HH, nx -> N, dx -> T
 *   pau         sp (else sil)
 *
 * each looked up as "@NAME" (ming024's spelling) or "NAME".
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "tts.h"

static int find_sym(const struct dc_config *cfg, size_t nsym, const char *name)
{
	char key[32];
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < nsym; i++) {
			const char *s;
			snprintf(key, sizeof key, "symbols.%zu", i);
			if (dc_config_string(cfg, key, &s))
				continue;
			if (s[0] == '@' && !strcmp(s + 1, name) && pass == 0)
				return (int)i;
			if (!strcmp(s, name) && pass == 1)
				return (int)i;
		}
	}
	return -1;
}

static enum dc_status cfg_num(const struct dc_config *cfg, const char *key, double dflt,
                              double lo, double hi, double *out)
{
	if (!dc_config_has(cfg, key)) {
		*out = dflt;
		return DC_OK;
	}
	if (dc_config_double(cfg, key, out) || !(*out >= lo && *out <= hi))
		return dc_fail(DC_EFORMAT, "config.json: '%s' must be a number in [%g, %g]", key, lo, hi);
	return DC_OK;
}

enum dc_status tts_voice_open(struct tts_voice *v, const char *dir)
{
	memset(v, 0, sizeof *v);
	enum dc_status s = dc_fs2_open(&v->fs2, dir);
	if (s)
		return s;
	char *path = NULL;
	struct dc_config *cfg = NULL;
	if (asprintf(&path, "%s/config.json", dir) < 0) {
		s = dc_fail(DC_ENOMEM, "out of memory");
		goto fail;
	}
	if ((s = dc_config_load(&cfg, path)))
		goto fail;
	const struct dc_fs2_config *fc = dc_fs2_config(v->fs2);
	size_t nsym = 0;
	char key[32];
	for (;; nsym++) {
		const char *sv;
		snprintf(key, sizeof key, "symbols.%zu", nsym);
		if (!dc_config_has(cfg, key))
			break;
		if (dc_config_string(cfg, key, &sv)) {
			s = dc_fail(DC_EFORMAT, "config.json: symbols[%zu] is not a string", nsym);
			goto fail;
		}
	}
	if (nsym == 0) {
		s = dc_fail(DC_EFORMAT, "config.json has no \"symbols\" list (the model's phone "
		            "symbols; fs2_convert.py --symbols writes it)");
		goto fail;
	}
	if (nsym > (size_t)fc->n_vocab) {
		s = dc_fail(DC_EFORMAT, "config.json lists %zu symbols, the model has %d", nsym,
		            fc->n_vocab);
		goto fail;
	}
	v->pause_id = find_sym(cfg, nsym, "sp");
	if (v->pause_id < 0)
		v->pause_id = find_sym(cfg, nsym, "sil");
	if (v->pause_id < 0) {
		s = dc_fail(DC_EFORMAT, "no symbol for a pause ('@sp', 'sp', '@sil' or 'sil')");
		goto fail;
	}
	for (unsigned p = 0; p < DC_NPHONES; p++) {
		const char *nm = dc_phone_name(p);
		for (int st = 0; st < 4; st++)
			for (int j = 0; j < TTS_MAX_SYM; j++)
				v->map[p][st][j] = -1;
		if (p == DC_PH_PAU) {
			for (int st = 0; st < 4; st++)
				v->map[p][st][0] = v->pause_id;
			continue;
		}
		char base[8], second[8] = "";
		if (p == DC_PH_AX) strcpy(base, "AH");
		else if (p == DC_PH_AXR) strcpy(base, "ER");
		else if (p == DC_PH_EL) strcpy(base, "AH"), strcpy(second, "L");
		else if (p == DC_PH_EM) strcpy(base, "AH"), strcpy(second, "M");
		else if (p == DC_PH_EN) strcpy(base, "AH"), strcpy(second, "N");
		else if (p == DC_PH_HV) strcpy(base, "HH");
		else if (p == DC_PH_NX) strcpy(base, "N");
		else if (p == DC_PH_DX) strcpy(base, "T");
		else {
			size_t i = 0;
			for (; nm[i] && i < sizeof base - 1; i++)
				base[i] = (char)toupper((unsigned char)nm[i]);
			base[i] = 0;
		}
		int vowel = dc_phone_is_vowel(p);
		for (int st = vowel ? 0 : 3; st < (vowel ? 3 : 4); st++) {
			char want[12];
			snprintf(want, sizeof want, vowel ? "%s%d" : "%s", base, st);
			int id = find_sym(cfg, nsym, want);
			if (id < 0) {
				s = dc_fail(DC_EFORMAT, "no symbol for phone '%s%.0d' (wanted '@%s' or '%s')",
				            nm, vowel ? st : 0, want, want);
				goto fail;
			}
			v->map[p][st][0] = id;
			if (second[0]) {
				if ((id = find_sym(cfg, nsym, second)) < 0) {
					s = dc_fail(DC_EFORMAT, "no symbol for phone '%s' (wanted '@%s')", nm, second);
					goto fail;
				}
				v->map[p][st][1] = id;
			}
		}
	}
	dc_tts_mel_params_default(&v->mel);
	double sr, nfft, hop, win, fmin, fmax;
	if ((s = cfg_num(cfg, "sampling_rate", 22050, 1000, 384000, &sr)) ||
	    (s = cfg_num(cfg, "filter_length", 1024, 16, 65536, &nfft)) ||
	    (s = cfg_num(cfg, "hop_length", 256, 1, 65536, &hop)) ||
	    (s = cfg_num(cfg, "win_length", nfft, 2, nfft, &win)) ||
	    (s = cfg_num(cfg, "mel_fmin", 0, 0, sr / 2, &fmin)) ||
	    (s = cfg_num(cfg, "mel_fmax", 8000 < sr / 2 ? 8000 : sr / 2, fmin, sr / 2, &fmax)))
		goto fail;
	if (sr != (int)sr || nfft != (int)nfft || hop != (int)hop || win != (int)win ||
	    (int)nfft % 2 || hop > nfft) {
		s = dc_fail(DC_EFORMAT, "config.json: sampling_rate, filter_length (even), hop_length "
		            "(<= filter_length) and win_length must be integers");
		goto fail;
	}
	v->sample_rate = (int)sr;
	v->mel.sample_rate = sr;
	v->mel.n_fft = (int)nfft;
	v->mel.hop = (int)hop;
	v->mel.win = (int)win;
	v->mel.fmin = fmin;
	v->mel.fmax = fmax;
	v->mel.n_mels = fc->n_mels;
	if (dc_config_has(cfg, "phonemizer")) {
		const char *ph;
		if (dc_config_string(cfg, "phonemizer", &ph) ||
		    (strcmp(ph, "festival") && strcmp(ph, "flite"))) {
			s = dc_fail(DC_EFORMAT, "config.json: \"phonemizer\" must be \"festival\" or \"flite\"");
			goto fail;
		}
		if (!strcmp(ph, "festival"))
			v->phonemize_flags = DC_PHONEMIZE_FESTIVAL;
	}
	if (dc_config_has(cfg, "pitch_control")) {
		const char *pc;
		if (dc_config_string(cfg, "pitch_control", &pc) ||
		    (strcmp(pc, "embedding") && strcmp(pc, "resample"))) {
			s = dc_fail(DC_EFORMAT, "config.json: \"pitch_control\" must be \"embedding\" or \"resample\"");
			goto fail;
		}
		v->pitch_resample = !strcmp(pc, "resample");
	}
	/* the neural vocoder */
	free(path);
	path = NULL;
	if (asprintf(&path, "%s/vocoder/config.json", dir) < 0) {
		s = dc_fail(DC_ENOMEM, "out of memory");
		goto fail;
	}
	if (access(path, F_OK) == 0) {
		path[strlen(path) - strlen("/config.json")] = 0;
		if ((s = dc_vocos_open(&v->vocos, path)))
			goto fail;
		const struct dc_vocos_config *vc = dc_vocos_config(v->vocos);
		if (vc->center) {   /* speak.c sizes each piece frames * hop */
			s = dc_fail(DC_EFORMAT,
			            "vocoder: \"center\" padding; tts-synth needs a \"same\"-padded Vocos");
			goto fail;
		}
		if (vc->n_mels != v->mel.n_mels || vc->hop != v->mel.hop ||
		    vc->sample_rate != v->sample_rate) {
			s = dc_fail(DC_EFORMAT, "vocoder: %d mels, hop %d, %d Hz; the voice has %d, %d, %d Hz",
			            vc->n_mels, vc->hop, vc->sample_rate, v->mel.n_mels, v->mel.hop,
			            v->sample_rate);
			goto fail;
		}
	}
	dc_config_free(cfg);
	free(path);
	return DC_OK;
fail:
	dc_config_free(cfg);
	free(path);
	dc_fs2_free(v->fs2);
	v->fs2 = NULL;
	dc_vocos_free(v->vocos);
	v->vocos = NULL;
	return s;
}

void tts_voice_close(struct tts_voice *v)
{
	dc_fs2_free(v->fs2);
	v->fs2 = NULL;
	dc_vocos_free(v->vocos);
	v->vocos = NULL;
}
