// Every loss in polygrad::losses (the loss zoo), plus the registry.
// See docs/losses.md for the formulas, gradients and plots.
#pragma once

#include <polygrad/losses/bce.h>
#include <polygrad/losses/common.h>
#include <polygrad/losses/cross_entropy.h>
#include <polygrad/losses/focal.h>
#include <polygrad/losses/kl_div.h>
#include <polygrad/losses/nll.h>
#include <polygrad/losses/poly1_cross_entropy.h>
#include <polygrad/losses/poly1_focal.h>
#include <polygrad/losses/poly_loss.h>
#include <polygrad/losses/registry.h>
#include <polygrad/losses/regression.h>
#include <polygrad/losses/sigmoid_focal.h>
#include <polygrad/losses/softmax_loss.h>
