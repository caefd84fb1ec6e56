#!/bin/sh
# Loads nft/ruleset.nft (shaped like kube-proxy's nftables mode, kubernetes
# pkg/proxy/nftables/proxier.go, plus a host firewall table with base chains and policies) into
# netns "nstextnft", then captures `nft list ruleset` (the TEXT people paste) next to
# `nft -j list ruleset` of the same state (the oracle the text parser is compared with in
# decode/text/nft.rs tests). Run as root with nftables installed; deletes the netns after.
set -eu
D=$(cd "$(dirname "$0")" && pwd)/nft
ip netns add nstextnft
trap 'ip netns del nstextnft' EXIT
ip netns exec nstextnft nft -f "$D/ruleset.nft"
ip netns exec nstextnft nft list ruleset > "$D/nft-list-ruleset.txt"
ip netns exec nstextnft nft -j list ruleset > "$D/nft-list-ruleset.nft-j.json"
ip netns exec nstextnft nft -a list ruleset > "$D/nft-a-list-ruleset.txt"
nft --version > "$D/nft-version.txt"
