// hepjepa::ort::ONNXRuntime mirrors cms::Ort::ONNXRuntime (PhysicsTools/ONNXRuntime).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <onnxruntime_cxx_api.h>

namespace hepjepa::ort {

using FloatArrays = std::vector<std::vector<float>>;

/// One ORT session; run() is const and safe to call from many threads at once.
class ONNXRuntime {
public:
  /// Args: model_path (ONNX file), session_options (nullptr = defaultSessionOptions()).
  explicit ONNXRuntime(const std::string& model_path, const Ort::SessionOptions* session_options = nullptr);
  ONNXRuntime(const ONNXRuntime&) = delete;
  ONNXRuntime& operator=(const ONNXRuntime&) = delete;
  ~ONNXRuntime();

  /// Session options with intra-op threads = intra_op_threads (default 1, as CMSSW). backend: "cpu".
  static Ort::SessionOptions defaultSessionOptions(const std::string& backend = "cpu", int intra_op_threads = 1);

  /// Runs the model. input_shapes empty: every -1 axis of the model takes batch_size.
  /// Returns one flat float vector per requested output (all outputs if output_names empty).
  FloatArrays run(const std::vector<std::string>& input_names, const FloatArrays& input_values,
                  const std::vector<std::vector<int64_t>>& input_shapes = {},
                  const std::vector<std::string>& output_names = {}, int64_t batch_size = 1) const;

  /// As run() but takes raw pointers (zero-copy) and writes into outputs/output_shapes.
  void runInto(const std::vector<std::string>& input_names, const std::vector<const float*>& input_data,
               const std::vector<size_t>& input_sizes, const std::vector<std::vector<int64_t>>& input_shapes,
               const std::vector<std::string>& output_names, FloatArrays& outputs,
               std::vector<std::vector<int64_t>>* output_shapes = nullptr, int64_t batch_size = 1) const;

  const std::vector<std::string>& getInputNames() const { return input_names_; }
  const std::vector<std::string>& getOutputNames() const { return output_names_; }
  /// Model-declared shape of an input/output (-1 for dynamic axes). Throws InvalidInput on unknown name.
  const std::vector<int64_t>& getInputShape(const std::string& name) const;
  const std::vector<int64_t>& getOutputShape(const std::string& name) const;

private:
  static Ort::Env& env();
  std::unique_ptr<Ort::Session> session_;
  std::vector<std::string> input_names_, output_names_;
  std::vector<std::vector<int64_t>> input_shapes_, output_shapes_;
};

/// Version string of the ONNX Runtime library actually loaded.
std::string ortVersion();

}  // namespace hepjepa::ort
