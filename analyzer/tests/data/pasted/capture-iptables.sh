#!/bin/sh
# Loads iptables/rules.v4 (shaped like kube-proxy's iptables mode: KUBE-SERVICES, KUBE-SVC-*,
# KUBE-SEP-*, KUBE-NODEPORTS, KUBE-MARK-MASQ, KUBE-POSTROUTING, KUBE-FORWARD) into netns
# "nstextipt" with iptables-restore, then captures `iptables -L -n -v` and `iptables -t nat -L
# -n -v` (the TEXT people paste) next to `iptables-save` of the same state (the oracle of
# decode/text/iptables_list.rs tests). Run as root with iptables and ipset installed.
set -eu
D=$(cd "$(dirname "$0")" && pwd)/iptables
ip netns add nstextipt
trap 'ip netns del nstextipt' EXIT
E="ip netns exec nstextipt"
$E ipset create KUBE-CLUSTER-IP hash:ip,port
$E iptables-restore < "$D/rules.v4"
$E iptables -L -n -v > "$D/iptables-L-n-v.txt"
$E iptables -t nat -L -n -v > "$D/iptables-t-nat-L-n-v.txt"
$E iptables -t nat -L -n > "$D/iptables-t-nat-L-n.txt"
$E iptables-save > "$D/iptables-save.txt"
iptables --version > "$D/iptables-version.txt"
