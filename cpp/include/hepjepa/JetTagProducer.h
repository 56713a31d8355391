// hepjepa::JetTagProducer mirrors CMSSW's BoostedJetONNXJetTagsProducer: one shared runtime
// (global cache), validated parameter set, per-thread reusable buffers, batched inference.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "hepjepa/ONNXRuntime.h"

namespace hepjepa {

/// Parameter values: string, int, bool or list of strings.
using ParamValue = std::variant<std::string, int64_t, bool, std::vector<std::string>>;
using ParameterSet = std::map<std::string, ParamValue>;

class JetTagProducer {
public:
  /// Declared parameters with defaults ("required" ones have none): the fillDescriptions analogue.
  static const ParameterSet& defaults();
  static const std::vector<std::string>& validKeys();

  /// Validates pset (unknown key / missing model_path / wrong type -> ConfigError) and loads the model.
  explicit JetTagProducer(const ParameterSet& pset);

  /// inputs[i]: flat float values of input_names[i]; shapes[i]: its shape with the jet axis first.
  /// Returns n_jets * flav_names.size() scores, row-major, in input order. Thread-safe.
  std::vector<float> produce(const std::vector<std::vector<float>>& inputs,
                             const std::vector<std::vector<int64_t>>& shapes) const;
  /// Zero-copy variant: data pointers instead of vectors.
  std::vector<float> produce(const std::vector<const float*>& inputs,
                             const std::vector<std::vector<int64_t>>& shapes) const;

  const std::vector<std::string>& inputNames() const { return input_names_; }
  const std::vector<std::string>& outputNames() const { return output_names_; }
  const std::vector<std::string>& flavNames() const { return flav_names_; }
  int64_t batchSize() const { return batch_size_; }
  const ort::ONNXRuntime& runtime() const { return *runtime_; }

private:
  std::shared_ptr<const ort::ONNXRuntime> runtime_;
  std::vector<std::string> input_names_, output_names_, flav_names_;
  std::vector<std::vector<int64_t>> expected_shapes_;  // from preprocess_json or the model
  int64_t batch_size_ = 256;
  bool debug_ = false;
};

}  // namespace hepjepa
