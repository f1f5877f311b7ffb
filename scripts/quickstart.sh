#!/usr/bin/env bash
# README command 1: install what is missing, build, fetch the data, train the quickstart GPT on the
# State of the Union text and print where the outputs are.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/install_data.sh data
bash scripts/build.sh --target mutrain
./build/mutrain train configs/quickstart.yaml "$@"
