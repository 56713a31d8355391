// Loads an ONNX tagger and runs hepjepa::JetTagProducer on a few jets of constant inputs.
// usage: tag_jets MODEL.onnx PREPROCESS.json [N_JETS]
// Every model input gets shape (N_JETS, dims...) with each dynamic (-1) axis set to 4.
#include <iostream>
#include <string>

#include "hepjepa/Exceptions.h"
#include "hepjepa/JetTagProducer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: tag_jets MODEL.onnx PREPROCESS.json [N_JETS]\n";
    return 2;
  }
  const int64_t n_jets = argc > 3 ? std::stoll(argv[3]) : 3;
  try {
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
        if (shape[d] < 0) shape[d] = 4;
        size *= static_cast<size_t>(shape[d]);
      }
      inputs.emplace_back(size * static_cast<size_t>(n_jets), 0.5f);
      shapes.push_back(shape);
    }
    const auto scores = producer.produce(inputs, shapes);
    const auto& flav = producer.flavNames();
    for (int64_t j = 0; j < n_jets; ++j) {
      std::cout << "jet " << j << ":";
      for (size_t c = 0; c < flav.size(); ++c) std::cout << " " << flav[c] << "=" << scores[j * flav.size() + c];
      std::cout << "\n";
    }
    std::cout << "ORT " << hepjepa::ort::ortVersion() << ", " << n_jets << " jets tagged\n";
  } catch (const std::exception& e) {
    std::cerr << "tag_jets: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
