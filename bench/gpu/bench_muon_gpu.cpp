// One Muon step over GPT-2 small's 72 hidden matrices on the GPU (12 x four 768x768, twelve
// 3072x768, twelve 768x3072), bf16 Newton-Schulz (5 quintic steps) batched over same-shape
// matrices: the optimizer exactly as training runs it (Muon::step on device parameters: momentum,
// Newton-Schulz, decayed update; MT_CUDA_NS_STORAGE picks the storage, bf16 by default), and
// Newton-Schulz alone on the three stacks in both storages (backend/cuda/newton_schulz.h), medians
// over --iters timed steps after --warmup. Prints "RESULT key value" lines
// (bench/gpu/verify.sh collects them). Exit 77 without a device.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "apps/builtins.h"
#include "backend/backend.h"
#include "backend/cuda/context.h"
#include "backend/cuda/newton_schulz.h"
#include "core/tensor.h"
#include "optimizers/muon.h"
#include "optimizers/newton_schulz.h"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

template <class F>
std::vector<double> time_ms(int warmup, int iters, F&& f) {
  for (int i = 0; i < warmup; ++i) f();
  mt::cuda::synchronize();
  std::vector<double> out;
  for (int i = 0; i < iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    mt::cuda::synchronize();
    out.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int warmup = 5, iters = 30;
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], "--warmup")) warmup = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--iters")) iters = std::atoi(argv[i + 1]);
  }
  mt::register_builtins();
  std::string why;
  if (!mt::register_cuda_backend(&why)) {
    std::printf("SKIP no CUDA backend: %s\n", why.c_str());
    return 77;
  }
  try {
    const mt::Device dev = mt::backend_for(mt::Device::cuda()).device();
    struct Shape {
      int64_t rows, cols, count;
    };
    const std::vector<Shape> shapes = {{768, 768, 48}, {3072, 768, 12}, {768, 3072, 12}};
    mt::MuonOptions o;  // lr 0.02, momentum 0.95, nesterov, 5 quintic steps
    mt::Muon muon(o);
    muon.set_compute_dtype(mt::DType::bf16);
    std::vector<std::unique_ptr<mt::Parameter>> ps;
    double flops = 0.0;
    int k = 0;
    for (const Shape& s : shapes)
      for (int64_t i = 0; i < s.count; ++i, ++k) {
        char name[16];  // (std::string + to_string: a GCC 12 -Wrestrict false positive at -O3)
        std::snprintf(name, sizeof name, "w%d", k);
        ps.push_back(std::make_unique<mt::Parameter>(name, mt::Shape{s.rows, s.cols},
                                                     mt::Role::hidden, mt::InitSpec::normal(),
                                                     s.cols, s.rows));
        std::vector<float> w(s.rows * s.cols), g(w.size());
        for (size_t j = 0; j < w.size(); ++j) {
          w[j] = 0.02f * std::sin(0.37f * static_cast<float>(j + 1000 * k));
          g[j] = std::cos(0.11f * static_cast<float>(j + 77 * k));
        }
        ps.back()->bind(mt::Tensor::from({s.rows, s.cols}, w).to(dev),
                        mt::Tensor::from({s.rows, s.cols}, g).to(dev));
        muon.add_parameter(ps.back().get());
        flops += mt::ns_flops(s.rows, s.cols, o.ns_steps);
      }
    const double step_ms = median(time_ms(warmup, iters, [&] { muon.step(1.0f); }));

    // Newton-Schulz alone on the three stacks (what the torch.compile'd batched version does).
    std::vector<std::array<float, 3>> coeffs;
    for (int s = 0; s < o.ns_steps; ++s) {
      const auto c = mt::ns_coefficients(o.coefficients, s);
      coeffs.push_back(
          {static_cast<float>(c[0]), static_cast<float>(c[1]), static_cast<float>(c[2])});
    }
    std::vector<mt::Tensor> stacks;
    for (const Shape& s : shapes)
      stacks.push_back(mt::Tensor::full({s.count * s.rows * s.cols}, 0.01f, dev));
    mt::cuda::NsBatchWorkspace ws;
    auto ns_ms = [&](mt::cuda::NsStorage storage) {
      return median(time_ms(warmup, iters, [&] {
        for (size_t i = 0; i < shapes.size(); ++i)
          mt::cuda::newton_schulz_batched(stacks[i].data(), stacks[i].data(), shapes[i].count,
                                          shapes[i].rows, shapes[i].cols, coeffs, o.eps, false,
                                          mt::DType::bf16, ws, storage);
      }));
    };
    const double ns_bf16 = ns_ms(mt::cuda::NsStorage::bf16);
    const double ns_fp32 = ns_ms(mt::cuda::NsStorage::fp32);
    std::printf("RESULT device %s\n", mt::cuda::context().device_name.c_str());
    std::printf("RESULT ns_tflop %.4f\n", flops / 1e12);
    std::printf("RESULT ours_muon_step_ms %.4f\n", step_ms);
    std::printf("RESULT ours_ns_storage %s\n",
                mt::cuda::ns_storage_from_env() == mt::cuda::NsStorage::bf16 ? "bf16" : "fp32");
    std::printf("RESULT ours_ns_only_ms %.4f\n", ns_bf16);
    std::printf("RESULT ours_ns_fp32_storage_ms %.4f\n", ns_fp32);
    return 0;
  } catch (const std::exception& e) {
    std::printf("ERROR %s\n", e.what());
    return 1;
  }
}
