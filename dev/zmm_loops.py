#!/usr/bin/env python3
"""dev/zmm_loops.py - vector instructions per exp in a kernel's loops, from the disassembly.

For each copy of FUNCTION that uses zmm registers (the AVX-512 build), lists its innermost
loops that contain vscalefps (one per vectorised exp): the loop's instructions, those with a
zmm operand, and zmm instructions per exp, i.e. per 16 scores. Used for the instruction
counts in docs/BENCHMARKS.md ("What limits the misses").

    objdump -d --no-show-raw-insn build/multimax > /tmp/mm.dis
    python3 dev/zmm_loops.py /tmp/mm.dis k_multimax_fwd k_softmax_fwd
"""
import re
import sys


def functions(path):
    funcs, cur = [], None
    for line in open(path):
        m = re.match(r'^([0-9a-f]+) <(.+)>:$', line.rstrip('\n'))
        if m:
            cur = (m.group(2), [])
            funcs.append(cur)
        elif cur and re.match(r'^\s+[0-9a-f]+:', line):
            addr, ins = line.split(':', 1)
            cur[1].append((int(addr, 16), ins.strip()))
    return funcs


def exp_loops(ins):
    """(start, instructions, zmm instructions, exps) of each backward-branch loop with an exp."""
    out = set()
    for addr, text in ins:
        m = re.match(r'(j\w+)\s+([0-9a-f]+)', text)
        if not m or m.group(1) == 'jmp' or int(m.group(2), 16) >= addr:
            continue
        body = [t for a, t in ins if int(m.group(2), 16) <= a <= addr]
        exps = sum('vscalefps' in t for t in body)
        if exps and len(body) < 200:  # innermost loops only
            out.add((m.group(2), len(body), sum('zmm' in t for t in body), exps))
    return sorted(out)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    for name, ins in functions(sys.argv[1]):
        if name not in sys.argv[2:] or not any('zmm' in t for _, t in ins):
            continue
        print(name)
        for start, n, z, e in exp_loops(ins):
            print('  loop at %s: %3d instructions, %3d with zmm, %d exp(s): %.1f zmm per 16 scores'
                  % (start, n, z, e, z / e))


if __name__ == '__main__':
    main()
