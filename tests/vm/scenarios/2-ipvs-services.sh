#!/bin/bash
# Scenario 2: the modules are loaded and kube-proxy (IPVS mode) has programmed its services, while
# Calico still runs IPIP. kube-ipvs0 (dummy, down) carries the ClusterIPs; NodePort 30081 exists
# on every node address (eth0, tunl0, IPv6); several real servers; masquerade, tunnel and
# direct-routing forwarding; schedulers rr, wrr, sh (sh-fallback,sh-port), lc, mh; persistence
# with a netmask; one-packet scheduling and a persistence engine; fwmark services (IPv4, IPv6);
# IPv6, UDP and SCTP services; kube-proxy's ipsets and iptables (legacy) rules. A few local
# connection attempts make the counters non-zero before anything is captured.
. "${LAB_SCRIPT_DIR%/scenarios}/lib.sh" 2>/dev/null || . "$(dirname "$0")/../lib.sh"
lab_begin 2-ipvs-services "$@"

unblock_ip_vs
node_files
printf 'ip_vs\nip_vs_rr\nip_vs_wrr\nip_vs_sh\nnf_conntrack\n' >/etc/modules-load.d/k8s.conf
check "modules loaded (ip_vs, schedulers, ip_set, dummy)" \
	modprobe -a ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh ip_vs_lc ip_vs_mh ip_vs_wlc nf_conntrack ip_set dummy
check "Calico-like node set up (IPIP still on)" calico_node up
sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.eth0.rp_filter=1 \
	net.ipv4.conf.tunl0.rp_filter=1 net.ipv4.vs.conntrack=1 net.ipv4.vs.expire_nodest_conn=1 \
	net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2

# kube-proxy's dummy: created down, ClusterIPs as /32 (/128) host addresses.
cips="10.96.0.1 10.96.0.10 10.96.100.50 10.96.100.60 10.96.100.70 10.96.100.80 10.96.100.90
	10.96.100.100 10.96.100.110 10.96.100.120 10.96.100.130 10.96.100.140"
{
	echo "link add kube-ipvs0 type dummy"
	for a in $cips; do echo "addr add $a/32 dev kube-ipvs0"; done
	echo "addr add fd00:96::a/128 dev kube-ipvs0 nodad"
	echo "addr add fd00:96::50/128 dev kube-ipvs0 nodad"
} | ip -batch - || fail "kube-ipvs0 setup"

pods="10.244.0.5 10.244.1.3 10.244.2.7"
{
	echo "-A -t 10.96.0.1:443 -s rr"
	echo "-a -t 10.96.0.1:443 -r 192.168.122.96:6443 -m -w 1"
	for proto in -t -u; do
		echo "-A $proto 10.96.0.10:53 -s rr"
		for p in 10.244.0.5 10.244.1.3; do echo "-a $proto 10.96.0.10:53 -r $p:53 -m -w 1"; done
	done
	echo "-A -t 10.96.0.10:9153 -s rr"
	for p in 10.244.0.5 10.244.1.3; do echo "-a -t 10.96.0.10:9153 -r $p:9153 -m -w 1"; done
	# The NodePort service: its ClusterIP and :30081 on every node address.
	for vip in 10.96.100.50:80 192.168.122.96:30081 10.244.0.1:30081; do
		echo "-A -t $vip -s rr"
		for p in $pods; do echo "-a -t $vip -r $p:8080 -m -w 1"; done
	done
	echo "-A -t 10.96.100.60:80 -s wrr"
	echo "-a -t 10.96.100.60:80 -r 10.244.0.5:8080 -m -w 1"
	echo "-a -t 10.96.100.60:80 -r 10.244.1.3:8080 -m -w 2 -x 100 -y 50"
	echo "-a -t 10.96.100.60:80 -r 10.244.2.7:8080 -m -w 3"
	echo "-a -t 10.96.100.60:80 -r 10.244.2.8:8080 -m -w 0"
	echo "-A -t 10.96.100.70:80 -s sh -b sh-fallback,sh-port"
	echo "-A -t 10.96.100.80:80 -s lc"
	echo "-A -t 10.96.100.90:80 -s mh -b mh-fallback,mh-port"
	for vip in 10.96.100.70:80 10.96.100.80:80 10.96.100.90:80; do
		for p in $pods; do echo "-a -t $vip -r $p:8080 -m -w 1"; done
	done
	# sessionAffinity: ClientIP, with a /24 netmask so the mask shows.
	echo "-A -t 10.96.100.100:80 -s rr -p 10800 -M 255.255.255.0"
	for p in $pods; do echo "-a -t 10.96.100.100:80 -r $p:8080 -m -w 1"; done
	# Tunnel and direct routing: the kernel keeps the service's port for these destinations.
	echo "-A -t 10.96.100.110:80 -s wlc"
	echo "-a -t 10.96.100.110:80 -r 10.244.1.3:8080 -i -w 1"
	echo "-a -t 10.96.100.110:80 -r 192.168.122.97:8080 -g -w 1"
	echo "-a -t 10.96.100.110:80 -r 192.168.122.98:80 -i --tun-type gue --tun-port 6080 -w 1"
	echo "-A --sctp-service 10.96.100.120:9999 -s rr"
	echo "-a --sctp-service 10.96.100.120:9999 -r 10.244.0.5:9999 -m -w 1"
	echo "-a --sctp-service 10.96.100.120:9999 -r 10.244.1.3:9999 -m -w 1"
	echo "-A -u 10.96.100.130:514 -s rr -o"
	echo "-a -u 10.96.100.130:514 -r 10.244.0.5:514 -m -w 1"
	echo "-A -u 10.96.100.140:5060 -s rr -p 60 --pe sip"
	echo "-a -u 10.96.100.140:5060 -r 10.244.0.5:5060 -m -w 1"
	echo "-A -f 100 -s rr"
	echo "-a -f 100 -r 10.244.0.5:0 -m -w 1"
	echo "-a -f 100 -r 10.244.1.3:0 -m -w 1"
	echo "-A -f 200 -6 -s rr"
	echo "-a -f 200 -6 -r [fd00:244::5]:0 -m -w 1"
	echo "-A -t [fd00:96::50]:80 -s rr -p 600 -M 64"
	echo "-a -t [fd00:96::50]:80 -r [fd00:244::5]:8080 -m -w 1"
	echo "-a -t [fd00:96::50]:80 -r [fd00:244:1::3]:8080 -m -w 1"
	echo "-A -t [fd00:122::96]:30081 -s rr"
	echo "-a -t [fd00:122::96]:30081 -r [fd00:244::5]:8080 -m -w 1"
	echo "-a -t [fd00:122::96]:30081 -r [fd00:244:1::3]:8080 -m -w 1"
	echo "-A -u [fd00:96::a]:53 -s rr"
	echo "-a -u [fd00:96::a]:53 -r [fd00:244::5]:53 -m -w 1"
} >"$SOUT/ipvsadm-restore.txt"
ipvsadm -R <"$SOUT/ipvsadm-restore.txt" 2>"$SOUT/ipvsadm-restore.stderr"
check "ipvsadm -R accepted the table (errors in ipvsadm-restore.stderr)" [ ! -s "$SOUT/ipvsadm-restore.stderr" ]
ipvsadm --set 900 120 300
check "IPVS has $(grep -c '^-A' "$SOUT/ipvsadm-restore.txt") virtual services" \
	[ "$(grep -c '^-A' "$SOUT/ipvsadm-restore.txt")" = "$(ipvsadm -Sn | grep -c '^-A')" ]

ipset restore <<'EOF2' || fail "ipset restore"
create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536
add KUBE-CLUSTER-IP 10.96.0.1,tcp:443
add KUBE-CLUSTER-IP 10.96.0.10,tcp:53
add KUBE-CLUSTER-IP 10.96.0.10,udp:53
add KUBE-CLUSTER-IP 10.96.100.50,tcp:80
create KUBE-NODE-PORT-TCP bitmap:port range 0-65535
add KUBE-NODE-PORT-TCP 30081
create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536
add KUBE-LOOP-BACK 10.244.0.5,tcp:8080,10.244.0.5
EOF2
iptables-legacy-restore <<'EOF2' || fail "iptables-legacy-restore"
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-NODE-PORT - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-SERVICES - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-NODE-PORT -p tcp -m comment --comment "Kubernetes nodeport TCP port for masquerade purpose" -m set --match-set KUBE-NODE-PORT-TCP dst -j KUBE-MARK-MASQ
-A KUBE-POSTROUTING -m comment --comment "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose" -m set --match-set KUBE-LOOP-BACK dst,dst,src -j MASQUERADE
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-SERVICES ! -s 10.244.0.0/16 -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT
-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-FORWARD - [0:0]
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
EOF2

# Local clients through IPVS (its LOCAL_OUT hook), so connections, persistence templates and
# counters exist. The attempts are ended before capture so the counters stay still.
for vip in 10.96.100.100:80 10.96.100.100:80 10.96.100.50:80 192.168.122.96:30081 10.96.100.60:80; do
	timeout 1 nc "${vip%:*}" "${vip#*:}" </dev/null >/dev/null 2>&1 &
done
wait
# On this kernel the counters ipvsadm (and netlink) report are folded from per-CPU counters by
# the rate estimator's timer, every 2 s: poll until the attempts show, after which they are still.
tcp_conns() { ipvsadm -Ln --stats | awk '$1 == "TCP" {s += $3} END {print s + 0}'; }
for _ in 1 2 3 4 5 6 7 8 9 10; do
	[ "$(tcp_conns)" -gt 0 ] && break
	sleep 0.5
done
check "IPVS counted the local connection attempts" [ "$(tcp_conns)" -gt 0 ]

oracles
check "kube-ipvs0 is a dummy carrying 10.96.100.50" jqo ip-addr.json '.[] | select(.ifname == "kube-ipvs0") | .addr_info[] | select(.local == "10.96.100.50")'
check "ipvsadm -Ln lists the NodePort on 192.168.122.96:30081" grep -q '^TCP  192.168.122.96:30081 rr' "$ORACLE/ipvsadm-Ln.txt"
check "ipvsadm -Ln shows persistence with its mask" grep -q 'persistent 10800 mask 255.255.255.0' "$ORACLE/ipvsadm-Ln.txt"
check "ipvsadm -Ln shows sh flags" grep -q 'sh (sh-fallback,sh-port)' "$ORACLE/ipvsadm-Ln.txt"
check "ipvsadm -Ln shows Tunnel and Route destinations" eval 'grep -q Tunnel "$ORACLE/ipvsadm-Ln.txt" && grep -q Route "$ORACLE/ipvsadm-Ln.txt"'
check "ipvsadm -Ln lists fwmark and IPv6 services" eval 'grep -q "^FWM  100" "$ORACLE/ipvsadm-Ln.txt" && grep -q "^TCP  \[fd00:96::50\]:80" "$ORACLE/ipvsadm-Ln.txt"'

if collect && [ -n "$MANIFEST" ]; then
	st=$(artifact_status netlink/ipvs/services.nl)
	check "manifest: IPVS services probe ok (status: '${st:-not listed}')" [ "$st" = ok ]
fi
# The collector must not have changed what the oracles saw.
ipvsadm -Ln >"$SOUT/ipvsadm-Ln.after-collector.txt" 2>&1
check "ipvsadm -Ln unchanged by the collector" cmp -s "$ORACLE/ipvsadm-Ln.txt" "$SOUT/ipvsadm-Ln.after-collector.txt"
ipvsadm -Ln --stats >"$SOUT/ipvsadm-Ln-stats.after-collector.txt" 2>&1
check "ipvsadm -Ln --stats still (counters do not move between oracle and collector)" \
	cmp -s "$ORACLE/ipvsadm-Ln-stats.txt" "$SOUT/ipvsadm-Ln-stats.after-collector.txt"
lab_end
