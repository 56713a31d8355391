// SHA-256 (FIPS 180-4), used to check that model.onnx is the file preprocess.json describes.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace hepjepa {

/// Incremental SHA-256: update() any number of times, then hexDigest() once.
class Sha256 {
public:
  Sha256();
  void update(const void* data, size_t size);
  /// Lower-case hex digest (64 characters); finishes the hash, so call it once.
  std::string hexDigest();

private:
  void block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buf_{};
  size_t buf_len_ = 0;
  uint64_t total_ = 0;  // bytes hashed so far
};

/// Lower-case hex SHA-256 of a byte string.
std::string sha256Hex(const std::string& data);
/// Lower-case hex SHA-256 of a file's bytes. Throws ModelNotFound if it cannot be opened,
/// ModelError if a read fails.
std::string sha256File(const std::string& path);

}  // namespace hepjepa
