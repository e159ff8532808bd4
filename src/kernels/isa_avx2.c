/* The kernels instantiated for avx2 (8 floats per vector); CMake gives this file its ISA flags. */
#define MMX_VW 8
#include "kernels/vec.h"
#include "kernels/kernels.h"

#include "kernels/softmax_family.inc"
#include "kernels/softmax_family_bwd.inc"
#include "kernels/sparse_family.inc"
#include "kernels/math_slots.inc"

const mmx_kernels mmx_kernels_avx2 = {
    .isa = "avx2",
    .softmax_fwd = k_softmax_fwd,
    .softmax_bwd = k_softmax_bwd,
    .multimax_fwd = k_multimax_fwd,
    .multimax_bwd = k_multimax_bwd,
    .evsoftmax_fwd = k_evsoftmax_fwd,
    .sparsemax_fwd = k_sparsemax_fwd,
    .entmax15_fwd = k_entmax15_fwd,
    .entmax_fwd = k_entmax_fwd,
    .entmax_bwd = k_entmax_bwd,
    .exp = k_exp,
    .log = k_log,
    .exp_f64 = k_exp_f64,
    .log_f64 = k_log_f64,
};
