#!/bin/sh
# Captures the raw dumps and the iproute2 oracles of netns nsnode1 into this directory.
set -eu
D=$(dirname "$0")
# Let IPv6 duplicate address detection settle, so "tentative" does not flip between the dumps.
sleep 3
ip netns exec nsnode1 python3 "$D/../../../../../scripts/nl-capture.py" "$D"
N="ip -n nsnode1"
$N -j -d link > "$D/ip-d-link.json"
$N -j addr > "$D/ip-addr.json"
$N -j route show table all > "$D/ip-route-all.json"
$N -j -6 route show table all > "$D/ip-6-route-all.json"
$N -j rule > "$D/ip-rule.json"
$N -j -6 rule > "$D/ip-6-rule.json"
$N -j neigh > "$D/ip-neigh.json"
