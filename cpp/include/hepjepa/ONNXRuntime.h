// hepjepa::ort::ONNXRuntime mirrors cms::Ort::ONNXRuntime (PhysicsTools/ONNXRuntime).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <onnxruntime_c_api.h>
#include <onnxruntime_cxx_api.h>

namespace hepjepa::ort {

using FloatArrays = std::vector<std::vector<float>>;

/// Largest size one axis, or one input's value count, may declare: 2^40 (4 TiB of float32).
/// No real buffer is that large, so a larger shape is a caller's bug; and every byte count
/// derived from a shape below it fits in 64 bits, so size arithmetic cannot wrap.
constexpr int64_t kMaxDeclaredSize = int64_t{1} << 40;
/// Most intra-op threads a session may ask for (more than any machine we run on has cores).
constexpr int64_t kMaxIntraOpThreads = 1024;

/// Per-call limits of run()/runInto(). ORT allocates the activations of a whole call at once
/// (the shipped model needs ~24 GB for 1e6 jets and is OOM-killed, not refused), so a call past
/// a limit is refused with InvalidInput before anything is allocated.
struct RunLimits {
  /// Most jets (axis 0 of an input whose axis 0 is dynamic) in one call: 128 producer batches
  /// of the default size; the shipped model's activations for it are ~0.4 GB.
  int64_t max_batch = 16384;
  /// Most input values (all inputs together) in one call: 2^27 float32 = 512 MiB, which holds
  /// max_batch jets of 32 groups of the shipped model's layout.
  int64_t max_elements = int64_t{1} << 27;
};

/// Value count of shape, with every product overflow-checked. Throws InvalidInput naming `what`
/// for a negative axis, an axis or a product above kMaxDeclaredSize.
int64_t elementCount(const std::vector<int64_t>& shape, const std::string& what);

/// One ORT session; run() is const and safe to call from many threads at once.
class ONNXRuntime {
public:
  /// Args: model_path (ONNX file), session_options (nullptr = defaultSessionOptions()), limits
  /// (each in 1..kMaxDeclaredSize, else ConfigError).
  explicit ONNXRuntime(const std::string& model_path, const Ort::SessionOptions* session_options = nullptr,
                       const RunLimits& limits = {});
  ONNXRuntime(const ONNXRuntime&) = delete;
  ONNXRuntime& operator=(const ONNXRuntime&) = delete;
  ~ONNXRuntime();

  /// Session options with intra-op threads = intra_op_threads (1..kMaxIntraOpThreads, default 1,
  /// as CMSSW; else ConfigError). backend: "cpu".
  static Ort::SessionOptions defaultSessionOptions(const std::string& backend = "cpu", int64_t intra_op_threads = 1);

  /// Runs the model. input_shapes empty: every -1 axis of the model takes batch_size.
  /// Returns one flat float vector per requested output (all outputs if output_names empty).
  /// Refuses (InvalidInput) shapes that differ from the model's ranks or fixed axes, axes that
  /// share a symbolic dimension of the model but differ in size, and calls past limits().
  FloatArrays run(const std::vector<std::string>& input_names, const FloatArrays& input_values,
                  const std::vector<std::vector<int64_t>>& input_shapes = {},
                  const std::vector<std::string>& output_names = {}, int64_t batch_size = 1) const;

  /// As run() but takes raw pointers (zero-copy) and writes into outputs/output_shapes.
  void runInto(const std::vector<std::string>& input_names, const std::vector<const float*>& input_data,
               const std::vector<size_t>& input_sizes, const std::vector<std::vector<int64_t>>& input_shapes,
               const std::vector<std::string>& output_names, FloatArrays& outputs,
               std::vector<std::vector<int64_t>>* output_shapes = nullptr, int64_t batch_size = 1) const;

  /// Checks shapes of the named inputs against the model (rank, fixed axes, sizes <=
  /// kMaxDeclaredSize) and against each other (axes with one symbolic dimension name have one
  /// size); returns each input's value count. Throws InvalidInput naming the inputs and axes.
  /// Does not apply limits(): callers that split a call (JetTagProducer) check those per chunk.
  std::vector<int64_t> checkShapes(const std::vector<std::string>& input_names,
                                   const std::vector<std::vector<int64_t>>& shapes) const;

  const std::vector<std::string>& getInputNames() const { return input_names_; }
  const std::vector<std::string>& getOutputNames() const { return output_names_; }
  /// Model-declared shape of an input/output (-1 for dynamic axes). Throws InvalidInput on unknown name.
  const std::vector<int64_t>& getInputShape(const std::string& name) const;
  const std::vector<int64_t>& getOutputShape(const std::string& name) const;
  /// Symbolic name of each axis of an input/output ("" for fixed or unnamed axes), e.g. "batch", "groups".
  const std::vector<std::string>& getInputSymbolicShape(const std::string& name) const;
  const std::vector<std::string>& getOutputSymbolicShape(const std::string& name) const;
  /// Element type of an input/output (run() feeds and returns float32 only).
  ONNXTensorElementDataType getInputType(const std::string& name) const;
  ONNXTensorElementDataType getOutputType(const std::string& name) const;
  const RunLimits& limits() const { return limits_; }

private:
  static Ort::Env& env();
  std::unique_ptr<Ort::Session> session_;
  std::vector<std::string> input_names_, output_names_;
  std::vector<std::vector<int64_t>> input_shapes_, output_shapes_;
  std::vector<std::vector<std::string>> input_symbols_, output_symbols_;
  std::vector<ONNXTensorElementDataType> input_types_, output_types_;
  RunLimits limits_;
};

/// Version string of the ONNX Runtime library actually loaded.
std::string ortVersion();
/// ONNX's name of an element type ("float32", "int64", ...), for messages.
std::string elementTypeName(ONNXTensorElementDataType type);

}  // namespace hepjepa::ort
