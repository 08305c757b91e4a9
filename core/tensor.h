// polygrad::Tensor: a cheap-to-copy handle to an n-d array of float32 (or
// int64 for class labels) with shape, strides and an offset into a storage
// that views share. Storage comes from the caching allocator (64-byte aligned).
//
// The differentiable operations (arithmetic, reductions, views, matmul, ...)
// are declared here as members and free functions so that users see one API;
// they are implemented in autograd/, which records the graph when an input
// requires grad. The raw kernels they call live in core/kernels.h.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include <polygrad/core/error.h>

namespace polygrad {

enum class DType { Float32, Int64 };
const char *dtype_name(DType d);
inline size_t dtype_size(DType d) { return d == DType::Float32 ? 4 : 8; }
template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::Int64; }

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape &s); // "[2, 3]"
// The largest tensor, in bytes: 2^62. Every element count, byte count,
// stride, offset and allocator bucket then stays far from int64/size_t
// overflow; anything larger cannot be allocated on any machine anyway.
constexpr int64_t kMaxTensorBytes = int64_t(1) << 62;
// Product of the sizes, checked: a negative size or a product past int64 is
// a polygrad::Error naming `op` and the shape (never a wrapped count).
int64_t shape_numel(const Shape &s, const char *op = "shape_numel");
// Row-major strides (a size-0 dim counts as 1, as in PyTorch), checked the same way.
Shape contiguous_strides(const Shape &s, const char *op = "contiguous_strides");
// Throws naming `op` unless a new tensor of this shape and dtype can exist:
// sizes >= 0, numel * dtype_size <= kMaxTensorBytes (also when a size is 0:
// the strides must still be representable).
void check_new_shape(const Shape &s, DType dtype, const char *op);
// Wraps a possibly negative dim into [0, ndim); throws naming `op` otherwise.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char *op);
// NumPy broadcasting of two shapes; throws naming `op` and both shapes.
Shape broadcast_shapes(const Shape &a, const Shape &b, const char *op);

// Refcounted block of memory. `version` counts in-place writes; autograd uses
// it to detect a tensor that was modified after being saved for backward.
struct Storage {
  void *data = nullptr;
  size_t nbytes = 0;
  uint64_t version = 0;
  explicit Storage(size_t nbytes);
  ~Storage();
  Storage(const Storage &) = delete;
  Storage &operator=(const Storage &) = delete;
};

struct AutogradMeta; // defined in autograd/node.h
class Node;          // defined in autograd/node.h

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape, strides;
  int64_t offset = 0; // in elements
  DType dtype = DType::Float32;
  std::shared_ptr<AutogradMeta> autograd; // null: no grad tracking
};

class Tensor {
public:
  Tensor() = default; // an undefined tensor ("none")
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  // A fresh contiguous tensor of the given shape; contents uninitialised.
  // Uninitialised; `op` names the caller in a size error (zeros, randn, ...).
  static Tensor empty(const Shape &shape, DType dtype = DType::Float32, const char *op = "empty");

  bool defined() const { return impl_ != nullptr; }
  const Shape &shape() const { return impl().shape; }
  const Shape &strides() const { return impl().strides; }
  int64_t dim() const { return (int64_t)impl().shape.size(); }
  int64_t size(int64_t d) const;
  int64_t numel() const { return shape_numel(impl().shape); }
  int64_t offset() const { return impl().offset; }
  DType dtype() const { return impl().dtype; }
  bool is_contiguous() const;
  template <class T = float> T *data() const;
  const std::shared_ptr<Storage> &storage() const { return impl().storage; }
  TensorImpl &impl() const;
  const std::shared_ptr<TensorImpl> &impl_ptr() const { return impl_; }
  bool same(const Tensor &o) const { return impl_ == o.impl_; }

  template <class T = float> std::vector<T> to_vector() const;
  // The value of a one-element tensor: item() is a float (an int64 past 2^24
  // rounds); item<int64_t>() is exact for int64 and throws for a float that
  // is not a whole number in int64's range (no silent truncation).
  template <class T = float> T item() const;

  // ----- views (share storage; differentiable) -----
  Tensor reshape(const Shape &shape) const; // view if possible, else copy
  Tensor view(const Shape &shape) const;    // throws if not viewable
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor t() const; // 2-D transpose; 0-d and 1-d come back as they are
  Tensor permute(const Shape &dims) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const; // drops `dim`
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor expand(const Shape &shape) const; // -1 keeps a size
  Tensor contiguous() const;               // copies only when needed
  Tensor clone() const;

  // ----- element-wise (differentiable) -----
  Tensor exp() const;
  Tensor log() const;
  Tensor log1p() const;
  Tensor expm1() const;
  Tensor sqrt() const;
  Tensor abs() const;
  Tensor relu() const;
  Tensor sigmoid() const;
  Tensor tanh() const;
  Tensor pow(float exponent) const;
  Tensor clamp(float lo, float hi) const;

  // ----- reductions (differentiable) -----
  // sum of an int64 tensor is int64 (wrapping on overflow), as in PyTorch;
  // the others need float32.
  Tensor sum() const;
  Tensor sum(const Shape &dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const Shape &dims, bool keepdim = false) const;
  Tensor max() const;
  Tensor max(int64_t dim, bool keepdim = false) const;
  Tensor min() const;
  Tensor min(int64_t dim, bool keepdim = false) const;
  Tensor argmax(int64_t dim, bool keepdim = false) const; // int64
  Tensor logsumexp(int64_t dim, bool keepdim = false) const;
  Tensor softmax(int64_t dim) const;
  Tensor log_softmax(int64_t dim) const;

  // ----- in-place (bump the version counter; not recorded) -----
  Tensor &fill_(float v);
  Tensor &zero_() { return fill_(0.f); }
  // src broadcast to this shape, of the same dtype (float32 or int64; the
  // other in-place ops need float32).
  Tensor &copy_(const Tensor &src);
  Tensor &add_(const Tensor &o, float alpha = 1.f);
  Tensor &add_(float v);
  Tensor &mul_(const Tensor &o);
  Tensor &mul_(float v);
  void bump_version() const { ++impl().storage->version; }

  // ----- autograd (implemented in autograd/) -----
  bool requires_grad() const;
  Tensor requires_grad_(bool on = true) const; // returns this handle
  Tensor grad() const;                         // undefined if none yet
  void set_grad(const Tensor &g) const;
  void zero_grad() const; // drop the accumulated gradient
  bool is_leaf() const;
  std::shared_ptr<Node> grad_fn() const;
  std::string grad_fn_name() const; // e.g. "MulBackward"; "" for none
  Tensor detach() const;            // same storage, no history
  // Backpropagates from this tensor. Without `grad` it must hold one element.
  void backward(const Tensor &grad = Tensor(), bool retain_graph = false) const;
  // Calls hook(grad) each time a backward pass has accumulated into this
  // leaf's .grad(), with the accumulated .grad() (torch's
  // register_post_accumulate_grad_hook; DistributedDataParallel starts a
  // bucket's allreduce from it). Hooks run in registration order on the
  // thread running backward. Returns a handle for remove_...; a leaf that
  // requires grad only.
  uint64_t register_post_accumulate_grad_hook(std::function<void(const Tensor &grad)> hook) const;
  void remove_post_accumulate_grad_hook(uint64_t handle) const; // unknown handles: no-op

private:
  std::shared_ptr<TensorImpl> impl_;
};

// Whether ops record the graph on this thread (false inside NoGradGuard).
bool is_grad_enabled();

// ----- factories (float32 unless said) -----
Tensor zeros(const Shape &shape, DType dtype = DType::Float32);
Tensor ones(const Shape &shape);
Tensor full(const Shape &shape, float value);
Tensor scalar_tensor(float value); // 0-d
Tensor arange(float start, float end, float step = 1.f);
Tensor arange(int64_t end);       // float32 0..end-1
Tensor rand(const Shape &shape);  // U[0, 1), from the global generator
Tensor randn(const Shape &shape); // N(0, 1), from the global generator
Tensor from_vector(const std::vector<float> &values, const Shape &shape);
Tensor from_labels(const std::vector<int64_t> &labels); // shape {N}, int64
Tensor from_labels(const std::vector<int64_t> &labels, const Shape &shape);
Tensor zeros_like(const Tensor &t);
Tensor ones_like(const Tensor &t);
Tensor full_like(const Tensor &t, float value);

// ----- element-wise with NumPy broadcasting (differentiable) -----
Tensor add(const Tensor &a, const Tensor &b);
Tensor sub(const Tensor &a, const Tensor &b);
Tensor mul(const Tensor &a, const Tensor &b);
Tensor div(const Tensor &a, const Tensor &b);
Tensor maximum(const Tensor &a, const Tensor &b);
Tensor minimum(const Tensor &a, const Tensor &b);
Tensor pow(const Tensor &a, const Tensor &b); // a^b, a > 0 where b varies
Tensor neg(const Tensor &a);
Tensor exp(const Tensor &a);
Tensor log(const Tensor &a);
Tensor log1p(const Tensor &a);
Tensor expm1(const Tensor &a);
Tensor sqrt(const Tensor &a);
Tensor abs(const Tensor &a);
Tensor relu(const Tensor &a);
Tensor sigmoid(const Tensor &a);
Tensor tanh(const Tensor &a);
Tensor pow(const Tensor &a, float exponent);
Tensor clamp(const Tensor &a, float lo, float hi);
// where(mask, a, b) = mask != 0 ? a : b (broadcast); mask is not differentiated.
Tensor where(const Tensor &mask, const Tensor &a, const Tensor &b);
// Comparisons, with broadcasting, on float32 and int64 alike. PyTorch returns
// bool; polygrad has no bool, so the result is a float32 mask of 0s and 1s
// for every input dtype: usable in arithmetic, where() and sum()/mean(), e.g.
//   float acc = (logits.argmax(1) == labels).mean().item();
// int64 with int64 compares exactly; int64 with float32 compares as float32
// (PyTorch's promotion: an int64 past 2^24 rounds first). NaN compares false
// except under ne. Not differentiable.
Tensor eq(const Tensor &a, const Tensor &b);
Tensor ne(const Tensor &a, const Tensor &b);
Tensor lt(const Tensor &a, const Tensor &b);
Tensor le(const Tensor &a, const Tensor &b);
Tensor gt(const Tensor &a, const Tensor &b);
Tensor ge(const Tensor &a, const Tensor &b);

// ----- linear algebra (differentiable) -----
// matmul: (M,K)x(K,N); batched (...,M,K)x(...,K,N) with broadcast batch dims;
// a 1-D operand is treated as a row / column vector, as in torch.matmul.
Tensor matmul(const Tensor &a, const Tensor &b);

// ----- reductions / softmax (differentiable) -----
Tensor sum(const Tensor &a);
Tensor sum(const Tensor &a, const Shape &dims, bool keepdim = false);
Tensor mean(const Tensor &a);
Tensor mean(const Tensor &a, const Shape &dims, bool keepdim = false);
Tensor max(const Tensor &a);
Tensor max(const Tensor &a, int64_t dim, bool keepdim = false);
Tensor min(const Tensor &a);
Tensor min(const Tensor &a, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor &a, int64_t dim, bool keepdim = false);
Tensor logsumexp(const Tensor &a, int64_t dim, bool keepdim = false);
Tensor softmax(const Tensor &a, int64_t dim);
Tensor log_softmax(const Tensor &a, int64_t dim);

// ----- indexing / joining (differentiable in the float inputs) -----
// gather: out[i][j] = a[i][index[i][j]] along `dim` (index int64, same rank).
Tensor gather(const Tensor &a, int64_t dim, const Tensor &index);
// index_select: picks whole slices of `dim` listed by a 1-D int64 index.
Tensor index_select(const Tensor &a, int64_t dim, const Tensor &index);
Tensor cat(const std::vector<Tensor> &tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor> &tensors, int64_t dim = 0);
// one_hot: int64 labels of shape S -> float32 of shape S + {num_classes}.
Tensor one_hot(const Tensor &labels, int64_t num_classes);

// ----- operators -----
Tensor operator+(const Tensor &a, const Tensor &b);
Tensor operator-(const Tensor &a, const Tensor &b);
Tensor operator*(const Tensor &a, const Tensor &b);
Tensor operator/(const Tensor &a, const Tensor &b);
Tensor operator-(const Tensor &a);
Tensor operator+(const Tensor &a, float b);
Tensor operator-(const Tensor &a, float b);
Tensor operator*(const Tensor &a, float b);
Tensor operator/(const Tensor &a, float b);
Tensor operator+(float a, const Tensor &b);
Tensor operator-(float a, const Tensor &b);
Tensor operator*(float a, const Tensor &b);
Tensor operator/(float a, const Tensor &b);
// Element-wise comparisons, as in PyTorch: eq/ne/lt/le/gt/ge above (a mask,
// not a bool). Tensor has no identity ==: same() tells whether two handles
// share one tensor. The scalar is float32, so `labels == 3` compares as
// float32 (exact up to 2^24); compare with an int64 tensor for more.
Tensor operator==(const Tensor &a, const Tensor &b);
Tensor operator!=(const Tensor &a, const Tensor &b);
Tensor operator<(const Tensor &a, const Tensor &b);
Tensor operator<=(const Tensor &a, const Tensor &b);
Tensor operator>(const Tensor &a, const Tensor &b);
Tensor operator>=(const Tensor &a, const Tensor &b);
Tensor operator==(const Tensor &a, float b);
Tensor operator!=(const Tensor &a, float b);
Tensor operator<(const Tensor &a, float b);
Tensor operator<=(const Tensor &a, float b);
Tensor operator>(const Tensor &a, float b);
Tensor operator>=(const Tensor &a, float b);
Tensor operator==(float a, const Tensor &b);
Tensor operator!=(float a, const Tensor &b);
Tensor operator<(float a, const Tensor &b);
Tensor operator<=(float a, const Tensor &b);
Tensor operator>(float a, const Tensor &b);
Tensor operator>=(float a, const Tensor &b);

// Printing like PyTorch: values (summarised when large), shape, dtype, and
// grad_fn / requires_grad when tracked.
std::ostream &operator<<(std::ostream &os, const Tensor &t);

} // namespace polygrad
