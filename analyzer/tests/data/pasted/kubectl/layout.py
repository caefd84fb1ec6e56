#!/usr/bin/env python3
"""Lays out hand-written kubectl output the way kubectl's tabwriters do (see README.md).

Go's text/tabwriter as kubectl configures it: `kubectl get` (cli-runtime GetNewTabWriter)
minwidth 6, padding 3; `kubectl describe` (describe.go tabbedString) minwidth 0, padding 2.
A cell is tab-terminated text; the text after a line's last tab is not aligned. A column is a
run of consecutive lines that have a cell in it; its width is max(minwidth, widest cell +
padding). Usage: layout.py get|describe < tab-separated text > laid-out text.
"""
import sys


def layout(text, minwidth, padding):
    lines = [l.split("\t") for l in text.split("\n")]
    out = [[] for _ in lines]

    def fmt(widths, line0, line1):
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            for i in range(line0, this):
                write(i, widths)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            fmt(widths + [width], line0, this)
            line0 = this
        for i in range(line0, line1):
            write(i, widths)

    def write(i, widths):
        if out[i]:
            return
        cells = lines[i]
        s = ""
        for j, c in enumerate(cells):
            s += c.ljust(widths[j]) if j < len(widths) and j < len(cells) - 1 else c
        out[i] = [s]

    fmt([], 0, len(lines))
    return "\n".join(o[0] if o else "" for o in out)


if __name__ == "__main__":
    mode = sys.argv[1]
    minwidth, padding = (6, 3) if mode == "get" else (0, 2)
    sys.stdout.write(layout(sys.stdin.read(), minwidth, padding))
