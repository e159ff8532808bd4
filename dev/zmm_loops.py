#!/usr/bin/env python3
"""dev/zmm_loops.py - vector instructions per exp in a kernel's loops, from the disassembly.

For each copy of FUNCTION that uses zmm registers (the AVX-512 build), lists its innermost
loops that contain vscalefps (one per vectorised exp): the loop's instructions, those with a
zmm operand, how many of those are arithmetic (not a vmov* load, store or copy), and zmm
instructions per exp, i.e. per 16 scores. With --all, every innermost loop with a zmm
operand, and its distinctive mnemonics, so the passes without an exp can be told apart
(statistics: vfpclassps, vmaxps; scale: vmulps and stores). Used for the instruction counts
in docs/BENCHMARKS.md ("What limits the misses").

    objdump -d --no-show-raw-insn build/multimax > /tmp/mm.dis
    python3 dev/zmm_loops.py [--all] /tmp/mm.dis k_multimax_fwd k_softmax_fwd
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


def loops(ins, every):
    """(start, instructions, zmm ones, zmm arithmetic ones, exps, mnemonics) of each
    backward-branch loop with an exp (every: with a zmm operand)."""
    out = set()
    for addr, text in ins:
        m = re.match(r'(j\w+)\s+([0-9a-f]+)', text)
        if not m or m.group(1) == 'jmp' or int(m.group(2), 16) >= addr:
            continue
        body = [t for a, t in ins if int(m.group(2), 16) <= a <= addr]
        z = [t for t in body if 'zmm' in t]
        exps = sum('vscalefps' in t for t in body)
        if (exps or (every and z)) and len(body) < 200:  # innermost loops only
            arith = [t for t in z if not t.startswith('vmov')]
            names = ' '.join(sorted({t.split()[0] for t in arith}))
            out.add((m.group(2), len(body), len(z), len(arith), exps, names))
    return sorted(out)


def main():
    args = sys.argv[1:]
    every = bool(args) and args[0] == '--all'
    args = args[1:] if every else args
    if len(args) < 2:
        sys.exit(__doc__)
    for name, ins in functions(args[0]):
        if name not in args[1:] or not any('zmm' in t for _, t in ins):
            continue
        print(name)
        for start, n, z, ar, e, names in loops(ins, every):
            per = ': %.1f zmm (%.1f arithmetic) per 16 scores' % (z / e, ar / e) if e else ''
            print('  loop at %s: %3d instructions, %3d with zmm (%d arithmetic), %d exp(s)%s'
                  % (start, n, z, ar, e, per) + ('  [%s]' % names if every else ''))


if __name__ == '__main__':
    main()
