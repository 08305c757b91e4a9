// Saving and loading a Module's parameters and buffers, in the safetensors
// format of io/safetensors.h (its layout, atomic writes and validated reads),
// so PyTorch users open polygrad weights with the `safetensors` package and
// polygrad loads theirs. Names are Module::state_dict()'s, PyTorch's:
// "0.weight", "features.3.bias", "bn.running_mean", "bn.num_batches_tracked"
// (I64).
#pragma once

#include <string>

#include <polygrad/io/safetensors.h>
#include <polygrad/nn/module.h>

namespace polygrad::nn {

// Saves m.state_dict() (parameters and buffers) plus `metadata`
// (and {"format": "pt"}, the convention of PyTorch's safetensors files).
void save(const Module &m, const std::string &path, const Metadata &metadata = {});

// Loads a checkpoint into m's parameters and buffers, in place:
// m.load_state_dict(io::load_safetensors(path), strict), with errors naming
// the file. strict: the file's names must equal m.state_dict()'s exactly
// (else: the missing and unexpected names are listed); not strict: names
// present in both are loaded and the rest ignored. A shape or dtype mismatch
// is always an error. On any error m is unchanged. Returns the file's
// metadata.
Metadata load(Module &m, const std::string &path, bool strict = true);

} // namespace polygrad::nn
