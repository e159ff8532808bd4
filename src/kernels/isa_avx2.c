/* The kernels instantiated for avx2 (8 floats per vector); CMake gives this file its ISA flags. */
#define MMX_VW 8
#define MMX_ISA avx2
#include "kernels/instantiate.inc"
