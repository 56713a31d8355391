// hepjepa::JetTagProducer mirrors CMSSW's BoostedJetONNXJetTagsProducer: one shared runtime
// (global cache), validated parameter set, per-thread reusable buffers, batched inference.
#pragma once
#include <cstdint>
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

/// Per-jet tag status (int8) and the score of an untagged jet. python/hepjepa/contract.py
/// (TAG_STATUS, UNTAGGED_SCORE) is the source of these numbers: change them there first, then
/// here (tests/test_bridge_producer.py compares the two). Only kTagged rows hold real scores.
enum TagStatus : int8_t {
  kTagged = 0,
  kNoConstituents = 1,  // no real group (group_mask row all 0, or a call with 0 groups)
  kBadAssociation = 2,  // set by the Python readers, never by the producer
  kNonfiniteInput = 3,  // set by the Python tokeniser; the producer refuses NaN/inf inputs instead
  kNonfiniteScore = 4,  // finite inputs, but the model returned NaN/inf for the jet
};
constexpr float kUntaggedScore = -1.0f;

class JetTagProducer {
public:
  /// Limits of the integer parameters, checked before any narrowing (ConfigError naming the value).
  /// batch_size: a chunk of 2^20 jets is far past where batching stops paying (~256, see
  /// hepjepa.contract.DEFAULT_BATCH_SIZE) and already needs GBs of activations.
  static constexpr int64_t kMaxBatchSize = int64_t{1} << 20;
  static constexpr int64_t kMaxIntraOpThreads = ort::kMaxIntraOpThreads;
  /// preprocess.json nesting limit, checked by a scan before parsing: the JSON library recurses
  /// once per level when converting values, so 100,000 levels overflowed the stack. hepjepa's
  /// own preprocess.json nests 5 levels.
  static constexpr int kMaxJsonDepth = 64;
  /// preprocess.json size limit (hepjepa's own is ~5 KB).
  static constexpr size_t kMaxJsonBytes = size_t{64} << 20;
  /// Inputs with these names (hepjepa.contract.MODEL_INPUTS) must hold only 0 and 1; a jet whose
  /// kGroupMask row is all 0 has no constituents and is not run.
  static constexpr const char* kGroupMask = "group_mask";
  static constexpr const char* kParticleMask = "particle_mask";
  /// The symbolic name of the group axis in hepjepa's exported models (deploy/export.py
  /// DYNAMIC_AXES): a call with 0 groups tags no jet; any other empty axis but the jet axis is refused.
  static constexpr const char* kGroupAxis = "groups";

  /// Declared parameters with defaults ("required" ones have none): the fillDescriptions analogue.
  static const ParameterSet& defaults();
  static const std::vector<std::string>& validKeys();

  /// Validates pset (unknown key / missing model_path / wrong type / out-of-range integer ->
  /// ConfigError), checks model.onnx against preprocess.json's sha256.onnx (unless
  /// verify_sha256 = false; mismatch -> ModelError) and loads the model.
  explicit JetTagProducer(const ParameterSet& pset);

  /// inputs[i]: flat float values of input_names[i]; shapes[i]: its shape with the jet axis first.
  /// Returns n_jets * flav_names.size() scores, row-major, in input order; untagged jets get
  /// kUntaggedScore in every column. status (if given) gets one TagStatus per jet. Thread-safe.
  /// Throws InvalidInput for shapes that differ from the model or from each other, NaN/inf
  /// values, mask values other than 0/1, and a zero-size axis other than the jet or group axis.
  std::vector<float> produce(const std::vector<std::vector<float>>& inputs,
                             const std::vector<std::vector<int64_t>>& shapes,
                             std::vector<int8_t>* status = nullptr) const;
  /// Zero-copy variant: data pointers instead of vectors (each must hold its shape's values).
  std::vector<float> produce(const std::vector<const float*>& inputs,
                             const std::vector<std::vector<int64_t>>& shapes,
                             std::vector<int8_t>* status = nullptr) const;

  const std::vector<std::string>& inputNames() const { return input_names_; }
  const std::vector<std::string>& outputNames() const { return output_names_; }
  const std::vector<std::string>& flavNames() const { return flav_names_; }
  int64_t batchSize() const { return batch_size_; }
  /// True when model.onnx was checked against preprocess.json's sha256.onnx.
  bool sha256Verified() const { return sha256_verified_; }
  const ort::ONNXRuntime& runtime() const { return *runtime_; }

private:
  bool isGroupAxis(size_t input, size_t axis) const;

  std::shared_ptr<const ort::ONNXRuntime> runtime_;
  std::vector<std::string> input_names_, output_names_, flav_names_;
  std::vector<std::vector<int64_t>> expected_shapes_;  // from preprocess_json or the model
  std::vector<bool> is_mask_;        // per input: a 0/1 mask
  int64_t group_mask_ = -1;          // index of kGroupMask in input_names_, -1 if the model has none
  int64_t batch_size_ = 256;
  bool debug_ = false;
  bool sha256_verified_ = false;
};

}  // namespace hepjepa
