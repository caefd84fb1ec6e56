#!/bin/bash
# NodePort 30081, stage 4 of 4 (fixtures/nodeport-30081/4-healthy): pool Never, calico-node
# restarted: tunl0 down without an address, node2's block routed via eth0, nothing via tunl0;
# IPVS modules persisted; kube-proxy's NodePort only on 192.168.122.96 now that tunl0 has no
# address.
. "${LAB_SCRIPT_DIR%/scenarios}/lib.sh" 2>/dev/null || . "$(dirname "$0")/../lib.sh"
lab_begin 4-healthy "$@"

np_files persisted
check "IPVS modules load" modprobe -a ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh nf_conntrack br_netfilter
check "node1 set up (IPIP off)" np_node down
check "kube-proxy's IPVS state set up" np_kube_proxy no

oracles
check "tunl0 is down" jqo ip-link.json '.[] | select(.ifname == "tunl0") | (.flags | index("UP")) == null'
check "tunl0 has no IPv4 address" jqo ip-addr.json '.[] | select(.ifname == "tunl0") | all(.addr_info[]; .family != "inet")'
check "no route uses tunl0" jqo ip-route.json 'all(.[]; .dev != "tunl0")'
check "10.244.1.0/26 is routed via eth0" jqo ip-route.json '.[] | select(.dst == "10.244.1.0/26" and .dev == "eth0")'
check "ipvsadm -Ln lists :30081 only on 192.168.122.96" \
	[ "$(grep -c ':30081 rr' "$ORACLE/ipvsadm-Ln.txt")" = 1 ]

if np_collect; then
	st=$(artifact_status netlink/ipvs/services.nl)
	check "manifest: IPVS services probe ok (status: '${st:-not listed}')" [ "$st" = ok ]
fi
lab_end
