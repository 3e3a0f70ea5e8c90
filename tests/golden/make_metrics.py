#!/usr/bin/python3
"""make_metrics.py - golden inputs and values for lib/metrics (ctrl-extract compare).

Run from the repository root:  /usr/bin/python3 tests/golden/make_metrics.py
Debian 12 stack: skimage 0.19.3, scipy 1.10, numpy 1.24, mir_eval 0.7,
torch 1.13, opencv 4.6, Pillow.

Writes into tests/golden/metrics/:
  gray_{ref,cand}.png      8-bit gray 201x183 (camera, cand blurred+noisy+shifted)
  rgb_{ref,cand}.png       8-bit RGB 180x177 (astronaut)
  edge_{ref,cand}.png      0/255 gray 96x80 (cv2.Canny of camera crops)
  label_{ref,cand}.png     8-bit gray label maps 64x48 (classes 0..6, 255 = ignore)
  labelrgb_{ref,cand}.png  RGB colour-coded label maps 40x30
  melody_{ref,cand}.csv    one-hot [T][12] chroma (T 200 and 190, silent frames)
  dynamics_{ref,cand}.csv  dB curves (T 300 and 290)
  beats_{ref,est}.txt      beat times in seconds, one per line (mir_eval load_events)
  expected.tsv             case <TAB> metric <TAB> value (%.17g)

References: skimage.metrics (structural_similarity, peak_signal_noise_ratio,
mean_squared_error, hausdorff_distance), scipy.ndimage.distance_transform_edt
(edge F1 with tolerance), mir_eval.beat.f_measure / trim_beats, numpy (F1,
mIoU, Pearson, melody accuracy) and a numpy port of torchmetrics' MS-SSIM,
which is itself checked here against a float64 torch transcription of
torchmetrics' _ssim_update/_multiscale_ssim_update (before and after its PR
#2721) to 1e-12.
"""
import os

import cv2
import mir_eval
import numpy as np
import scipy.ndimage as ndi
import skimage.data
import skimage.metrics as skm
import torch
import torch.nn.functional as F
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "metrics")
BETAS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
rows = []


def put(case, metric, value):
    rows.append("%s\t%s\t%.17g" % (case, metric, float(value)))


def save_png(name, arr):
    Image.fromarray(np.ascontiguousarray(arr)).save(os.path.join(OUT, name), optimize=True)


# ---- MS-SSIM: numpy port (valid region) --------------------------------------

def gauss1d(sigma=1.5):
    r = int(3.5 * sigma + 0.5)
    x = np.arange(-r, r + 1, dtype=np.float64)
    g = np.exp(-0.5 * x * x / (sigma * sigma))
    return g / g.sum()


def filt_valid(img, g):
    k = len(g)
    h = np.lib.stride_tricks.sliding_window_view(img, k, axis=1) @ g
    return np.moveaxis(np.lib.stride_tricks.sliding_window_view(h, k, axis=0), -1, -1) @ g


def ssim_cs_valid(x, y, data_range, g, clamp=True):
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    ux, uy = filt_valid(x, g), filt_valid(y, g)
    vx = filt_valid(x * x, g) - ux * ux
    vy = filt_valid(y * y, g) - uy * uy
    vxy = filt_valid(x * y, g) - ux * uy
    if clamp:
        vx, vy = np.maximum(vx, 0), np.maximum(vy, 0)
    cs = (2 * vxy + c2) / (vx + vy + c2)
    s = (2 * ux * uy + c1) / (ux * ux + uy * uy + c1) * cs
    return s.mean(), cs.mean()


def msssim_np(a, b, data_range, full=False):
    """a, b: HxWxC float64.  Per scale, channel means of cs (valid region);
    last scale ssim over the valid region, or (full) over the whole image
    computed on a torch-'reflect' (numpy 'reflect') padded image."""
    g = gauss1d()
    r = len(g) // 2
    vals = []
    for s in range(5):
        sims, css = [], []
        for c in range(a.shape[2]):
            x, y = a[:, :, c], b[:, :, c]
            if s == 4 and full:
                x, y = np.pad(x, r, mode="reflect"), np.pad(y, r, mode="reflect")
            sim, cs = ssim_cs_valid(x, y, data_range, g)
            sims.append(sim)
            css.append(cs)
        vals.append(max(np.mean(sims if s == 4 else css), 0.0))
        h2, w2 = a.shape[0] // 2, a.shape[1] // 2
        a = a[:2 * h2, :2 * w2].reshape(h2, 2, w2, 2, -1).mean(axis=(1, 3))
        b = b[:2 * h2, :2 * w2].reshape(h2, 2, w2, 2, -1).mean(axis=(1, 3))
    return float(np.prod(np.array(vals) ** np.array(BETAS)))


def msssim_torch(a, b, data_range, full):
    """float64 transcription of torchmetrics' code path (gaussian kernel,
    reflect pad, conv2d, crop of cs; sim cropped before PR #2721)."""
    p = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None]
    t = torch.from_numpy(np.ascontiguousarray(b.transpose(2, 0, 1)))[None]
    C = p.shape[1]
    g = torch.from_numpy(gauss1d())
    kern = torch.outer(g, g).expand(C, 1, 11, 11).contiguous()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mcs = []
    for _ in range(5):
        pp = F.pad(p, (5, 5, 5, 5), mode="reflect")
        tt = F.pad(t, (5, 5, 5, 5), mode="reflect")
        out = F.conv2d(torch.cat((pp, tt, pp * pp, tt * tt, pp * tt)), kern, groups=C).split(1)
        mps, mts, mpt = out[0].pow(2), out[1].pow(2), out[0] * out[1]
        sps = torch.clamp(out[2] - mps, min=0.0)
        sts = torch.clamp(out[3] - mts, min=0.0)
        spt = out[4] - mpt
        upper, lower = 2 * spt + c2, sps + sts + c2
        full_map = ((2 * mpt + c1) * upper) / ((mps + mts + c1) * lower)
        sim_map = full_map if full else full_map[..., 5:-5, 5:-5]
        sim = torch.relu(sim_map.reshape(1, -1).mean(-1))
        cs = torch.relu((upper / lower)[..., 5:-5, 5:-5].reshape(1, -1).mean(-1))
        mcs.append(cs)
        p, t = F.avg_pool2d(p, (2, 2)), F.avg_pool2d(t, (2, 2))
    mcs[-1] = sim
    st = torch.stack(mcs) ** torch.tensor(BETAS, dtype=torch.float64).view(-1, 1)
    return float(torch.prod(st, 0)[0])


def image_case(case, ref, cand):
    """ref/cand uint8 HxW or HxWxC."""
    chan = ref.ndim == 3
    kw = {"channel_axis": -1} if chan else {}
    put(case, "ssim", skm.structural_similarity(ref, cand, data_range=255, **kw))
    put(case, "ssim-gaussian", skm.structural_similarity(
        ref, cand, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, **kw))
    put(case, "psnr", skm.peak_signal_noise_ratio(ref, cand, data_range=255))
    mse = skm.mean_squared_error(ref, cand)
    put(case, "mse", mse)
    put(case, "rmse", np.sqrt(mse))
    a = (ref if chan else ref[:, :, None]).astype(np.float64)
    b = (cand if chan else cand[:, :, None]).astype(np.float64)
    for full, name in ((False, "ms-ssim"), (True, "ms-ssim-full")):
        v = msssim_np(a, b, 255.0, full)
        vt = msssim_torch(a, b, 255.0, full)
        assert abs(v - vt) < 1e-12, (case, name, v, vt)
        put(case, name, v)
    # the numpy port's first-scale ssim equals skimage's gaussian variant
    # without the variance clamp
    g = gauss1d()
    s0 = np.mean([ssim_cs_valid(a[:, :, c], b[:, :, c], 255.0, g, clamp=False)[0]
                  for c in range(a.shape[2])])
    s1 = skm.structural_similarity(ref, cand, data_range=255, gaussian_weights=True, sigma=1.5,
                                   use_sample_covariance=False, **kw)
    assert abs(s0 - s1) < 1e-12, (s0, s1)


def edge_f1_tol(ref, cand, k):
    dr = ndi.distance_transform_edt(ref == 0)
    dc = ndi.distance_transform_edt(cand == 0)
    p = np.count_nonzero(cand & (dr <= k)) / max(np.count_nonzero(cand), 1)
    r = np.count_nonzero(ref & (dc <= k)) / max(np.count_nonzero(ref), 1)
    return p, r, (2 * p * r / (p + r) if p + r > 0 else 0.0)


def miou_np(ref, cand, ignore=None):
    keep = np.ones(ref.shape, bool) if ignore is None else ref != ignore
    r, c = ref[keep], cand[keep]
    classes = np.union1d(np.unique(r), np.unique(c))
    if ignore is not None:
        classes = classes[classes != ignore]
    ious = [np.count_nonzero((r == k) & (c == k)) / np.count_nonzero((r == k) | (c == k)) for k in classes]
    return np.mean(ious)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261128)

    # ---- gray and RGB images
    cam = cv2.resize(skimage.data.camera(), (201, 183), interpolation=cv2.INTER_AREA)
    cand = cv2.GaussianBlur(cam, (5, 5), 1.2).astype(np.float64)
    cand = np.roll(cand, 1, axis=1) + rng.normal(0, 6, cand.shape)
    cand = np.clip(np.rint(cand), 0, 255).astype(np.uint8)
    save_png("gray_ref.png", cam)
    save_png("gray_cand.png", cand)
    image_case("gray", cam, cand)

    ast = cv2.resize(skimage.data.astronaut(), (180, 177), interpolation=cv2.INTER_AREA)
    c2 = cv2.GaussianBlur(ast, (3, 3), 0.8).astype(np.float64) * 0.9 + 12
    c2 = np.clip(np.rint(c2 + rng.normal(0, 4, c2.shape)), 0, 255).astype(np.uint8)
    save_png("rgb_ref.png", ast)
    save_png("rgb_cand.png", c2)
    image_case("rgb", ast, c2)

    # ---- edge maps
    crop = skimage.data.camera()[100:180, 200:296]
    e_ref = cv2.Canny(crop, 100, 200)
    noisy = np.clip(crop.astype(np.float64) + rng.normal(0, 10, crop.shape), 0, 255).astype(np.uint8)
    e_cand = cv2.Canny(cv2.GaussianBlur(noisy, (3, 3), 0.7), 80, 160)
    save_png("edge_ref.png", e_ref)
    save_png("edge_cand.png", e_cand)
    r, c = e_ref == 255, e_cand == 255
    tp = np.count_nonzero(r & c)
    fp = np.count_nonzero(~r & c)
    fn = np.count_nonzero(r & ~c)
    put("edge", "f1", 2 * tp / (2 * tp + fp + fn))
    put("edge", "precision", tp / (tp + fp))
    put("edge", "recall", tp / (tp + fn))
    for k in (1, 1.5, 2, 3):
        p, rr, f = edge_f1_tol(r, c, k)
        put("edge_tol%g" % k, "precision", p)
        put("edge_tol%g" % k, "recall", rr)
        put("edge_tol%g" % k, "f1", f)
    put("edge", "hausdorff", skm.hausdorff_distance(r, c))
    # a second, sparse pair for the Hausdorff distance
    a = np.zeros((30, 41), bool)
    b = np.zeros((30, 41), bool)
    a[rng.integers(0, 30, 12), rng.integers(0, 41, 12)] = True
    b[rng.integers(0, 30, 7), rng.integers(0, 41, 7)] = True
    save_png("sparse_a.png", (a * 255).astype(np.uint8))
    save_png("sparse_b.png", (b * 255).astype(np.uint8))
    put("sparse", "hausdorff", skm.hausdorff_distance(a, b))

    # ---- label maps
    yy, xx = np.mgrid[0:48, 0:64]
    lab = ((xx // 16) + 3 * (yy // 24)).astype(np.uint8)          # classes 0..6
    lab[(xx - 40) ** 2 + (yy - 20) ** 2 < 60] = 6
    lab[40:, :8] = 255
    lc = lab.copy()
    flip = rng.random(lab.shape) < 0.15
    lc[flip] = rng.integers(0, 8, np.count_nonzero(flip))         # class 7 only in cand
    lc[:3, 50:] = 255
    save_png("label_ref.png", lab)
    save_png("label_cand.png", lc)
    put("label", "miou", miou_np(lab, lc))
    put("label_ignore255", "miou", miou_np(lab, lc, 255))
    pal = np.array([[0, 0, 0], [120, 120, 120], [180, 120, 120], [6, 230, 230], [80, 50, 50],
                    [4, 200, 3], [120, 120, 80], [140, 140, 140], [204, 5, 255]], np.uint8)
    lr = lab[::2, ::2][:30, :40] % 9
    lcr = lc[::2, ::2][:30, :40] % 9
    save_png("labelrgb_ref.png", pal[lr])
    save_png("labelrgb_cand.png", pal[lcr])
    pack = lambda im: (im[..., 0].astype(np.uint32) << 16) | (im[..., 1].astype(np.uint32) << 8) | im[..., 2]
    put("labelrgb", "miou", miou_np(pack(pal[lr]), pack(pal[lcr])))

    # ---- melody: one-hot chroma, silent frames, different lengths
    T = 200
    pc = rng.integers(0, 12, T)
    pc2 = np.where(rng.random(T) < 0.8, pc, rng.integers(0, 12, T))
    m_ref = np.eye(12, dtype=np.float32)[pc]
    m_cand = np.eye(12, dtype=np.float32)[pc2][:190]
    m_ref[10:20] = 0            # silence in the reference
    m_cand[15:25] = 0
    n = min(len(m_ref), len(m_cand))
    put("melody", "melody-acc", ((m_cand[:n] == m_ref[:n]) & (m_cand[:n] == 1)).sum() / n)
    hdr = ",".join("C C# D D# E F F# G G# A A# B".split())
    np.savetxt(os.path.join(OUT, "melody_ref.csv"), m_ref, fmt="%d", delimiter=",", header=hdr, comments="")
    np.savetxt(os.path.join(OUT, "melody_cand.csv"), m_cand, fmt="%d", delimiter=",", header=hdr, comments="")
    # non-one-hot chroma: argmax agreement (first maximum), in the unit test
    ch_a = rng.random((50, 12)).astype(np.float32)
    ch_b = (ch_a + rng.normal(0, 0.15, ch_a.shape)).astype(np.float32)
    np.savetxt(os.path.join(OUT, "chroma_a.csv"), ch_a, fmt="%.9g", delimiter=",", header=hdr, comments="")
    np.savetxt(os.path.join(OUT, "chroma_b.csv"), ch_b, fmt="%.9g", delimiter=",", header=hdr, comments="")
    put("chroma", "melody-acc", np.mean(np.argmax(ch_a, 1) == np.argmax(ch_b, 1)))

    # ---- dynamics
    t = np.arange(300)
    d_ref = (-30 + 10 * np.sin(t / 25.0) + rng.normal(0, 1, 300)).astype(np.float32)
    d_cand = (0.8 * d_ref[:290] - 5 + rng.normal(0, 3, 290)).astype(np.float32)
    np.savetxt(os.path.join(OUT, "dynamics_ref.csv"), d_ref, fmt="%.9g", header="db", comments="")
    np.savetxt(os.path.join(OUT, "dynamics_cand.csv"), d_cand, fmt="%.9g", header="db", comments="")
    n = 290
    put("dynamics", "dynamics-r", np.corrcoef(d_ref[:n].astype(np.float64), d_cand[:n].astype(np.float64))[0, 1])

    # ---- beats: 120 bpm, jitter, misses, extras, offsets near +-70 ms
    ref = np.round(np.arange(0.25, 20.0, 0.5) + rng.normal(0, 0.004, 40), 4)
    est = ref + rng.choice([0.0, 0.02, -0.03, 0.069, -0.0695, 0.071, 0.12], len(ref))
    est = np.delete(est, [3, 17, 30])
    est = np.sort(np.round(np.concatenate([est, [1.1, 7.77, 13.02, 19.9]]), 4))
    np.savetxt(os.path.join(OUT, "beats_ref.txt"), ref, fmt="%.4f")
    np.savetxt(os.path.join(OUT, "beats_est.txt"), est, fmt="%.4f")
    ref = mir_eval.io.load_events(os.path.join(OUT, "beats_ref.txt"))
    est = mir_eval.io.load_events(os.path.join(OUT, "beats_est.txt"))
    put("beats", "beat-f1", mir_eval.beat.f_measure(ref, est, 0.07))
    put("beats_trim5", "beat-f1", mir_eval.beat.f_measure(
        mir_eval.beat.trim_beats(ref), mir_eval.beat.trim_beats(est), 0.07))
    put("beats_w50", "beat-f1", mir_eval.beat.f_measure(ref, est, 0.05))

    with open(os.path.join(OUT, "expected.tsv"), "w") as f:
        f.write("case\tmetric\tvalue\n")
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
