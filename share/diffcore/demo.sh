#!/bin/sh
# demo.sh - the main job on the embedded defaults, run by `make demo`.
# Each tool joins here once it works; output goes to build/demo/.
set -eu
B=${B:-build}
PATH="$PWD/$B/bin:$PATH"
out=build/demo
mkdir -p "$out"
echo "== diffcore demo (outputs in $out/)"

# The tensor stream: an image into a stream, inspected, and back.
if command -v tensor-tool >/dev/null 2>&1 && [ -f share/diffcore/samples/chelsea.png ]; then
	tensor-tool from-png share/diffcore/samples/chelsea.png -o "$out/sample.dts"
	tensor-tool info "$out/sample.dts"
	tensor-tool to-png "$out/sample.dts" -o "$out/sample.png"
	tensor-tool from-png "$out/sample.png" | cmp -s - "$out/sample.dts" &&
		echo "round trip PNG -> stream -> PNG: $out/sample.png, pixels identical"
fi
echo "== demo done"
