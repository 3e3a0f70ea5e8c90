#!/usr/bin/env python3
# make_t5_prompts.py - writes t5/prompts.txt: a few hundred varied prompts
# (one per line, UTF-8) for the tokenizer parity test: plain captions,
# case, numbers, punctuation, accents, full-width and compatibility
# characters NFKC folds, CJK, emoji, odd whitespace (tabs, NBSP, runs of
# spaces), text that looks like special tokens, and long prompts that
# overflow 120 tokens.  Deterministic (seeded).
import os
import random

random.seed(7)
HERE = os.path.dirname(os.path.abspath(__file__))
subjects = ["a red apple", "an astronaut riding a horse", "a small cabin in the woods", "two cats",
            "the Eiffel Tower at night", "a bowl of ramen", "a portrait of an old fisherman",
            "a futuristic city skyline", "a watercolor fox", "a vintage car", "Mount Fuji",
            "a cup of coffee", "a dragon made of glass", "the moon over the sea", "a robot reading a book"]
styles = ["oil painting", "digital art", "35mm photo", "pixel art", "ukiyo-e", "low poly 3D render",
          "pencil sketch", "studio lighting", "8k, highly detailed", "in the style of Van Gogh"]
extras = [
    "Café au lait, naïve résumé, Ångström, Œuvre", "ﬁne ﬂowers ① ② ③ ㎏ ㍻ Ⅻ", "ＦＵＬＬ－ＷＩＤＴＨ　ｔｅｘｔ！",
    "東京の夜景、桜の花", "一只可爱的猫", "강아지와 고양이", "Москва зимой", "Αθήνα", "שלום", "مرحبا بالعالم",
    "emoji 🍎🚀🐱‍👤 and 👍🏽", "tabs\tand\tspaces   and  runs", "non\u00a0breaking\u2009thin\u200bzero",
    "price $1,299.99 or €5,00 — 50% off!", "1st 2nd 3rd 21st 1999 2024-11-28 12:30", "3.14159 2.71828 1e-6 0x1F",
    "quotes “curly” ‘single’ «guillemets» \"straight\"", "dots... ellipsis… dashes – — -", "C++ & C# | a/b \\ c",
    "e-mail: someone@example.org, url: https://example.com/a?b=c", "HTML &amp; <b>bold</b> <i>it</i>",
    "</s> looks special", "<extra_id_0> sentinel <extra_id_99>", "<pad><unk>", "ALL CAPS SHOUTING", "MiXeD cAsE",
    "   leading and trailing   ", "a", "", " ", "!!!", "????", "(parentheses) [brackets] {braces}",
    "#hashtag @mention ~tilde ^caret `backtick`", "newline-free\u2028line\u2029separators", "soft\u00adhyphen",
    "combining e\u0301 vs é, n\u0303 vs ñ", "ß straße STRASSE", "İstanbul ı i", "ǅ ǈ ǋ", "µ vs μ, Ω vs Ω, K vs K",
    "roman Ⅳ Ⅸ, superscripts x² y³ ⁴, fractions ½ ¾", "digits ١٢٣ ۴۵۶ ७८९", "control\u0007bell\u001bescape",
]
prompts = []
for s in subjects:
    prompts.append(s)
    prompts.append(s.capitalize() + ", " + random.choice(styles))
    prompts.append(s.upper())
for e in extras:
    prompts.append(e)
    prompts.append(random.choice(subjects) + ". " + e)
words = " ".join(subjects + styles).split()
for n in (60, 100, 119, 120, 121, 150, 300):
    prompts.append(" ".join(random.choice(words) for _ in range(n)))
alphabet = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.;:!?'\"-()/&%$#@"
            "éèêëàâäîïôöùûüçñåøæœßÁÉÍÓÚ€£¥©®™°±×÷…—–“”‘’«»¿¡ﬁﬂ①②③ＡＢＣ１２３　東京猫🍎🚀")
while len(prompts) < 330:
    n = random.randint(1, 80)
    prompts.append("".join(random.choice(alphabet) for _ in range(n)))
for i in range(30):
    a = random.randint(0, 10**random.randint(1, 12))
    prompts.append(f"{random.choice(subjects)} number {a} at {random.randint(0,23)}:{random.randint(0,59):02d}")
os.makedirs(os.path.join(HERE, "t5"), exist_ok=True)
with open(os.path.join(HERE, "t5", "prompts.txt"), "w", encoding="utf-8") as f:
    for p in prompts:
        assert "\n" not in p and "\r" not in p
        f.write(p + "\n")
print(len(prompts), "prompts")
