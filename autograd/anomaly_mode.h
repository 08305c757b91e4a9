// Anomaly detection, like torch.autograd.set_detect_anomaly / detect_anomaly:
// finds the op that first produces a NaN or an infinity.
//
//   { pg::DetectAnomalyGuard anomaly;   // or pg::set_detect_anomaly(true)
//     pg::Tensor loss = criterion(model(x), y);
//     loss.backward(); }
//
// While it is on (a process-wide switch, off by default):
// - forward: every output an op records a node for (some input requires grad
//   and grad mode is on) is checked when the node is recorded;
// - backward: every gradient a node returns is checked before it is summed
//   into its input's gradient.
// The first non-finite value throws polygrad::Error naming the node (e.g.
// "SqrtBackward"), the shapes, the first offending index and value and, for
// a backward, the forward op that created the node (its number among the ops
// recorded since the mode was switched on, its input and output shapes):
//   anomaly: SqrtBackward returned a non-finite gradient for input 0 of shape
//   [3]: element [1] = inf; the node was created by forward op #2 (inputs [3]
//   -> output [3])
// Each check reads the whole tensor, so expect training to run noticeably
// slower (docs/autograd.md has the figures); off, it costs one predictable
// branch per recorded node and per backward node.
#pragma once

namespace polygrad {

void set_detect_anomaly(bool on);
bool is_anomaly_enabled();

// RAII: anomaly mode on (or `on`) in its scope, the previous setting restored.
class DetectAnomalyGuard {
public:
  explicit DetectAnomalyGuard(bool on = true) : prev_(is_anomaly_enabled()) {
    set_detect_anomaly(on);
  }
  ~DetectAnomalyGuard() { set_detect_anomaly(prev_); }
  DetectAnomalyGuard(const DetectAnomalyGuard &) = delete;
  DetectAnomalyGuard &operator=(const DetectAnomalyGuard &) = delete;

private:
  bool prev_;
};

} // namespace polygrad
