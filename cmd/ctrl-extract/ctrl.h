/*
 * ctrl.h - the parts of ctrl-extract(1), one entry point per family of
 * subcommands.  main.c parses the first argument (the condition or
 * "compare") and hands over argc/argv starting at that word, getopt-style
 * (argv[0] is the subcommand name).  Each entry returns the exit status.
 */
#ifndef CTRL_H
#define CTRL_H

/* Image conditions: canny, lines, scribble, lineart, shuffle, tile, binary,
 * color, gray, invert, mask (image.c). */
int ctrl_image_main(int argc, char **argv);

/* Music conditions: melody, dynamics, rhythm (music.c). */
int ctrl_music_main(int argc, char **argv);

/* Controllability metrics: compare REF CAND (compare.c). */
int ctrl_compare_main(int argc, char **argv);

#endif
