/* The kernels instantiated for avx512 (16 floats per vector); CMake gives this file its ISA flags. */
#define MMX_VW 16
#define MMX_ISA avx512
#include "kernels/instantiate.inc"
