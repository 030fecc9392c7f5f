# LLVM/MLIR 19 for the MLIR layers: find_package, the LLVM/MLIR CMake helpers, lit, and
# ejit_use_mlir() for the folders that include MLIR headers.
#
# Everything links the single shared libMLIR.so (target `MLIR`) and libLLVM.so, never
# the static MLIR component libraries (../shared/DESIGN.md, "Dependencies").
# HandleLLVMOptions is deliberately not included: it would change compile flags for the
# whole project (the eager layers included).

find_package(MLIR REQUIRED CONFIG PATHS /usr/lib/llvm-19/lib/cmake/mlir)
message(STATUS "ejit: MLIR ${LLVM_PACKAGE_VERSION} from ${MLIR_DIR}")

list(APPEND CMAKE_MODULE_PATH "${MLIR_CMAKE_DIR}" "${LLVM_CMAKE_DIR}")
# Tools built with LLVM's helpers go to build/bin (where the lit tests find them).
set(LLVM_RUNTIME_OUTPUT_INTDIR ${PROJECT_BINARY_DIR}/bin)
set(MLIR_BINARY_DIR ${PROJECT_BINARY_DIR})
include(TableGen)
include(AddLLVM)
include(AddMLIR)

# lit: -DLLVM_EXTERNAL_LIT=... wins, then the copy Debian's llvm-19-tools ships, then PATH.
if(LLVM_EXTERNAL_LIT)
  set(EJIT_LIT ${LLVM_EXTERNAL_LIT} CACHE FILEPATH "lit, the LLVM test runner")
else()
  find_program(EJIT_LIT NAMES lit.py lit llvm-lit
               PATHS ${LLVM_TOOLS_BINARY_DIR}/../build/utils/lit ${LLVM_TOOLS_BINARY_DIR}
               DOC "lit, the LLVM test runner")
endif()
find_program(EJIT_FILECHECK FileCheck PATHS ${LLVM_TOOLS_BINARY_DIR} NO_DEFAULT_PATH)

separate_arguments(EJIT_LLVM_DEFINITIONS NATIVE_COMMAND "${LLVM_DEFINITIONS}")

# Include paths and definitions for a folder that uses MLIR; directory-scoped on purpose,
# so they reach the MLIR folders only (mlir_tablegen reads them for its -I flags too).
macro(ejit_use_mlir)
  include_directories(SYSTEM ${LLVM_INCLUDE_DIRS} ${MLIR_INCLUDE_DIRS})
  include_directories(${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/lib/dialect
                      ${PROJECT_BINARY_DIR}/dialects)
  add_definitions(${EJIT_LLVM_DEFINITIONS})
  # ODS-generated code leaves parameters unused; everything else is warning-free.
  add_compile_options(-Wall -Wextra -Wno-unused-parameter)
endmacro()
