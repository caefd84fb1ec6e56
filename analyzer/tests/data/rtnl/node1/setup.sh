#!/bin/sh
# Builds the network state captured in this directory, inside netns "nsnode1" (and a peer
# netns "nspeer1" for the other end of the veth pair, so link_netnsid shows up).
# Then: ip netns exec nsnode1 python3 scripts/nl-capture.py <this dir>
# and the ip -j oracles (see capture.sh).
set -eu
ip netns add nsnode1
ip netns add nspeer1
N="ip -n nsnode1"
$N link set lo up
$N link add eth0 type veth peer name eth0-peer netns nspeer1
$N link set eth0 address 52:54:00:12:34:56 mtu 1500 up
ip -n nspeer1 link set eth0-peer up
$N addr add 192.168.56.11/24 brd + dev eth0
$N addr add 10.0.0.11/8 dev eth0 label eth0:sec
$N -6 addr add fd00:56::11/64 dev eth0 nodad
# kube-proxy's IPVS mode puts every Service IP on a dummy link kube-ipvs0; no dummy links here,
# a bridge with the same name stands in for it.
$N link add kube-ipvs0 type bridge
$N addr add 10.96.0.1/32 dev kube-ipvs0
$N addr add 10.96.0.10/32 dev kube-ipvs0
$N addr add 10.111.22.33/32 dev kube-ipvs0
# Calico VXLAN device.
$N link add vxlan.calico type vxlan id 4096 local 192.168.56.11 dev eth0 dstport 4789 nolearning
$N link set vxlan.calico mtu 1450 address 66:d1:6f:aa:bb:cc up
$N addr add 10.244.1.0/32 dev vxlan.calico
# A bridge with a veth port (master).
$N link add cni0 type bridge
$N link set cni0 up
$N link add veth1 type veth peer name veth1-pod
$N link set veth1 master cni0 up
$N link set veth1-pod up
$N addr add 10.244.1.1/24 dev cni0
# Routes: default via, a via route, a blackhole, routes in other tables, IPv6.
$N route add default via 192.168.56.1 dev eth0 proto static metric 100
$N route add 10.244.2.0/26 via 10.244.2.0 dev vxlan.calico onlink
$N route add blackhole 10.244.1.0/26 proto 80
$N route add 172.16.0.0/16 via 192.168.56.254 table 100
$N route add unreachable 172.17.0.0/16 table 100
$N route add 10.5.5.5 dev eth0 table 200 src 192.168.56.11 scope link
$N -6 route add default via fd00:56::1 dev eth0 metric 1024
$N -6 route add fd00:99::/64 via fd00:56::99 table 100
$N -6 route add blackhole fd00:dead::/48
# Policy rules, v4 and v6, with fwmarks.
$N rule add fwmark 0x4000/0x4000 lookup 100 priority 1000
$N rule add from 10.244.0.0/16 lookup 200 priority 1001
$N rule add to 172.16.0.0/12 iif eth0 lookup main priority 1002
$N rule add fwmark 0x10 table 100 priority 1003 suppress_prefixlength 0
$N -6 rule add fwmark 0x4000/0x4000 lookup 100 priority 1000
$N -6 rule add from fd00:56::/64 lookup 100 priority 1001
# Neighbours.
$N neigh add 192.168.56.1 lladdr 52:54:00:00:00:01 dev eth0 nud permanent
$N neigh add 192.168.56.2 lladdr 52:54:00:00:00:02 dev eth0 nud reachable
$N -6 neigh add fd00:56::1 lladdr 52:54:00:00:00:01 dev eth0 nud permanent
