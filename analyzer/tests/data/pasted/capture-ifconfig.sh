#!/bin/sh
# Builds links and addresses in netns "nstextifc" (peer netns "nstextifcpeer"), then captures
# what people paste instead of `ip a`: net-tools' `ifconfig -a`, and iproute2's brief
# `ip -br link` / `ip -br addr`, next to `ip -j -d addr` of the same state
# (the oracle the parsers are compared with in decode/text/ifconfig.rs and ip_brief.rs tests).
# The state: IPv4 with a labelled and an unlabelled secondary, IPv6 (global nodad, link-local),
# a down link, a veth whose peer is in another netns, a bridge with a port, a vxlan, a
# point-to-point address. Run as root; deletes the netns after.
set -eu
D=$(cd "$(dirname "$0")" && pwd)/ifconfig
ip netns add nstextifc
ip netns add nstextifcpeer
trap 'ip netns del nstextifc; ip netns del nstextifcpeer' EXIT
N="ip -n nstextifc"
$N link set lo up
$N link add eth0 type veth peer name eth0-peer netns nstextifcpeer
$N link set eth0 address 52:54:00:12:34:56 mtu 1500 up
ip -n nstextifcpeer link set eth0-peer up
$N addr add 192.168.56.11/24 brd + dev eth0
$N addr add 192.168.56.12/24 brd + dev eth0
$N addr add 10.0.0.11/8 dev eth0 label eth0:sec
$N -6 addr add fd00:56::11/64 dev eth0 nodad
$N link add cni0 type bridge
$N link set cni0 address 0a:58:0a:f4:01:01 up
$N addr add 10.244.1.1/24 brd + dev cni0
$N link add veth1 type veth peer name veth1-pod
$N link set veth1 address 6e:11:22:33:44:55 master cni0 up
$N link set veth1-pod address 6e:11:22:33:44:66 up
$N link add flannel.1 type vxlan id 1 local 192.168.56.11 dev eth0 dstport 8472 nolearning
$N link set flannel.1 address 66:d1:6f:aa:bb:cc mtu 1450 up
$N addr add 10.244.1.0/32 dev flannel.1
$N link add vethdown type veth peer name vethdown-p
$N link set vethdown address 6e:aa:bb:cc:dd:01 mtu 9000
$N link set vethdown-p address 6e:aa:bb:cc:dd:02
$N addr add 172.16.9.1/30 dev vethdown
$N link add vethp2p type veth peer name vethp2p-p
$N link set vethp2p address 6e:aa:bb:cc:dd:03 up
$N link set vethp2p-p address 6e:aa:bb:cc:dd:04 up
$N addr add 10.9.9.1 peer 10.9.9.2/32 dev vethp2p
# Let IPv6 duplicate address detection settle, so "tentative" does not flip between captures.
sleep 3
ip netns exec nstextifc ifconfig -a > "$D/ifconfig-a.txt"
$N -br link > "$D/ip-br-link.txt"
$N -br addr > "$D/ip-br-addr.txt"
$N -j -d addr > "$D/ip-j-d-addr.json"
ifconfig --version > "$D/tool-versions" 2>&1
ip -V >> "$D/tool-versions"
