// All-reduce bandwidth between local ranks: ejit::distributed::all_reduce of an f32 tensor
// against a plain MPI_Allreduce of a buffer of the same size, measured in the same run.
//
//   test/distributed/mpirun.sh 2 build/bench/dist_bench [--quick]
#include <ejit/distributed.h>
#include <ejit/ops.h>
#include <fmt/format.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

using namespace ejit;
namespace dist = ejit::distributed;

namespace {
double now_ms() { return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && !std::strcmp(argv[1], "--quick");
  dist::init();  // MPI started by ejit; the plain calls below share it
  const int rank = dist::rank(), world = dist::world_size();
  const int64_t n = quick ? 1 << 16 : 16 << 20;  // 64 MB of f32
  const int reps = quick ? 3 : 10;
  Tensor x = full({n}, static_cast<double>(rank + 1));
  std::vector<float> send(static_cast<size_t>(n), static_cast<float>(rank + 1)), recv(static_cast<size_t>(n));
  std::vector<double> ejit_ms, mpi_ms;
  for (int r = 0; r < reps + 1; ++r) {  // interleaved; the first of each is a warm-up
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = now_ms();
    Tensor y = dist::all_reduce(x);
    const double t_ejit = now_ms() - t0;
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = now_ms();
    MPI_Allreduce(send.data(), recv.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    const double t_mpi = now_ms() - t0;
    if (r > 0) ejit_ms.push_back(t_ejit), mpi_ms.push_back(t_mpi);
    if (r == 0 && y.to_vector<float>()[0] != static_cast<float>(world * (world + 1) / 2))
      fmt::print(stderr, "rank {}: wrong all_reduce result {}\n", rank, y.to_vector<float>()[0]);
  }
  std::sort(ejit_ms.begin(), ejit_ms.end());
  std::sort(mpi_ms.begin(), mpi_ms.end());
  const double e = ejit_ms[ejit_ms.size() / 2], m = mpi_ms[mpi_ms.size() / 2];
  const double mb = static_cast<double>(n) * 4 / 1e6;
  if (rank == 0)
    fmt::print("all_reduce sum of {:.0f} MB f32 on {} ranks (median of {}): ejit {:.2f} ms ({:.2f} GB/s), plain "
               "MPI_Allreduce {:.2f} ms ({:.2f} GB/s): ejit's bandwidth is {:.2f}x MPI's (target >= 0.9)\n",
               mb, world, reps, e, mb / e, m, mb / m, m / e);
  return 0;
}
