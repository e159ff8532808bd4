/* The kernels instantiated for portable (4 floats per vector); CMake gives this file its ISA flags. */
#define MMX_VW 4
#define MMX_ISA portable
#include "kernels/instantiate.inc"
