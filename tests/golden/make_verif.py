#!/usr/bin/python3
# make_verif.py - golden values for the speaker-verification metrics of
# lib/metrics/verif.c, in plain Python (no numpy, no sklearn), by brute
# force so that nothing is shared with the C code's single sort:
#
#   operating points: for the threshold +inf and then every distinct score t
#     (decreasing), count the trials directly: accepted = score >= t;
#     P_miss = rejected targets / targets, P_fa = accepted nontargets / nontargets
#   EER: the point where P_miss = P_fa on the straight segment between the
#     last point with P_miss > P_fa and the next one (what sklearn's
#     roc_curve + brentq(1 - x - interp1d(fpr, tpr)(x)) gives); threshold
#     interpolated the same way
#   minDCF: speechbrain.utils.metric_stats.minDCF re-implemented literally
#     (thresholds = unique scores and their midpoints, miss = pos <= thr,
#     fa = neg > thr, first minimum), plus the "accept all" point; the
#     normalised value divides by min(c_miss p_target, c_fa (1 - p_target)).
#     When the SpeechBrain source is present (.ref/sb), its minDCF is run on
#     the same trials and must agree (float32 there: 1e-6).
#   probit: statistics.NormalDist().inv_cdf
#   cohort statistics (WeSpeaker score_norm.py get_mean_std): cosine scores
#     sorted decreasing, first top_n, mean and population std; AS-norm
#     0.5 ((s - m_e)/s_e + (s - m_t)/s_t)
#
# Output: tests/golden/verif/cases.txt (see the writer below for the layout).
import math
import os
import random
import statistics
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "verif", "cases.txt")
P_TARGETS = [0.01, 0.05, 0.7]


def points(scores, labels):
    P = sum(1 for l in labels if l)
    N = len(labels) - P
    thr = [math.inf] + sorted(set(scores), reverse=True)
    pts = []
    for t in thr:
        miss = sum(1 for s, l in zip(scores, labels) if l and not s >= t)
        fa = sum(1 for s, l in zip(scores, labels) if not l and s >= t)
        pts.append((t, miss / P, fa / N))
    return pts


def eer(pts):
    for k in range(1, len(pts)):
        if pts[k][1] - pts[k][2] <= 0:
            t0, m0, f0 = pts[k - 1]
            t1, m1, f1 = pts[k]
            d0, d1 = m0 - f0, m1 - f1
            a = d0 / (d0 - d1)
            thr = t1 if k == 1 else t0 + a * (t1 - t0)
            return f0 + a * (f1 - f0), thr
    raise AssertionError("no crossing")


def min_dcf_sb(pos, neg, p_target, c_miss=1.0, c_fa=1.0):
    u = sorted(set(pos + neg))
    mids = [(u[i] + u[i + 1]) / 2 for i in range(len(u) - 1)]
    thr = sorted(u + mids)
    best, bt, bm, bf = math.inf, None, None, None
    for t in thr:
        pm = sum(1 for s in pos if s <= t) / len(pos)
        pf = sum(1 for s in neg if s > t) / len(neg)
        c = c_miss * pm * p_target + c_fa * pf * (1 - p_target)
        if c < best:
            best, bt, bm, bf = c, t, pm, pf
    return best, bt, bm, bf


def min_dcf(scores, labels, p_target, c_miss=1.0, c_fa=1.0):
    pos = [s for s, l in zip(scores, labels) if l]
    neg = [s for s, l in zip(scores, labels) if not l]
    raw, thr, pm, pf = min_dcf_sb(pos, neg, p_target, c_miss, c_fa)
    accept_all = c_fa * (1 - p_target)
    if accept_all < raw:
        raw, thr, pm, pf = accept_all, -math.inf, 0.0, 1.0
    return raw / min(c_miss * p_target, c_fa * (1 - p_target)), raw, thr, pm, pf


def sb_check(scores, labels, p_target, raw, thr):
    # Run SpeechBrain's own minDCF: its source is taken out of
    # metric_stats.py with ast (importing the module pulls in joblib and the
    # rest of speechbrain) and executed with torch.
    src = os.path.join(HERE, "..", "..", ".ref", "sb", "speechbrain", "utils", "metric_stats.py")
    try:
        import ast
        import torch
        tree = ast.parse(open(src).read())
        fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "minDCF")
        ns = {"torch": torch}
        exec(compile(ast.Module(body=[fn], type_ignores=[]), src, "exec"), ns)
        minDCF = ns["minDCF"]
    except Exception as e:  # reference not fetched: the literal re-implementation stands
        print("  (SpeechBrain check skipped: %s)" % e)
        return
    pos = torch.tensor([s for s, l in zip(scores, labels) if l], dtype=torch.float64)
    neg = torch.tensor([s for s, l in zip(scores, labels) if not l], dtype=torch.float64)
    v, t = minDCF(pos, neg, p_target=p_target)
    ref = min(v, 1 - p_target)   # plus the "accept all" point
    assert abs(ref - raw) <= 1e-6, (ref, raw)
    assert thr == -math.inf or t == thr, (t, thr)
    print("  speechbrain minDCF(p=%g) %.9g (with accept-all %.9g), ours %.9g" % (p_target, v, ref, raw))


def case_list():
    rng = random.Random(20260521)
    cases = []
    # hand made, with ties across classes
    cases.append(("ties", [0.9, 0.8, 0.8, 0.7, 0.5, 0.5, 0.5, 0.3, 0.2, 0.1],
                  [1, 1, 0, 1, 1, 0, 0, 0, 1, 0]))
    # perfectly separated: EER 0
    cases.append(("separated", [0.9, 0.8, 0.7, 0.2, 0.1, 0.0], [1, 1, 1, 0, 0, 0]))
    # all scores equal: one operating point besides the ends, EER 0.5
    cases.append(("constant", [0.5] * 6, [1, 0, 1, 0, 0, 0]))
    # reversed: every target below every nontarget
    cases.append(("reversed", [0.1, 0.2, 0.8, 0.9, 0.95], [1, 1, 0, 0, 0]))
    # Gaussian targets N(1.5, 1), nontargets N(-1, 1.2), rounded to 0.01 (many ties)
    s, l = [], []
    for _ in range(300):
        s.append(round(rng.gauss(1.5, 1.0), 2)); l.append(1)
    for _ in range(1700):
        s.append(round(rng.gauss(-1.0, 1.2), 2)); l.append(0)
    idx = list(range(len(s))); rng.shuffle(idx)
    cases.append(("gauss_ties", [s[i] for i in idx], [l[i] for i in idx]))
    # continuous cosine-like scores, few targets
    s, l = [], []
    for _ in range(40):
        s.append(math.tanh(rng.gauss(0.9, 0.5))); l.append(1)
    for _ in range(900):
        s.append(math.tanh(rng.gauss(0.1, 0.3))); l.append(0)
    cases.append(("cosine_few_targets", s, l))
    return cases


def f32(x):  # the C side reads float32 embeddings
    return struct.unpack("f", struct.pack("f", x))[0]


def cohort_case(rng, d, nc, top_n):
    e = [f32(rng.gauss(0, 1)) for _ in range(d)]
    t = [f32(x + rng.gauss(0, 0.8)) for x in e]
    cohort = [[f32(rng.gauss(0, 1) + (0.3 if j % 3 == 0 else 0)) for j in range(d)] for _ in range(nc)]

    def cos(a, b):
        ab = sum(x * y for x, y in zip(a, b))
        aa = sum(x * x for x in a)
        bb = sum(y * y for y in b)
        return ab / math.sqrt(max(aa * bb, 1e-16))

    def stats(v):
        sc = sorted((cos(v, c) for c in cohort), reverse=True)
        k = nc if top_n == 0 or top_n > nc else top_n
        sc = sc[:k]
        m = sum(sc) / k
        return m, math.sqrt(sum((x - m) ** 2 for x in sc) / k)

    s = cos(e, t)
    me, se = stats(e)
    mt, st = stats(t)
    mean = [sum(c[j] for c in cohort) / nc for j in range(d)]
    return e, t, cohort, s, me, se, mt, st, 0.5 * ((s - me) / se + (s - mt) / st), mean


def main():
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    nd = statistics.NormalDist()
    # Layout (whitespace separated, %.17g):
    #   case NAME n / n scores / n labels / eer EER THR /
    #   dcf P_TARGET MIN_DCF RAW THR P_MISS P_FA   (for each of P_TARGETS) /
    #   det K / K pfa / K pmiss / K thr
    #   probit n / n pairs p value
    #   cohort d nc top_n / e (d) / t (d) / cohort (nc*d) / score me se mt st asnorm / mean (d)
    with open(OUT, "w") as f:
        for name, s, l in case_list():
            pts = points(s, l)
            e, et = eer(pts)
            f.write("case %s %d\n" % (name, len(s)))
            f.write(" ".join("%.17g" % x for x in s) + "\n")
            f.write(" ".join(str(x) for x in l) + "\n")
            f.write("eer %.17g %.17g\n" % (e, et))
            print("%s: n %d, EER %.6f%% at %.6g" % (name, len(s), 100 * e, et))
            for p in P_TARGETS:
                norm, raw, thr, pm, pf = min_dcf(s, l, p)
                f.write("dcf %.17g %.17g %.17g %.17g %.17g %.17g\n" % (p, norm, raw, thr, pm, pf))
                print("  minDCF(%g) %.6f (raw %.6g) at %.6g" % (p, norm, raw, thr))
                sb_check(s, l, p, raw, thr)
            f.write("det %d\n" % len(pts))
            for j in (2, 1, 0):
                f.write(" ".join("%.17g" % q[j] for q in pts) + "\n")
        ps = [1e-300, 1e-20, 1e-9, 1e-4, 0.001, 0.01, 0.02425, 0.05, 0.075, 0.1, 0.2, 0.3, 0.4, 0.45,
              0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 0.95, 0.975, 0.99, 0.999, 0.9999, 1 - 1e-9]
        f.write("probit %d\n" % len(ps))
        for p in ps:
            f.write("%.17g %.17g\n" % (p, nd.inv_cdf(p)))
        rng = random.Random(7)
        for d, nc, top_n in ((16, 50, 10), (24, 30, 0), (8, 12, 100)):
            e, t, cohort, s, me, se, mt, st, an, mean = cohort_case(rng, d, nc, top_n)
            f.write("cohort %d %d %d\n" % (d, nc, top_n))
            for v in (e, t, [x for c in cohort for x in c]):
                f.write(" ".join("%.9g" % x for x in v) + "\n")
            f.write("%.17g %.17g %.17g %.17g %.17g %.17g\n" % (s, me, se, mt, st, an))
            f.write(" ".join("%.17g" % x for x in mean) + "\n")
            print("cohort d %d nc %d top %d: score %.6f asnorm %.6f" % (d, nc, top_n, s, an))
    print("wrote", OUT)


main()
