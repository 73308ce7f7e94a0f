#!/usr/bin/env python3
"""docs/guide.md section 9's program is tests/abi/guide_regularizer.c, and
what it prints is what the guide shows: the same lines, gradient-check
figures within a factor of 3 (they measure float rounding and kinks, which
differ between BLAS kernels), losses and L0 within 3%.
  check-guide-example.py GUIDE EXAMPLE_SOURCE EXAMPLE_PROGRAM
SPDX-License-Identifier: MIT"""
import re
import subprocess
import sys

guide, source, program = sys.argv[1:4]
text = open(guide, encoding="utf-8").read()
section = text.split("\n## 9.", 1)[1].split("\n## 10.", 1)[0]
blocks = re.findall(r"```(\w*)\n(.*?)```", section, re.S)
code = [b for lang, b in blocks if lang == "c" and "int main" in b]
if not code:
    sys.exit("FAIL: no C program in the guide's section 9")
if code[0] != open(source, encoding="utf-8").read():
    sys.exit("FAIL: the guide's section 9 program differs from " + source)
after = section.split("it prints:", 1)
if len(after) < 2:
    sys.exit("FAIL: no 'it prints:' output block in section 9")
shown = re.search(r"```\n(.*?)```", after[1], re.S).group(1).strip().splitlines()
got = subprocess.run([program], check=True, capture_output=True, text=True).stdout
got = got.strip().splitlines()

NUM = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"
bad = 0
if len(got) != len(shown):
    print(f"FAIL: {len(got)} lines printed, the guide shows {len(shown)}")
    bad = 1
for want, have in zip(shown, got):
    if re.sub(NUM, "#", want) != re.sub(NUM, "#", have):
        print(f"FAIL: line '{have}' is not the guide's '{want}'")
        bad = 1
        continue
    check = "gradient" in want or "regularizers" in want or "objective" in want
    for w, h in zip(re.findall(NUM, want), re.findall(NUM, have)):
        w, h = float(w), float(h)
        ok = (h <= 3 * w and w <= 3 * h) if check else abs(h - w) <= 0.03 * abs(w) + 1e-5
        if not ok:
            print(f"FAIL: '{have}' against the guide's '{want}': {h} is not {w}")
            bad = 1
if bad:
    print("printed:\n" + "\n".join(got))
    sys.exit(1)
print(f"ok: the guide's section 9 program prints what the guide shows ({len(got)} lines)")
