#include "hepjepa/ONNXRuntime.h"

#include <filesystem>
#include <numeric>
#include <sstream>

#include "hepjepa/Exceptions.h"

namespace hepjepa::ort {
namespace {
std::string shapeStr(const std::vector<int64_t>& s) {
  std::ostringstream o;
  o << "(";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  o << ")";
  return o.str();
}
size_t indexOf(const std::vector<std::string>& names, const std::string& name, const char* what) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return i;
  std::string valid;
  for (auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
  throw InvalidInput(std::string("unknown ") + what + " name '" + name + "'; the model has: " + valid);
}
}  // namespace

Ort::Env& ONNXRuntime::env() {
  // one Env per process, as in CMSSW; created on first use so library load never touches ORT.
  static Ort::Env e(ORT_LOGGING_LEVEL_ERROR, "hepjepa");
  return e;
}

Ort::SessionOptions ONNXRuntime::defaultSessionOptions(const std::string& backend, int intra_op_threads) {
  if (backend != "cpu") throw ConfigError("backend '" + backend + "' is not supported; valid: cpu");
  if (intra_op_threads < 1) throw ConfigError("intra_op_threads must be >= 1, got " + std::to_string(intra_op_threads));
  Ort::SessionOptions so;
  so.SetIntraOpNumThreads(intra_op_threads);
  so.SetInterOpNumThreads(1);
  return so;
}

ONNXRuntime::ONNXRuntime(const std::string& model_path, const Ort::SessionOptions* session_options) {
  if (!std::filesystem::is_regular_file(model_path)) throw ModelNotFound("ONNX model not found: " + model_path);
  try {
    if (session_options) {
      session_ = std::make_unique<Ort::Session>(env(), model_path.c_str(), *session_options);
    } else {
      auto so = defaultSessionOptions();
      session_ = std::make_unique<Ort::Session>(env(), model_path.c_str(), so);
    }
    Ort::AllocatorWithDefaultOptions alloc;
    for (size_t i = 0; i < session_->GetInputCount(); ++i) {
      input_names_.emplace_back(session_->GetInputNameAllocated(i, alloc).get());
      input_shapes_.push_back(session_->GetInputTypeInfo(i).GetTensorTypeAndShapeInfo().GetShape());
    }
    for (size_t i = 0; i < session_->GetOutputCount(); ++i) {
      output_names_.emplace_back(session_->GetOutputNameAllocated(i, alloc).get());
      output_shapes_.push_back(session_->GetOutputTypeInfo(i).GetTensorTypeAndShapeInfo().GetShape());
    }
  } catch (const Ort::Exception& e) {
    throw ModelError("cannot load ONNX model " + model_path + ": " + e.what());
  }
}

ONNXRuntime::~ONNXRuntime() = default;

const std::vector<int64_t>& ONNXRuntime::getInputShape(const std::string& name) const {
  return input_shapes_[indexOf(input_names_, name, "input")];
}
const std::vector<int64_t>& ONNXRuntime::getOutputShape(const std::string& name) const {
  return output_shapes_[indexOf(output_names_, name, "output")];
}

FloatArrays ONNXRuntime::run(const std::vector<std::string>& input_names, const FloatArrays& input_values,
                             const std::vector<std::vector<int64_t>>& input_shapes,
                             const std::vector<std::string>& output_names, int64_t batch_size) const {
  if (input_values.size() != input_names.size())
    throw InvalidInput("got " + std::to_string(input_values.size()) + " input arrays for " +
                       std::to_string(input_names.size()) + " input names");
  std::vector<const float*> data;
  std::vector<size_t> sizes;
  for (auto& v : input_values) { data.push_back(v.data()); sizes.push_back(v.size()); }
  FloatArrays out;
  runInto(input_names, data, sizes, input_shapes, output_names, out, nullptr, batch_size);
  return out;
}

void ONNXRuntime::runInto(const std::vector<std::string>& input_names, const std::vector<const float*>& input_data,
                          const std::vector<size_t>& input_sizes, const std::vector<std::vector<int64_t>>& input_shapes,
                          const std::vector<std::string>& output_names, FloatArrays& outputs,
                          std::vector<std::vector<int64_t>>* out_shapes, int64_t batch_size) const {
  if (input_names.size() != input_names_.size())
    throw InvalidInput("the model takes " + std::to_string(input_names_.size()) + " inputs, got " +
                       std::to_string(input_names.size()) + " names");
  if (input_data.size() != input_names.size() || input_sizes.size() != input_names.size())
    throw InvalidInput("input names, data and sizes differ in length");
  if (!input_shapes.empty() && input_shapes.size() != input_names.size())
    throw InvalidInput("got " + std::to_string(input_shapes.size()) + " input shapes for " +
                       std::to_string(input_names.size()) + " inputs");
  if (batch_size < 1) throw InvalidInput("batch_size must be >= 1, got " + std::to_string(batch_size));
  // ORT wants inputs in any order but all present; order ours as the caller gave them.
  std::vector<Ort::Value> tensors;
  std::vector<const char*> in_names;
  auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  for (size_t i = 0; i < input_names.size(); ++i) {
    const auto& model_shape = input_shapes_[indexOf(input_names_, input_names[i], "input")];
    std::vector<int64_t> shape;
    if (input_shapes.empty()) {
      shape = model_shape;
      for (auto& d : shape)
        if (d < 0) d = batch_size;
    } else {
      shape = input_shapes[i];
      if (shape.size() != model_shape.size())
        throw InvalidInput("input '" + input_names[i] + "' has rank " + std::to_string(shape.size()) +
                           " " + shapeStr(shape) + ", the model expects rank " + std::to_string(model_shape.size()) +
                           " " + shapeStr(model_shape));
      for (size_t d = 0; d < shape.size(); ++d)
        if (shape[d] < 0 || (model_shape[d] >= 0 && model_shape[d] != shape[d]))
          throw InvalidInput("input '" + input_names[i] + "' has shape " + shapeStr(shape) +
                             ", the model expects " + shapeStr(model_shape) + " (-1 = any)");
    }
    size_t expected = std::accumulate(shape.begin(), shape.end(), size_t{1},
                                      [](size_t a, int64_t b) { return a * static_cast<size_t>(b); });
    if (input_sizes[i] != expected)
      throw InvalidInput("input '" + input_names[i] + "' has " + std::to_string(input_sizes[i]) +
                         " values, expected " + std::to_string(expected) + " for shape " + shapeStr(shape));
    // ORT never writes to inputs; the const_cast is the C API's signature, not a mutation.
    tensors.emplace_back(Ort::Value::CreateTensor<float>(mem, const_cast<float*>(input_data[i]), expected,
                                                         shape.data(), shape.size()));
    in_names.push_back(input_names[i].c_str());
  }
  const auto& outs = output_names.empty() ? output_names_ : output_names;
  std::vector<const char*> out_names;
  for (auto& n : outs) { indexOf(output_names_, n, "output"); out_names.push_back(n.c_str()); }
  std::vector<Ort::Value> results;
  try {
    results = session_->Run(Ort::RunOptions{nullptr}, in_names.data(), tensors.data(), tensors.size(),
                            out_names.data(), out_names.size());
  } catch (const Ort::Exception& e) {
    throw ModelError(std::string("ONNX Runtime failed to run the model: ") + e.what());
  }
  outputs.resize(results.size());
  if (out_shapes) out_shapes->resize(results.size());
  for (size_t i = 0; i < results.size(); ++i) {
    auto info = results[i].GetTensorTypeAndShapeInfo();
    if (info.GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
      throw ModelError("output '" + outs[i] + "' is not float32");
    const float* p = results[i].GetTensorData<float>();
    outputs[i].assign(p, p + info.GetElementCount());  // assign reuses the caller's capacity
    if (out_shapes) (*out_shapes)[i] = info.GetShape();
  }
}

std::string ortVersion() { return Ort::GetVersionString(); }

}  // namespace hepjepa::ort
