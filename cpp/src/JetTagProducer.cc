#include "hepjepa/JetTagProducer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <ios>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>
#include <onnxruntime_c_api.h>

#include "hepjepa/Exceptions.h"
#include "hepjepa/Sha256.h"

namespace hepjepa {

// One call's buffers, leased from the producer's FreeList: they keep their capacity from call to
// call, so a steady stream of same-sized calls allocates nothing here after the first.
struct JetTagProducer::Scratch {
  std::vector<const float*> ptrs;
  std::vector<size_t> sizes;
  std::vector<std::vector<int64_t>> shapes;
  ort::FloatArrays outputs;
  std::vector<std::vector<int64_t>> out_shapes;
  std::vector<size_t> jet_sizes;             // per output: values per jet in this call
  std::vector<int64_t> run_jets;             // jets sent to ORT when some are skipped
  std::vector<std::vector<float>> gathered;  // per input: their rows, when not contiguous
};

namespace {
using Strings = std::vector<std::string>;
using Json = nlohmann::json;

std::string join(const Strings& v) {
  std::string s;
  for (auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

template <class T>
T get(const ParameterSet& p, const std::string& key) {
  const auto& v = p.at(key);
  if (auto* x = std::get_if<T>(&v)) return *x;
  throw ConfigError("parameter '" + key + "' has the wrong type");
}

int64_t getInRange(const ParameterSet& p, const std::string& key, int64_t lo, int64_t hi) {
  const int64_t v = get<int64_t>(p, key);
  if (v < lo || v > hi)
    throw ConfigError("parameter '" + key + "' must be in " + std::to_string(lo) + ".." + std::to_string(hi) +
                      ", got " + std::to_string(v));
  return v;
}

// The valid name closest to `name` by edit distance, for "did you mean" (typos are one or two edits).
std::string closest(const std::string& name, const Strings& valid) {
  std::string best;
  size_t best_d = 3;
  for (const auto& v : valid) {
    std::vector<size_t> row(v.size() + 1);
    for (size_t j = 0; j <= v.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= name.size(); ++i) {
      size_t diag = row[0];
      row[0] = i;
      for (size_t j = 1; j <= v.size(); ++j) {
        const size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (name[i - 1] == v[j - 1] ? 0 : 1)});
        diag = up;
      }
    }
    if (row[v.size()] < best_d) best_d = row[v.size()], best = v;
  }
  return best;
}

std::string shapeStr(const std::vector<int64_t>& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + ")";
}

// The multi-index (jet, ...) of flat element k of an array of this shape.
std::string indexStr(const std::vector<int64_t>& shape, int64_t k) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = k % shape[d];
    k /= shape[d];
  }
  return shapeStr(idx);
}

std::string floatStr(float x) {
  std::ostringstream o;
  o.precision(9);
  o << x;
  return o.str();
}

// Index of the first NaN/inf of p[0, n), or n. The exponent test is branch-free over blocks so
// that the all-finite case (every call) vectorises; the slow search runs only on a bad block.
int64_t firstNonFinite(const float* p, int64_t n) {
  constexpr int64_t kBlock = 256;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    uint32_t bad = 0;
    for (int64_t i = b; i < e; ++i) {
      uint32_t u;
      std::memcpy(&u, p + i, sizeof u);
      bad |= static_cast<uint32_t>((u & 0x7f800000u) == 0x7f800000u);
    }
    if (bad)
      for (int64_t i = b; i < e; ++i)
        if (!std::isfinite(p[i])) return i;
  }
  return n;
}

int64_t firstNotZeroOrOne(const float* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (p[i] != 0.f && p[i] != 1.f) return i;
  return n;
}

// ------------------------------------------------------------------------------ preprocess.json

// nlohmann::json converts (get<>) and prints (dump) values recursively, one stack frame per level,
// so a deep document crashes the process; its brackets are counted here, outside strings, first.
void checkJsonDepth(const std::string& text, const std::string& path) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > JetTagProducer::kMaxJsonDepth)
        throw ConfigError("invalid preprocess_json " + path + ": nested deeper than " +
                          std::to_string(JetTagProducer::kMaxJsonDepth) + " levels (at byte " + std::to_string(i) +
                          "), the limit JetTagProducer accepts; hepjepa export writes 5");
    } else if (c == ']' || c == '}') {
      --depth;  // unbalanced text is the parser's to report
    }
  }
}

Json readJson(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ModelNotFound("preprocess_json not found: " + path);
  std::string text;
  text.resize(JetTagProducer::kMaxJsonBytes + 1);
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(f.gcount()));
  if (text.size() > JetTagProducer::kMaxJsonBytes)
    throw ConfigError("invalid preprocess_json " + path + ": larger than " +
                      std::to_string(JetTagProducer::kMaxJsonBytes) + " bytes, the limit JetTagProducer accepts");
  checkJsonDepth(text, path);
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    throw ConfigError("invalid preprocess_json " + path + ": " + e.what());
  }
}

// One entry of preprocess.json's "inputs" or "outputs".
struct Declared {
  std::string name, kind;
  std::vector<int64_t> shape;    // -1 = dynamic
  std::vector<std::string> axes;  // per axis, "" for null; empty when the entry has no "axes"
  bool has_axes = false;
  Strings columns;
  bool has_columns = false;
};

// What the producer reads from preprocess.json, every key type-checked (not yet against the model).
struct Preprocess {
  std::string path;
  bool has_input_names = false, has_output_names = false, has_flav_names = false;
  bool has_inputs = false, has_outputs = false;
  Strings input_names, output_names, flav_names;
  std::vector<std::vector<int64_t>> input_shapes;  // in input_names order; empty if absent
  std::vector<Declared> inputs, outputs;
  std::string onnx_sha256;  // lower-case hex, empty if absent

  ConfigError refuse(const std::string& key, const Json& v, const std::string& expected) const {
    return ConfigError("preprocess_json " + path + ": key '" + key + "' must be " + expected + ", got " +
                       v.type_name() + " " + v.dump().substr(0, 120));
  }
};

// An integer list, each -1 (dynamic) or 0..kMaxDeclaredSize; false for anything else. By hand,
// not get<>: nlohmann casts 1e30 or 4.5 to int64 without a word.
bool readShape(const Json& s, std::vector<int64_t>& out) {
  if (!s.is_array()) return false;
  out.clear();
  for (const auto& d : s) {
    if (!d.is_number_integer()) return false;
    const bool in_range = d.is_number_unsigned() ? d.get<uint64_t>() <= static_cast<uint64_t>(ort::kMaxDeclaredSize)
                                                 : d.get<int64_t>() >= -1 && d.get<int64_t>() <= ort::kMaxDeclaredSize;
    if (!in_range) return false;
    out.push_back(d.get<int64_t>());
  }
  return true;
}

bool readStrings(const Json& v, Strings& out) {
  if (!v.is_array()) return false;
  out.clear();
  for (const auto& s : v) {
    if (!s.is_string()) return false;
    out.push_back(s.get<std::string>());
  }
  return true;
}

// Entry i of key ("inputs" / "outputs"): an object of known keys, each of its type.
Declared readDeclared(const Preprocess& pre, const std::string& key, size_t i, const Json& e) {
  const bool output = key == "outputs";
  const Strings valid = output ? Strings{"name", "shape", "dtype", "kind", "columns", "axes"}
                               : Strings{"name", "shape", "dtype", "axes"};
  const std::string layout = output ? "an object {\"name\", \"shape\", \"dtype\", \"kind\"[, \"columns\"]}"
                                    : "an object {\"name\", \"shape\", \"dtype\"[, \"axes\"]}";
  const std::string at = key + "[" + std::to_string(i) + "]";
  if (!e.is_object()) throw pre.refuse(at, e, layout);
  Declared d;
  if (!e.contains("name") || !e.at("name").is_string())
    throw pre.refuse(at, e, layout + " whose \"name\" is a string");
  d.name = e.at("name").get<std::string>();
  const std::string where = "preprocess_json " + pre.path + ": key '" + at + "' ('" + d.name + "')";
  for (const auto& item : e.items())
    if (std::find(valid.begin(), valid.end(), item.key()) == valid.end()) {
      const std::string near = closest(item.key(), valid);
      throw ConfigError(where + " has unknown key '" + item.key() + "'" + (near.empty() ? "" : "; did you mean '" + near + "'?") +
                        " valid keys: " + join(valid));
    }
  for (const char* required : {"shape", "dtype"})
    if (!e.contains(required)) throw ConfigError(where + " lacks \"" + required + "\"; expected " + layout);
  if (!readShape(e.at("shape"), d.shape))
    throw ConfigError(where + ": \"shape\" must be a list of integers (-1 = dynamic axis), got " + e.at("shape").dump().substr(0, 120));
  if (!e.at("dtype").is_string() || e.at("dtype").get<std::string>() != "float32")
    throw ConfigError(where + ": \"dtype\" is " + e.at("dtype").dump().substr(0, 40) +
                      ", expected \"float32\" (JetTagProducer feeds and reads float32 only)");
  if (e.contains("axes")) {
    const auto& a = e.at("axes");
    bool ok = a.is_array() && a.size() == d.shape.size();
    for (size_t k = 0; ok && k < a.size(); ++k) {
      ok = a[k].is_string() || a[k].is_null();
      if (ok) d.axes.push_back(a[k].is_string() ? a[k].get<std::string>() : "");
    }
    if (!ok)
      throw ConfigError(where + ": \"axes\" must be a list of " + std::to_string(d.shape.size()) +
                        " axis names (a string for a dynamic axis, null for a fixed one), got " + a.dump().substr(0, 120));
    d.has_axes = true;
  }
  if (!output) return d;
  const auto& kinds = JetTagProducer::outputKindNames();
  if (!e.contains("kind") || !e.at("kind").is_string() ||
      std::find(kinds.begin(), kinds.end(), e.at("kind").get<std::string>()) == kinds.end())
    throw ConfigError(where + ": \"kind\" is " + (e.contains("kind") ? e.at("kind").dump().substr(0, 40) : "missing") +
                      ", expected one of " + join(kinds));
  d.kind = e.at("kind").get<std::string>();
  if (e.contains("columns")) {
    if (!readStrings(e.at("columns"), d.columns))
      throw ConfigError(where + ": \"columns\" must be a list of strings, got " + e.at("columns").dump().substr(0, 120));
    d.has_columns = true;
  } else if (d.kind != JetTagProducer::kEmbedding) {
    throw ConfigError(where + " of kind '" + d.kind + "' lacks \"columns\": the name of each of its columns");
  }
  return d;
}

Preprocess readPreprocess(const std::string& path) {
  Preprocess pre;
  pre.path = path;
  const Json j = readJson(path);
  if (!j.is_object()) throw ConfigError("invalid preprocess_json " + path + ": expected a JSON object, got " + j.type_name());
  // each key is converted on its own so that a wrong type names the key and the expected layout
  auto strings = [&](const char* key, Strings& dst, bool& has) {
    if (!j.contains(key)) return;
    if (!readStrings(j.at(key), dst)) throw pre.refuse(key, j.at(key), "a list of strings");
    has = true;
  };
  strings("input_names", pre.input_names, pre.has_input_names);
  strings("output_names", pre.output_names, pre.has_output_names);
  strings("flav_names", pre.flav_names, pre.has_flav_names);
  if (j.contains("input_shapes")) {
    const auto& v = j.at("input_shapes");
    const char* expected = "a list of integer lists in input_names order (-1 = dynamic axis)";
    if (!v.is_array()) throw pre.refuse("input_shapes", v, expected);
    for (const auto& s : v) {
      pre.input_shapes.emplace_back();
      if (!readShape(s, pre.input_shapes.back())) throw pre.refuse("input_shapes", v, expected);
    }
  }
  auto declarations = [&](const std::string& key, const std::string& what, std::vector<Declared>& dst, bool& has) {
    if (!j.contains(key)) return;
    const auto& v = j.at(key);
    if (!v.is_array() || v.empty()) throw pre.refuse(key, v, "a non-empty list with one object per model " + what);
    for (size_t i = 0; i < v.size(); ++i) dst.push_back(readDeclared(pre, key, i, v[i]));
    has = true;
  };
  declarations("inputs", "input", pre.inputs, pre.has_inputs);
  declarations("outputs", "output", pre.outputs, pre.has_outputs);
  if (j.contains("sha256")) {
    const auto& s = j.at("sha256");
    if (!s.is_object()) throw pre.refuse("sha256", s, "an object of hex digests such as {\"onnx\": \"<64 hex digits>\"}");
    if (s.contains("onnx")) {
      const auto& h = s.at("onnx");
      bool ok = h.is_string() && h.get<std::string>().size() == 64;
      if (ok) {
        pre.onnx_sha256 = h.get<std::string>();
        for (auto& c : pre.onnx_sha256) {
          ok = ok && std::isxdigit(static_cast<unsigned char>(c));
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
      }
      if (!ok) throw pre.refuse("sha256 -> onnx", h, "the model file's sha256: a string of 64 hex digits");
    }
  }
  return pre;
}

// Data pointers of inputs, each checked to hold as many values as its shape says.
std::vector<const float*> pointersOf(const std::vector<std::vector<float>>& inputs,
                                     const std::vector<std::vector<int64_t>>& shapes, const Strings& names) {
  if (inputs.size() != names.size())
    throw InvalidInput("got " + std::to_string(inputs.size()) + " inputs, expected " + std::to_string(names.size()) +
                       " [" + join(names) + "]");
  std::vector<const float*> ptrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (i < shapes.size()) {
      const int64_t n = ort::elementCount(shapes[i], "input '" + names[i] + "'");
      if (static_cast<size_t>(n) != inputs[i].size())
        throw InvalidInput("input '" + names[i] + "' has " + std::to_string(inputs[i].size()) + " values, expected " +
                           std::to_string(n) + " for its shape " + shapeStr(shapes[i]));
    }
    ptrs.push_back(inputs[i].data());
  }
  return ptrs;
}

Strings namesOf(const std::vector<Declared>& v) {
  Strings r;
  for (const auto& d : v) r.push_back(d.name);
  return r;
}

// The first name listed twice, or "".
std::string firstDuplicate(const Strings& v) {
  for (size_t i = 0; i < v.size(); ++i)
    if (std::find(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v[i]) != v.begin() + static_cast<std::ptrdiff_t>(i))
      return v[i];
  return "";
}

// A declaration (entry i of key) against the model's shape and axis names of that input/output.
// Inputs must match axis by axis; an output may fix an axis the model leaves dynamic (ONNX shape
// inference loses sizes of outputs), and its jet axis must be dynamic.
void checkAgainstModel(const Preprocess& pre, const std::string& key, size_t i, const Declared& d,
                       const std::vector<int64_t>& model, const Strings& model_axes) {
  const std::string where = "preprocess_json " + pre.path + ": key '" + key + "[" + std::to_string(i) + "]' ('" + d.name + "')";
  const bool output = key == "outputs";
  const std::string what = output ? "output" : "input";
  if (d.shape.size() != model.size())
    throw ConfigError(where + " declares shape " + shapeStr(d.shape) + " of rank " + std::to_string(d.shape.size()) +
                      ", but the model's " + what + " '" + d.name + "' has rank " + std::to_string(model.size()) + " " +
                      shapeStr(model));
  if (output && (d.shape.empty() || d.shape[0] != -1))
    throw ConfigError(where + " declares shape " + shapeStr(d.shape) + ": axis 0 is the jet axis and must be -1 (dynamic)");
  for (size_t k = 0; k < model.size(); ++k) {
    const bool differs = model[k] >= 0 ? d.shape[k] != model[k] : !output && d.shape[k] != -1;
    if (differs)
      throw ConfigError(where + " declares shape " + shapeStr(d.shape) + ", but the model's " + what + " has " +
                        shapeStr(model) + " (-1 = dynamic): axis " + std::to_string(k) + " differs");
  }
  if (!d.has_axes) return;
  for (size_t k = 0; k < model.size(); ++k) {
    // a fixed axis has no name; for an output that the declaration fixes, neither
    const std::string want = model[k] >= 0 || d.shape[k] >= 0 ? std::string() : model_axes[k];
    if (d.axes[k] == want) continue;
    const std::string got = d.axes[k].empty() ? "null" : "'" + d.axes[k] + "'";
    throw ConfigError(where + " names axis " + std::to_string(k) + " " + got + ", but the model " +
                      (model[k] >= 0 ? "fixes that axis to " + std::to_string(model[k]) + " (expected null)"
                       : want.empty() ? std::string("leaves it unnamed (expected null)")
                                      : "names it '" + want + "'"));
  }
}

// preprocess.json's "inputs" against the model and its input_names: each model input once, its
// shape and axis names those of the model.
void checkDeclaredInputs(const Preprocess& pre, const ort::ONNXRuntime& runtime) {
  if (!pre.has_inputs) return;
  const std::string where = "preprocess_json " + pre.path;
  const auto& model_inputs = runtime.getInputNames();
  const Strings declared = namesOf(pre.inputs);
  if (const auto dup = firstDuplicate(declared); !dup.empty())
    throw ConfigError(where + ": key 'inputs' declares input '" + dup + "' twice");
  for (const auto& n : model_inputs)
    if (std::find(declared.begin(), declared.end(), n) == declared.end())
      throw ConfigError(where + ": key 'inputs' [" + join(declared) + "] lacks the model's input '" + n +
                        "'; the model's inputs: [" + join(model_inputs) + "]");
  for (size_t i = 0; i < pre.inputs.size(); ++i) {
    const auto& d = pre.inputs[i];
    if (std::find(model_inputs.begin(), model_inputs.end(), d.name) == model_inputs.end())
      throw ConfigError(where + ": key 'inputs[" + std::to_string(i) + "]' declares input '" + d.name +
                        "', which the model does not have; the model's inputs: [" + join(model_inputs) + "]");
    checkAgainstModel(pre, "inputs", i, d, runtime.getInputShape(d.name), runtime.getInputSymbolicShape(d.name));
  }
  if (pre.has_input_names && pre.input_names != declared)
    throw ConfigError(where + ": key 'input_names' [" + join(pre.input_names) + "] differs from the names in key 'inputs' [" +
                      join(declared) + "]; both list the model's inputs in input order");
}

// preprocess.json's "outputs" against the model, its output_names and flav_names: model outputs,
// float32, shapes the model allows, one column name per column.
void checkDeclaredOutputs(const Preprocess& pre, const ort::ONNXRuntime& runtime) {
  if (!pre.has_outputs) return;
  const std::string where = "preprocess_json " + pre.path;
  const auto& model_outputs = runtime.getOutputNames();
  const Strings declared = namesOf(pre.outputs);
  if (const auto dup = firstDuplicate(declared); !dup.empty())
    throw ConfigError(where + ": key 'outputs' declares output '" + dup + "' twice");
  for (size_t i = 0; i < pre.outputs.size(); ++i) {
    const auto& d = pre.outputs[i];
    if (std::find(model_outputs.begin(), model_outputs.end(), d.name) == model_outputs.end())
      throw ConfigError(where + ": key 'outputs[" + std::to_string(i) + "]' declares output '" + d.name +
                        "', which the model does not have; the model's outputs: [" + join(model_outputs) + "]");
    checkAgainstModel(pre, "outputs", i, d, runtime.getOutputShape(d.name), runtime.getOutputSymbolicShape(d.name));
    const auto type = runtime.getOutputType(d.name);
    if (type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
      throw ConfigError(where + ": key 'outputs[" + std::to_string(i) + "]' declares output '" + d.name +
                        "' float32, but the model's is " + ort::elementTypeName(type));
    const std::string at = where + ": key 'outputs[" + std::to_string(i) + "]' ('" + d.name + "')";
    if ((d.kind != JetTagProducer::kEmbedding || d.has_columns) && d.shape.size() != 2)
      throw ConfigError(at + " of kind '" + d.kind + "' has shape " + shapeStr(d.shape) +
                        "; an output with columns has rank 2 (jets, columns)");
    if (d.has_columns && d.shape[1] >= 0 && static_cast<int64_t>(d.columns.size()) != d.shape[1])
      throw ConfigError(at + " has " + std::to_string(d.columns.size()) + " columns [" + join(d.columns) +
                        "], but its shape " + shapeStr(d.shape) + " gives " + std::to_string(d.shape[1]));
  }
  if (pre.has_output_names && pre.output_names != declared)
    throw ConfigError(where + ": key 'output_names' [" + join(pre.output_names) + "] differs from the names in key 'outputs' [" +
                      join(declared) + "]; both list the model's outputs");
  for (const auto& d : pre.outputs) {
    if (d.kind != JetTagProducer::kScores) continue;
    if (pre.has_flav_names && pre.flav_names != d.columns)
      throw ConfigError(where + ": key 'flav_names' [" + join(pre.flav_names) + "] differs from the columns of output '" +
                        d.name + "' in key 'outputs' [" + join(d.columns) + "]");
    break;
  }
}
}  // namespace

const OutputValues& ProducedOutputs::at(const std::string& name) const {
  for (const auto& o : outputs)
    if (o.name == name) return o;
  Strings held;
  for (const auto& o : outputs) held.push_back(o.name);
  throw InvalidInput("no output '" + name + "' among the produced outputs [" + join(held) + "]");
}

const std::vector<std::string>& JetTagProducer::outputKindNames() {
  static const Strings k{kScores, kEmbedding, kRegression};
  return k;
}

const ParameterSet& JetTagProducer::defaults() {
  static const ParameterSet d{{"model_path", std::string()},   // required
                              {"preprocess_json", std::string()},
                              {"input_names", Strings{}},
                              {"output_names", Strings{}},
                              {"flav_names", Strings{}},
                              {"batch_size", int64_t{128}},  // = hepjepa.deploy.DEFAULT_BATCH_SIZE (measured there)
                              {"intra_op_threads", int64_t{1}},
                              {"backend", std::string("cpu")},
                              {"verify_sha256", true},  // the explicit opt-out of the model.onnx check
                              {"debug", false}};
  return d;
}

const std::vector<std::string>& JetTagProducer::validKeys() {
  static const Strings k = [] {
    Strings r;
    for (auto& [key, _] : defaults()) r.push_back(key);
    return r;
  }();
  return k;
}

JetTagProducer::~JetTagProducer() = default;

JetTagProducer::JetTagProducer(const ParameterSet& user) {
  ParameterSet p = defaults();
  for (auto& [key, value] : user) {
    if (!p.count(key)) {
      const std::string near = closest(key, validKeys());
      throw UnknownParameter("unknown parameter '" + key + "'" + (near.empty() ? "" : "; did you mean '" + near + "'?") +
                             "; valid parameters: " + join(validKeys()));
    }
    if (p.at(key).index() != value.index())
      throw ConfigError("parameter '" + key + "' has the wrong type");
    p[key] = value;
  }
  auto model_path = get<std::string>(p, "model_path");
  if (model_path.empty()) throw MissingParameter("missing required parameter 'model_path'; valid parameters: " + join(validKeys()));
  input_names_ = get<Strings>(p, "input_names");
  output_names_ = get<Strings>(p, "output_names");
  flav_names_ = get<Strings>(p, "flav_names");
  batch_size_ = getInRange(p, "batch_size", 1, kMaxBatchSize);
  const int64_t threads = getInRange(p, "intra_op_threads", 1, kMaxIntraOpThreads);
  debug_ = get<bool>(p, "debug");
  const bool verify = get<bool>(p, "verify_sha256");
  // a missing model is reported first, whatever preprocess_json holds
  if (!std::filesystem::is_regular_file(model_path)) throw ModelNotFound("ONNX model not found: " + model_path);

  const auto pre_path = get<std::string>(p, "preprocess_json");
  Preprocess pre;
  if (!pre_path.empty()) pre = readPreprocess(pre_path);
  // checked before ORT reads the file: a model with zeroed weight bytes still loads and scores
  if (verify && !pre.onnx_sha256.empty()) {
    const std::string got = sha256File(model_path);
    if (got != pre.onnx_sha256)
      throw ModelError("model file " + model_path + " has sha256 " + got + ", but preprocess_json " + pre_path +
                       " gives sha256.onnx " + pre.onnx_sha256 + ": the model file is not the one preprocess.json "
                       "describes (re-export the model with its preprocess.json, or pass verify_sha256=false)");
    sha256_verified_ = true;
  }
  auto opts = ort::ONNXRuntime::defaultSessionOptions(get<std::string>(p, "backend"), threads);
  ort::RunLimits limits;
  limits.max_batch = std::max(limits.max_batch, batch_size_);  // produce() sends batch_size jets per call
  runtime_ = std::make_shared<const ort::ONNXRuntime>(model_path, &opts, limits);

  // ---- inputs: pset, else preprocess.json's input_names, else its "inputs", else the model's
  const auto& model_inputs = runtime_->getInputNames();
  checkDeclaredInputs(pre, *runtime_);
  if (input_names_.empty()) input_names_ = pre.has_input_names ? pre.input_names : namesOf(pre.inputs);
  if (input_names_.empty()) input_names_ = model_inputs;
  if (input_names_.size() != model_inputs.size())
    throw ConfigError("input_names [" + join(input_names_) + "] differ from the model's inputs [" + join(model_inputs) + "]");
  for (size_t i = 0; i < input_names_.size(); ++i) {
    const auto& n = input_names_[i];
    if (std::find(model_inputs.begin(), model_inputs.end(), n) == model_inputs.end())
      throw ConfigError("input '" + n + "' is not an input of the model; the model has [" + join(model_inputs) + "]");
    if (std::find(input_names_.begin(), input_names_.begin() + static_cast<std::ptrdiff_t>(i), n) !=
        input_names_.begin() + static_cast<std::ptrdiff_t>(i))
      throw ConfigError("input_names [" + join(input_names_) + "] name '" + n + "' twice");
    if (runtime_->getInputType(n) != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
      throw ModelError("input '" + n + "' of model " + model_path + " is not float32; JetTagProducer feeds float32 only");
    if (runtime_->getInputShape(n).empty())
      throw ModelError("input '" + n + "' of model " + model_path + " has rank 0; JetTagProducer needs a jet axis first");
  }
  if (!pre.input_shapes.empty()) {
    if (pre.input_shapes.size() != input_names_.size())
      throw ConfigError("preprocess_json gives " + std::to_string(pre.input_shapes.size()) + " input_shapes for " +
                        std::to_string(input_names_.size()) + " inputs");
    for (size_t i = 0; i < input_names_.size(); ++i) {
      const auto& m = runtime_->getInputShape(input_names_[i]);
      const auto& js = pre.input_shapes[i];
      bool ok = m.size() == js.size();
      for (size_t d = 0; ok && d < m.size(); ++d) ok = (m[d] < 0) == (js[d] < 0) && (m[d] < 0 || m[d] == js[d]);
      if (!ok) {
        std::string a, b;
        for (auto x : m) a += std::to_string(x) + " ";
        for (auto x : js) b += std::to_string(x) + " ";
        throw ConfigError("input '" + input_names_[i] + "': model shape [ " + a + "] differs from preprocess_json's [ " + b + "]");
      }
    }
  }

  // ---- outputs: pset, else the names of preprocess.json's "outputs", else its output_names, else the model's
  const auto& model_outputs = runtime_->getOutputNames();
  checkDeclaredOutputs(pre, *runtime_);
  if (output_names_.empty()) output_names_ = pre.has_outputs ? namesOf(pre.outputs) : pre.output_names;
  if (output_names_.empty()) output_names_ = model_outputs;
  if (output_names_.empty()) throw ModelError("model " + model_path + " has no outputs");
  if (const auto dup = firstDuplicate(output_names_); !dup.empty())
    throw ConfigError("output_names [" + join(output_names_) + "] name '" + dup + "' twice");
  for (const auto& n : output_names_) {
    if (std::find(model_outputs.begin(), model_outputs.end(), n) == model_outputs.end())
      throw ConfigError("output '" + n + "' (output_names) is not an output of the model; the model has [" +
                        join(model_outputs) + "]");
    OutputSpec spec{n, kUndeclared, runtime_->getOutputShape(n), {}};
    const auto decl = std::find_if(pre.outputs.begin(), pre.outputs.end(), [&](const Declared& d) { return d.name == n; });
    if (decl != pre.outputs.end()) {  // its type, rank and sizes were checked above
      spec.kind = decl->kind;
      spec.columns = decl->columns;
      for (size_t k = 1; k < spec.shape.size(); ++k)
        if (spec.shape[k] < 0) spec.shape[k] = decl->shape[k];  // sizes ONNX shape inference lost
      if (decl->has_columns && spec.shape[1] < 0) spec.shape[1] = static_cast<int64_t>(spec.columns.size());
    } else {
      // without "outputs", the first output is the scores output, as before outputs were declared
      if (!pre.has_outputs && outputs_.empty()) spec.kind = kScores;
      if (runtime_->getOutputType(n) != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
        throw ModelError("output '" + n + "' of model " + model_path + " is " +
                         ort::elementTypeName(runtime_->getOutputType(n)) +
                         "; JetTagProducer reads float32 only (leave it out of output_names)");
    }
    outputs_.push_back(std::move(spec));
    output_kinds_.push_back(outputs_.back().kind);
  }
  scores_ = static_cast<size_t>(std::find(output_kinds_.begin(), output_kinds_.end(), kScores) - output_kinds_.begin());
  if (scores_ == outputs_.size()) scores_ = 0;
  OutputSpec& scores = outputs_[scores_];

  // ---- flav_names: pset, else preprocess.json's, else the scores output's columns
  if (flav_names_.empty()) flav_names_ = pre.has_flav_names ? pre.flav_names : scores.columns;
  if (flav_names_.empty() && scores.kind == kScores)
    throw MissingParameter("missing required parameter 'flav_names' (not in the pset nor preprocess_json)");
  if (!flav_names_.empty()) {
    if (scores.shape.size() != 2)
      throw ConfigError("output '" + scores.name + "' has rank " + std::to_string(scores.shape.size()) +
                        ", expected 2 (jets, scores)");
    // one name per column: fewer names used to drop the last columns without a word
    const int64_t width = scores.shape[1];
    if (width >= 0 && static_cast<int64_t>(flav_names_.size()) > width)
      throw ConfigError("flav_names has " + std::to_string(flav_names_.size()) + " names but output '" + scores.name +
                        "' has only " + std::to_string(width) + " columns");
    if (width >= 0 && static_cast<int64_t>(flav_names_.size()) < width)
      throw ConfigError("flav_names has only " + std::to_string(flav_names_.size()) + " name(s) [" + join(flav_names_) +
                        "] but output '" + scores.name + "' has " + std::to_string(width) +
                        " columns; give one name per column");
    scores.shape[1] = static_cast<int64_t>(flav_names_.size());
    scores.columns = flav_names_;
  }

  // ---- where each output axis's size comes from: every untagged jet needs its full row of -1
  for (size_t o = 0; o < outputs_.size(); ++o) {
    const auto& spec = outputs_[o];
    if (spec.shape.empty())  // after the flav_names checks, which name a rank-0 scores output as before
      throw ModelError("output '" + spec.name + "' of model " + model_path + " has rank 0; JetTagProducer needs a jet axis first");
    const auto& symbols = runtime_->getOutputSymbolicShape(spec.name);
    std::vector<AxisSource> axes(spec.shape.size() - 1);
    int64_t fixed = 1;  // values per jet, if no axis size comes from the inputs
    for (size_t k = 1; k < spec.shape.size(); ++k) {
      AxisSource& a = axes[k - 1];
      if (spec.shape[k] >= 0) {
        a.size = spec.shape[k];
        if (__builtin_mul_overflow(fixed, a.size, &fixed) || fixed > ort::kMaxDeclaredSize)
          throw ModelError("output '" + spec.name + "' of model " + model_path + " has shape " + shapeStr(spec.shape) +
                           ": more than " + std::to_string(ort::kMaxDeclaredSize) + " values per jet");
        continue;
      }
      bool found = false;
      for (size_t i = 0; !found && !symbols[k].empty() && i < input_names_.size(); ++i) {
        const auto& in_sym = runtime_->getInputSymbolicShape(input_names_[i]);
        const auto& in_shape = runtime_->getInputShape(input_names_[i]);
        for (size_t d = 1; !found && d < in_sym.size(); ++d)  // not axis 0: a jet's shape cannot depend on the jet count
          if (in_shape[d] < 0 && in_sym[d] == symbols[k]) a.input = i, a.input_axis = d, found = true;
      }
      if (!found)
        throw ConfigError("output '" + spec.name + "' has shape " + shapeStr(spec.shape) + ": the size of axis " +
                          std::to_string(k) + " (" + (symbols[k].empty() ? "unnamed" : "'" + symbols[k] + "'") +
                          ") is fixed by neither the model nor preprocess_json, nor the size of an input axis; "
                          "JetTagProducer must know each jet's shape to mark untagged jets: declare it in "
                          "preprocess_json's \"outputs\", or leave the output out of output_names");
    }
    const bool all_fixed = std::all_of(axes.begin(), axes.end(), [](const AxisSource& a) { return a.size >= 0; });
    fixed_jet_size_.push_back(all_fixed ? fixed : -1);
    output_axes_.push_back(std::move(axes));
    all_outputs_.push_back(o);
  }
  scores_only_ = {scores_};
  for (size_t i = 0; i < input_names_.size(); ++i) {
    is_mask_.push_back(input_names_[i] == kGroupMask || input_names_[i] == kParticleMask);
    if (input_names_[i] == kGroupMask) group_mask_ = static_cast<int64_t>(i);
  }
}

bool JetTagProducer::isGroupAxis(size_t input, size_t axis) const {
  if (axis == 0) return false;
  if (static_cast<int64_t>(input) == group_mask_) return true;
  const auto& sym = runtime_->getInputSymbolicShape(input_names_[input]);
  if (sym[axis] == kGroupAxis) return true;
  // an axis that shares its name with a group_mask axis is a group axis too
  if (group_mask_ < 0 || sym[axis].empty()) return false;
  const auto& gm = runtime_->getInputSymbolicShape(input_names_[static_cast<size_t>(group_mask_)]);
  return std::find(gm.begin() + 1, gm.end(), sym[axis]) != gm.end();
}

std::vector<size_t> JetTagProducer::outputIndices(const std::vector<std::string>& select) const {
  if (select.empty()) return all_outputs_;
  std::vector<size_t> r;
  for (const auto& n : select) {
    const auto it = std::find(output_names_.begin(), output_names_.end(), n);
    if (it == output_names_.end())
      throw InvalidInput("unknown output '" + n + "'; the producer's outputs: " + join(output_names_));
    const auto o = static_cast<size_t>(it - output_names_.begin());
    if (std::find(r.begin(), r.end(), o) != r.end()) throw InvalidInput("output '" + n + "' is asked for twice");
    r.push_back(o);
  }
  return r;
}

std::vector<int64_t> JetTagProducer::callShape(size_t output, int64_t n_jets,
                                               const std::vector<std::vector<int64_t>>& shapes) const {
  std::vector<int64_t> s{n_jets};
  for (const auto& a : output_axes_[output]) s.push_back(a.size >= 0 ? a.size : shapes[a.input][a.input_axis]);
  return s;
}

int64_t JetTagProducer::jetSize(size_t output, const std::vector<std::vector<int64_t>>& shapes) const {
  if (fixed_jet_size_[output] >= 0) return fixed_jet_size_[output];
  int64_t n = 1;
  for (const auto& a : output_axes_[output]) {
    const int64_t d = a.size >= 0 ? a.size : shapes[a.input][a.input_axis];
    // input axes are each <= 2^40 (checkShapes), but their product is not
    if (__builtin_mul_overflow(n, d, &n) || n > ort::kMaxDeclaredSize)
      throw InvalidInput("output '" + output_names_[output] + "' would have shape " +
                         shapeStr(callShape(output, 1, shapes)) + " per jet for these inputs: more than " +
                         std::to_string(ort::kMaxDeclaredSize) + " values");
  }
  return n;
}

bool JetTagProducer::hasCallShape(size_t output, int64_t n_jets, const std::vector<std::vector<int64_t>>& shapes,
                                  const std::vector<int64_t>& got) const {
  const auto& axes = output_axes_[output];
  if (got.size() != axes.size() + 1 || got[0] != n_jets) return false;
  for (size_t k = 0; k < axes.size(); ++k)
    if (got[k + 1] != (axes[k].size >= 0 ? axes[k].size : shapes[axes[k].input][axes[k].input_axis])) return false;
  return true;
}

std::vector<float> JetTagProducer::produce(const std::vector<std::vector<float>>& inputs,
                                           const std::vector<std::vector<int64_t>>& shapes,
                                           std::vector<int8_t>* status) const {
  return produce(pointersOf(inputs, shapes, input_names_), shapes, status);
}

std::vector<float> JetTagProducer::produce(const std::vector<const float*>& inputs,
                                           const std::vector<std::vector<int64_t>>& shapes,
                                           std::vector<int8_t>* status) const {
  auto r = run(inputs, shapes, scores_only_);
  if (status) *status = std::move(r.status);
  return std::move(r.outputs[0].values);
}

ProducedOutputs JetTagProducer::produceOutputs(const std::vector<std::vector<float>>& inputs,
                                               const std::vector<std::vector<int64_t>>& shapes,
                                               const std::vector<std::string>& select) const {
  return produceOutputs(pointersOf(inputs, shapes, input_names_), shapes, select);
}

ProducedOutputs JetTagProducer::produceOutputs(const std::vector<const float*>& inputs,
                                               const std::vector<std::vector<int64_t>>& shapes,
                                               const std::vector<std::string>& select) const {
  return run(inputs, shapes, outputIndices(select));
}

ProducedOutputs JetTagProducer::run(const std::vector<const float*>& inputs, const std::vector<std::vector<int64_t>>& shapes,
                                    const std::vector<size_t>& wanted) const {
  const size_t n_in = input_names_.size();
  if (inputs.size() != n_in || shapes.size() != n_in)
    throw InvalidInput("got " + std::to_string(inputs.size()) + " inputs and " + std::to_string(shapes.size()) +
                       " shapes, expected " + std::to_string(n_in) + " [" + join(input_names_) + "]");
  int64_t n_jets = -1;
  for (size_t i = 0; i < n_in; ++i) {
    if (shapes[i].empty()) throw InvalidInput("input '" + input_names_[i] + "' has rank 0; the jet axis must come first");
    if (n_jets < 0) n_jets = shapes[i][0];
    else if (shapes[i][0] != n_jets)
      throw InvalidInput("input '" + input_names_[i] + "' has " + std::to_string(shapes[i][0]) + " jets, input '" +
                         input_names_[0] + "' has " + std::to_string(n_jets));
  }
  // ranks, fixed axes, shared symbolic axes ("batch", "groups"), overflow-checked counts
  std::vector<int64_t> counts;
  try {
    counts = runtime_->checkShapes(input_names_, shapes);
  } catch (const InvalidInput& e) {
    // a fixed axis of another size is almost always tokens made with other tokeniser settings
    // (group size, feature list) than the model's: say where the right ones are
    const std::string msg = e.what();
    if (msg.find("must be") == std::string::npos) throw;
    throw InvalidInput(msg + "; tokenise with the model's own settings (preprocess.json 'tokenizer'), as "
                             "hepjepa.deploy.JetTagger(model_dir).tag(jets) does");
  }
  const auto lease = scratch_.lease();
  Scratch& buf = *lease;
  ProducedOutputs result;
  result.status.assign(static_cast<size_t>(n_jets), kTagged);
  // every output's values per jet in this call; the result holds the wanted ones, all -1 until tagged
  const size_t n_out = outputs_.size();
  auto& jet_sizes = buf.jet_sizes;
  jet_sizes.resize(n_out);
  const int64_t chunk = std::min(batch_size_, n_jets);
  for (size_t o = 0; o < n_out; ++o) {
    jet_sizes[o] = static_cast<size_t>(jetSize(o, shapes));
    // as for the inputs: a preprocess.json may declare a width the model leaves open, and ORT
    // would allocate a batch of it before we could compare
    if (static_cast<int64_t>(jet_sizes[o]) > runtime_->limits().max_elements / std::max<int64_t>(chunk, 1))
      throw InvalidInput("output '" + output_names_[o] + "' has shape " + shapeStr(callShape(o, chunk, shapes)) +
                         " for a batch of " + std::to_string(chunk) + " jets: more than ONNX Runtime returns in one "
                         "call (max_elements = " + std::to_string(runtime_->limits().max_elements) + "); lower batch_size");
  }
  for (const size_t o : wanted) {
    int64_t total = 0;
    if (__builtin_mul_overflow(n_jets, static_cast<int64_t>(jet_sizes[o]), &total) || total > ort::kMaxDeclaredSize)
      throw InvalidInput("output '" + output_names_[o] + "' would have shape " + shapeStr(callShape(o, n_jets, shapes)) +
                         " for these inputs: more than " + std::to_string(ort::kMaxDeclaredSize) + " values");
    result.outputs.push_back({output_names_[o], callShape(o, n_jets, shapes),
                              std::vector<float>(static_cast<size_t>(total), kUntaggedScore)});
  }
  if (n_jets == 0) return result;  // empty chunk: nothing to run
  bool no_groups = false;
  for (size_t i = 0; i < n_in; ++i)
    for (size_t d = 1; d < shapes[i].size(); ++d) {
      if (shapes[i][d] != 0) continue;
      if (!isGroupAxis(i, d))
        throw InvalidInput("input '" + input_names_[i] + "' has shape " + shapeStr(shapes[i]) + ": axis " +
                           std::to_string(d) + " is empty; only the jet axis (0) and the group axis may be (a call "
                           "with 0 groups tags no jet)");
      no_groups = true;
    }
  std::vector<int64_t> per_jet(n_in);
  for (size_t i = 0; i < n_in; ++i) {
    per_jet[i] = counts[i] / n_jets;
    const int64_t bad = firstNonFinite(inputs[i], counts[i]);
    if (bad < counts[i])
      throw InvalidInput("input '" + input_names_[i] + "' holds " + floatStr(inputs[i][bad]) + " at index " +
                         indexStr(shapes[i], bad) + " (jet, ...); every input value must be finite: leave such "
                         "jets out of the call (their status is nonfinite_input)");
  }
  for (size_t i = 0; i < n_in; ++i) {
    if (!is_mask_[i]) continue;
    const int64_t bad = firstNotZeroOrOne(inputs[i], counts[i]);
    if (bad < counts[i])
      throw InvalidInput("mask input '" + input_names_[i] + "' holds " + floatStr(inputs[i][bad]) + " at index " +
                         indexStr(shapes[i], bad) + " (jet, ...); a mask holds only 0 (padding) and 1 (real)");
  }
  // jets with no real group are not run: the model would give them a confident, meaningless score
  bool all_run = !no_groups;
  if (!no_groups && group_mask_ >= 0) {
    const float* gm = inputs[static_cast<size_t>(group_mask_)];
    const int64_t row = per_jet[static_cast<size_t>(group_mask_)];
    buf.run_jets.clear();
    for (int64_t j = 0; j < n_jets; ++j)
      if (std::any_of(gm + j * row, gm + (j + 1) * row, [](float x) { return x != 0.f; })) buf.run_jets.push_back(j);
    all_run = static_cast<int64_t>(buf.run_jets.size()) == n_jets;
  } else if (no_groups) {
    buf.run_jets.clear();
  }
  const int64_t n_run = all_run ? n_jets : static_cast<int64_t>(buf.run_jets.size());
  if (!all_run) {
    result.status.assign(static_cast<size_t>(n_jets), kNoConstituents);
    for (int64_t k = 0; k < n_run; ++k) result.status[static_cast<size_t>(buf.run_jets[static_cast<size_t>(k)])] = kTagged;
  }
  if (n_run == 0) return result;
  int64_t jet_values = 0, chunk_values = 0;
  for (size_t i = 0; i < n_in; ++i) jet_values += per_jet[i];  // each <= 2^40, few inputs: no overflow
  if (__builtin_mul_overflow(jet_values, std::min(batch_size_, n_run), &chunk_values) ||
      chunk_values > runtime_->limits().max_elements)
    throw InvalidInput("a batch of " + std::to_string(std::min(batch_size_, n_run)) + " jets of " +
                       std::to_string(jet_values) + " input values each is more than ONNX Runtime is given in one "
                       "call (max_elements = " + std::to_string(runtime_->limits().max_elements) +
                       "); lower batch_size");
  buf.ptrs.resize(n_in); buf.sizes.resize(n_in); buf.shapes.resize(n_in); buf.gathered.resize(n_in);
  auto jet = [&](int64_t k) { return all_run ? k : buf.run_jets[static_cast<size_t>(k)]; };
  for (int64_t start = 0; start < n_run; start += batch_size_) {
    const int64_t nb = std::min(batch_size_, n_run - start);
    const int64_t first = jet(start);
    const bool contiguous = jet(start + nb - 1) - first == nb - 1;
    for (size_t i = 0; i < n_in; ++i) {
      const size_t row = static_cast<size_t>(per_jet[i]);
      buf.shapes[i].assign(shapes[i].begin(), shapes[i].end());
      buf.shapes[i][0] = nb;
      buf.sizes[i] = static_cast<size_t>(nb) * row;
      if (contiguous) {
        buf.ptrs[i] = inputs[i] + static_cast<size_t>(first) * row;  // zero-copy slice of the jet axis
      } else {
        buf.gathered[i].resize(buf.sizes[i]);
        for (int64_t k = 0; k < nb; ++k)
          std::copy_n(inputs[i] + static_cast<size_t>(jet(start + k)) * row, row,
                      buf.gathered[i].data() + static_cast<size_t>(k) * row);
        buf.ptrs[i] = buf.gathered[i].data();
      }
    }
    // one call for every output: they share the graph, and a jet is tagged only if all are finite
    runtime_->runInto(input_names_, buf.ptrs, buf.sizes, buf.shapes, output_names_, buf.outputs, &buf.out_shapes, nb);
    bool all_finite = true;
    for (size_t o = 0; o < n_out; ++o) {
      if (!hasCallShape(o, nb, shapes, buf.out_shapes[o]))
        throw ModelError("output '" + output_names_[o] + "' came back with shape " + shapeStr(buf.out_shapes[o]) + " for " +
                         std::to_string(nb) + " jets, expected " + shapeStr(callShape(o, nb, shapes)));
      const auto n = static_cast<int64_t>(buf.outputs[o].size());
      all_finite = all_finite && firstNonFinite(buf.outputs[o].data(), n) == n;
    }
    if (all_finite && contiguous) {  // every call without NaN or skipped jets: one copy per output
      for (size_t w = 0; w < wanted.size(); ++w) {
        const size_t size = jet_sizes[wanted[w]];
        std::copy_n(buf.outputs[wanted[w]].data(), static_cast<size_t>(nb) * size,
                    result.outputs[w].values.data() + static_cast<size_t>(first) * size);
      }
      continue;
    }
    for (int64_t k = 0; k < nb; ++k) {
      const size_t j = static_cast<size_t>(jet(start + k));
      // finite but huge inputs can still overflow inside the model: never hand out a NaN
      bool finite = true;
      for (size_t o = 0; finite && o < n_out; ++o) {
        const auto size = static_cast<int64_t>(jet_sizes[o]);
        finite = firstNonFinite(buf.outputs[o].data() + k * size, size) == size;
      }
      if (!finite) {
        result.status[j] = kNonfiniteScore;
        continue;
      }
      for (size_t w = 0; w < wanted.size(); ++w) {
        const size_t size = jet_sizes[wanted[w]];
        std::copy_n(buf.outputs[wanted[w]].data() + static_cast<size_t>(k) * size, size,
                    result.outputs[w].values.data() + j * size);
      }
    }
  }
  return result;
}

}  // namespace hepjepa
