# Shared helpers for the VM lab scenarios (sourced by bash inside the guest of scripts/vm-lab).
#
# A scenario calls `lab_begin NAME "$@"`: it re-executes itself inside a fresh network namespace
# called NAME, so links, addresses, routes, IPVS tables, iptables and net.* sysctls of one
# scenario never leak into the next. Kernel modules are global: whatever one scenario loads, the
# next one sees.
#
# Results go to $OUT/NAME/: oracle/ (what the real tools printed), bundle/ (the collector's
# output), checks.txt (one PASS/FAIL/INFO line per check). `lab_end` prints the summary and
# returns non-zero when any check failed.

set -u
export LC_ALL=C

# Where the tests/vm folder is in the guest (through the host's read-only / at /host).
VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_GUEST=$(cd "$VM_DIR/../.." && pwd)
# The host path of the collector; the guest sees it under /host.
DEFAULT_COLLECTOR=${REPO_GUEST#/host}/target/x86_64-unknown-linux-musl/collector/netsnap-collect

now() { local up _; read -r up _ </proc/uptime; echo "$up"; }

# Lists the loaded modules' names, sorted (from /proc/modules, which loads nothing itself).
modules_now() { cut -d' ' -f1 /proc/modules | sort; }
module_loaded() { grep -q "^$1 " /proc/modules; }

lab_begin() {
	SC=$1
	shift
	local kv
	for kv in "$@"; do
		case "$kv" in
		[A-Za-z_]*=*) export "${kv?}" ;;
		*) echo "ignoring argument '$kv' (expected KEY=VALUE)" >&2 ;;
		esac
	done
	if [ "${LAB_NETNS:-}" != "$SC" ]; then
		ip netns add "$SC" || {
			echo "FAIL $SC: cannot create network namespace $SC" >&2
			exit 1
		}
		LAB_NETNS=$SC exec ip netns exec "$SC" bash "$0" "$@"
	fi
	SOUT=$OUT/$SC
	ORACLE=$SOUT/oracle
	rm -rf "$SOUT"
	mkdir -p "$ORACLE"
	NPASS=0 NFAIL=0
	T_BEGIN=$(now)
	ip link set lo up
	COLLECTOR=${COLLECTOR:-$DEFAULT_COLLECTOR}
	G_COLLECTOR=/host${COLLECTOR#/host}
	echo "== $SC (kernel $(uname -r), netns $SC)"
}

note() { echo "   $*" | tee -a "$SOUT/checks.txt"; }
pass() {
	NPASS=$((NPASS + 1))
	echo "PASS $SC: $*" | tee -a "$SOUT/checks.txt"
}
fail() {
	NFAIL=$((NFAIL + 1))
	echo "FAIL $SC: $*" | tee -a "$SOUT/checks.txt"
}
# check "what" CMD...: PASS when CMD succeeds.
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

lab_end() {
	local t
	t=$(awk -v a="$T_BEGIN" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}')
	echo "$t" >"$SOUT/seconds"
	if [ "$NFAIL" -eq 0 ]; then
		echo "== $SC: PASS ($NPASS checks, ${t}s)"
		return 0
	fi
	echo "== $SC: FAIL ($NFAIL of $((NPASS + NFAIL)) checks failed, ${t}s)"
	return 1
}

# oracle NAME.EXT CMD...: CMD's stdout to oracle/NAME.EXT, stderr to oracle/NAME.EXT.stderr when
# there is any; the command line and exit status go to oracle/index.txt.
oracle() {
	local file=$1 rc
	shift
	"$@" >"$ORACLE/$file" 2>"$ORACLE/$file.stderr"
	rc=$?
	[ -s "$ORACLE/$file.stderr" ] || rm -f "$ORACLE/$file.stderr"
	printf '%s\trc=%s\t%s\n' "$file" "$rc" "$*" >>"$ORACLE/index.txt"
	return 0
}

# The peer tools' view of this namespace. IPVS listings only where ip_vs is already loaded:
# ipvsadm execs `modprobe ip_vs` itself and would change the state under test.
oracles() {
	oracle uname-r.txt uname -r
	oracle proc-modules.txt cat /proc/modules
	oracle lsmod.txt lsmod
	oracle ip-link.json ip -j -d link show
	oracle ip-addr.json ip -j addr show
	oracle ip-route.json ip -j route show table all
	oracle ip-route6.json ip -j -6 route show table all
	oracle ip-rule.json ip -j rule show
	oracle ip-rule6.json ip -j -6 rule show
	oracle ip-neigh.json ip -j neigh show
	oracle sysctl-a.txt sysctl -a
	oracle iptables-legacy-save.txt iptables-legacy-save
	oracle ip6tables-legacy-save.txt ip6tables-legacy-save
	if module_loaded ip_set; then oracle ipset-save.txt ipset save; fi
	if module_loaded nf_tables; then oracle nft-ruleset.json nft -j list ruleset; fi
	if module_loaded ip_vs; then
		oracle ipvsadm-Ln.txt ipvsadm -Ln
		oracle ipvsadm-Ln-stats.txt ipvsadm -Ln --stats
		oracle ipvsadm-Ln-persistent-conn.txt ipvsadm -Ln --persistent-conn
		oracle ipvsadm-Ln-thresholds.txt ipvsadm -Ln --thresholds
		oracle ipvsadm-Sn.txt ipvsadm -Sn
		oracle ipvsadm-Ln-timeout.txt ipvsadm -Ln --timeout
		oracle ipvsadm-Ln-daemon.txt ipvsadm -Ln --daemon
	fi
}

# Runs the collector (when it was built) with /proc/modules read before and after it. Sets
# MANIFEST to the bundle's manifest.json, or empty.
MANIFEST=
collect() {
	MANIFEST=
	if [ ! -x "$G_COLLECTOR" ]; then
		note "COLLECTOR ABSENT: no executable at $COLLECTOR (guest $G_COLLECTOR); oracles only"
		note "  (build it with scripts/build-collector, or pass COLLECTOR=/host/path)"
		return 1
	fi
	local t0 t1 rc
	modules_now >"$SOUT/modules.before"
	t0=$(now)
	# COLLECT_OPTS (default --no-kubectl): kubectl options, e.g. a stand-in kubectl.
	# shellcheck disable=SC2086 # options without spaces, split on purpose
	"$G_COLLECTOR" --output-dir "$SOUT/bundle" ${COLLECT_OPTS:---no-kubectl} --quiet >"$SOUT/collector.stdout" 2>"$SOUT/collector.stderr"
	rc=$?
	t1=$(now)
	modules_now >"$SOUT/modules.after"
	echo "$rc" >"$SOUT/collector.rc"
	note "collector ran in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')s (exit $rc)"
	check "collector exit status 0 (got $rc; stderr in collector.stderr)" [ "$rc" = 0 ]
	if cmp -s "$SOUT/modules.before" "$SOUT/modules.after"; then
		pass "collector loaded no kernel module"
	else
		fail "collector loaded kernel modules: $(grep -vxFf "$SOUT/modules.before" "$SOUT/modules.after" | tr '\n' ' ')"
	fi
	# The bundle may be an archive or a directory; the checks read an unpacked copy.
	local tgz
	tgz=$(find "$SOUT/bundle" -name '*.tar.gz' 2>/dev/null | head -n 1)
	if [ -n "$tgz" ]; then
		mkdir -p "$SOUT/bundle-unpacked"
		tar -xzf "$tgz" -C "$SOUT/bundle-unpacked" || fail "cannot unpack $tgz"
	fi
	MANIFEST=$(find "$SOUT/bundle" "$SOUT/bundle-unpacked" -name manifest.json 2>/dev/null | head -n 1)
	check "bundle has a manifest.json" [ -n "$MANIFEST" ]
	return 0
}

# "Module not available" for ip_vs: modprobe runs this install command instead of loading it, so
# nothing loads ip_vs by accident. It still refuses (like `install ip_vs /bin/false`) but first
# logs the attempt, so a probe that asks the kernel for ip_vs is caught even though it fails.
BLOCK_FILE=/etc/modprobe.d/netsnap-lab-block-ip_vs.conf
ATTEMPTS=/run/netsnap-lab-modprobe-attempts
block_ip_vs() {
	: >>"$ATTEMPTS"
	echo "install ip_vs echo ip_vs >>$ATTEMPTS; /bin/false" >"$BLOCK_FILE"
}
unblock_ip_vs() { rm -f "$BLOCK_FILE"; }
attempts() { grep -c . "$ATTEMPTS" 2>/dev/null || true; }

# artifact_status PATH: the manifest's status for one artifact ("" when not listed).
artifact_status() {
	if command -v jq >/dev/null; then
		jq -r --arg p "$1" '.artifacts[]? | select(.path == $p) | .status' "$MANIFEST" 2>/dev/null | head -n 1
	else
		tr -d '\n' <"$MANIFEST" | grep -o "\"path\": *\"$1\"[^}]*" | grep -o '"status": *"[a-z]*"' | head -n 1 |
			sed 's/.*"\([a-z]*\)"$/\1/'
	fi
}

# A Calico-like node in this namespace: uplink eth0 (a veth whose other end, the "remote node"
# 192.168.122.97, lives in namespace NAME-peer), one pod 10.244.0.5 behind cali1a2b3c4d5e6 in
# NAME-pod, and tunl0 from the ipip module. TUNNEL=up: IPIP on (tunl0 UP with the tunnel
# address, remote pod blocks routed through it); TUNNEL=down: IPIP off (tunl0 down, the same
# blocks routed straight over eth0).
calico_node() {
	local tunnel=$1 peer=$SC-peer pod=$SC-pod
	ip netns add "$peer" && ip netns add "$pod" || return 1
	# modprobe ipip creates tunl0 in every namespace, this one included.
	modprobe ipip || return 1
	ip -batch - <<-EOF || return 1
		link add eth0 type veth peer name eth0 netns $peer
		link set eth0 address 52:54:00:12:34:96
		addr add 192.168.122.96/24 dev eth0
		addr add fd00:122::96/64 dev eth0 nodad
		link set eth0 up
		route add default via 192.168.122.1 dev eth0 proto dhcp src 192.168.122.96 metric 100
		link add cali1a2b3c4d5e6 type veth peer name eth0 netns $pod
		link set cali1a2b3c4d5e6 address ee:ee:ee:ee:ee:ee
		link set cali1a2b3c4d5e6 up
		route add 10.244.0.5/32 dev cali1a2b3c4d5e6 scope link
		route add blackhole 10.244.0.0/26 proto bird
	EOF
	ip -n "$peer" -batch - <<-EOF || return 1
		link set lo up
		addr add 192.168.122.97/24 dev eth0
		addr add fd00:122::97/64 dev eth0 nodad
		link set eth0 up
	EOF
	ip -n "$pod" -batch - <<-EOF || return 1
		link set lo up
		addr add 10.244.0.5/32 dev eth0
		link set eth0 up
		route add 169.254.1.1 dev eth0 scope link
		route add default via 169.254.1.1 dev eth0
	EOF
	if [ "$tunnel" = up ]; then
		ip -batch - <<-EOF || return 1
			link set tunl0 mtu 1480 up
			addr add 10.244.0.1/32 dev tunl0
			route add 10.244.1.0/26 via 192.168.122.97 dev tunl0 proto bird onlink
			route add 10.244.2.0/26 via 192.168.122.98 dev tunl0 proto bird onlink
		EOF
	else
		ip -batch - <<-EOF || return 1
			link set tunl0 down
			route add 10.244.1.0/26 via 192.168.122.97 dev eth0 proto bird
			route add 10.244.2.0/26 via 192.168.122.98 dev eth0 proto bird
		EOF
	fi
}

# What a node with kube-proxy in IPVS mode and Calico carries on disk (the collector reads these).
node_files() {
	mkdir -p /var/lib/kube-proxy /etc/cni/net.d /etc/modules-load.d /etc/sysctl.d
	cat >/var/lib/kube-proxy/config.conf <<-'EOF'
		apiVersion: kubeproxy.config.k8s.io/v1alpha1
		kind: KubeProxyConfiguration
		mode: "ipvs"
		clusterCIDR: 10.244.0.0/16
		ipvs:
		  scheduler: "rr"
		  strictARP: false
		  syncPeriod: 30s
		iptables:
		  masqueradeAll: false
		  masqueradeBit: 14
	EOF
	cat >/etc/cni/net.d/10-calico.conflist <<-'EOF'
		{
		  "name": "k8s-pod-network",
		  "cniVersion": "0.3.1",
		  "plugins": [
		    {"type": "calico", "datastore_type": "kubernetes", "mtu": 1480,
		     "ipam": {"type": "calico-ipam"}, "policy": {"type": "k8s"}},
		    {"type": "portmap", "snat": true, "capabilities": {"portMappings": true}}
		  ]
		}
	EOF
}

# jq over an oracle file; fails the check when jq is missing rather than guessing.
jqo() {
	local file=$1
	shift
	command -v jq >/dev/null || { echo "jq is not in the initramfs" >&2; return 2; }
	jq -e "$@" "$ORACLE/$file" >/dev/null
}

# --- NodePort 30081 stages (scenarios/nodeport-30081-*.sh, fixtures/nodeport-30081/) -------
# node1 of the two-node cluster recorded in tests/data/apiserver/nodeport-30081/: eth0
# 192.168.122.96/24 (the peer namespace NAME-peer is node2, 192.168.122.97), Calico block
# 10.244.0.0/26 with pod web 10.244.0.5 behind cali7f3a9c2e1d4 (namespace NAME-pod), node2's
# block 10.244.1.0/26 reached through bird's route. TUNNEL=up: IPIP on (tunl0 UP with
# 10.244.0.1/32, node2's block via tunl0 onlink); TUNNEL=down: tunl0 down without address, the
# block via eth0.
np_node() {
	local tunnel=$1 peer=$SC-peer pod=$SC-pod
	ip netns add "$peer" && ip netns add "$pod" || return 1
	modprobe ipip || return 1
	ip -batch - <<-EOF2 || return 1
		link add eth0 type veth peer name eth0 netns $peer
		link set eth0 address 52:54:00:12:34:96
		addr add 192.168.122.96/24 dev eth0
		link set eth0 up
		route add default via 192.168.122.1 dev eth0 proto dhcp src 192.168.122.96 metric 100
		link add cali7f3a9c2e1d4 type veth peer name eth0 netns $pod
		link set cali7f3a9c2e1d4 address ee:ee:ee:ee:ee:ee
		link set cali7f3a9c2e1d4 mtu 1480 up
		route add 10.244.0.5/32 dev cali7f3a9c2e1d4 scope link
		route add blackhole 10.244.0.0/26 proto bird
	EOF2
	ip -n "$peer" -batch - <<-EOF2 || return 1
		link set lo up
		addr add 192.168.122.97/24 dev eth0
		link set eth0 up
	EOF2
	ip -n "$pod" -batch - <<-EOF2 || return 1
		link set lo up
		addr add 10.244.0.5/32 dev eth0
		link set eth0 mtu 1480 up
		route add 169.254.1.1 dev eth0 scope link
		route add default via 169.254.1.1 dev eth0
	EOF2
	if [ "$tunnel" = up ]; then
		ip -batch - <<-EOF2 || return 1
			link set tunl0 mtu 1480 up
			addr add 10.244.0.1/32 dev tunl0
			route add 10.244.1.0/26 via 192.168.122.97 dev tunl0 proto bird onlink
		EOF2
	else
		ip -batch - <<-EOF2 || return 1
			link set tunl0 down
			route add 10.244.1.0/26 via 192.168.122.97 dev eth0 proto bird
		EOF2
	fi
	sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.default.rp_filter=2 \
		net.ipv4.conf.eth0.rp_filter=2 net.ipv4.conf.cali7f3a9c2e1d4.proxy_arp=1
}

# Files of node1 for a stage (and its host name): the Calico CNI config and node name, an admin kubeconfig (for the
# collector's kubectl), and either ip_vs blocked (MODULES=blocked: every refused load attempt is
# logged, see block_ip_vs), merely not loaded (MODULES=absent) or the IPVS modules listed in
# modules-load.d (MODULES=persisted).
# kube-proxy runs as a DaemonSet: its configuration lives in the ConfigMap, not on disk.
np_files() {
	local modules=$1
	# The collector records the host name; kube-proxy and the kubelet take the node name from it.
	echo node1 >/proc/sys/kernel/hostname
	rm -rf /var/lib/kube-proxy /etc/modules-load.d/* /var/lib/calico
	mkdir -p /etc/cni/net.d /etc/modules-load.d /etc/kubernetes /var/lib/calico
	cat >/etc/cni/net.d/10-calico.conflist <<-'EOF2'
		{
		  "name": "k8s-pod-network",
		  "cniVersion": "0.3.1",
		  "plugins": [
		    {"type": "calico", "datastore_type": "kubernetes", "mtu": 0, "nodename_file_optional": false,
		     "ipam": {"type": "calico-ipam"}, "policy": {"type": "k8s"},
		     "kubernetes": {"kubeconfig": "/etc/cni/net.d/calico-kubeconfig"}},
		    {"type": "portmap", "snat": true, "capabilities": {"portMappings": true}},
		    {"type": "bandwidth", "capabilities": {"bandwidth": true}}
		  ]
		}
	EOF2
	echo node1 >/var/lib/calico/nodename
	cat >/etc/kubernetes/admin.conf <<-'EOF2'
		apiVersion: v1
		kind: Config
		clusters:
		- cluster:
		    server: https://192.168.122.96:6443
		  name: kubernetes
		contexts:
		- context:
		    cluster: kubernetes
		    user: kubernetes-admin
		  name: kubernetes-admin@kubernetes
		current-context: kubernetes-admin@kubernetes
		users:
		- name: kubernetes-admin
		  user: {}
	EOF2
	if [ "$modules" = blocked ]; then
		block_ip_vs
	elif [ "$modules" = absent ]; then
		unblock_ip_vs
	else
		unblock_ip_vs
		printf '%s\n' ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh nf_conntrack br_netfilter >/etc/modules-load.d/ipvs.conf
	fi
}

# What kube-proxy 1.32 in IPVS mode programs on node1 for the recorded Services and
# EndpointSlices: kube-ipvs0 with the ClusterIPs, a virtual server per ClusterIP port and per
# node address for the NodePort (every local IPv4 address except loopback and kube-ipvs0's, so
# tunl0's 10.244.0.1 too while it has it: TUNNEL_ADDR=yes), rr, Masq, weight 1; its ipsets,
# iptables (legacy) rules and sysctls.
np_kube_proxy() {
	local tunnel_addr=$1 node_ips="192.168.122.96" ip
	[ "$tunnel_addr" = yes ] && node_ips="$node_ips 10.244.0.1"
	modprobe dummy || return 1
	ip -batch - <<-EOF2 || return 1
		link add kube-ipvs0 type dummy
		addr add 10.96.0.1/32 dev kube-ipvs0
		addr add 10.96.0.10/32 dev kube-ipvs0
		addr add 10.96.100.50/32 dev kube-ipvs0
	EOF2
	{
		echo "-A -t 10.96.0.1:443 -s rr"
		echo "-a -t 10.96.0.1:443 -r 192.168.122.96:6443 -m -w 1"
		echo "-A -t 10.96.0.10:53 -s rr"
		echo "-a -t 10.96.0.10:53 -r 10.244.1.2:53 -m -w 1"
		echo "-A -u 10.96.0.10:53 -s rr"
		echo "-a -u 10.96.0.10:53 -r 10.244.1.2:53 -m -w 1"
		echo "-A -t 10.96.0.10:9153 -s rr"
		echo "-a -t 10.96.0.10:9153 -r 10.244.1.2:9153 -m -w 1"
		for ip in 10.96.100.50:80 $(printf '%s:30081 ' $node_ips); do
			echo "-A -t $ip -s rr"
			echo "-a -t $ip -r 10.244.0.5:8080 -m -w 1"
			echo "-a -t $ip -r 10.244.1.3:8080 -m -w 1"
		done
	} >"$SOUT/ipvsadm-restore.txt"
	ipvsadm -R <"$SOUT/ipvsadm-restore.txt" || return 1
	ipset restore <<-'EOF2' || return 1
		create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536
		add KUBE-CLUSTER-IP 10.96.0.1,tcp:443
		add KUBE-CLUSTER-IP 10.96.0.10,tcp:53
		add KUBE-CLUSTER-IP 10.96.0.10,udp:53
		add KUBE-CLUSTER-IP 10.96.0.10,tcp:9153
		add KUBE-CLUSTER-IP 10.96.100.50,tcp:80
		create KUBE-NODE-PORT-TCP bitmap:port range 0-65535
		add KUBE-NODE-PORT-TCP 30081
		create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536
		add KUBE-LOOP-BACK 10.244.0.5,tcp:8080,10.244.0.5
	EOF2
	iptables-legacy-restore <<-'EOF2' || return 1
		*nat
		:PREROUTING ACCEPT [0:0]
		:INPUT ACCEPT [0:0]
		:OUTPUT ACCEPT [0:0]
		:POSTROUTING ACCEPT [0:0]
		:KUBE-LOAD-BALANCER - [0:0]
		:KUBE-MARK-MASQ - [0:0]
		:KUBE-NODE-PORT - [0:0]
		:KUBE-POSTROUTING - [0:0]
		:KUBE-SERVICES - [0:0]
		-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
		-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
		-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
		-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ
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
		:KUBE-NODE-PORT - [0:0]
		:KUBE-PROXY-FIREWALL - [0:0]
		:KUBE-SOURCE-RANGES-FIREWALL - [0:0]
		-A INPUT -m comment --comment "kubernetes health check rules" -j KUBE-NODE-PORT
		-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
		-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
		-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
		-A KUBE-SOURCE-RANGES-FIREWALL -j DROP
		COMMIT
	EOF2
	sysctl -q -w net.ipv4.vs.conntrack=1 net.ipv4.vs.expire_nodest_conn=1 net.ipv4.vs.expire_quiescent_template=1
}

# The collector with a stand-in kubectl answering what the real kubectl printed for this stage
# (fixtures/nodeport-30081/kubectl/NAME/, see tests/vm/kubectl-replay.sh).
np_collect() {
	export NETSNAP_KUBECTL_DIR=$REPO_GUEST/fixtures/nodeport-30081/kubectl/$SC
	[ -f "$NETSNAP_KUBECTL_DIR/get_services_-A_-o_yaml.rc" ] ||
		{ fail "no recorded kubectl answers in $NETSNAP_KUBECTL_DIR"; return 1; }
	COLLECT_OPTS="--kubectl $VM_DIR/kubectl-replay.sh --kubeconfig /etc/kubernetes/admin.conf" collect || return 1
	[ -n "$MANIFEST" ] || return 1
	local st
	for a in k8s/version.json k8s/services.yaml k8s/ippools.crd.projectcalico.org.yaml k8s/logs-kube-system-kube-proxy.txt; do
		st=$(artifact_status "$a")
		check "manifest: $a ok (status: '${st:-not listed}')" [ "$st" = ok ]
	done
}
