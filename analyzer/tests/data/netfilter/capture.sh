#!/bin/sh
# Regenerates the captured tool outputs in this directory from the programming files
# (kube-proxy.rules, kube-proxy.ipset, kube-proxy.nft) in a throw-away network namespace.
# Needs root, iptables 1.8 (legacy and nft), ipset and nft. Captured here with iptables 1.8.9,
# ipset 7.17 and nftables 1.0.6 (Debian 12).
set -eu
cd "$(dirname "$0")"
ns="nsnap-nfcap-$$"
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT
x() { ip netns exec "$ns" "$@"; }
x ip link set lo up
x ipset restore < kube-proxy.ipset
x iptables-legacy-restore < kube-proxy.rules
x iptables-nft-restore < kube-proxy.rules
x nft -f kube-proxy.nft
# Some traffic so the -c capture has non-zero counters.
x curl -s -m 1 http://127.0.0.1:1/ > /dev/null || true
x iptables-legacy-save > iptables-legacy-save.txt
x iptables-legacy-save -c > iptables-legacy-save-c.txt
x iptables-nft-save > iptables-nft-save.txt 2> iptables-nft-save.stderr
x ipset save > ipset-save.txt
x ipset list > ipset-list.txt
x nft -j list ruleset > nft-j-list-ruleset.json
