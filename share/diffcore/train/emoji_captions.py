#!/usr/bin/env python3
# emoji_captions.py - caption phrasings for the emoji training set, shared by
# the tokenizer recipe and the trainer.  captions(name, keywords) gives every
# phrasing an emoji is trained with; held_out() gives phrasings kept out of
# training, for checking that the model generalises over wording.
import re


def _article(s):
    return ("an " if s[:1] in "aeiou" else "a ") + s


def clean_name(name):
    name = name.lower().replace("’", "'").replace("“", '"').replace("”", '"')
    m = re.match(r"^flag: (.*)$", name)
    if m:
        return "flag of " + m.group(1)
    return name.replace(": ", ", ")


def captions(name, keywords):
    n = clean_name(name)
    kws = [k.strip().lower() for k in keywords.split("|") if k.strip()] if keywords else []
    out = [n, _article(n), n + " emoji", "an emoji of " + _article(n), "a picture of " + _article(n),
           "icon of " + _article(n), _article(n) + ", flat icon", "cartoon " + n]
    for k in kws:
        if k != n:
            out.append(n + ", " + k)
    if len(kws) >= 2:
        out.append(", ".join(kws))
    return out


def held_out(name):
    n = clean_name(name)
    return ["a drawing of " + _article(n), "illustration: " + n, "the " + n + " symbol"]
