#!/bin/sh
# Builds a small node's network state in netns "nstext1" (peer netns "nstextpeer1"), then
# captures iproute2's TEXT output (what people paste) next to its JSON (`ip -j`, the oracle the
# text parsers are compared with in decode/text tests). Run as root; deletes the netns after.
# The state mirrors ../rtnl/node1/setup.sh (Calico VXLAN, kube-ipvs0 stand-in, cni0 bridge,
# policy routing), plus IPv6 and an altname.
set -eu
D=$(cd "$(dirname "$0")" && pwd)
ip netns add nstext1
ip netns add nstextpeer1
trap 'ip netns del nstext1; ip netns del nstextpeer1' EXIT
N="ip -n nstext1"
$N link set lo up
$N link add eth0 type veth peer name eth0-peer netns nstextpeer1
$N link set eth0 address 52:54:00:12:34:56 mtu 1500 up
$N link property add dev eth0 altname enp0s3
ip -n nstextpeer1 link set eth0-peer up
$N addr add 192.168.56.11/24 brd + dev eth0
$N addr add 10.0.0.11/8 dev eth0 label eth0:sec
$N -6 addr add fd00:56::11/64 dev eth0 nodad
$N link add kube-ipvs0 type bridge
$N addr add 10.96.0.1/32 dev kube-ipvs0
$N addr add 10.96.0.10/32 dev kube-ipvs0
$N link add vxlan.calico type vxlan id 4096 local 192.168.56.11 dev eth0 dstport 4789 nolearning
$N link set vxlan.calico mtu 1450 address 66:d1:6f:aa:bb:cc up
$N addr add 10.244.1.0/32 dev vxlan.calico
$N link add cni0 type bridge
$N link set cni0 up
$N link add veth1 type veth peer name veth1-pod
$N link set veth1 master cni0 up
$N link set veth1-pod up
$N addr add 10.244.1.1/24 dev cni0
$N route add default via 192.168.56.1 dev eth0 proto static metric 100
$N route add 10.244.2.0/26 via 10.244.2.0 dev vxlan.calico onlink
$N route add blackhole 10.244.1.0/26 proto 80
$N route add 172.16.0.0/16 via 192.168.56.254 table 100
$N route add unreachable 172.17.0.0/16 table 100
$N route add 10.5.5.5 dev eth0 table 200 src 192.168.56.11 scope link
$N route add 10.9.0.0/16 proto static nexthop via 192.168.56.1 dev eth0 weight 1 nexthop via 192.168.56.2 dev eth0 weight 2
$N -6 route add default via fd00:56::1 dev eth0 metric 1024
$N -6 route add fd00:99::/64 via fd00:56::99 table 100
$N -6 route add blackhole fd00:dead::/48
$N rule add fwmark 0x4000/0x4000 lookup 100 priority 1000
$N rule add from 10.244.0.0/16 lookup 200 priority 1001
$N rule add to 172.16.0.0/12 iif eth0 lookup main priority 1002
$N rule add fwmark 0x10 table 100 priority 1003 suppress_prefixlength 0
$N rule add not from 10.0.0.0/8 oif cni0 lookup 100 priority 1004
$N -6 rule add fwmark 0x4000/0x4000 lookup 100 priority 1000
# Let IPv6 duplicate address detection settle, so "tentative" does not flip between captures.
sleep 3
O="$D/iproute2-6.1"
mkdir -p "$O"
cap() { out=$1; shift; { echo "# ip -n nstext1 $*" >/dev/null; $N "$@"; } > "$O/$out.txt"; $N -j "$@" > "$O/$out.ip-j.json"; }
cap ip-a a
cap ip-link link
cap ip-d-link -d link
cap ip-route route
cap ip-route-all route show table all
cap ip-6-route -6 route
cap ip-rule rule
$N -s link > "$O/ip-s-link.txt"
$N -c a > "$O/ip-c-a.ansi.txt"
