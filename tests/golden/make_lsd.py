#!/usr/bin/python3
"""make_lsd.py - golden segments for lib/image/lsd.c from OpenCV 4.6
(Debian python3-opencv 4.6.0, cv2.createLineSegmentDetector) and golden line
maps from cv2.line (LINE_8).

Run from the repository root:  /usr/bin/python3 tests/golden/make_lsd.py
Writes tests/golden/lsd/*.bin, read by tests/unit/test_lsd.c.

Detection case <name>.lsd.bin (little-endian):
    8 bytes "DCLSD01\\n"
    i32 refine, f64 scale, sigma_scale, quant, ang_th, log_eps, density_th,
    i32 n_bins, i32 w, i32 h, w*h u8 gray image (row-major),
    u32 n, n x 7 f32 (x1, y1, x2, y2, width, prec, nfa; nfa NaN unless refine 2)
Photos are skimage data images made gray the way the `lines` condition does
it (cv2.cvtColor RGB2GRAY on the RGB image), shrunk with cv2.resize
INTER_AREA to keep the files small; the test feeds the stored gray bytes,
so resize/cvtColor are not part of what it checks.

Drawing case <name>.draw.bin:
    8 bytes "DCDRAW1\\n"
    i32 w, i32 h, i32 thickness, i32 rounding (0 nearest-even, 1 trunc),
    u32 n, n x 4 f32 (x1, y1, x2, y2), w*h u8 map: cv2.line(map, p1, p2, 255,
    thickness, LINE_8) on a zero map with integer endpoints np.rint / int().
"""
import os
import struct

import cv2
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsd")
DATA = "/usr/lib/python3/dist-packages/skimage/data/"
DEF = dict(refine=1, scale=0.8, sigma_scale=0.6, quant=2.0, ang_th=22.5,
           log_eps=0.0, density_th=0.7, n_bins=1024)


def photo(name, maxside):
    im = cv2.imread(DATA + name, cv2.IMREAD_UNCHANGED)
    if im.ndim == 3:
        rgb = cv2.cvtColor(im, cv2.COLOR_BGRA2RGB if im.shape[2] == 4 else cv2.COLOR_BGR2RGB)
        im = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    h, w = im.shape
    f = maxside / max(h, w)
    if f < 1:
        im = cv2.resize(im, (max(1, round(w * f)), max(1, round(h * f))),
                        interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(im)


def detect(im, p):
    lsd = cv2.createLineSegmentDetector(p["refine"], p["scale"], p["sigma_scale"],
                                        p["quant"], p["ang_th"], p["log_eps"],
                                        p["density_th"], p["n_bins"])
    lines, width, prec, nfa = lsd.detect(im)
    if lines is None:
        return np.zeros((0, 7), np.float32)
    n = len(lines)
    out = np.full((n, 7), np.nan, np.float32)
    out[:, :4] = lines.reshape(n, 4)
    out[:, 4] = width.ravel()
    out[:, 5] = prec.ravel()
    if nfa is not None:
        out[:, 6] = nfa.ravel()
    return out


def write_lsd(name, im, **over):
    p = dict(DEF, **over)
    segs = detect(im, p)
    h, w = im.shape
    with open(os.path.join(OUT, name + ".lsd.bin"), "wb") as f:
        f.write(b"DCLSD01\n")
        f.write(struct.pack("<i6di", p["refine"], p["scale"], p["sigma_scale"], p["quant"],
                            p["ang_th"], p["log_eps"], p["density_th"], p["n_bins"]))
        f.write(struct.pack("<ii", w, h))
        f.write(im.astype(np.uint8).tobytes())
        f.write(struct.pack("<I", len(segs)))
        f.write(segs.astype("<f4").tobytes())
    print("%-22s %4dx%-4d refine %d scale %.2f: %d segments" % (name, w, h, p["refine"],
                                                                 p["scale"], len(segs)))


def write_draw(name, w, h, segs, thickness, rounding):
    m = np.zeros((h, w), np.uint8)
    for x1, y1, x2, y2 in segs:
        if rounding == 0:
            q = [int(np.rint(np.float32(v))) for v in (x1, y1, x2, y2)]
        else:
            q = [int(np.float32(v)) for v in (x1, y1, x2, y2)]
        cv2.line(m, (q[0], q[1]), (q[2], q[3]), 255, thickness, cv2.LINE_8)
    with open(os.path.join(OUT, name + ".draw.bin"), "wb") as f:
        f.write(b"DCDRAW1\n")
        f.write(struct.pack("<iiiiI", w, h, thickness, rounding, len(segs)))
        f.write(np.asarray(segs, "<f4").tobytes())
        f.write(m.tobytes())
    print("%-22s %4dx%-4d thickness %d rounding %d: %d lines, %d px set" % (
        name, w, h, thickness, rounding, len(segs), int((m > 0).sum())))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20240503)
    # real photos, default parameters (the `lines` condition)
    for nm in ["camera", "chelsea", "coffee", "astronaut", "brick"]:
        write_lsd(nm, photo(nm + ".png", 128))
    write_lsd("checker_bilevel", photo("checker_bilevel.png", 128))
    # the other refinement levels and scale 1 on one photo
    cam = photo("camera.png", 128)
    write_lsd("camera_none", cam, refine=0)
    write_lsd("camera_adv", cam, refine=2)
    write_lsd("camera_s1", cam, scale=1.0)
    write_lsd("coffee_adv_odd", photo("coffee.png", 97), refine=2, ang_th=30.0, n_bins=256)
    # synthetic
    rect = np.full((80, 96), 30, np.uint8)
    cv2.rectangle(rect, (15, 12), (70, 55), 220, -1)
    cv2.rectangle(rect, (50, 40), (85, 70), 120, -1)
    write_lsd("rects", rect)
    line = np.zeros((64, 64), np.uint8)
    cv2.line(line, (5, 50), (58, 9), 255, 3, cv2.LINE_AA)
    write_lsd("line", line)
    write_lsd("noise", rng.integers(0, 256, (48, 56), dtype=np.uint8))
    write_lsd("uniform", np.full((40, 40), 77, np.uint8))
    write_lsd("tiny1", np.array([[200]], np.uint8))
    write_lsd("tiny2", np.array([[0, 255], [255, 0]], np.uint8))
    # drawing: random segments (inside and crossing the border), LSD output
    w, h = 120, 90
    segs = []
    for _ in range(60):
        segs.append(rng.uniform(-30, [w + 30, h + 30, w + 30, h + 30]).tolist())
    segs += [[10, 10, 10, 10], [0, 0, w - 1, h - 1], [-5.5, 20.5, 130.5, 20.5],
             [60.5, -10, 60.5, 100], [2.5, 3.5, 7.5, 8.5], [119.6, 0.4, 0.5, 89.5]]
    write_draw("random_t1", w, h, segs, 1, 0)
    write_draw("random_t1_trunc", w, h, segs, 1, 1)
    camsegs = detect(cam, DEF)[:, :4].tolist()
    write_draw("camera_t1", cam.shape[1], cam.shape[0], camsegs, 1, 0)
    write_draw("camera_t3", cam.shape[1], cam.shape[0], camsegs, 3, 0)


if __name__ == "__main__":
    main()
