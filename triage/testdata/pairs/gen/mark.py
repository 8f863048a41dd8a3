#!/usr/bin/env python3
"""Writes NAME.want.json for each generated pair from marks.json: the
category a person gives the failure and the error block they mark, each
block given as [first, last] regular expressions matched in order in the
failing log (the first line matching `first`, then the first line from
there matching `last`)."""
import json, re, sys

marks, out = sys.argv[1], sys.argv[2]
for name, m in json.load(open(marks)).items():
    lines = open(f"{out}/{name}.fail.log", encoding="utf-8", newline="").read().split("\n")
    ranges, pos = [], 0
    for first, last in m["blocks"]:
        s = next(i for i in range(pos, len(lines)) if re.search(first, lines[i]))
        e = next(i for i in range(s, len(lines)) if re.search(last, lines[i]))
        ranges.append([s + 1, e + 1])
        pos = e + 1
    with open(f"{out}/{name}.want.json", "w") as f:
        json.dump({"category": m["category"], "lines": ranges}, f)
        f.write("\n")
