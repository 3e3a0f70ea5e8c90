/*
 * make_phonemize.c - reference phones from flite's own text pipeline, for
 * tests/golden/make_phonemize.sh (which builds and runs it; not built by
 * make).  Each line of stdin is one utterance, put by flite 2.2 with the
 * slt voice (lexicon cmulex, usenglish text analysis, POS tagger,
 * phrasing, post-lexical rules; the kal voice would map ah to aa) through
 * flite's text method up to the post-lexical rules; printed as
 *
 *     line<TAB>phones
 *
 * where phones are the Segment relation's names, vowels followed by their
 * syllable's stress (flite's "stress" feature, 0 or 1), e.g.
 * "pau hh ax0 l ow1 pau".  Vowels are flite's us_phoneset vc=+ phones.
 *
 *   cc -I/usr/include/flite make_phonemize.c -lflite_cmu_us_slt \
 *      -lflite_usenglish -lflite_cmulex -lflite -lm -o /tmp/mkph
 */
#include <stdio.h>
#include <string.h>

#include <flite/flite.h>

cst_voice *register_cmu_us_slt(const char *voxdir);

/* flite's synth_method_text (src/synth/cst_synth.c) up to the post-lexical rules */
static const cst_synth_module text_to_segments[] = {
	{ "tokenizer_func", default_tokenization },
	{ "textanalysis_func", default_textanalysis },
	{ "pos_tagger_func", default_pos_tagger },
	{ "phrasing_func", default_phrasing },
	{ "lexical_insertion_func", default_lexical_insertion },
	{ "pause_insertion_func", default_pause_insertion },
	{ "postlex_func", NULL },
	{ NULL, NULL }
};

int main(void)
{
	char line[8192];
	flite_init();
	cst_voice *v = register_cmu_us_slt(NULL);
	while (fgets(line, sizeof line, stdin)) {
		line[strcspn(line, "\r\n")] = 0;
		cst_utterance *u = new_utterance();
		utt_set_input_text(u, line);
		utt_init(u, v);
		if (!apply_synth_method(u, text_to_segments)) {
			fprintf(stderr, "flite failed on '%s'\n", line);
			return 1;
		}
		const cst_phoneset *ps = val_phoneset(feat_val(u->features, "phoneset"));
		printf("%s\t", line);
		int first = 1;
		for (cst_item *s = relation_head(utt_relation(u, "Segment")); s; s = item_next(s)) {
			const char *name = item_feat_string(s, "name");
			printf("%s%s", first ? "" : " ", name);
			first = 0;
			if (strcmp(phone_feature_string(ps, name, "vc"), "+") == 0)
				printf("%s", ffeature_string(s, "R:SylStructure.parent.stress"));
		}
		printf("\n");
		delete_utterance(u);
	}
	return 0;
}
