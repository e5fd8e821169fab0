#include "layer.hpp"

#include "connectivity.hpp"
#include "error.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace scee {

std::string Shape::str() const { return flat() ? fmt::format("{}", c) : fmt::format("{}x{}x{}", c, h, w); }

std::string to_string(LayerKind k)
{
  switch (k) {
  case LayerKind::fc: return "fc";
  case LayerKind::conv: return "conv";
  case LayerKind::max_pool: return "max_pool";
  case LayerKind::avg_pool: return "avg_pool";
  case LayerKind::relu: return "relu";
  case LayerKind::flatten: return "flatten";
  }
  return "?";
}

namespace {

/// Output side of a pooling or convolution window sweep over `in` (padded by `pad` on both sides).
int sweep(int in, int kernel, int stride, int pad, bool ceil_mode)
{
  const int span = in + 2 * pad - kernel;
  int out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) // the last window must start inside the input
    --out;
  return out;
}

bool is_pool(LayerKind k) { return k == LayerKind::max_pool || k == LayerKind::avg_pool; }

} // namespace

Shape output_shape(const LayerSpec& l, Shape in)
{
  switch (l.kind) {
  case LayerKind::fc: return {l.out, 1, 1};
  case LayerKind::conv:
    return {l.out, sweep(in.h, l.kernel, l.stride, l.padding, false), sweep(in.w, l.kernel, l.stride, l.padding, false)};
  case LayerKind::max_pool:
  case LayerKind::avg_pool:
    return {in.c, sweep(in.h, l.kernel, l.stride, 0, l.ceil_mode), sweep(in.w, l.kernel, l.stride, 0, l.ceil_mode)};
  case LayerKind::relu: return in;
  case LayerKind::flatten: return {int(in.size()), 1, 1};
  }
  return in;
}

void check_layer(const LayerSpec& l, Shape in, const std::string& where)
{
  auto fail = [&](const std::string& what) { throw InputError(fmt::format("{}: {}", where, what)); };
  const std::string kind = to_string(l.kind);
  if (l.kind == LayerKind::fc) {
    if (!in.flat())
      fail(fmt::format("fc needs a flat input but gets {}; put a {{\"type\": \"flatten\"}} layer before it", in.str()));
    if (l.out < 1)
      fail("fc needs at least one output");
    check_fan_out(in.c, l.out, l.fan_out, where);
  }
  if (l.kind == LayerKind::conv || is_pool(l.kind)) {
    if (l.kernel < 1 || l.stride < 1 || l.padding < 0)
      fail(fmt::format("{} needs kernel >= 1, stride >= 1 and padding >= 0", kind));
    if (l.padding >= l.kernel)
      fail(fmt::format("padding {} must be smaller than the kernel ({})", l.padding, l.kernel));
    const int span_h = in.h + 2 * l.padding, span_w = in.w + 2 * l.padding;
    if (l.kernel > span_h || l.kernel > span_w)
      fail(fmt::format("a {}x{} kernel is larger than the {} input{}; the kernel may be at most {}", l.kernel,
                       l.kernel, in.str(), l.padding ? fmt::format(" padded by {}", l.padding) : std::string(),
                       std::min(span_h, span_w)));
  }
  if (l.kind == LayerKind::conv) {
    if (l.out < 1)
      fail("conv needs at least one output channel");
    check_fan_out(in.c, l.out, l.fan_out, where, "convolution's channels");
  }
}

int fan_in(const LayerSpec& l, Shape in)
{
  if (!l.has_parameters())
    return 0;
  return int(std::int64_t(in.c) * l.fan_out / l.out); // fc inputs are flat: in.c neurons
}

LayerCost layer_cost(const LayerSpec& l, Shape in)
{
  LayerCost c;
  const Shape out = output_shape(l, in);
  c.output_elements = out.size();
  if (!l.has_parameters())
    return c;
  const std::int64_t pairs = std::int64_t(l.out) * fan_in(l, in); // existing (output, input) connections
  const std::int64_t taps = l.kind == LayerKind::conv ? std::int64_t(l.kernel) * l.kernel : 1;
  c.weights = pairs * taps;
  c.biases = l.out;
  c.macs = c.weights * (l.kind == LayerKind::conv ? std::int64_t(out.h) * out.w : 1);
  // fp32 weights and biases, plus one input index per connection when sparse (2 bytes when the inputs can be
  // numbered in 16 bits).
  c.index_bytes = (l.fan_out == l.out ? 0 : in.c <= 65536 ? 2 : 4) * pairs;
  c.storage_bytes = 4 * (c.weights + c.biases) + c.index_bytes;
  return c;
}

LayerSpec dense_counterpart(LayerSpec l)
{
  if (l.has_parameters())
    l.fan_out = l.out;
  return l;
}

std::unique_ptr<Layer> make_layer(const LayerSpec& spec, Shape in, std::uint64_t connectivity_seed,
                                  const std::vector<std::vector<int>>* inputs)
{
  check_layer(spec, in, to_string(spec.kind));
  auto connections = [&](int p) {
    return inputs ? *inputs : make_connectivity(p, spec.out, spec.fan_out, connectivity_seed);
  };
  switch (spec.kind) {
  case LayerKind::fc:
    return std::make_unique<FullyConnected>(spec, in, SparseLinear(in.c, spec.out, spec.fan_out, connections(in.c)));
  case LayerKind::conv: return std::make_unique<Conv2d>(spec, in, connections(in.c));
  case LayerKind::max_pool:
  case LayerKind::avg_pool: return std::make_unique<Pool2d>(spec, in);
  case LayerKind::relu: return std::make_unique<Relu>(spec, in);
  case LayerKind::flatten: return std::make_unique<Flatten>(spec, in);
  }
  throw std::logic_error("make_layer: unknown kind");
}

namespace {

/// ReLU's backward on a layer output y: the gradient passes where y > 0.
void relu_mask(const Activations& y, Activations& dy) { dy = (y.array() > 0.0f).select(dy, 0.0f); }

using Block = Eigen::Map<Activations>;

/// A rows x cols matrix in scratch buffer `which`, reused across calls and layers: a batch's patch matrix is
/// megabytes, and fresh pages at every allocation cost more than the copy. A buffer only grows.
Block scratch(int which, Eigen::Index rows, Eigen::Index cols)
{
  thread_local std::vector<float> buffers[4];
  auto& b = buffers[which];
  if (b.size() < std::size_t(rows * cols))
    b.resize(std::size_t(rows * cols));
  return Block(b.data(), rows, cols);
}

} // namespace

// ---- fully connected ----

FullyConnected::FullyConnected(const LayerSpec& spec, Shape in, SparseLinear linear)
    : Layer(spec, in), linear_(std::move(linear))
{
}

void FullyConnected::forward(const Activations& x, Activations& y) const
{
  linear_.forward(x, y);
  if (spec_.relu)
    y = y.cwiseMax(0.0f);
}

void FullyConnected::backward(const Activations& x, const Activations& y, Activations& dy, Activations* dx,
                              std::vector<float>* grads) const
{
  if (spec_.relu)
    relu_mask(y, dy);
  linear_.backward(x, dy, dx, grads[0].data(), grads[1].data());
}

std::vector<Parameter> FullyConnected::parameters()
{
  const std::int64_t out = linear_.out(), fi = linear_.fan_in();
  return {{"weights", linear_.values(), out * fi, {out, fi}}, {"bias", linear_.bias().data(), out, {out}}};
}

// ---- convolution ----

Conv2d::Conv2d(const LayerSpec& spec, Shape in, const std::vector<std::vector<int>>& inputs)
    : Layer(spec, in), fan_in_(scee::fan_in(spec, in))
{
  check_connectivity(in.c, spec.out, spec.fan_out, inputs, "convolution's channels");
  const int taps = spec.kernel * spec.kernel;
  inputs_.reserve(std::size_t(spec.out) * fan_in_);
  for (const auto& row : inputs)
    inputs_.insert(inputs_.end(), row.begin(), row.end());
  w_.assign(inputs_.size() * std::size_t(taps), 0.0f);
  b_ = Eigen::VectorXf::Zero(spec.out);
  std::vector<std::vector<int>> fed(std::size_t(in.c));
  for (int o = 0; o < spec.out; ++o)
    for (int s = 0; s < fan_in_; ++s)
      fed[std::size_t(inputs_[std::size_t(o) * fan_in_ + s])].push_back(o * fan_in_ + s);
  for (const auto& f : fed)
    fed_.insert(fed_.end(), f.begin(), f.end());
}

std::vector<Parameter> Conv2d::parameters()
{
  const std::int64_t out = spec_.out, fi = fan_in_, k = spec_.kernel;
  return {{"weights", w_.data(), std::int64_t(w_.size()), {out, fi, k, k}}, {"bias", b_.data(), out, {out}}};
}

float Conv2d::weight(int o, int i, int kh, int kw) const
{
  const int* row = inputs_.data() + std::size_t(o) * fan_in_;
  const int* it = std::find(row, row + fan_in_, i);
  if (it == row + fan_in_)
    return 0.0f;
  const int k = spec_.kernel;
  return w_[(std::size_t(o) * fan_in_ + std::size_t(it - row)) * std::size_t(k * k) + std::size_t(kh * k + kw)];
}

void Conv2d::patches(const Activations& x, int ci, Eigen::Index batch, float* col) const
{
  const int k = spec_.kernel, s = spec_.stride, pad = spec_.padding, h = in_.h, w = in_.w, oh = out_.h, ow = out_.w;
  const Eigen::Index n = batch, plane = Eigen::Index(oh) * ow * n;
  const float* src = x.data() + Eigen::Index(ci) * h * w * n;
  for (int kh = 0; kh < k; ++kh)
    for (int kw = 0; kw < k; ++kw) {
      float* dst = col + Eigen::Index(kh * k + kw) * plane;
      for (int y = 0; y < oh; ++y) {
        const int iy = y * s + kh - pad;
        float* row = dst + Eigen::Index(y) * ow * n;
        if (iy < 0 || iy >= h) {
          std::fill(row, row + Eigen::Index(ow) * n, 0.0f);
          continue;
        }
        for (int x0 = 0; x0 < ow; ++x0) {
          const int ix = x0 * s + kw - pad;
          float* d = row + Eigen::Index(x0) * n;
          if (ix < 0 || ix >= w)
            std::fill(d, d + n, 0.0f);
          else
            std::copy_n(src + (Eigen::Index(iy) * w + ix) * n, n, d);
        }
      }
    }
}

template <class F> void Conv2d::for_each_tap(F&& f) const
{
  // Every product of an existing channel pair: output element row, input element row, weight index, in a fixed order
  // (output channel, output position, input slot, kernel row, kernel column).
  const int k = spec_.kernel, s = spec_.stride, pad = spec_.padding;
  for (int o = 0; o < spec_.out; ++o)
    for (int oy = 0; oy < out_.h; ++oy)
      for (int ox = 0; ox < out_.w; ++ox) {
        const Eigen::Index r = (Eigen::Index(o) * out_.h + oy) * out_.w + ox;
        for (int slot = 0; slot < fan_in_; ++slot) {
          const std::size_t pair = std::size_t(o) * fan_in_ + slot;
          const Eigen::Index plane = Eigen::Index(inputs_[pair]) * in_.h;
          for (int kh = 0; kh < k; ++kh) {
            const int iy = oy * s + kh - pad;
            if (iy < 0 || iy >= in_.h)
              continue;
            for (int kw = 0; kw < k; ++kw) {
              const int ix = ox * s + kw - pad;
              if (ix >= 0 && ix < in_.w)
                f(r, (plane + iy) * in_.w + ix, pair * std::size_t(k * k) + std::size_t(kh * k + kw));
            }
          }
        }
      }
}

void Conv2d::forward(const Activations& x, Activations& y) const
{
  const Eigen::Index n = x.cols(), plane = Eigen::Index(out_.h) * out_.w * n;
  const int taps = spec_.kernel * spec_.kernel, fo = spec_.fan_out;
  const bool dense = fo == spec_.out;
  y.resize(out_.size(), n);
  if (!dense && n > 1) {
    // Channel-sparse batches: one axpy over the batch per existing product (as the sparse fc junction), so the time
    // follows the existing channel pairs and nothing is copied or packed. (An im2col GEMM per input channel spends as
    // much on the patch copies and packing as on the products when an input feeds only a few outputs; at batch 1 a
    // one-element axpy costs more than the copy, and the GEMM path below, which multiplies existing pairs only too,
    // is faster.)
    for (int o = 0; o < spec_.out; ++o)
      Eigen::Map<Activations>(y.data() + Eigen::Index(o) * out_.h * out_.w * n, out_.h * out_.w, n)
          .setConstant(b_[o]);
    for_each_tap([&](Eigen::Index r, Eigen::Index i, std::size_t wi) { y.row(r).noalias() += w_[wi] * x.row(i); });
    if (spec_.relu)
      y = y.cwiseMax(0.0f);
    return;
  }
  // Dense: per input channel ci, the patches of ci (im2col, kernel^2 x positions*batch) times the kernels of the
  // output channels (an out x kernel^2 GEMM), added to the outputs.
  Eigen::Map<Activations> out(y.data(), spec_.out, plane);
  for (int o = 0; o < spec_.out; ++o)
    out.row(o).setConstant(b_[o]);
  Block col = scratch(0, taps, plane), part = scratch(1, fo, plane);
  Activations kernels(fo, taps);
  for (int ci = 0; ci < in_.c; ++ci) {
    patches(x, ci, n, col.data());
    const int* fed = fed_.data() + std::size_t(ci) * fo;
    for (int r = 0; r < fo; ++r)
      kernels.row(r) = Eigen::Map<const Eigen::RowVectorXf>(w_.data() + std::size_t(fed[r]) * taps, taps);
    if (dense) { // fed rows are outputs 0..out-1 in order
      out.noalias() += kernels * col;
      continue;
    }
    part.noalias() = kernels * col;
    for (int r = 0; r < fo; ++r)
      out.row(fed[r] / fan_in_) += part.row(r);
  }
  if (spec_.relu)
    y = y.cwiseMax(0.0f);
}

void Conv2d::backward(const Activations& x, const Activations& y, Activations& dy, Activations* dx,
                      std::vector<float>* grads) const
{
  if (spec_.relu)
    relu_mask(y, dy);
  const Eigen::Index n = x.cols(), plane = Eigen::Index(out_.h) * out_.w * n;
  const int k = spec_.kernel, taps = k * k, fo = spec_.fan_out, s = spec_.stride, pad = spec_.padding;
  const bool dense = fo == spec_.out;
  const Eigen::Map<const Activations> g_out(dy.data(), spec_.out, plane);
  float* dw = grads[0].data();
  float* db = grads[1].data();
  for (int o = 0; o < spec_.out; ++o)
    db[o] += g_out.row(o).sum();
  if (dx)
    dx->setZero(in_.size(), n);
  if (!dense && n > 1) { // the products of forward, each giving its weight's gradient and its input's
    for_each_tap([&](Eigen::Index r, Eigen::Index i, std::size_t wi) {
      const auto g = dy.row(r);
      dw[wi] += g.dot(x.row(i));
      if (dx)
        dx->row(i).noalias() += w_[wi] * g;
    });
    return;
  }
  Block col = scratch(0, taps, plane), gathered = scratch(2, fo, plane), dcol = scratch(3, taps, plane);
  Activations kernels(fo, taps), dkernels(fo, taps);
  for (int ci = 0; ci < in_.c; ++ci) {
    patches(x, ci, n, col.data());
    const int* fed = fed_.data() + std::size_t(ci) * fo;
    if (!dense) {
      for (int r = 0; r < fo; ++r)
        gathered.row(r) = g_out.row(fed[r] / fan_in_);
    }
    const Eigen::Map<const Activations> g(dense ? dy.data() : gathered.data(), fo, plane);
    dkernels.noalias() = g * col.transpose();
    for (int r = 0; r < fo; ++r) {
      float* target = dw + std::size_t(fed[r]) * taps;
      for (int t = 0; t < taps; ++t)
        target[t] += dkernels(r, t);
    }
    if (!dx)
      continue;
    for (int r = 0; r < fo; ++r)
      kernels.row(r) = Eigen::Map<const Eigen::RowVectorXf>(w_.data() + std::size_t(fed[r]) * taps, taps);
    dcol.noalias() = kernels.transpose() * g;
    // col2im: every patch entry goes back to the input element it was copied from.
    float* target = dx->data() + Eigen::Index(ci) * in_.h * in_.w * n;
    for (int kh = 0; kh < k; ++kh)
      for (int kw = 0; kw < k; ++kw) {
        const float* src = dcol.data() + Eigen::Index(kh * k + kw) * plane;
        for (int oy = 0; oy < out_.h; ++oy) {
          const int iy = oy * s + kh - pad;
          if (iy < 0 || iy >= in_.h)
            continue;
          for (int ox = 0; ox < out_.w; ++ox) {
            const int ix = ox * s + kw - pad;
            if (ix < 0 || ix >= in_.w)
              continue;
            const float* from = src + (Eigen::Index(oy) * out_.w + ox) * n;
            float* to = target + (Eigen::Index(iy) * in_.w + ix) * n;
            for (Eigen::Index j = 0; j < n; ++j)
              to[j] += from[j];
          }
        }
      }
  }
}

// ---- pooling ----

void Pool2d::forward(const Activations& x, Activations& y) const
{
  const int k = spec_.kernel, s = spec_.stride;
  const bool max = spec_.kind == LayerKind::max_pool;
  y.resize(out_.size(), x.cols());
  for (int c = 0; c < in_.c; ++c)
    for (int oy = 0; oy < out_.h; ++oy)
      for (int ox = 0; ox < out_.w; ++ox) {
        const Eigen::Index r = (Eigen::Index(c) * out_.h + oy) * out_.w + ox;
        const int y0 = oy * s, x0 = ox * s, y1 = std::min(y0 + k, in_.h), x1 = std::min(x0 + k, in_.w);
        auto row = y.row(r);
        row = x.row((Eigen::Index(c) * in_.h + y0) * in_.w + x0);
        for (int iy = y0; iy < y1; ++iy)
          for (int ix = x0; ix < x1; ++ix) {
            if (iy == y0 && ix == x0)
              continue;
            const auto in = x.row((Eigen::Index(c) * in_.h + iy) * in_.w + ix);
            if (max)
              row = row.cwiseMax(in);
            else
              row += in;
          }
        if (!max)
          row /= float((y1 - y0) * (x1 - x0));
      }
}

void Pool2d::backward(const Activations& x, const Activations& y, Activations& dy, Activations* dx,
                      std::vector<float>*) const
{
  if (!dx)
    return;
  const int k = spec_.kernel, s = spec_.stride;
  const bool max = spec_.kind == LayerKind::max_pool;
  const Eigen::Index n = x.cols();
  dx->setZero(in_.size(), n);
  std::vector<int> first(std::size_t(n), 0);
  for (int c = 0; c < in_.c; ++c)
    for (int oy = 0; oy < out_.h; ++oy)
      for (int ox = 0; ox < out_.w; ++ox) {
        const Eigen::Index r = (Eigen::Index(c) * out_.h + oy) * out_.w + ox;
        const int y0 = oy * s, x0 = ox * s, y1 = std::min(y0 + k, in_.h), x1 = std::min(x0 + k, in_.w);
        if (!max) {
          const float share = 1.0f / float((y1 - y0) * (x1 - x0));
          for (int iy = y0; iy < y1; ++iy)
            for (int ix = x0; ix < x1; ++ix)
              dx->row((Eigen::Index(c) * in_.h + iy) * in_.w + ix) += share * dy.row(r);
          continue;
        }
        // The gradient goes to the first element of the window (row by row) that holds the maximum: a pass from the
        // last element to the first leaves in `first` the earliest match, then each element takes its share; both
        // passes are branch-free over the batch.
        const float* best = &y(r, 0);
        const float* grad = &dy(r, 0);
        const int cells = (y1 - y0) * (x1 - x0);
        auto cell_row = [&](int cell) {
          return (Eigen::Index(c) * in_.h + y0 + cell / (x1 - x0)) * in_.w + x0 + cell % (x1 - x0);
        };
        for (int cell = cells - 1; cell >= 0; --cell) {
          const float* in = &x(cell_row(cell), 0);
          for (Eigen::Index j = 0; j < n; ++j)
            first[std::size_t(j)] = in[j] == best[j] ? cell : first[std::size_t(j)];
        }
        for (int cell = 0; cell < cells; ++cell) {
          float* to = &(*dx)(cell_row(cell), 0);
          for (Eigen::Index j = 0; j < n; ++j)
            to[j] += first[std::size_t(j)] == cell ? grad[j] : 0.0f;
        }
      }
}

// ---- ReLU and flatten ----

void Relu::backward(const Activations&, const Activations& y, Activations& dy, Activations* dx,
                    std::vector<float>*) const
{
  if (!dx)
    return;
  relu_mask(y, dy);
  dx->swap(dy);
}

void Flatten::backward(const Activations&, const Activations&, Activations& dy, Activations* dx,
                       std::vector<float>*) const
{
  if (dx)
    dx->swap(dy);
}

} // namespace scee
