// Newton-Schulz on fp32 buffers, products through the backend (fp32: OpenBLAS; bf16: bf16
// operands, fp32 accumulation): A = X X^T (syrk), P = b A + c A A, X <- a X + P X.
#include "optimizers/newton_schulz.h"

#include <algorithm>
#include <cmath>

#include "backend/backend.h"
#include "backend/cpu/blas.h"
#include "core/error.h"

namespace mt {

NsCoefficients parse_ns_coefficients(const std::string& text) {
  if (text == "quintic") return NsCoefficients::quintic;
  if (text == "polar_express") return NsCoefficients::polar_express;
  input_error("optimizer", "unknown ns_coefficients '", text, "'; known: polar_express, quintic");
}

AdjustLr parse_adjust_lr(const std::string& text) {
  if (text == "original") return AdjustLr::original;
  if (text == "match_rms_adamw") return AdjustLr::match_rms_adamw;
  if (text == "spectral") return AdjustLr::spectral;
  input_error("optimizer", "unknown adjust_lr '", text,
              "'; known: match_rms_adamw, original, spectral");
}

double muon_lr_scale(AdjustLr mode, int64_t rows, int64_t cols) {
  const double r = static_cast<double>(rows), c = static_cast<double>(cols);
  switch (mode) {
    case AdjustLr::original:
      return std::sqrt(std::max(1.0, r / c));
    case AdjustLr::match_rms_adamw:
      return 0.2 * std::sqrt(std::max(r, c));
    case AdjustLr::spectral:
      return std::sqrt(r / c);
  }
  return 1.0;
}

std::array<double, 3> ns_coefficients(NsCoefficients kind, int step) {
  if (kind == NsCoefficients::quintic) return {3.4445, -4.7750, 2.0315};
  static const std::array<double, 3> kPolar[] = {
      {8.28721, -23.59589, 17.30039}, {4.10706, -2.94785, 0.54484}, {3.94869, -2.90890, 0.55182},
      {3.31842, -2.48849, 0.51005},   {2.30065, -1.66890, 0.41881}, {1.89130, -1.26800, 0.37680}};
  if (step < 6) return kPolar[step];
  return kPolishCoefficients;
}

namespace {

// dst (cols, rows) = src (rows, cols)^T, in 32 x 32 tiles: both sides stay in cache lines (the
// plain loop strides one side by a whole row per element). The same values, only moved.
void transpose(const float* src, float* dst, int64_t rows, int64_t cols) {
  constexpr int64_t kTile = 32;
  for (int64_t i0 = 0; i0 < rows; i0 += kTile)
    for (int64_t j0 = 0; j0 < cols; j0 += kTile) {
      const int64_t i1 = std::min(rows, i0 + kTile), j1 = std::min(cols, j0 + kTile);
      for (int64_t i = i0; i < i1; ++i)
        for (int64_t j = j0; j < j1; ++j) dst[j * rows + i] = src[i * cols + j];
    }
}

}  // namespace

void newton_schulz(const float* in, float* out, int64_t rows, int64_t cols, int steps,
                   NsCoefficients kind, float eps, NsWorkspace& ws, DType compute,
                   int polish_steps) {
  MT_CHECK(rows > 0 && cols > 0 && steps >= 0 && polish_steps >= 0, "newton_schulz on ", rows, "x",
           cols);
  const bool transposed = rows > cols;
  const int64_t m = std::min(rows, cols), n = std::max(rows, cols);
  ws.x.resize(m * n);
  ws.y.resize(m * n);
  ws.gram.resize(m * m);
  ws.poly.resize(m * m);
  float* x = ws.x.data();
  if (transposed) {
    transpose(in, x, rows, cols);
  } else {
    std::copy(in, in + m * n, x);
  }
  double norm = 0.0;
  for (int64_t i = 0; i < m * n; ++i) norm += static_cast<double>(x[i]) * x[i];
  norm = std::sqrt(norm);
  const double denom =
      kind == NsCoefficients::polar_express ? 1.01 * norm + 1e-7 : std::max(norm, double{eps});
  const float inv = static_cast<float>(1.0 / denom);
  for (int64_t i = 0; i < m * n; ++i) x[i] *= inv;

  float* y = ws.y.data();
  float* gram = ws.gram.data();
  float* poly = ws.poly.data();
  // Products through the backend in the compute dtype. bf16: X is rounded once per iteration and
  // serves both X X^T and P X, A once for A A, P at its product; fp32 in between.
  Backend& be = backend_for(Device::cpu());
  const bool bf16 = compute == DType::bf16;
  if (bf16) {
    ws.x16.resize(m * n);
    ws.gram16.resize(m * m);
  }
  for (int s = 0; s < steps + polish_steps; ++s) {
    const auto [a, b, c] = s < steps ? ns_coefficients(kind, s) : kPolishCoefficients;
    MatRef xr = mat(x, n), gr = mat(gram, m);
    if (bf16) {
      be.cast(x, DType::f32, ws.x16.data(), DType::bf16, m * n);
      xr = {ws.x16.data(), DType::bf16, n, false};
    }
    be.syrk(m, n, 1.0f, xr, 0.0f, gram, m, compute);  // A = X X^T (m, m)
    for (int64_t i = 0; i < m * m; ++i) poly[i] = static_cast<float>(b) * gram[i];
    if (bf16) {
      be.cast(gram, DType::f32, ws.gram16.data(), DType::bf16, m * m);
      gr = {ws.gram16.data(), DType::bf16, m, false};
    }
    be.gemm(m, m, m, static_cast<float>(c), gr, gr, 1.0f, poly, m, compute);  // P = b A + c A A
    std::copy(x, x + m * n, y);                                               // Y = a X + P X
    be.gemm(m, n, m, 1.0f, mat(poly, m), xr, static_cast<float>(a), y, n, compute);
    std::swap(x, y);
  }
  if (transposed) {
    transpose(x, out, cols, rows);
  } else {
    std::copy(x, x + m * n, out);
  }
}

double ns_flops(int64_t rows, int64_t cols, int steps) {
  const double m = static_cast<double>(std::min(rows, cols));
  const double n = static_cast<double>(std::max(rows, cols));
  return steps * (4.0 * m * m * n + 2.0 * m * m * m);
}

double orthogonality_error(const float* o, int64_t rows, int64_t cols) {
  const bool transposed = rows > cols;
  const int64_t m = std::min(rows, cols), n = std::max(rows, cols);
  std::vector<float> gram(m * m);
  if (transposed)  // O^T O (cols x cols) from the row-major (rows, cols) O
    cpu::gemm(true, false, m, m, n, 1.0f, o, cols, o, cols, 0.0f, gram.data(), m);
  else
    cpu::gemm(false, true, m, m, n, 1.0f, o, cols, o, cols, 0.0f, gram.data(), m);
  double sum = 0.0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < m; ++j) {
      const double d = gram[i * m + j] - (i == j ? 1.0 : 0.0);
      sum += d * d;
    }
  return std::sqrt(sum) / std::sqrt(static_cast<double>(m));
}

}  // namespace mt
