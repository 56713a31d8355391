// Loads an ONNX tagger and runs hepjepa::JetTagProducer on a few synthetic jets: the scores of
// each jet, then the shape of every output the model declares (produceOutputs()).
// usage: tag_jets MODEL.onnx PREPROCESS.json [N_JETS]
// Every model input gets shape (N_JETS, dims...) with each dynamic (-1) axis set to 4 groups.
// The producer refuses masks other than 0/1 and skips jets without a real group, so the jets
// are built as a tokeniser would: jet j has 1 + j % 4 real groups (mask 1), the rest padding
// (mask 0); every other input is a constant 0.5.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "hepjepa/JetTagProducer.h"
#include "hepjepa/ONNXRuntime.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: tag_jets MODEL.onnx PREPROCESS.json [N_JETS]\n";
    return 2;
  }
  try {
    int64_t n_jets = 3;
    if (argc > 3) {
      size_t used = 0;
      try {
        n_jets = std::stoll(argv[3], &used);
      } catch (const std::logic_error&) {  // stoll's invalid_argument / out_of_range name no value
        used = 0;
      }
      if (used != std::string(argv[3]).size() || n_jets < 1 || n_jets > 1000000)
        throw std::invalid_argument("N_JETS must be an integer in 1..1000000, got '" + std::string(argv[3]) + "'");
    }
    const int64_t n_groups = 4;
    hepjepa::JetTagProducer producer({{"model_path", std::string(argv[1])},
                                      {"preprocess_json", std::string(argv[2])},
                                      {"batch_size", int64_t{2}}});
    std::vector<std::vector<float>> inputs;
    std::vector<std::vector<int64_t>> shapes;
    for (const auto& name : producer.inputNames()) {
      auto shape = producer.runtime().getInputShape(name);
      shape[0] = n_jets;
      size_t size = 1;
      for (size_t d = 1; d < shape.size(); ++d) {
        if (shape[d] < 0) shape[d] = n_groups;
        size *= static_cast<size_t>(shape[d]);
      }
      const bool mask = name == hepjepa::JetTagProducer::kGroupMask || name == hepjepa::JetTagProducer::kParticleMask;
      std::vector<float> values(size * static_cast<size_t>(n_jets), 0.5f);
      if (mask) {
        // masks are (jets, groups, ...): value 1 for the jet's real groups, 0 for its padding
        const size_t per_group = shape.size() > 1 ? size / static_cast<size_t>(shape[1]) : size;
        for (size_t k = 0; k < values.size(); ++k) {
          const int64_t jet = static_cast<int64_t>(k / size);
          const int64_t group = static_cast<int64_t>((k % size) / per_group);
          values[k] = group < 1 + jet % n_groups ? 1.f : 0.f;
        }
      }
      inputs.push_back(std::move(values));
      shapes.push_back(shape);
    }
    // every output in one ONNX Runtime call per batch; an untagged jet holds -1 in all of them
    const hepjepa::ProducedOutputs result = producer.produceOutputs(inputs, shapes);
    const auto& scores = result.at(producer.scoresOutput().name).values;
    const auto& flav = producer.flavNames();
    int64_t tagged = 0;
    for (int64_t j = 0; j < n_jets; ++j) {
      const auto row = static_cast<size_t>(j) * flav.size();
      std::cout << "jet " << j << ":";
      for (size_t c = 0; c < flav.size(); ++c) std::cout << " " << flav[c] << "=" << scores[row + c];
      std::cout << " status=" << int{result.status[static_cast<size_t>(j)]} << "\n";
      tagged += result.status[static_cast<size_t>(j)] == hepjepa::kTagged;
    }
    for (size_t o = 0; o < result.outputs.size(); ++o) {
      std::cout << "output '" << result.outputs[o].name << "' (" << producer.outputKinds()[o] << "): shape (";
      for (size_t d = 0; d < result.outputs[o].shape.size(); ++d) std::cout << (d ? ", " : "") << result.outputs[o].shape[d];
      std::cout << ")\n";
    }
    std::cout << "ORT " << hepjepa::ort::ortVersion() << ", " << tagged << " jets tagged\n";
  } catch (const std::exception& e) {
    std::cerr << "tag_jets: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
