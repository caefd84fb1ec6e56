#!/bin/bash
# Scenario 3, the healthy state after the fix: modules loaded (and listed in modules-load.d),
# IPIP disabled (tunl0 down without an address, remote pod blocks routed over eth0, nothing via
# tunl0), loose rp_filter, and the IPVS NodePort :30081 plus its ClusterIP with endpoints.
. "${LAB_SCRIPT_DIR%/scenarios}/lib.sh" 2>/dev/null || . "$(dirname "$0")/../lib.sh"
lab_begin 3-healthy "$@"

unblock_ip_vs
node_files
printf 'ip_vs\nip_vs_rr\nip_vs_wrr\nip_vs_sh\nnf_conntrack\n' >/etc/modules-load.d/k8s.conf
check "modules loaded" modprobe -a ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh nf_conntrack dummy
check "Calico-like node set up (IPIP off)" calico_node down
sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.default.rp_filter=2 \
	net.ipv4.conf.eth0.rp_filter=2 net.ipv4.conf.tunl0.rp_filter=0 net.ipv4.vs.conntrack=1
ip -batch - <<'EOF2' || fail "kube-ipvs0 setup"
link add kube-ipvs0 type dummy
addr add 10.96.0.1/32 dev kube-ipvs0
addr add 10.96.100.50/32 dev kube-ipvs0
EOF2
ipvsadm -R <<'EOF2' || fail "ipvsadm -R"
-A -t 10.96.0.1:443 -s rr
-a -t 10.96.0.1:443 -r 192.168.122.96:6443 -m -w 1
-A -t 10.96.100.50:80 -s rr
-a -t 10.96.100.50:80 -r 10.244.0.5:8080 -m -w 1
-a -t 10.96.100.50:80 -r 10.244.1.3:8080 -m -w 1
-A -t 192.168.122.96:30081 -s rr
-a -t 192.168.122.96:30081 -r 10.244.0.5:8080 -m -w 1
-a -t 192.168.122.96:30081 -r 10.244.1.3:8080 -m -w 1
EOF2

oracles
check "tunl0 is down" jqo ip-link.json '.[] | select(.ifname == "tunl0") | (.flags | index("UP")) == null'
check "no route uses tunl0" jqo ip-route.json 'all(.[]; .dev != "tunl0")'
check "10.244.1.0/26 is routed via eth0" jqo ip-route.json '.[] | select(.dst == "10.244.1.0/26" and .dev == "eth0")'
check "ipvsadm -Ln lists the NodePort with 2 endpoints" \
	[ "$(awk '/^TCP  192.168.122.96:30081/ {on = 1; next} /^[A-Z]/ {on = 0} on && /->/ {n++} END {print n + 0}' "$ORACLE/ipvsadm-Ln.txt")" = 2 ]

if collect && [ -n "$MANIFEST" ]; then
	st=$(artifact_status netlink/ipvs/services.nl)
	check "manifest: IPVS services probe ok (status: '${st:-not listed}')" [ "$st" = ok ]
fi
lab_end
