// Tensors in the safetensors format, so PyTorch users open polygrad files
// with the `safetensors` package and polygrad loads theirs. nn::save/load
// (modules) and optim::save/load (optimizers, schedulers) are built on this.
//
// io/ is polygrad's file-format layer: safetensors, the JSON in its header
// and the atomic file writer. It stands on core only, and nn and optim stand
// on it. ("io" rather than "serialize": it also owns how bytes reach the disk,
// which is not serialization. Reading datasets is data/'s job.)
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
//
// Guarantees:
// - Writes are atomic (io/atomic_file.h): a crash or error mid-save leaves
//   any previous file intact.
// - Reads validate everything before anything is returned: header length vs
//   file size, strict JSON (no duplicate keys), field types, dtypes, shapes,
//   offsets in range, sized to the shape, element-aligned, and tiling the
//   data section exactly (no overlap, hole or trailing bytes). Each failure
//   is a polygrad::Error naming the file, the tensor and the problem.
#pragma once

#include <string>

#include <polygrad/core/state_dict.h>
#include <polygrad/core/tensor.h>

namespace polygrad::io {

// A file holds one polygrad::StateDict (core/state_dict.h), the type
// nn::Module::state_dict() and optim::Optimizer::state_dict() return: its
// tensors, and its metadata as the header's "__metadata__".

// The format's name of a dtype: "F32" (Float32) or "I64" (Int64).
const char *safetensors_dtype(DType d);

// Writes tensors (float32 or int64, any layout) atomically. Names must be
// unique, non-empty, not "__metadata__" and, like metadata, valid UTF-8. The
// data section is ordered by element size (int64 first), then by the given
// order, so every tensor is aligned to its element size, as the safetensors
// package does.
void save_safetensors(const StateDict &sd, const std::string &path);
// Reads and fully validates a file; the tensors are fresh and contiguous, in
// the order of their data offsets.
StateDict load_safetensors(const std::string &path);

} // namespace polygrad::io
