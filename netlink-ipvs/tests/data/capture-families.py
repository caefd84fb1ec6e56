#!/usr/bin/env python3
"""Store a CTRL_CMD_GETFAMILY dump verbatim (every reply, NLMSG_DONE included), as the
collector stores netlink/genl/families.nl. Usage: python3 capture-families.py OUT.nl"""
import socket, struct, sys

NETLINK_GENERIC = 16
GENL_ID_CTRL = 16
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
CTRL_CMD_GETFAMILY = 3
NLMSG_DONE, NLMSG_ERROR = 3, 2

s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
s.bind((0, 0))
req = struct.pack("=IHHII", 20, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
req += struct.pack("=BBH", CTRL_CMD_GETFAMILY, 1, 0)
s.send(req)
out = b""
done = False
while not done:
    data = s.recv(65536)
    off = 0
    while off < len(data):
        length, kind = struct.unpack_from("=IH", data, off)
        out += data[off:off + length] + b"\0" * ((-length) % 4)
        if kind in (NLMSG_DONE, NLMSG_ERROR):
            done = True
        off += (length + 3) & ~3
open(sys.argv[1], "wb").write(out)
