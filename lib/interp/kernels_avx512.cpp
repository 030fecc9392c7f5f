// The kernel table compiled for the avx512 instruction set (flags set in CMakeLists.txt).
#define EJIT_KERNEL_NS isa_avx512
#define EJIT_KERNEL_TABLE kernels_avx512
#define EJIT_KERNEL_ISA_NAME "avx512"
#include "kernels_impl.h"
