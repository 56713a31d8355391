#include "hepjepa/JetTagProducer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "hepjepa/Exceptions.h"
#include "hepjepa/Sha256.h"

namespace hepjepa {
namespace {
using Strings = std::vector<std::string>;

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

nlohmann::json readJson(const std::string& path) {
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
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError("invalid preprocess_json " + path + ": " + e.what());
  }
}

// Per-thread reusable buffers: one per (thread, producer), kept in a thread_local map keyed
// by the producer's address so that many producers can live in one thread.
struct Buffers {
  std::vector<const float*> ptrs;
  std::vector<size_t> sizes;
  std::vector<std::vector<int64_t>> shapes;
  ort::FloatArrays outputs;
  std::vector<std::vector<int64_t>> out_shapes;
  std::vector<int64_t> run_jets;              // jets sent to ORT when some are skipped
  std::vector<std::vector<float>> gathered;   // per input: their rows, when not contiguous
};
Buffers& buffersFor(const void* owner) {
  thread_local std::unordered_map<const void*, Buffers> cache;
  return cache[owner];
}
}  // namespace

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

JetTagProducer::JetTagProducer(const ParameterSet& user) {
  ParameterSet p = defaults();
  for (auto& [key, value] : user) {
    if (!p.count(key)) throw ConfigError("unknown parameter '" + key + "'; valid parameters: " + join(validKeys()));
    if (p.at(key).index() != value.index())
      throw ConfigError("parameter '" + key + "' has the wrong type");
    p[key] = value;
  }
  auto model_path = get<std::string>(p, "model_path");
  if (model_path.empty()) throw ConfigError("missing required parameter 'model_path'; valid parameters: " + join(validKeys()));
  input_names_ = get<Strings>(p, "input_names");
  output_names_ = get<Strings>(p, "output_names");
  flav_names_ = get<Strings>(p, "flav_names");
  batch_size_ = getInRange(p, "batch_size", 1, kMaxBatchSize);
  const int64_t threads = getInRange(p, "intra_op_threads", 1, kMaxIntraOpThreads);
  debug_ = get<bool>(p, "debug");
  const bool verify = get<bool>(p, "verify_sha256");
  // a missing model is reported first, whatever preprocess_json holds
  if (!std::filesystem::is_regular_file(model_path)) throw ModelNotFound("ONNX model not found: " + model_path);

  std::vector<std::vector<int64_t>> json_shapes;
  std::string onnx_sha256;
  auto pre = get<std::string>(p, "preprocess_json");
  if (!pre.empty()) {
    const nlohmann::json j = readJson(pre);
    if (!j.is_object()) throw ConfigError("invalid preprocess_json " + pre + ": expected a JSON object, got " + j.type_name());
    auto refuse = [&](const std::string& key, const nlohmann::json& v, const char* expected) {
      return ConfigError("preprocess_json " + pre + ": key '" + key + "' must be " + expected + ", got " +
                         v.type_name() + " " + v.dump().substr(0, 120));
    };
    // each key is converted on its own so that a wrong type names the key and the expected layout
    auto read = [&](const char* key, Strings& dst) {
      if (!j.contains(key)) return;
      try {
        dst = j.at(key).get<Strings>();
      } catch (const nlohmann::json::exception&) {
        throw refuse(key, j.at(key), "a list of strings");
      }
    };
    if (input_names_.empty()) read("input_names", input_names_);
    if (output_names_.empty()) read("output_names", output_names_);
    if (flav_names_.empty()) read("flav_names", flav_names_);
    if (j.contains("input_shapes")) {
      // by hand, not get<>: nlohmann casts 1e30 or 4.5 to int64 without a word
      const auto& v = j.at("input_shapes");
      const char* expected = "a list of integer lists in input_names order (-1 = dynamic axis)";
      if (!v.is_array()) throw refuse("input_shapes", v, expected);
      for (const auto& s : v) {
        if (!s.is_array()) throw refuse("input_shapes", v, expected);
        json_shapes.emplace_back();
        for (const auto& d : s) {
          if (!d.is_number_integer()) throw refuse("input_shapes", v, expected);
          const bool in_range = d.is_number_unsigned()
                                    ? d.get<uint64_t>() <= static_cast<uint64_t>(ort::kMaxDeclaredSize)
                                    : d.get<int64_t>() >= -1 && d.get<int64_t>() <= ort::kMaxDeclaredSize;
          if (!in_range) throw refuse("input_shapes", v, expected);
          json_shapes.back().push_back(d.get<int64_t>());
        }
      }
    }
    if (j.contains("sha256")) {
      const auto& s = j.at("sha256");
      if (!s.is_object()) throw refuse("sha256", s, "an object of hex digests such as {\"onnx\": \"<64 hex digits>\"}");
      if (s.contains("onnx")) {
        const auto& h = s.at("onnx");
        bool ok = h.is_string() && h.get<std::string>().size() == 64;
        if (ok) {
          onnx_sha256 = h.get<std::string>();
          for (auto& c : onnx_sha256) {
            ok = ok && std::isxdigit(static_cast<unsigned char>(c));
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          }
        }
        if (!ok) throw refuse("sha256 -> onnx", h, "the model file's sha256: a string of 64 hex digits");
      }
    }
  }
  // checked before ORT reads the file: a model with zeroed weight bytes still loads and scores
  if (verify && !onnx_sha256.empty()) {
    const std::string got = sha256File(model_path);
    if (got != onnx_sha256)
      throw ModelError("model file " + model_path + " has sha256 " + got + ", but preprocess_json " + pre +
                       " gives sha256.onnx " + onnx_sha256 + ": the model file is not the one preprocess.json "
                       "describes (re-export the model with its preprocess.json, or pass verify_sha256=false)");
    sha256_verified_ = true;
  }
  auto opts = ort::ONNXRuntime::defaultSessionOptions(get<std::string>(p, "backend"), threads);
  ort::RunLimits limits;
  limits.max_batch = std::max(limits.max_batch, batch_size_);  // produce() sends batch_size jets per call
  runtime_ = std::make_shared<const ort::ONNXRuntime>(model_path, &opts, limits);

  if (input_names_.empty()) input_names_ = runtime_->getInputNames();
  if (output_names_.empty()) output_names_ = runtime_->getOutputNames();
  // validate names against the model (and ranks/fixed dims against preprocess_json)
  const auto& model_inputs = runtime_->getInputNames();
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
  if (!json_shapes.empty()) {
    if (json_shapes.size() != input_names_.size())
      throw ConfigError("preprocess_json gives " + std::to_string(json_shapes.size()) + " input_shapes for " +
                        std::to_string(input_names_.size()) + " inputs");
    for (size_t i = 0; i < input_names_.size(); ++i) {
      const auto& m = runtime_->getInputShape(input_names_[i]);
      const auto& js = json_shapes[i];
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
  for (auto& n : output_names_) runtime_->getOutputShape(n);  // throws InvalidInput naming valid outputs
  if (flav_names_.empty()) throw ConfigError("missing required parameter 'flav_names' (not in the pset nor preprocess_json)");
  const auto& oshape = runtime_->getOutputShape(output_names_[0]);
  if (oshape.size() != 2)
    throw ConfigError("output '" + output_names_[0] + "' has rank " + std::to_string(oshape.size()) + ", expected 2 (jets, scores)");
  // one name per column: fewer names used to drop the last columns without a word
  if (oshape[1] >= 0 && static_cast<int64_t>(flav_names_.size()) > oshape[1])
    throw ConfigError("flav_names has " + std::to_string(flav_names_.size()) + " names but output '" + output_names_[0] +
                      "' has only " + std::to_string(oshape[1]) + " columns");
  if (oshape[1] >= 0 && static_cast<int64_t>(flav_names_.size()) < oshape[1])
    throw ConfigError("flav_names has only " + std::to_string(flav_names_.size()) + " name(s) [" + join(flav_names_) +
                      "] but output '" + output_names_[0] + "' has " + std::to_string(oshape[1]) +
                      " columns; give one name per column");
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

std::vector<float> JetTagProducer::produce(const std::vector<std::vector<float>>& inputs,
                                           const std::vector<std::vector<int64_t>>& shapes,
                                           std::vector<int8_t>* status) const {
  if (inputs.size() != input_names_.size())
    throw InvalidInput("got " + std::to_string(inputs.size()) + " inputs, expected " + std::to_string(input_names_.size()) +
                       " [" + join(input_names_) + "]");
  std::vector<const float*> ptrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (i < shapes.size()) {
      const int64_t n = ort::elementCount(shapes[i], "input '" + input_names_[i] + "'");
      if (static_cast<size_t>(n) != inputs[i].size())
        throw InvalidInput("input '" + input_names_[i] + "' has " + std::to_string(inputs[i].size()) +
                           " values, expected " + std::to_string(n) + " for its shape " + shapeStr(shapes[i]));
    }
    ptrs.push_back(inputs[i].data());
  }
  return produce(ptrs, shapes, status);
}

std::vector<float> JetTagProducer::produce(const std::vector<const float*>& inputs,
                                           const std::vector<std::vector<int64_t>>& shapes,
                                           std::vector<int8_t>* status) const {
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
  const size_t n_flav = flav_names_.size();
  std::vector<float> scores(static_cast<size_t>(n_jets) * n_flav, kUntaggedScore);
  if (status) status->assign(static_cast<size_t>(n_jets), kTagged);
  if (n_jets == 0) return scores;  // empty chunk: nothing to run
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
  Buffers& buf = buffersFor(this);
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
  if (status && !all_run) {
    status->assign(static_cast<size_t>(n_jets), kNoConstituents);
    for (int64_t k = 0; k < n_run; ++k) (*status)[static_cast<size_t>(buf.run_jets[static_cast<size_t>(k)])] = kTagged;
  }
  if (n_run == 0) return scores;
  int64_t jet_values = 0, chunk_values = 0;
  for (size_t i = 0; i < n_in; ++i) jet_values += per_jet[i];  // each <= 2^40, few inputs: no overflow
  if (__builtin_mul_overflow(jet_values, std::min(batch_size_, n_run), &chunk_values) ||
      chunk_values > runtime_->limits().max_elements)
    throw InvalidInput("a batch of " + std::to_string(std::min(batch_size_, n_run)) + " jets of " +
                       std::to_string(jet_values) + " input values each is more than ONNX Runtime is given in one "
                       "call (max_elements = " + std::to_string(runtime_->limits().max_elements) +
                       "); lower batch_size");
  buf.ptrs.resize(n_in); buf.sizes.resize(n_in); buf.shapes.resize(n_in); buf.gathered.resize(n_in);
  const Strings out1{output_names_[0]};
  for (int64_t start = 0; start < n_run; start += batch_size_) {
    const int64_t nb = std::min(batch_size_, n_run - start);
    auto jet = [&](int64_t k) { return all_run ? k : buf.run_jets[static_cast<size_t>(k)]; };
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
    runtime_->runInto(input_names_, buf.ptrs, buf.sizes, buf.shapes, out1, buf.outputs, &buf.out_shapes, nb);
    const auto& os = buf.out_shapes[0];
    if (os.size() != 2 || os[0] != nb || os[1] != static_cast<int64_t>(n_flav))
      throw ModelError("output '" + output_names_[0] + "' came back with shape " + shapeStr(os) + " for " +
                       std::to_string(nb) + " jets and " + std::to_string(n_flav) + " flavours");
    for (int64_t k = 0; k < nb; ++k) {
      const float* src = buf.outputs[0].data() + static_cast<size_t>(k) * n_flav;
      const size_t j = static_cast<size_t>(jet(start + k));
      // finite but huge inputs can still overflow inside the model: never hand out a NaN score
      if (std::all_of(src, src + n_flav, [](float x) { return std::isfinite(x); })) {
        std::copy_n(src, n_flav, scores.data() + j * n_flav);
      } else if (status) {
        (*status)[j] = kNonfiniteScore;
      }
    }
  }
  return scores;
}

}  // namespace hepjepa
