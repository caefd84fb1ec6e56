#!/usr/bin/env python3
"""Capture rtnetlink dump replies verbatim, the way netsnap-collect stores them.

Sends the same dump requests as the collector (RTM_GETLINK with IFLA_EXT_MASK=RTEXT_FILTER_VF,
RTM_GETADDR, RTM_GETROUTE and RTM_GETRULE per family, RTM_GETNEIGH) and writes every reply
message as the kernel sent it, including the final NLMSG_DONE, to OUTDIR/<name>.nl (names as in
bundle/src/names.rs, without the netlink/rtnl/ prefix).

Usage: ip netns exec NS python3 scripts/nl-capture.py OUTDIR

Standard library only, so it runs on any node or VM image.
"""

import os
import socket
import struct
import sys

NETLINK_ROUTE = 0
NLM_F_REQUEST = 0x1
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3

RTM_GETLINK = 18
RTM_GETADDR = 22
RTM_GETROUTE = 26
RTM_GETNEIGH = 30
RTM_GETRULE = 34

AF_UNSPEC = 0
AF_INET = 2
AF_INET6 = 10

IFLA_EXT_MASK = 29
RTEXT_FILTER_VF = 1


def nla(kind, payload):
    length = 4 + len(payload)
    pad = (4 - length % 4) % 4
    return struct.pack("=HH", length, kind) + payload + b"\0" * pad


# (file name, message type, family header, attributes)
REQUESTS = [
    # struct ifinfomsg: family u8, pad u8, type u16, index i32, flags u32, change u32
    ("links", RTM_GETLINK, struct.pack("=BBHiII", AF_UNSPEC, 0, 0, 0, 0, 0),
     nla(IFLA_EXT_MASK, struct.pack("=I", RTEXT_FILTER_VF))),
    # struct ifaddrmsg: family, prefixlen, flags, scope u8; index u32
    ("addrs", RTM_GETADDR, struct.pack("=BBBBI", AF_UNSPEC, 0, 0, 0, 0), b""),
    # struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type u8; flags u32
    ("routes-inet", RTM_GETROUTE, struct.pack("=BBBBBBBBI", AF_INET, 0, 0, 0, 0, 0, 0, 0, 0), b""),
    ("routes-inet6", RTM_GETROUTE, struct.pack("=BBBBBBBBI", AF_INET6, 0, 0, 0, 0, 0, 0, 0, 0), b""),
    # struct fib_rule_hdr: family, dst_len, src_len, tos, table, res1, res2, action u8; flags u32
    ("rules-inet", RTM_GETRULE, struct.pack("=BBBBBBBBI", AF_INET, 0, 0, 0, 0, 0, 0, 0, 0), b""),
    ("rules-inet6", RTM_GETRULE, struct.pack("=BBBBBBBBI", AF_INET6, 0, 0, 0, 0, 0, 0, 0, 0), b""),
    # struct ndmsg: family u8, pad u8, pad u16, ifindex i32, state u16, flags u8, type u8
    ("neigh", RTM_GETNEIGH, struct.pack("=BBHiHBB", AF_UNSPEC, 0, 0, 0, 0, 0, 0), b""),
]


def dump(sock, seq, msg_type, header, attrs):
    body = header + attrs
    sock.send(struct.pack("=IHHII", 16 + len(body), msg_type, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body)
    out = bytearray()
    while True:
        data = sock.recv(1 << 20)
        if not data:
            raise RuntimeError("netlink socket closed before NLMSG_DONE")
        off = 0
        finished = False
        while off + 16 <= len(data):
            length, kind, _flags, mseq, _pid = struct.unpack_from("=IHHII", data, off)
            if length < 16 or off + length > len(data):
                raise RuntimeError(f"malformed reply at byte {off}")
            if mseq == seq and kind in (NLMSG_DONE, NLMSG_ERROR):
                finished = True
            off += (length + 3) & ~3
        out += data
        if finished:
            return bytes(out)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((0, 0))
    for seq, (name, msg_type, header, attrs) in enumerate(REQUESTS, start=1):
        data = dump(sock, seq, msg_type, header, attrs)
        with open(os.path.join(outdir, name + ".nl"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
