#!/usr/bin/env python3
"""Writes the uncompressed ELF kernel (vmlinux) found inside an x86 bzImage.

Debian's x86 kernels carry their payload as an XZ stream inside the bzImage (see the kernel's
arch/x86/boot/compressed). QEMU boots the ELF directly through its PVH entry note, which skips
the in-guest decompression that costs several seconds under TCG.
Usage: extract-vmlinux.py BZIMAGE OUT   (exit 1 when no ELF payload was found)
"""
import lzma
import os
import sys

XZ_MAGIC = b"\xfd7zXZ\x00"


def main() -> int:
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, "rb") as f:
        data = f.read()
    at = data.find(XZ_MAGIC)
    while at >= 0:
        try:
            elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[at:])
        except lzma.LZMAError:
            elf = b""
        if elf[:4] == b"\x7fELF":
            tmp = dst + ".tmp"
            with open(tmp, "wb") as f:
                f.write(elf)
            os.replace(tmp, dst)
            return 0
        at = data.find(XZ_MAGIC, at + 1)
    print(f"no XZ-compressed ELF payload in {src}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
