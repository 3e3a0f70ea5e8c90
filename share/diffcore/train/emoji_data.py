#!/usr/bin/env python3
# emoji_data.py - the training set of diffcore's default text-to-image
# model: every emoji of Debian's colour-emoji font (fonts-noto-color-emoji,
# SIL OFL 1.1) with its Unicode name (unicode-data's emoji-test.txt) and
# its CLDR English keywords (unicode-cldr-core), rendered on white at
# SIZE x SIZE.  Skin-tone variants are left out (they repeat the base
# picture); flags, ZWJ sequences and keycaps are in.
#
# Writes OUT (default emoji64.npz): images uint8 [N][SIZE][SIZE][3],
# names [N] (str), keywords [N] (str, " | "-separated), groups [N] (str).
# Needs: python3-fonttools python3-pil python3-numpy fonts-noto-color-emoji
#        unicode-data unicode-cldr-core (Debian 12).
# Run:   SIZE=64 OUT=emoji64.npz python3 emoji_data.py
import io
import os
import re
import sys
import xml.etree.ElementTree as ET

import numpy as np
from fontTools.ttLib import TTFont
from PIL import Image

FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
TEST = "/usr/share/unicode/emoji/emoji-test.txt"
CLDR = ["/usr/share/unicode/cldr/common/annotations/en.xml",
        "/usr/share/unicode/cldr/common/annotationsDerived/en.xml"]
SIZE = int(os.environ.get("SIZE", "64"))
OUT = os.environ.get("OUT", "emoji%d.npz" % SIZE)

font = TTFont(FONT)
strike = font["CBDT"].strikeData[0]
cmap = font.getBestCmap()
# sequences (flags, keycaps, ZWJ) are GSUB ligatures of their code points' glyphs
ligatures = {}
for lookup in font["GSUB"].table.LookupList.Lookup:
    for sub in lookup.SubTable:
        if sub.LookupType == 7:
            sub = sub.ExtSubTable
        if getattr(sub, "LookupType", None) != 4:
            continue
        for first, ligs in sub.ligatures.items():
            for lig in ligs:
                ligatures.setdefault(tuple([first] + list(lig.Component)), lig.LigGlyph)


def glyph_of(cps):
    for seq in (cps, [c for c in cps if c != 0xFE0F]):
        names = [cmap.get(c) for c in seq]
        if None in names:
            continue
        if len(names) == 1:
            return names[0]
        if tuple(names) in ligatures:
            return ligatures[tuple(names)]
    return None


keywords = {}
for path in CLDR:
    for a in ET.parse(path).getroot().iter("annotation"):
        if a.get("type") != "tts" and a.text:
            keywords[a.get("cp").replace("\ufe0f", "")] = a.text.strip()

rows = []
group = ""
for line in open(TEST, encoding="utf-8"):
    if line.startswith("# group:"):
        group = line.split(":", 1)[1].strip()
        continue
    m = re.match(r"^([0-9A-F ]+);\s*fully-qualified\s*#\s*\S+\s+E[\d.]+\s+(.*)$", line)
    if not m or "skin tone" in m.group(2):
        continue
    cps = [int(x, 16) for x in m.group(1).split()]
    base = [c for c in cps if c != 0xFE0F]
    glyph = glyph_of(cps)
    if glyph is None or glyph not in strike:
        continue
    png = Image.open(io.BytesIO(strike[glyph].imageData)).convert("RGBA")
    side = max(png.size)
    canvas = Image.new("RGBA", (side, side), (255, 255, 255, 255))
    canvas.alpha_composite(png, ((side - png.size[0]) // 2, (side - png.size[1]) // 2))
    img = canvas.convert("RGB").resize((SIZE, SIZE), Image.LANCZOS)
    text = "".join(chr(c) for c in base)
    rows.append((np.asarray(img, dtype=np.uint8), m.group(2).strip(), keywords.get(text, ""), group))

imgs = np.stack([r[0] for r in rows])
np.savez_compressed(OUT, images=imgs, names=np.array([r[1] for r in rows]),
                    keywords=np.array([r[2] for r in rows]), groups=np.array([r[3] for r in rows]))
print(len(rows), "emoji ->", OUT, imgs.shape, file=sys.stderr)
