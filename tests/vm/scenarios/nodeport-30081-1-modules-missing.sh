#!/bin/bash
# NodePort 30081, stage 1 of 4 (fixtures/nodeport-30081/1-modules-missing): kube-proxy is set to
# IPVS mode but ip_vs cannot be loaded on this node (a modprobe.d install rule refuses it; every
# refused attempt is logged), so kube-proxy 1.32 exits at start-up (CrashLoopBackOff, see the
# fixture README): no kube-ipvs0, no virtual server, no KUBE-* rules. Calico runs IPIP: tunl0 UP
# with 10.244.0.1, node2's block routed via tunl0 onlink proto bird; the pool says ipipMode Always.
. "${LAB_SCRIPT_DIR%/scenarios}/lib.sh" 2>/dev/null || . "$(dirname "$0")/../lib.sh"
lab_begin 1-modules-missing "$@"

np_files blocked
check "precondition: ip_vs is not loaded" eval '! module_loaded ip_vs'
check "node1 set up (IPIP on)" np_node up

oracles
check "tunl0 is UP with 10.244.0.1" jqo ip-addr.json '.[] | select(.ifname == "tunl0") | select(.flags | index("UP")) | .addr_info[] | select(.local == "10.244.0.1")'
check "10.244.1.0/26 is routed via tunl0 onlink, proto bird" jqo ip-route.json '.[] | select(.dst == "10.244.1.0/26" and .dev == "tunl0" and .protocol == "bird" and (.flags | index("onlink")))'
check "no kube-ipvs0" jqo ip-link.json 'all(.[]; .ifname != "kube-ipvs0")'
check "no /proc/net/ip_vs" [ ! -e /proc/net/ip_vs ]
check "no KUBE-* iptables chains" eval '! grep -q KUBE- "$ORACLE/iptables-legacy-save.txt"'

a0=$(attempts)
if np_collect; then
	check "the collector never asked the kernel for ip_vs (refused modprobe attempts: $(($(attempts) - a0)))" \
		[ "$(attempts)" = "$a0" ]
	check "ip_vs still not loaded after the collector ran" eval '! grep -q "^ip_vs " "$SOUT/modules.after"'
	st=$(artifact_status netlink/ipvs/services.nl)
	check "manifest: IPVS services probe skipped (status: '${st:-not listed}')" [ "$st" = skipped ]
fi
lab_end
