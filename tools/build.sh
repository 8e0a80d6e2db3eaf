#!/usr/bin/env bash
# Development build of selected extensions, in place: tools/build.sh synapses [engine ...]
# Each module gets its own temp dir so concurrent builds of different modules do not clash.
set -euo pipefail
cd "$(dirname "$0")/.."
for m in "$@"; do
  PLASTICITY_EXT="$m" python setup.py -q build_ext --inplace --build-temp "build/tmp_$m"
done
