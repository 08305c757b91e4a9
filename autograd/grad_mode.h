// Grad mode: ops record the graph only while it is enabled (per thread).
#pragma once

#include <polygrad/core/tensor.h>

namespace polygrad {

void set_grad_enabled(bool on);

// RAII: nothing is recorded in its scope (evaluation, optimizer updates).
class NoGradGuard {
public:
  NoGradGuard() : prev_(is_grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard &) = delete;
  NoGradGuard &operator=(const NoGradGuard &) = delete;

private:
  bool prev_;
};

// RAII: recording on in its scope, also inside a NoGradGuard (torch.enable_grad).
class EnableGradGuard {
public:
  EnableGradGuard() : prev_(is_grad_enabled()) { set_grad_enabled(true); }
  ~EnableGradGuard() { set_grad_enabled(prev_); }
  EnableGradGuard(const EnableGradGuard &) = delete;
  EnableGradGuard &operator=(const EnableGradGuard &) = delete;

private:
  bool prev_;
};

} // namespace polygrad
