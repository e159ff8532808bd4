/* One row of any normalizer: the switch from an mmx_norm to its reference function. */
#include "ref/ref.h"

void mmx_ref_forward_row(const mmx_norm *nm, double *y, double *scratch, const double *x,
                         int64_t n) {
    switch (nm->kind) {
    case MMX_NORM_SOFTMAX: mmx_ref_softmax_forward(y, x, n, nm->temperature); break;
    case MMX_NORM_MULTIMAX: mmx_ref_multimax_forward(y, x, n, nm->order, nm->ranges, nm->ts); break;
    case MMX_NORM_SPARSEMAX: mmx_ref_sparsemax_forward(y, scratch, x, n); break;
    case MMX_NORM_ENTMAX15: mmx_ref_entmax15_forward(y, scratch, x, n); break;
    case MMX_NORM_ENTMAX: mmx_ref_entmax_forward(y, x, n, nm->alpha); break;
    case MMX_NORM_EVSOFTMAX:
        mmx_ref_evsoftmax_forward(y, x, n, nm->eval ? 0.0 : MMX_EVSOFTMAX_TRAIN_EPS);
        break;
    case MMX_NORM_COUNT: break;
    }
}

void mmx_ref_backward_row(const mmx_norm *nm, double *dx, double *dranges, double *dts,
                          double *dalpha, const double *dy, const double *y, const double *x,
                          int64_t n) {
    switch (nm->kind) {
    case MMX_NORM_SOFTMAX: mmx_ref_softmax_backward(dx, dy, y, n, nm->temperature); break;
    case MMX_NORM_MULTIMAX:
        mmx_ref_multimax_backward(dx, dranges, dts, dy, y, x, n, nm->order, nm->ranges, nm->ts);
        break;
    case MMX_NORM_SPARSEMAX: mmx_ref_entmax_backward(dx, NULL, dy, y, n, 2.0); break;
    case MMX_NORM_ENTMAX15: mmx_ref_entmax_backward(dx, NULL, dy, y, n, 1.5); break;
    case MMX_NORM_ENTMAX: mmx_ref_entmax_backward(dx, dalpha, dy, y, n, nm->alpha); break;
    case MMX_NORM_EVSOFTMAX: mmx_ref_evsoftmax_backward(dx, dy, y, n); break;
    case MMX_NORM_COUNT: break;
    }
}
