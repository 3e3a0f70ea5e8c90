#!/bin/sh
# metrics.sh - ctrl-extract compare vs skimage.metrics on a 2048x2048 RGB
# pair (ssim, psnr) and a 2048x2048 edge pair (hausdorff), timed in the
# same run (min of 3).  Prints ours/peer ratios; never asserts on time.
# Run from the repository root:  B=build sh tests/bench/metrics.sh
B=${B:-build}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
/usr/bin/python3 - "$T" <<'PY'
import sys, cv2, numpy as np, skimage.data
t = sys.argv[1]
a = cv2.resize(skimage.data.astronaut(), (2048, 2048), interpolation=cv2.INTER_CUBIC)
b = cv2.GaussianBlur(a, (5, 5), 1.0)
cv2.imwrite(t + "/a.png", a); cv2.imwrite(t + "/b.png", b)
cv2.imwrite(t + "/ea.png", cv2.Canny(a, 100, 200)); cv2.imwrite(t + "/eb.png", cv2.Canny(b, 100, 200))
PY
ours() { # metric files...
	/usr/bin/python3 -c '
import subprocess, sys, time
best = 1e9
for _ in range(3):
    t0 = time.perf_counter(); subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
    best = min(best, time.perf_counter() - t0)
print(best)' "$B/bin/ctrl-extract" compare --metric "$@"
}
peer() { # python statement using a, b
	/usr/bin/python3 -c '
import sys, time, cv2, numpy as np, skimage.metrics as m
best = 1e9
for _ in range(3):
    t0 = time.perf_counter()
    a = cv2.imread(sys.argv[2]); b = cv2.imread(sys.argv[3]); exec(sys.argv[1])
    best = min(best, time.perf_counter() - t0)
print(best)' "$@"
}
o=$(ours ssim,psnr "$T/a.png" "$T/b.png")
p=$(peer 'm.structural_similarity(a, b, channel_axis=-1, data_range=255); m.peak_signal_noise_ratio(a, b, data_range=255)' "$T/a.png" "$T/b.png")
echo "metrics ssim+psnr 2048x2048 RGB: ours ${o}s skimage ${p}s ratio $(echo "$o $p" | awk '{ printf "%.2f", $1 / $2 }')"
o=$(ours hausdorff "$T/ea.png" "$T/eb.png")
p=$(peer 'm.hausdorff_distance(a[..., 0] > 127, b[..., 0] > 127)' "$T/ea.png" "$T/eb.png")
echo "metrics hausdorff 2048x2048 edges: ours ${o}s skimage ${p}s ratio $(echo "$o $p" | awk '{ printf "%.2f", $1 / $2 }')"
