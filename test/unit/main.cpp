// Catch2's main for the unit and jit tests. New tensors go to the CPU even where a GPU
// answers (the tests read host memory); [cuda] tests place theirs explicitly.
// EJIT_DEFAULT_DEVICE set by the caller wins.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>

int main(int argc, char** argv) {
  setenv("EJIT_DEFAULT_DEVICE", "cpu", /*overwrite=*/0);
  return Catch::Session().run(argc, argv);
}
