// Checkpoints in the safetensors format, so PyTorch users open polygrad
// weights with the `safetensors` package and polygrad loads theirs.
//
// File layout (all integers little-endian):
//   bytes [0, 8)        N, the header length, as a uint64
//   bytes [8, 8 + N)    the header: one JSON object, padded with spaces so that
//                       N is a multiple of 8 (the data then starts 8-aligned)
//                         {"__metadata__": {"key": "value", ...},     (optional)
//                          "<name>": {"dtype": "F32" | "I64",
//                                     "shape": [d0, d1, ...],
//                                     "data_offsets": [begin, end]}, ...}
//   bytes [8 + N, EOF)  the data section: each tensor's elements in row-major
//                       order, at [begin, end) relative to the section start.
// Names are Module::state_dict()'s, PyTorch's: "0.weight", "features.3.bias",
// "bn.running_mean", "bn.num_batches_tracked" (I64).
//
// Guarantees:
// - Writes are atomic: the file is written to "<path>.tmp.<pid>.<n>" in the
//   same directory, fsync'ed, then renamed over <path> (and the directory is
//   fsync'ed). A crash or error mid-save leaves any previous file intact.
// - Reads validate everything before anything is returned or any model is
//   touched: header length vs file size, strict JSON, field types, dtypes,
//   shapes, offsets in range, sized to the shape, element-aligned, and tiling
//   the data section exactly (no overlap, hole or trailing bytes). Each
//   failure is a polygrad::Error naming the file, the tensor and the problem.
#pragma once

#include <map>
#include <string>

#include <polygrad/nn/module.h>

namespace polygrad::nn {

// A checkpoint file holds one StateDict (core/state_dict.h): its tensors,
// and its metadata as the header's "__metadata__".

// Writes tensors (float32 or int64, any layout) atomically. Names must be
// unique, non-empty and not "__metadata__". The data section is ordered by
// element size (int64 first), then by the given order, so every tensor is
// aligned to its element size, as the safetensors package does.
void save_safetensors(const StateDict &sd, const std::string &path);
// Reads and fully validates a file; the tensors are fresh and contiguous, in
// the order of their data offsets.
StateDict load_safetensors(const std::string &path);

// Saves m.state_dict() (parameters and buffers) plus `metadata`
// (and {"format": "pt"}, the convention of PyTorch's safetensors files).
void save(const Module &m, const std::string &path, const Metadata &metadata = {});

// Loads a checkpoint into m's parameters and buffers, in place:
// m.load_state_dict(load_safetensors(path), strict), with errors naming the
// file. On any error m is unchanged. Returns the file's metadata.
Metadata load(Module &m, const std::string &path, bool strict = true);

namespace detail {
// Testing hook that simulates failures mid-save: after `after_bytes` bytes of
// the temporary file are written, the writer fails like an I/O error (crash
// false) or the process kills itself with SIGKILL (crash true, a real crash:
// no cleanup runs). A negative value disables it (the default).
void set_save_fault(int64_t after_bytes, bool crash = false);
} // namespace detail

} // namespace polygrad::nn
