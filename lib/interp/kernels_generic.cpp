// The kernel table compiled for the generic instruction set (flags set in CMakeLists.txt).
#define EJIT_KERNEL_NS isa_generic
#define EJIT_KERNEL_TABLE kernels_generic
#define EJIT_KERNEL_ISA_NAME "generic"
#include "kernels_impl.h"
