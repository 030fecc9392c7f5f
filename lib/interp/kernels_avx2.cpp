// The kernel table compiled for the avx2 instruction set (flags set in CMakeLists.txt).
#define EJIT_KERNEL_NS isa_avx2
#define EJIT_KERNEL_TABLE kernels_avx2
#define EJIT_KERNEL_ISA_NAME "avx2"
#include "kernels_impl.h"
