// Hooks into the backward pass, for code that must act while gradients are
// being produced (DistributedDataParallel overlaps its allreduces with the
// rest of the backward this way):
//  * Tensor::register_post_accumulate_grad_hook (core/tensor.h): a leaf's
//    hook runs right after a backward pass accumulated into its .grad();
//  * queue_backward_callback (below): runs once the whole pass is done.
#pragma once

#include <functional>

namespace polygrad {

// Runs `fn` when the backward pass running on this thread has run its last
// node (torch's Variable._execution_engine.queue_callback), after every
// post-accumulate-grad hook; callbacks run in the order queued, and one may
// queue another. Not run if the pass throws. Throws if no backward pass is
// running on this thread.
void queue_backward_callback(std::function<void()> fn);

// Whether a backward pass is running on this thread.
bool in_backward();

} // namespace polygrad
