// The layers a network is made of, one interface for every kind: a layer maps a tensor of one shape (channels x
// height x width; flat tensors have height = width = 1) to a tensor of another, knows its forward and backward pass,
// its parameters and its cost. Tensors travel as Activations: one row per element in C, H, W order (row
// (c * H + h) * W + w), one column per sample, so a channel's plane is one contiguous block of H * W * batch floats.
//
// A layer's shape, connectivity and cost follow from its LayerSpec and its input shape alone (layer_cost), so a cost
// can be computed for a network that is never built (e.g. the dense counterpart of a wide sparse one).
#pragma once

#include "sparse_linear.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace scee {

/// The shape of one sample's tensor.
struct Shape {
  int c = 0, h = 1, w = 1;
  std::int64_t size() const { return std::int64_t(c) * h * w; }
  bool flat() const { return h == 1 && w == 1; }
  std::string str() const; ///< "5x30x30", or "720" when flat
  bool operator==(const Shape&) const = default;
};

enum class LayerKind { fc, conv, max_pool, avg_pool, relu, flatten };
std::string to_string(LayerKind k); ///< "fc", "conv", "max_pool", "avg_pool", "relu", "flatten"

/// Everything that fixes one layer, given its input shape.
struct LayerSpec {
  LayerKind kind = LayerKind::fc;
  int out = 0;            ///< fc: output neurons; conv: output channels
  int kernel = 0;         ///< conv, pools: square kernel side
  int stride = 1;         ///< conv, pools
  int padding = 0;        ///< conv: zeros added on every side
  bool ceil_mode = false; ///< pools: output size rounded up (windows may hang over the edge; Chainer's cover_all)
  int fan_out = 0;        ///< fc: edges per input neuron; conv: output channels per input channel; == out is dense
  bool relu = false;      ///< fc, conv: ReLU applied to the output
  bool operator==(const LayerSpec&) const = default;

  bool has_parameters() const { return kind == LayerKind::fc || kind == LayerKind::conv; }
};

/// Output shape of a valid layer on `in`.
Shape output_shape(const LayerSpec& l, Shape in);
/// Throws InputError ("<where>: ...", naming what would be valid) unless the layer is valid on input shape `in`.
void check_layer(const LayerSpec& l, Shape in, const std::string& where);
/// Per-sample cost of a valid layer on `in`, in closed form.
LayerCost layer_cost(const LayerSpec& l, Shape in);
/// The same layer fully connected (fan-out = out); other kinds unchanged.
LayerSpec dense_counterpart(LayerSpec l);
/// fan_in of a valid fc or conv layer on `in`: inputs (neurons or channels) per output.
int fan_in(const LayerSpec& l, Shape in);

/// One parameter tensor of a layer, in storage order.
struct Parameter {
  std::string name;                ///< "weights" or "bias"
  float* data = nullptr;
  std::int64_t size = 0;
  std::vector<std::int64_t> shape; ///< as stored in model files
};

/// A built layer: connectivity and parameters for fc and conv, nothing for the others.
class Layer {
public:
  virtual ~Layer() = default;
  virtual std::unique_ptr<Layer> clone() const = 0;

  const LayerSpec& spec() const { return spec_; }
  LayerKind kind() const { return spec_.kind; }
  Shape in_shape() const { return in_; }
  Shape out_shape() const { return out_; }
  LayerCost cost() const { return layer_cost(spec_, in_); }

  /// y = layer(x), x being in_shape().size() x batch; y is resized to out_shape().size() x batch.
  virtual void forward(const Activations& x, Activations& y) const = 0;
  /// Backward pass given this layer's input x, its output y (as forward gave it) and dy = dL/dy, which it may
  /// overwrite. Adds dL/dparameter to grads[i] for parameters()[i]; writes dL/dx into *dx unless dx is null.
  virtual void backward(const Activations& x, const Activations& y, Activations& dy, Activations* dx,
                        std::vector<float>* grads) const = 0;

  /// Trainable tensors (weights, then bias); empty for layers without parameters.
  virtual std::vector<Parameter> parameters() { return {}; }
  std::vector<Parameter> parameters() const { return const_cast<Layer*>(this)->parameters(); }
  /// fc, conv: the input (neuron or channel) index of every weight row slot, out x fan_in, row by row.
  virtual const int* connectivity() const { return nullptr; }
  /// Inputs per output (fc: neurons, conv: channels), 0 for layers without parameters.
  virtual int fan_in() const { return 0; }

protected:
  Layer(LayerSpec spec, Shape in) : spec_(spec), in_(in), out_(output_shape(spec, in)) {}
  LayerSpec spec_;
  Shape in_, out_;
};

/// Builds a layer on input shape `in`; fc and conv get their connectivity from `connectivity_seed`, or from
/// `inputs` (one sorted list of fan_in input indices per output) when given. Weights start at zero.
std::unique_ptr<Layer> make_layer(const LayerSpec& spec, Shape in, std::uint64_t connectivity_seed,
                                  const std::vector<std::vector<int>>* inputs = nullptr);

/// A fully connected layer: a predefined-sparse junction (SparseLinear) and an optional fused ReLU.
class FullyConnected final : public Layer {
public:
  FullyConnected(const LayerSpec& spec, Shape in, SparseLinear linear);
  std::unique_ptr<Layer> clone() const override { return std::make_unique<FullyConnected>(*this); }
  void forward(const Activations& x, Activations& y) const override;
  void backward(const Activations& x, const Activations& y, Activations& dy, Activations* dx,
                std::vector<float>* grads) const override;
  std::vector<Parameter> parameters() override;
  const int* connectivity() const override { return linear_.indices(); }
  int fan_in() const override { return linear_.fan_in(); }
  SparseLinear& linear() { return linear_; }
  const SparseLinear& linear() const { return linear_; }

private:
  SparseLinear linear_;
};

/// A 2-D convolution with channel-level predefined sparsity: output channel o reads exactly fan_in input channels
/// (and every input channel feeds exactly fan_out outputs); a missing (output, input) channel pair has no kernel and
/// is never multiplied. Weights are out x fan_in x kernel x kernel, in the order of each output's input list. A dense
/// layer computes by im2col and GEMM, a sparse one by one batch axpy per product of an existing pair.
class Conv2d final : public Layer {
public:
  Conv2d(const LayerSpec& spec, Shape in, const std::vector<std::vector<int>>& inputs);
  std::unique_ptr<Layer> clone() const override { return std::make_unique<Conv2d>(*this); }
  void forward(const Activations& x, Activations& y) const override;
  void backward(const Activations& x, const Activations& y, Activations& dy, Activations* dx,
                std::vector<float>* grads) const override;
  std::vector<Parameter> parameters() override;
  const int* connectivity() const override { return inputs_.data(); }
  int fan_in() const override { return fan_in_; }
  /// Weight of output channel o, input channel i (0 when the pair does not exist), at kernel position (kh, kw).
  float weight(int o, int i, int kh, int kw) const;

private:
  /// Calls f(output row, input row, weight index) for every product of an existing channel pair.
  template <class F> void for_each_tap(F&& f) const;
  /// The patches of input channel ci: kernel^2 rows, out_h * out_w * batch columns (im2col of one channel).
  void patches(const Activations& x, int ci, Eigen::Index batch, float* col) const;
  int fan_in_ = 0;
  std::vector<int> inputs_;   ///< out x fan_in input channels, sorted per output
  std::vector<float> w_;      ///< out x fan_in x kernel x kernel
  Eigen::VectorXf b_;
  std::vector<int> fed_;      ///< per input channel, fan_out weight-row indices (o * fan_in + slot), o ascending
};

/// Max or average pooling per channel; with ceil_mode, a window hanging over the edge covers only its in-range
/// elements (max over them; average divides by their count).
class Pool2d final : public Layer {
public:
  Pool2d(const LayerSpec& spec, Shape in) : Layer(spec, in) {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<Pool2d>(*this); }
  void forward(const Activations& x, Activations& y) const override;
  void backward(const Activations& x, const Activations& y, Activations& dy, Activations* dx,
                std::vector<float>* grads) const override;
};

/// ReLU on its own (fc and conv can fuse it).
class Relu final : public Layer {
public:
  Relu(const LayerSpec& spec, Shape in) : Layer(spec, in) {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<Relu>(*this); }
  void forward(const Activations& x, Activations& y) const override { y = x.cwiseMax(0.0f); }
  void backward(const Activations& x, const Activations& y, Activations& dy, Activations* dx,
                std::vector<float>* grads) const override;
};

/// C x H x W to a flat vector of C * H * W elements (the row order does not change).
class Flatten final : public Layer {
public:
  Flatten(const LayerSpec& spec, Shape in) : Layer(spec, in) {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<Flatten>(*this); }
  void forward(const Activations& x, Activations& y) const override { y = x; }
  void backward(const Activations& x, const Activations& y, Activations& dy, Activations* dx,
                std::vector<float>* grads) const override;
};

} // namespace scee
