// NumPy .npy files: tensors to and from Python tools (format version 1.0 written; 1.0-3.0 read).
#pragma once

#include <string>

#include "ejit/tensor.h"

namespace ejit {

/// Writes t as a .npy file (format 1.0, little-endian, C order; bool is '|b1').
/// Throws ejit::Error "[npy] ..." naming the path when the file cannot be written.
void save_npy(const std::string& path, const Tensor& t);

/// Reads a .npy file of dtype bool, int32, int64, float32 or float64 (little-endian,
/// C order). Throws ejit::Error "[npy] ..." on a missing or malformed file, a folder or
/// anything but a regular file (a device, a FIFO, a link to one), Fortran order, big-endian
/// data or another dtype. The header is read first and checked against the file's size, so a
/// corrupt file never makes it allocate more than the file holds.
Tensor load_npy(const std::string& path);

/// The bytes of a .npy file holding t (what save_npy writes).
std::string npy_bytes(const Tensor& t);

/// Parses the bytes of a .npy file; `what` names the source in error messages.
Tensor parse_npy(const std::string& bytes, const std::string& what = "<memory>");

}  // namespace ejit
