#!/bin/sh
# ctrl_image.sh - ctrl-extract's image kernels against OpenCV 4.6 in the same
# run, on a 2560x1600 photo (mate-backgrounds' Aqua.jpg, decoded once to PNG):
# Canny 100/200 on RGB and on gray, resize_image() to 512 (INTER_AREA) and a
# LANCZOS4 1.5x upscale.  Both sides run on BENCH_THREADS threads (2;
# cv2.setNumThreads) and report the minimum over BENCH_RUNS runs (7) of the
# kernel alone (no PNG coding).  Prints ours, OpenCV and ours/OpenCV; also
# checks that the outputs are identical.  Asserts nothing about time.
# Run from the repository root: B=build sh tests/bench/ctrl_image.sh
B=${B:-build}
R=${BENCH_RUNS:-7}
T=${BENCH_THREADS:-2}
PY=${PYTHON:-/usr/bin/python3}
PHOTO=${BENCH_PHOTO:-/usr/share/backgrounds/mate/nature/Aqua.jpg}
set -e
[ -r "$PHOTO" ] || { echo "ctrl_image: $PHOTO not found (mate-backgrounds)"; exit 0; }
make -s -f tests/bench/Makefile B="$B" "$B/bench/bench_image"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
"$PY" -c "import cv2,sys; cv2.imwrite(sys.argv[2], cv2.imread(sys.argv[1]))" "$PHOTO" "$tmp/photo.png"
"$B/bench/bench_image" "$tmp/photo.png" "$R" "$T" > "$tmp/ours"
"$PY" - "$tmp/photo.png" "$R" "$T" > "$tmp/cv2" <<'PYEOF'
import sys, time, cv2, numpy as np
path, runs, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cv2.setNumThreads(threads)
rgb = np.ascontiguousarray(cv2.imread(path)[:, :, ::-1])
gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
H, W = rgb.shape[:2]
k = 512 / min(H, W)
size = (int(np.round(W * k / 64)) * 64, int(np.round(H * k / 64)) * 64)
ops = [
    ("canny_rgb", lambda: cv2.Canny(rgb, 100, 200)),
    ("canny_gray", lambda: cv2.Canny(gray, 100, 200)),
    ("resize_image_512", lambda: cv2.resize(rgb, size, interpolation=cv2.INTER_LANCZOS4 if k > 1 else cv2.INTER_AREA)),
    ("lanczos4_x1.5", lambda: cv2.resize(rgb, (W * 3 // 2, H * 3 // 2), interpolation=cv2.INTER_LANCZOS4)),
]
for name, f in ops:
    f()
    best = 1e30
    for _ in range(runs):
        t0 = time.perf_counter(); f(); best = min(best, time.perf_counter() - t0)
    print(name, "%.3f" % (best * 1e3))
PYEOF
echo "ctrl-extract image kernels vs OpenCV $("$PY" -c 'import cv2; print(cv2.__version__)'), ${T} threads, min of $R, $(basename "$PHOTO")"
printf '%-18s %10s %10s %8s\n' kernel ours_ms cv2_ms ratio
join "$tmp/ours" "$tmp/cv2" | awk '{ printf "%-18s %10.2f %10.2f %8.2f\n", $1, $2, $3, $2 / $3 }'
# the outputs must be identical as well
for c in "canny" "canny --resolution 512" "gray --resolution 512"; do
	# shellcheck disable=SC2086
	"$B/bin/ctrl-extract" $c -t "$T" "$tmp/photo.png" -o "$tmp/o.png"
done
"$PY" tests/golden/make_image.py parity --bin "$B/bin/ctrl-extract" "$tmp/photo.png" 2>/dev/null |
	awk '{ n++; if ($NF != "ok") bad++ } END { printf "parity on the full-size photo: %d cases, %d failing\n", n, bad }'
