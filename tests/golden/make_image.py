#!/usr/bin/python3
"""make_image.py - golden files for ctrl-extract's image conditions, and a
parity check against the reference annotators on arbitrary photos.

The references are the few numpy/cv2 lines of each ControlNet annotator
(ControlNet v1.1 annotator/util.py HWC3 and resize_image, sd-webui-controlnet
scribble_xdog / binary / color / tile_resample / blur_gaussian,
controlnet_aux lineart_standard and ContentShuffleDetector), re-typed here
and run with Debian's python3-opencv 4.6 and numpy.

  /usr/bin/python3 tests/golden/make_image.py            # regenerate tests/golden/image/
  /usr/bin/python3 tests/golden/make_image.py parity [--bin build/bin/ctrl-extract] IMG...
        # run every condition on each image at full size and print the
        # number of differing pixels and the largest difference

Golden layout: tests/golden/image/<name>.png are the inputs (small,
downscaled photos: skimage data and a MATE background), and
<name>.<case>.png the reference outputs; cases.tsv lists
"input<TAB>case<TAB>tolerance<TAB>ctrl-extract arguments" per line
(tolerance: max |difference| allowed, and the fraction of pixels that may
differ, for conditions that go through a float Gaussian blur).
"""
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "image")
SK = "/usr/lib/python3/dist-packages/skimage/data/"
MATE = "/usr/share/backgrounds/mate/nature/"


# ---- the reference annotators ------------------------------------------------

def HWC3(x):
    assert x.dtype == np.uint8
    if x.ndim == 2:
        x = x[:, :, None]
    H, W, C = x.shape
    if C == 3:
        return x
    if C == 1:
        return np.concatenate([x, x, x], axis=2)
    if C == 2:  # gray + alpha, treated like RGBA (ctrl-extract's choice)
        x = np.concatenate([x[:, :, :1]] * 3 + [x[:, :, 1:]], axis=2)
    color = x[:, :, 0:3].astype(np.float32)
    alpha = x[:, :, 3:4].astype(np.float32) / 255.0
    y = color * alpha + 255.0 * (1.0 - alpha)
    return y.clip(0, 255).astype(np.uint8)


def resize_image(input_image, resolution):
    H, W, C = input_image.shape
    H = float(H)
    W = float(W)
    k = float(resolution) / min(H, W)
    H *= k
    W *= k
    H = int(np.round(H / 64.0)) * 64
    W = int(np.round(W / 64.0)) * 64
    return cv2.resize(input_image, (W, H),
                      interpolation=cv2.INTER_LANCZOS4 if k > 1 else cv2.INTER_AREA)


def scribble_xdog(img, thr_a=32):
    g1 = cv2.GaussianBlur(img.astype(np.float32), (0, 0), 0.5)
    g2 = cv2.GaussianBlur(img.astype(np.float32), (0, 0), 5.0)
    dog = (255 - np.min(g2 - g1, axis=2)).clip(0, 255).astype(np.uint8)
    result = np.zeros_like(img, dtype=np.uint8)
    result[2 * (255 - dog) > thr_a] = 255
    return result


def lineart_standard(input_image, guassian_sigma=6.0, intensity_threshold=8):
    x = input_image.astype(np.float32)
    g = cv2.GaussianBlur(x, (0, 0), guassian_sigma)
    intensity = np.min(g - x, axis=2).clip(0, 255)
    intensity /= max(16, np.median(intensity[intensity > intensity_threshold]))
    intensity *= 127
    return intensity.clip(0, 255).astype(np.uint8)


def make_noise_disk(H, W, C, F):
    noise = np.random.uniform(low=0, high=1, size=((H // F) + 2, (W // F) + 2, C))
    noise = cv2.resize(noise, (W + 2 * F, H + 2 * F), interpolation=cv2.INTER_CUBIC)
    noise = noise[F: F + H, F: F + W]
    noise -= np.min(noise)
    noise /= np.max(noise)
    if C == 1:
        noise = noise[:, :, None]
    return noise


def content_shuffle(img, f=256, seed=12345):
    np.random.seed(seed)
    H, W, C = img.shape
    x = make_noise_disk(H, W, 1, f) * float(W - 1)
    y = make_noise_disk(H, W, 1, f) * float(H - 1)
    flow = np.concatenate([x, y], axis=2).astype(np.float32)
    return cv2.remap(img, flow, None, cv2.INTER_LINEAR)


def binary(img, thr_a=0):
    img_gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    if thr_a == 0 or thr_a == 255:
        _, img_bin = cv2.threshold(img_gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    else:
        _, img_bin = cv2.threshold(img_gray, thr_a, 255, cv2.THRESH_BINARY_INV)
    return img_bin


def color_grid(img, cell=64):
    H, W, C = img.shape
    img = cv2.resize(img, (W // cell, H // cell), interpolation=cv2.INTER_CUBIC)
    return cv2.resize(img, (W, H), interpolation=cv2.INTER_NEAREST)


def tile_resample(img, rate):
    if rate < 1.1:
        return img
    H, W, C = img.shape
    small = cv2.resize(img, (int(W / rate), int(H / rate)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (W, H), interpolation=cv2.INTER_LINEAR)


def tile_blur(img, sigma):
    # float path (ctrl-extract's definition); cv2.GaussianBlur on uint8 uses
    # an 8-bit fixed-point kernel and may differ by 1 from this
    y = cv2.GaussianBlur(img.astype(np.float32), (0, 0), sigma)
    return np.rint(y).clip(0, 255).astype(np.uint8)


def mask_alpha(img, thr=128):
    a = img[:, :, -1]
    return np.where(a < thr, 255, 0).astype(np.uint8)


# ---- cases --------------------------------------------------------------------
# (case, tolerance "maxdiff:fraction", ctrl-extract args, reference function of
#  the raw input image in RGB(A))

def cases():
    c = []
    for lo, hi, l2 in ((100, 200, 0), (100, 200, 1), (20, 60, 0), (10.5, 20.7, 1)):
        args = ["canny", "--low", str(lo), "--high", str(hi)] + (["--l2"] if l2 else [])
        name = "canny_%s_%s%s" % (lo, hi, "_l2" if l2 else "")
        c.append((name, "0:0", args,
                  lambda im, lo=lo, hi=hi, l2=l2: cv2.Canny(HWC3(im), lo, hi, L2gradient=bool(l2))))
    c.append(("res192", "0:0", ["invert", "--resolution", "192"],
              lambda im: 255 - resize_image(HWC3(im), 192)))
    c.append(("res64", "0:0", ["invert", "--resolution", "64"],
              lambda im: 255 - resize_image(HWC3(im), 64)))
    c.append(("canny_res192", "0:0", ["canny", "--resolution", "192"],
              lambda im: cv2.Canny(resize_image(HWC3(im), 192), 100, 200)))
    c.append(("scribble", "255:0.002", ["scribble"], lambda im: scribble_xdog(HWC3(im))))
    c.append(("lineart", "1:0.002", ["lineart"], lambda im: lineart_standard(HWC3(im))))
    c.append(("shuffle", "0:0", ["shuffle", "--cell", "32", "--seed", "7"],
              lambda im: content_shuffle(HWC3(im), 32, 7)))
    c.append(("tile_resample", "0:0", ["tile", "--rate", "3"],
              lambda im: tile_resample(HWC3(im), 3.0)))
    c.append(("tile_blur", "1:0.002", ["tile", "--mode", "blur", "--sigma", "3"],
              lambda im: tile_blur(HWC3(im), 3.0)))
    c.append(("binary_otsu", "0:0", ["binary"], lambda im: binary(HWC3(im), 0)))
    c.append(("binary_100", "0:0", ["binary", "--threshold", "100"],
              lambda im: binary(HWC3(im), 100)))
    c.append(("color", "0:0", ["color", "--cell", "16"], lambda im: color_grid(HWC3(im), 16)))
    c.append(("gray", "0:0", ["gray"], lambda im: cv2.cvtColor(HWC3(im), cv2.COLOR_RGB2GRAY)))
    c.append(("invert", "0:0", ["invert"], lambda im: 255 - HWC3(im)))
    return c


def read_rgb(path):
    im = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if im is None:
        raise SystemExit("cannot read " + path)
    if im.dtype != np.uint8:
        raise SystemExit(path + ": not 8-bit")
    if im.ndim == 3 and im.shape[2] == 3:
        im = im[:, :, ::-1]
    elif im.ndim == 3 and im.shape[2] == 4:
        im = im[:, :, [2, 1, 0, 3]]
    return np.ascontiguousarray(im)


def write_rgb(path, im):
    if im.ndim == 3 and im.shape[2] == 3:
        im = im[:, :, ::-1]
    elif im.ndim == 3 and im.shape[2] == 4:
        im = im[:, :, [2, 1, 0, 3]]
    assert cv2.imwrite(path, im)


def small(path, w):
    im = read_rgb(path)
    h = round(im.shape[0] * w / im.shape[1])
    return cv2.resize(im, (w, h), interpolation=cv2.INTER_AREA)


def generate():
    os.makedirs(OUT, exist_ok=True)
    inputs = {
        "astronaut": small(SK + "astronaut.png", 160),
        "camera": small(SK + "camera.png", 128),
        "coffee": small(SK + "coffee.png", 150),
        "chelsea": read_rgb(SK + "chelsea.png")[100:200, 150:300],
        "ladybird": small(MATE + "LadyBird.jpg", 200),
        "horse": small(SK + "horse.png", 100),       # RGBA, for HWC3 and mask
    }
    lines = []
    for name, im in inputs.items():
        write_rgb(os.path.join(OUT, name + ".png"), im)
        im = read_rgb(os.path.join(OUT, name + ".png"))
        for case, tol, args, ref in cases():
            out = ref(im)
            write_rgb(os.path.join(OUT, "%s.%s.png" % (name, case)), out)
            lines.append("%s\t%s\t%s\t%s" % (name, case, tol, " ".join(args)))
    im = inputs["horse"]
    write_rgb(os.path.join(OUT, "horse.mask.png"), mask_alpha(im))
    lines.append("horse\tmask\t0:0\tmask --alpha")
    # a valid PNG header claiming 100000 x 100000 RGB (for the limit test)
    import struct
    import zlib

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data +
                struct.pack(">I", zlib.crc32(tag + data) & 0xffffffff))
    with open(os.path.join(OUT, "huge.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    with open(os.path.join(OUT, "cases.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")
    total = sum(os.path.getsize(os.path.join(OUT, p)) for p in os.listdir(OUT))
    print("wrote %d cases, %d bytes" % (len(lines), total))


def parity(argv):
    binp = "build/bin/ctrl-extract"
    if argv[:1] == ["--bin"]:
        binp, argv = argv[1], argv[2:]
    tmp = tempfile.mkdtemp()
    worst = 0
    for path in argv:
        im = read_rgb(path)
        src = os.path.join(tmp, "in.png")
        write_rgb(src, im)
        for case, tol, args, ref in cases():
            out = os.path.join(tmp, "out.png")
            subprocess.run([binp] + args + [src, "-o", out], check=True)
            a = read_rgb(out).astype(int)
            b = ref(im).astype(int).reshape(a.shape)
            d = np.abs(a - b)
            n = int((d > 0).sum())
            maxd, frac = tol.split(":")
            ok = d.max() <= int(maxd) and n <= float(frac) * d.size
            worst |= not ok
            print("%-28s %-16s %9d px %10d differ  max %3d  %s" % (
                os.path.basename(path), case, d.size, n, d.max(), "ok" if ok else "FAIL"))
    return 1 if worst else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["parity"]:
        sys.exit(parity(sys.argv[2:]))
    generate()
