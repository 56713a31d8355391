// hepjepa::JetTagProducer mirrors CMSSW's BoostedJetONNXJetTagsProducer: one shared runtime
// (global cache), validated parameter set, reusable per-call buffers, batched inference.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "hepjepa/FreeList.h"
#include "hepjepa/ONNXRuntime.h"

namespace hepjepa {

/// Parameter values: string, int, bool or list of strings.
using ParamValue = std::variant<std::string, int64_t, bool, std::vector<std::string>>;
using ParameterSet = std::map<std::string, ParamValue>;

/// Per-jet tag status (int8) and the value every output holds for an untagged jet.
/// python/hepjepa/contract.py (TAG_STATUS, UNTAGGED_SCORE) is the source of these numbers:
/// change them there first, then here (tests/bridge/test_producer.py compares the two).
/// Only kTagged rows hold model values.
enum TagStatus : int8_t {
  kTagged = 0,
  kNoConstituents = 1,  // no real group (group_mask row all 0, or a call with 0 groups)
  kBadAssociation = 2,  // set by the Python readers, never by the producer
  kNonfiniteInput = 3,  // set by the Python tokeniser; the producer refuses NaN/inf inputs instead
  kNonfiniteScore = 4,  // finite inputs, but the model returned NaN/inf for the jet in some output
};
constexpr float kUntaggedScore = -1.0f;

/// One output the producer runs, as preprocess.json's "outputs" declares it (or as the model
/// and the parameters give it, for a preprocess.json without that key).
struct OutputSpec {
  std::string name;
  /// JetTagProducer::kScores, kEmbedding, kRegression, or kUndeclared (preprocess.json does not
  /// declare the output; without "outputs", the producer's first output is kScores).
  std::string kind;
  /// Shape with the jet axis first; -1 marks an axis whose size each call gives (the jet axis,
  /// or an axis the model names like an input axis, such as "groups").
  std::vector<int64_t> shape;
  /// Name of each column (kScores: flavNames(); kRegression: the regressed quantities), else empty.
  std::vector<std::string> columns;
};

/// One output of one call: shape (n_jets, per-jet shape...), values row-major.
struct OutputValues {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

/// What produceOutputs() returns: the outputs in the order asked for, and one TagStatus per jet.
struct ProducedOutputs {
  std::vector<OutputValues> outputs;
  std::vector<int8_t> status;
  /// The output of this name; InvalidInput naming the outputs held if there is none.
  const OutputValues& at(const std::string& name) const;
};

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
  /// Output kinds of preprocess.json's "outputs" (hepjepa's exporter writes them): class
  /// probabilities, a representation, regressed quantities. kUndeclared is the producer's own.
  static constexpr const char* kScores = "scores";
  static constexpr const char* kEmbedding = "embedding";
  static constexpr const char* kRegression = "regression";
  static constexpr const char* kUndeclared = "undeclared";
  static const std::vector<std::string>& outputKindNames();  // kScores, kEmbedding, kRegression

  /// Declared parameters with defaults ("required" ones have none): the fillDescriptions analogue.
  static const ParameterSet& defaults();
  static const std::vector<std::string>& validKeys();

  /// Validates pset (unknown key -> UnknownParameter, missing model_path/flav_names ->
  /// MissingParameter, wrong type / out-of-range integer -> ConfigError), checks model.onnx
  /// against preprocess.json's sha256.onnx (unless verify_sha256 = false; mismatch ->
  /// ModelError), loads the model and checks preprocess.json's declarations against it
  /// (ConfigError naming the key and the difference).
  /// output_names: pset, else the names of preprocess.json's "outputs", else its "output_names",
  /// else every model output. flav_names: pset, else preprocess.json's "flav_names", else the
  /// "columns" of its first output of kind kScores; required only when there is a kScores output.
  explicit JetTagProducer(const ParameterSet& pset);
  JetTagProducer(const JetTagProducer&) = delete;
  JetTagProducer& operator=(const JetTagProducer&) = delete;
  ~JetTagProducer();

  /// inputs[i]: flat float values of input_names[i]; shapes[i]: its shape with the jet axis first.
  /// Returns the values of scoresOutput() (n_jets * its values per jet, row-major, in input
  /// order); untagged jets get kUntaggedScore in every value. status (if given) gets one
  /// TagStatus per jet. Thread-safe. Runs every output (see produceOutputs()).
  /// Throws InvalidInput for shapes that differ from the model or from each other, NaN/inf
  /// values, mask values other than 0/1, and a zero-size axis other than the jet or group axis.
  std::vector<float> produce(const std::vector<std::vector<float>>& inputs,
                             const std::vector<std::vector<int64_t>>& shapes,
                             std::vector<int8_t>* status = nullptr) const;
  /// Zero-copy variant: data pointers instead of vectors (each must hold its shape's values).
  std::vector<float> produce(const std::vector<const float*>& inputs,
                             const std::vector<std::vector<int64_t>>& shapes,
                             std::vector<int8_t>* status = nullptr) const;

  /// Runs every output of outputNames() in one ONNX Runtime call per batch and returns those
  /// named in `select` (all when empty, else InvalidInput for a name that is not an output),
  /// each shaped (n_jets, per-jet shape...). An untagged jet (TagStatus != kTagged) holds
  /// kUntaggedScore in every value of its row of every output; a jet the model gives NaN/inf in
  /// any output is untagged (kNonfiniteScore). Same input checks as produce(). Thread-safe.
  ProducedOutputs produceOutputs(const std::vector<const float*>& inputs,
                                 const std::vector<std::vector<int64_t>>& shapes,
                                 const std::vector<std::string>& select = {}) const;
  ProducedOutputs produceOutputs(const std::vector<std::vector<float>>& inputs,
                                 const std::vector<std::vector<int64_t>>& shapes,
                                 const std::vector<std::string>& select = {}) const;

  const std::vector<std::string>& inputNames() const { return input_names_; }
  const std::vector<std::string>& outputNames() const { return output_names_; }
  /// Kind of each output of outputNames(), in that order.
  const std::vector<std::string>& outputKinds() const { return output_kinds_; }
  const std::vector<OutputSpec>& outputs() const { return outputs_; }
  /// The output produce() returns: the first of kind kScores, else the first output.
  const OutputSpec& scoresOutput() const { return outputs_[scores_]; }
  /// Column names of scoresOutput() (empty if it is not of kind kScores and none were given).
  const std::vector<std::string>& flavNames() const { return flav_names_; }
  int64_t batchSize() const { return batch_size_; }
  /// True when model.onnx was checked against preprocess.json's sha256.onnx.
  bool sha256Verified() const { return sha256_verified_; }
  const ort::ONNXRuntime& runtime() const { return *runtime_; }

private:
  struct Scratch;  // one call's reusable buffers (JetTagProducer.cc)
  /// Where the size of an output axis comes from: a fixed size, or an axis of an input.
  struct AxisSource {
    int64_t size = -1;                 // >= 0: fixed
    size_t input = 0, input_axis = 0;  // else: shapes[input][input_axis] of the call
  };

  bool isGroupAxis(size_t input, size_t axis) const;
  std::vector<size_t> outputIndices(const std::vector<std::string>& select) const;
  std::vector<int64_t> callShape(size_t output, int64_t n_jets, const std::vector<std::vector<int64_t>>& shapes) const;
  int64_t jetSize(size_t output, const std::vector<std::vector<int64_t>>& shapes) const;
  bool hasCallShape(size_t output, int64_t n_jets, const std::vector<std::vector<int64_t>>& shapes,
                    const std::vector<int64_t>& got) const;
  ProducedOutputs run(const std::vector<const float*>& inputs, const std::vector<std::vector<int64_t>>& shapes,
                      const std::vector<size_t>& wanted) const;

  std::shared_ptr<const ort::ONNXRuntime> runtime_;
  std::vector<std::string> input_names_, output_names_, output_kinds_, flav_names_;
  std::vector<OutputSpec> outputs_;                     // per output_names_ entry
  std::vector<std::vector<AxisSource>> output_axes_;    // per output, per axis after the jet axis
  size_t scores_ = 0;                                   // index in outputs_ of produce()'s output
  std::vector<int64_t> fixed_jet_size_;                 // per output: values per jet, -1 if set by the inputs
  std::vector<size_t> all_outputs_;                     // 0 .. outputs_.size() - 1
  std::vector<size_t> scores_only_;                     // {scores_}: what produce() asks run() for
  std::vector<bool> is_mask_;        // per input: a 0/1 mask
  int64_t group_mask_ = -1;          // index of kGroupMask in input_names_, -1 if the model has none
  int64_t batch_size_ = 256;
  bool debug_ = false;
  bool sha256_verified_ = false;
  mutable FreeList<Scratch> scratch_;  // mutable: produce() is const, its buffers are not
};

}  // namespace hepjepa
