// What every example program does at its top level and before long work:
//
// Exit statuses (all programs):
//   0  success
//   1  runtime error: bad or unreadable data, an unwritable output, a failed
//      save, anything thrown while running ("PROGRAM: error: <what>" on
//      stderr; the message names the file or value and what is valid)
//   2  bad usage: an unknown flag, a bad or missing value (Flags::fail:
//      the message, then the usage)
// No program ends in std::terminate (status 134) on bad input.
#pragma once

#include <functional>
#include <string>

#include <polygrad/losses/registry.h>

namespace polygrad::examples {

inline constexpr int kExitError = 1, kExitUsage = 2;

// Runs `body` (a program's main) and turns anything it throws
// (polygrad::Error, std::exception, anything else) into
// "PROGRAM: error: <what>" on stderr and status kExitError.
int run_program(const std::string &program, const std::function<int()> &body);

// Replaces run_program's printing and return on an error: exit(line,
// status) gets the line it would print. A distributed run sets one that ends
// every rank with the line (common/cluster.h); it must not return.
void set_error_exit(std::function<void(const std::string &line, int status)> exit);

// For --out DIR: creates the folder (like mkdir -p) and proves it writable
// by creating and removing a probe file in it. Throws polygrad::Error
// "--FLAG DIR: <why>" otherwise, so a run fails before training, not after.
void prepare_output_dir(const std::string &flag, const std::string &dir);

// For --save PATH and the like: the folder must exist and take a new file
// (a probe next to PATH, removed again), and PATH must not be a folder.
// PATH itself is not created or changed. Throws polygrad::Error otherwise.
void check_writable_file(const std::string &flag, const std::string &path);

// The names of the registered losses of `kind`, comma-separated, for messages
// that list the valid --loss values.
std::string loss_names(losses::LossKind kind);

} // namespace polygrad::examples
