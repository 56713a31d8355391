#include "hepjepa/JetTagProducer.h"

#include <fstream>
#include <mutex>
#include <numeric>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "hepjepa/Exceptions.h"

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

// Per-thread reusable buffers: one per (thread, producer), kept in a thread_local map keyed
// by the producer's address so that many producers can live in one thread.
struct Buffers {
  std::vector<const float*> ptrs;
  std::vector<size_t> sizes;
  std::vector<std::vector<int64_t>> shapes;
  ort::FloatArrays outputs;
  std::vector<std::vector<int64_t>> out_shapes;
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
  batch_size_ = get<int64_t>(p, "batch_size");
  debug_ = get<bool>(p, "debug");
  if (batch_size_ < 1) throw ConfigError("parameter 'batch_size' must be >= 1, got " + std::to_string(batch_size_));
  auto opts = ort::ONNXRuntime::defaultSessionOptions(get<std::string>(p, "backend"),
                                                      static_cast<int>(get<int64_t>(p, "intra_op_threads")));
  runtime_ = std::make_shared<const ort::ONNXRuntime>(model_path, &opts);

  std::vector<std::vector<int64_t>> json_shapes;
  auto pre = get<std::string>(p, "preprocess_json");
  if (!pre.empty()) {
    std::ifstream f(pre);
    if (!f) throw ModelNotFound("preprocess_json not found: " + pre);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(f);
    } catch (const nlohmann::json::exception& e) {
      throw ConfigError("invalid preprocess_json " + pre + ": " + e.what());
    }
    if (!j.is_object()) throw ConfigError("invalid preprocess_json " + pre + ": expected a JSON object, got " + j.type_name());
    // each key is converted on its own so that a wrong type names the key and the expected layout
    auto read = [&](const char* key, auto& dst, const char* expected) {
      if (!j.contains(key)) return;
      try {
        dst = j.at(key).get<std::decay_t<decltype(dst)>>();
      } catch (const nlohmann::json::exception&) {
        throw ConfigError("preprocess_json " + pre + ": key '" + key + "' must be " + expected + ", got " +
                          j.at(key).type_name() + " " + j.at(key).dump().substr(0, 120));
      }
    };
    if (input_names_.empty()) read("input_names", input_names_, "a list of strings");
    if (output_names_.empty()) read("output_names", output_names_, "a list of strings");
    if (flav_names_.empty()) read("flav_names", flav_names_, "a list of strings");
    read("input_shapes", json_shapes, "a list of integer lists in input_names order");
  }
  if (input_names_.empty()) input_names_ = runtime_->getInputNames();
  if (output_names_.empty()) output_names_ = runtime_->getOutputNames();
  // validate names against the model (and ranks/fixed dims against preprocess_json)
  const auto& model_inputs = runtime_->getInputNames();
  if (input_names_.size() != model_inputs.size())
    throw ConfigError("input_names [" + join(input_names_) + "] differ from the model's inputs [" + join(model_inputs) + "]");
  for (auto& n : input_names_) {
    if (std::find(model_inputs.begin(), model_inputs.end(), n) == model_inputs.end())
      throw ConfigError("input '" + n + "' is not an input of the model; the model has [" + join(model_inputs) + "]");
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
  if (oshape[1] >= 0 && static_cast<int64_t>(flav_names_.size()) > oshape[1])
    throw ConfigError("flav_names has " + std::to_string(flav_names_.size()) + " names but output '" + output_names_[0] +
                      "' has only " + std::to_string(oshape[1]) + " columns");
}

std::vector<float> JetTagProducer::produce(const std::vector<std::vector<float>>& inputs,
                                           const std::vector<std::vector<int64_t>>& shapes) const {
  if (inputs.size() != input_names_.size())
    throw InvalidInput("got " + std::to_string(inputs.size()) + " inputs, expected " + std::to_string(input_names_.size()) +
                       " [" + join(input_names_) + "]");
  std::vector<const float*> ptrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (i < shapes.size()) {
      size_t n = std::accumulate(shapes[i].begin(), shapes[i].end(), size_t{1},
                                 [](size_t a, int64_t b) { return a * static_cast<size_t>(std::max<int64_t>(b, 0)); });
      if (n != inputs[i].size())
        throw InvalidInput("input '" + input_names_[i] + "' has " + std::to_string(inputs[i].size()) +
                           " values, expected " + std::to_string(n) + " for its shape");
    }
    ptrs.push_back(inputs[i].data());
  }
  return produce(ptrs, shapes);
}

std::vector<float> JetTagProducer::produce(const std::vector<const float*>& inputs,
                                           const std::vector<std::vector<int64_t>>& shapes) const {
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
  const size_t n_flav = flav_names_.size();
  std::vector<float> scores(static_cast<size_t>(n_jets) * n_flav);
  if (n_jets == 0) return scores;  // empty chunk: nothing to run
  Buffers& buf = buffersFor(this);
  buf.ptrs.resize(n_in); buf.sizes.resize(n_in); buf.shapes.resize(n_in);
  const Strings out1{output_names_[0]};
  for (int64_t start = 0; start < n_jets; start += batch_size_) {
    const int64_t nb = std::min(batch_size_, n_jets - start);
    for (size_t i = 0; i < n_in; ++i) {
      size_t per_jet = 1;
      for (size_t d = 1; d < shapes[i].size(); ++d) per_jet *= static_cast<size_t>(shapes[i][d]);
      buf.shapes[i].assign(shapes[i].begin(), shapes[i].end());
      buf.shapes[i][0] = nb;
      buf.ptrs[i] = inputs[i] + static_cast<size_t>(start) * per_jet;  // zero-copy slice of the jet axis
      buf.sizes[i] = static_cast<size_t>(nb) * per_jet;
    }
    runtime_->runInto(input_names_, buf.ptrs, buf.sizes, buf.shapes, out1, buf.outputs, &buf.out_shapes, nb);
    const auto& os = buf.out_shapes[0];
    if (os.size() != 2 || os[0] != nb || os[1] < static_cast<int64_t>(n_flav))
      throw ModelError("output '" + output_names_[0] + "' came back with an unexpected shape for " +
                       std::to_string(nb) + " jets and " + std::to_string(n_flav) + " flavours");
    for (int64_t j = 0; j < nb; ++j)
      std::copy_n(buf.outputs[0].data() + j * os[1], n_flav, scores.data() + (start + j) * n_flav);
  }
  return scores;
}

}  // namespace hepjepa
