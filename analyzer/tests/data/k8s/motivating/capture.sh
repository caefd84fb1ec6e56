#!/bin/sh
# Regenerates the YAML files in this directory: the real kubectl (1.32, via the collector's
# kubectl probe) reads the recorded API responses in tests/data/apiserver/ (made by its
# generate.py) from the loopback API server of tests/tests/kubectl.rs, and the collector's
# k8s/*.yaml artifacts are copied here verbatim. Run from the workspace root.
set -eu
cargo build -p netsnap-collect
NETSNAP_CAPTURE_K8S_TO="$(pwd)/analyzer/tests/data/k8s/motivating" \
    cargo test -p netsnap-e2e --test kubectl collector_stores_kubectl_yaml_that_decodes
