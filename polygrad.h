// The umbrella header: everything polygrad offers.
#pragma once

#include <polygrad/core/allocator.h>
#include <polygrad/core/error.h>
#include <polygrad/core/parallel.h>
#include <polygrad/core/random.h>
#include <polygrad/core/tensor.h>

#include <polygrad/autograd/dot.h>
#include <polygrad/autograd/grad_mode.h>
#include <polygrad/autograd/gradcheck.h>
