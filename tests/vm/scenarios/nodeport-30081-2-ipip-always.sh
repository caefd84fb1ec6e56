#!/bin/bash
# NodePort 30081, stage 2 of 4 (fixtures/nodeport-30081/2-ipip-always): the IPVS modules were
# loaded and listed in /etc/modules-load.d, kube-proxy restarted and programmed IPVS (kube-ipvs0
# with the ClusterIPs, :30081 on every node address with both endpoints, rr, Masq). Calico still
# runs IPIP: the pool says ipipMode Always, tunl0 UP with 10.244.0.1 (so kube-proxy also serves
# 10.244.0.1:30081), node2's block via tunl0.
. "${LAB_SCRIPT_DIR%/scenarios}/lib.sh" 2>/dev/null || . "$(dirname "$0")/../lib.sh"
lab_begin 2-ipip-always "$@"

np_files persisted
check "IPVS modules load" modprobe -a ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh nf_conntrack br_netfilter
check "node1 set up (IPIP on)" np_node up
check "kube-proxy's IPVS state set up" np_kube_proxy yes

oracles
check "tunl0 is UP with 10.244.0.1" jqo ip-addr.json '.[] | select(.ifname == "tunl0") | select(.flags | index("UP")) | .addr_info[] | select(.local == "10.244.0.1")'
check "10.244.1.0/26 is routed via tunl0" jqo ip-route.json '.[] | select(.dst == "10.244.1.0/26" and .dev == "tunl0")'
check "kube-ipvs0 holds 10.96.100.50" jqo ip-addr.json '.[] | select(.ifname == "kube-ipvs0") | .addr_info[] | select(.local == "10.96.100.50")'
check "ipvsadm -Ln lists :30081 on 192.168.122.96 and 10.244.0.1" \
	[ "$(grep -cE '^TCP  (192\.168\.122\.96|10\.244\.0\.1):30081 rr' "$ORACLE/ipvsadm-Ln.txt")" = 2 ]
check "the NodePort has 2 Masq endpoints" \
	[ "$(awk '/^TCP  192.168.122.96:30081/ {on = 1; next} /^[A-Z]/ {on = 0} on && /Masq/ {n++} END {print n + 0}' "$ORACLE/ipvsadm-Ln.txt")" = 2 ]

if np_collect; then
	st=$(artifact_status netlink/ipvs/services.nl)
	check "manifest: IPVS services probe ok (status: '${st:-not listed}')" [ "$st" = ok ]
fi
lab_end
