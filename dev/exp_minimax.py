#!/usr/bin/env python3
"""The AVX-512 vexp polynomial (src/kernels/vec.h): e^r ~ 1 + r + r^2 Q(r), Q of degree 4,
minimising the maximum relative error over |r| <= ln2/2 by the Remez exchange algorithm in
50-digit arithmetic (mpmath, Debian's python3-mpmath). Prints the error and the coefficients
c2..c6 of Q; the kernel rounds them to float (dev/exp_ulp.c then measures the float exp).

    /usr/bin/python3 dev/exp_minimax.py
"""
import mpmath as mp

mp.mp.dps = 50
LO, HI = -mp.log(2) / 2, mp.log(2) / 2
N = 5  # unknown coefficients c2..c6; N + 1 alternation points
GRID = 4000


def target(r):  # Q should approximate (e^r - 1 - r) / r^2
    return (mp.expm1(r) - r) / r**2 if abs(r) > mp.mpf("1e-20") else mp.mpf(1) / 2


def weight(r):  # relative error of 1 + r + r^2 Q: r^2 (Q - target) / e^r
    return r**2 / mp.exp(r)


def remez(iters=40):
    pts = [(LO + HI) / 2 + (HI - LO) / 2 * mp.cos(mp.pi * (N - i) / N) for i in range(N + 1)]
    for _ in range(iters):
        a = mp.matrix(N + 1, N + 1)
        rhs = mp.matrix(N + 1, 1)
        for i, x in enumerate(pts):
            for j in range(N):
                a[i, j] = weight(x) * x**j
            a[i, N] = -((-1) ** i)
            rhs[i] = weight(x) * target(x)
        sol = mp.lu_solve(a, rhs)
        c = [sol[j] for j in range(N)]
        xs = [LO + (HI - LO) * k / GRID for k in range(GRID + 1)]
        es = [weight(x) * (sum(c[j] * x**j for j in range(N)) - target(x)) for x in xs]
        cand = [0] + [k for k in range(1, GRID) if (es[k] - es[k - 1]) * (es[k + 1] - es[k]) <= 0]
        seq = []
        for k in cand + [GRID]:
            if es[k] == 0:
                continue
            if seq and mp.sign(es[k]) == mp.sign(es[seq[-1]]):
                if abs(es[k]) > abs(es[seq[-1]]):
                    seq[-1] = k
            else:
                seq.append(k)
        while len(seq) > N + 1:
            seq.pop(0 if abs(es[seq[0]]) < abs(es[seq[-1]]) else -1)
        pts = [xs[k] for k in seq]
    return c, max(abs(e) for e in es)


if __name__ == "__main__":
    coef, err = remez()
    print("max relative error %.3g" % float(err))
    for j, cj in enumerate(coef):
        print("c%d = %.10e" % (j + 2, float(cj)))
