#!/bin/bash
# Scenario 1, the motivating broken state: kube-proxy is configured for IPVS mode but ip_vs is not
# loaded, so no virtual server exists for NodePort 30081; Calico runs IPIP (tunl0 UP with the
# tunnel address, remote pod blocks routed through it); strict rp_filter. ip_vs is blocked in
# modprobe.d so nothing loads it by accident, and every refused attempt is logged. The collector must leave ip_vs unloaded and say in
# its manifest that the IPVS probe was skipped.
. "${LAB_SCRIPT_DIR%/scenarios}/lib.sh" 2>/dev/null || . "$(dirname "$0")/../lib.sh"
lab_begin 1-modules-missing "$@"

block_ip_vs
rm -f /etc/modules-load.d/k8s.conf
node_files
check "precondition: ip_vs is not loaded" eval '! module_loaded ip_vs'
check "Calico-like node set up (IPIP on)" calico_node up
sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.default.rp_filter=1 \
	net.ipv4.conf.eth0.rp_filter=1 net.ipv4.conf.tunl0.rp_filter=1 \
	net.ipv4.conf.cali1a2b3c4d5e6.rp_filter=1 net.ipv4.conf.cali1a2b3c4d5e6.proxy_arp=1

oracles
check "tunl0 is UP with 10.244.0.1" jqo ip-addr.json '.[] | select(.ifname == "tunl0") | select(.flags | index("UP")) | .addr_info[] | select(.local == "10.244.0.1")'
check "10.244.1.0/26 is routed via tunl0" jqo ip-route.json '.[] | select(.dst == "10.244.1.0/26" and .dev == "tunl0")'
check "no kube-ipvs0" jqo ip-link.json 'all(.[]; .ifname != "kube-ipvs0")'
check "no /proc/net/ip_vs" [ ! -e /proc/net/ip_vs ]

a0=$(attempts)
if collect; then
	check "the collector never asked the kernel for ip_vs (refused modprobe attempts: $(($(attempts) - a0)))" \
		[ "$(attempts)" = "$a0" ]
	check "ip_vs still not loaded after the collector ran" eval '! grep -q "^ip_vs " "$SOUT/modules.after"'
	if [ -n "$MANIFEST" ]; then
		st=$(artifact_status netlink/ipvs/services.nl)
		check "manifest: IPVS services probe skipped (status: '${st:-not listed}')" [ "$st" = skipped ]
		command -v jq >/dev/null && note "manifest IPVS entries: $(jq -c '[.artifacts[]? | select(.path | startswith("netlink/ipvs/")) | {path, status, reason}]' "$MANIFEST")"
	fi
fi

# What a user sees when running ipvsadm here (it execs modprobe ip_vs, which the block refuses).
a0=$(attempts)
oracle ipvsadm-Ln.after-collector.txt ipvsadm -Ln
check "control: ipvsadm's own modprobe ip_vs was refused and logged" [ "$(attempts)" -gt "$a0" ]
check "ip_vs still not loaded after ipvsadm -Ln (the block holds)" eval '! module_loaded ip_vs'
lab_end
