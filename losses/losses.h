// Every loss in polygrad::losses (the loss zoo), plus the registry.
// See docs/losses.md for the formulas, gradients and plots.
//
// The list of loss headers is generated at configure time from losses/*.h
// (CMakeLists.txt), so adding a loss edits no list here.
#pragma once

#include <polygrad-generated/all_losses.h>
