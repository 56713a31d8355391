#include "hepjepa/ONNXRuntime.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

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

int64_t elementCount(const std::vector<int64_t>& shape, const std::string& what) {
  int64_t n = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < 0 || shape[d] > kMaxDeclaredSize)
      throw InvalidInput(what + " has shape " + shapeStr(shape) + ": axis " + std::to_string(d) + " is " +
                         std::to_string(shape[d]) + ", expected 0.." + std::to_string(kMaxDeclaredSize));
    // both factors are <= 2^40, so the product can exceed int64: check it, never let it wrap
    if (__builtin_mul_overflow(n, shape[d], &n) || n > kMaxDeclaredSize)
      throw InvalidInput(what + " has shape " + shapeStr(shape) + ": more than " + std::to_string(kMaxDeclaredSize) +
                         " values in all");
  }
  return n;
}

Ort::Env& ONNXRuntime::env() {
  // one Env per process, as in CMSSW; created on first use so library load never touches ORT.
  static Ort::Env e(ORT_LOGGING_LEVEL_ERROR, "hepjepa");
  return e;
}

Ort::SessionOptions ONNXRuntime::defaultSessionOptions(const std::string& backend, int64_t intra_op_threads) {
  if (backend != "cpu") throw ConfigError("backend '" + backend + "' is not supported; valid: cpu");
  // checked here, before the narrowing to ORT's int, so that 2^32 + 1 cannot become 1
  if (intra_op_threads < 1 || intra_op_threads > kMaxIntraOpThreads)
    throw ConfigError("intra_op_threads must be in 1.." + std::to_string(kMaxIntraOpThreads) + ", got " +
                      std::to_string(intra_op_threads));
  Ort::SessionOptions so;
  so.SetIntraOpNumThreads(static_cast<int>(intra_op_threads));
  so.SetInterOpNumThreads(1);
  return so;
}

ONNXRuntime::ONNXRuntime(const std::string& model_path, const Ort::SessionOptions* session_options,
                         const RunLimits& limits)
    : limits_(limits) {
  if (limits.max_batch < 1 || limits.max_batch > kMaxDeclaredSize)
    throw ConfigError("max_batch must be in 1.." + std::to_string(kMaxDeclaredSize) + ", got " + std::to_string(limits.max_batch));
  if (limits.max_elements < 1 || limits.max_elements > kMaxDeclaredSize)
    throw ConfigError("max_elements must be in 1.." + std::to_string(kMaxDeclaredSize) + ", got " +
                      std::to_string(limits.max_elements));
  if (!std::filesystem::is_regular_file(model_path)) throw ModelNotFound("ONNX model not found: " + model_path);
  try {
    if (session_options) {
      session_ = std::make_unique<Ort::Session>(env(), model_path.c_str(), *session_options);
    } else {
      auto so = defaultSessionOptions();
      session_ = std::make_unique<Ort::Session>(env(), model_path.c_str(), so);
    }
    Ort::AllocatorWithDefaultOptions alloc;
    // shape, element type and axis names of one input or output
    auto describe = [](const Ort::TypeInfo& type_info, std::vector<std::vector<int64_t>>& shapes,
                       std::vector<ONNXTensorElementDataType>& types, std::vector<std::vector<std::string>>& symbols) {
      // the shape info is a view into the type info: the caller keeps that alive while this reads it
      auto info = type_info.GetTensorTypeAndShapeInfo();
      shapes.push_back(info.GetShape());
      types.push_back(info.GetElementType());
      // copied: the const char*s belong to the type info, which dies after this call
      std::vector<const char*> raw(shapes.back().size(), nullptr);
      if (!raw.empty()) info.GetSymbolicDimensions(raw.data(), raw.size());
      std::vector<std::string> names;
      for (const char* s : raw) names.emplace_back(s ? s : "");
      symbols.push_back(std::move(names));
    };
    for (size_t i = 0; i < session_->GetInputCount(); ++i) {
      input_names_.emplace_back(session_->GetInputNameAllocated(i, alloc).get());
      describe(session_->GetInputTypeInfo(i), input_shapes_, input_types_, input_symbols_);
    }
    for (size_t i = 0; i < session_->GetOutputCount(); ++i) {
      output_names_.emplace_back(session_->GetOutputNameAllocated(i, alloc).get());
      describe(session_->GetOutputTypeInfo(i), output_shapes_, output_types_, output_symbols_);
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
const std::vector<std::string>& ONNXRuntime::getInputSymbolicShape(const std::string& name) const {
  return input_symbols_[indexOf(input_names_, name, "input")];
}
const std::vector<std::string>& ONNXRuntime::getOutputSymbolicShape(const std::string& name) const {
  return output_symbols_[indexOf(output_names_, name, "output")];
}
ONNXTensorElementDataType ONNXRuntime::getInputType(const std::string& name) const {
  return input_types_[indexOf(input_names_, name, "input")];
}
ONNXTensorElementDataType ONNXRuntime::getOutputType(const std::string& name) const {
  return output_types_[indexOf(output_names_, name, "output")];
}

std::vector<int64_t> ONNXRuntime::checkShapes(const std::vector<std::string>& input_names,
                                              const std::vector<std::vector<int64_t>>& shapes) const {
  if (shapes.size() != input_names.size())
    throw InvalidInput("got " + std::to_string(shapes.size()) + " input shapes for " +
                       std::to_string(input_names.size()) + " inputs");
  std::vector<int64_t> counts;
  // symbolic name -> (input, axis, size) of its first use: ORT itself does not compare them and
  // broadcasts a size-1 axis silently (a `centers` of 1 group against 4 groups gave scores)
  std::map<std::string, std::tuple<size_t, size_t, int64_t>> first;
  for (size_t i = 0; i < input_names.size(); ++i) {
    const size_t m = indexOf(input_names_, input_names[i], "input");
    const auto& model_shape = input_shapes_[m];
    const auto& shape = shapes[i];
    if (shape.size() != model_shape.size())
      throw InvalidInput("input '" + input_names[i] + "' has rank " + std::to_string(shape.size()) + " " +
                         shapeStr(shape) + ", the model expects rank " + std::to_string(model_shape.size()) + " " +
                         shapeStr(model_shape));
    counts.push_back(elementCount(shape, "input '" + input_names[i] + "'"));
    for (size_t d = 0; d < shape.size(); ++d) {
      if (model_shape[d] >= 0 && model_shape[d] != shape[d])
        throw InvalidInput("input '" + input_names[i] + "' has shape " + shapeStr(shape) + ", the model expects " +
                           shapeStr(model_shape) + " (-1 = any): axis " + std::to_string(d) + " must be " +
                           std::to_string(model_shape[d]));
      const auto& sym = input_symbols_[m][d];
      if (model_shape[d] >= 0 || sym.empty()) continue;
      auto [it, fresh] = first.try_emplace(sym, i, d, shape[d]);
      if (fresh) continue;
      const auto& [i0, d0, size0] = it->second;
      if (shape[d] != size0)
        throw InvalidInput("input '" + input_names[i] + "' axis " + std::to_string(d) + " has size " +
                           std::to_string(shape[d]) + ", but input '" + input_names[i0] + "' axis " +
                           std::to_string(d0) + " has size " + std::to_string(size0) +
                           ": both are the model's dimension '" + sym + "', which must have one size per call");
    }
  }
  return counts;
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
  if (batch_size < 1 || batch_size > limits_.max_batch)
    throw InvalidInput("batch_size must be in 1.." + std::to_string(limits_.max_batch) + " (max_batch), got " +
                       std::to_string(batch_size));
  for (size_t i = 0; i < input_names.size(); ++i)
    for (size_t k = 0; k < i; ++k)
      if (input_names[k] == input_names[i]) throw InvalidInput("input '" + input_names[i] + "' is given twice");
  std::vector<std::vector<int64_t>> filled;
  if (input_shapes.empty()) {
    for (auto& name : input_names) {
      filled.push_back(getInputShape(name));
      for (auto& d : filled.back())
        if (d < 0) d = batch_size;
    }
  }
  const auto& shapes = input_shapes.empty() ? filled : input_shapes;
  const auto counts = checkShapes(input_names, shapes);
  int64_t total = 0;
  for (size_t i = 0; i < input_names.size(); ++i) {
    const auto& model_shape = getInputShape(input_names[i]);
    if (!model_shape.empty() && model_shape[0] < 0 && shapes[i][0] > limits_.max_batch)
      throw InvalidInput("input '" + input_names[i] + "' has " + std::to_string(shapes[i][0]) +
                         " jets (axis 0), more than this ONNXRuntime takes in one call (max_batch = " +
                         std::to_string(limits_.max_batch) + "); pass them through JetTagProducer, which splits "
                         "them into batch_size chunks, or raise the limit (max_batch)");
    total += counts[i];  // each count <= 2^40 and there are few inputs: no overflow
    if (input_sizes[i] != static_cast<size_t>(counts[i]))
      throw InvalidInput("input '" + input_names[i] + "' has " + std::to_string(input_sizes[i]) +
                         " values, expected " + std::to_string(counts[i]) + " for shape " + shapeStr(shapes[i]));
  }
  if (total > limits_.max_elements)
    throw InvalidInput("the inputs hold " + std::to_string(total) + " values in all, more than this ONNXRuntime takes "
                       "in one call (max_elements = " + std::to_string(limits_.max_elements) +
                       "); pass them through JetTagProducer, which splits them into batch_size chunks, or raise "
                       "the limit (max_elements)");
  // ORT wants inputs in any order but all present; order ours as the caller gave them.
  std::vector<Ort::Value> tensors;
  std::vector<const char*> in_names;
  auto mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  for (size_t i = 0; i < input_names.size(); ++i) {
    // ORT never writes to inputs; the const_cast is the C API's signature, not a mutation.
    tensors.emplace_back(Ort::Value::CreateTensor<float>(mem, const_cast<float*>(input_data[i]),
                                                         static_cast<size_t>(counts[i]), shapes[i].data(),
                                                         shapes[i].size()));
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

std::string elementTypeName(ONNXTensorElementDataType type) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return "float32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: return "float64";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return "float16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: return "bfloat16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: return "int8";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: return "int16";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return "int32";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return "int64";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: return "uint8";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: return "bool";
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING: return "string";
    default: return "ONNX element type " + std::to_string(static_cast<int>(type));
  }
}

}  // namespace hepjepa::ort
