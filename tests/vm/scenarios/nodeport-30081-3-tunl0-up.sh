#!/bin/bash
# NodePort 30081, stage 3 of 4 (fixtures/nodeport-30081/3-tunl0-up): the pool was patched to
# ipipMode Never (vxlanMode Never) but calico-node was not restarted: tunl0 is still UP with
# 10.244.0.1 and bird's route for node2's block still goes via tunl0 (stale). IPVS as in stage 2.
. "${LAB_SCRIPT_DIR%/scenarios}/lib.sh" 2>/dev/null || . "$(dirname "$0")/../lib.sh"
lab_begin 3-tunl0-up "$@"

np_files persisted
check "IPVS modules load" modprobe -a ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh nf_conntrack br_netfilter
check "node1 set up (tunl0 left UP)" np_node up
check "kube-proxy's IPVS state set up" np_kube_proxy yes

oracles
check "tunl0 is still UP with 10.244.0.1" jqo ip-addr.json '.[] | select(.ifname == "tunl0") | select(.flags | index("UP")) | .addr_info[] | select(.local == "10.244.0.1")'
check "10.244.1.0/26 is still routed via tunl0" jqo ip-route.json '.[] | select(.dst == "10.244.1.0/26" and .dev == "tunl0")'
check "ipvsadm -Ln lists :30081 on 192.168.122.96" grep -q '^TCP  192.168.122.96:30081 rr' "$ORACLE/ipvsadm-Ln.txt"

if np_collect; then
	st=$(artifact_status netlink/ipvs/services.nl)
	check "manifest: IPVS services probe ok (status: '${st:-not listed}')" [ "$st" = ok ]
fi
lab_end
