// The umbrella header: everything polygrad offers, including what a user
// needs to add a loss or an autograd op (autograd/node.h, losses/loss_node.h,
// losses/pointwise_loss.h, core/vec_math.h). Internal headers are left out;
// tests/check_umbrella.cmake fails when a public header is not reachable.
#pragma once

#include <polygrad/core/allocator.h>
#include <polygrad/core/error.h>
#include <polygrad/core/parallel.h>
#include <polygrad/core/random.h>
#include <polygrad/core/sgemm.h>
#include <polygrad/core/state_dict.h>
#include <polygrad/core/tensor.h>
#include <polygrad/core/text.h>
#include <polygrad/core/vec_math.h>

#include <polygrad/autograd/anomaly_mode.h>
#include <polygrad/autograd/dot.h>
#include <polygrad/autograd/grad_mode.h>
#include <polygrad/autograd/gradcheck.h>
#include <polygrad/autograd/hooks.h>
#include <polygrad/autograd/node.h>

#include <polygrad/io/atomic_file.h>
#include <polygrad/io/safetensors.h>

#include <polygrad/losses/loss_node.h>
#include <polygrad/losses/losses.h>
#include <polygrad/losses/pointwise_loss.h>
#include <polygrad/losses/registry.h>

#include <polygrad/nn/activation.h>
#include <polygrad/nn/batchnorm.h>
#include <polygrad/nn/checkpoint.h>
#include <polygrad/nn/conv2d.h>
#include <polygrad/nn/dropout.h>
#include <polygrad/nn/flatten.h>
#include <polygrad/nn/init.h>
#include <polygrad/nn/linear.h>
#include <polygrad/nn/loss_modules.h>
#include <polygrad/nn/module.h>
#include <polygrad/nn/pooling.h>
#include <polygrad/nn/sequential.h>
#include <polygrad/nn/utils.h>

#include <polygrad/optim/adam.h>
#include <polygrad/optim/adamw.h>
#include <polygrad/optim/checkpoint.h>
#include <polygrad/optim/lr_scheduler.h>
#include <polygrad/optim/sgd.h>

#include <polygrad/data/batch.h>
#include <polygrad/data/cifar10.h>
#include <polygrad/data/dataloader.h>
#include <polygrad/data/dataset.h>
#include <polygrad/data/gzfile.h>
#include <polygrad/data/image_folder.h>
#include <polygrad/data/long_tail.h>
#include <polygrad/data/mnist.h>
#include <polygrad/data/source.h>
