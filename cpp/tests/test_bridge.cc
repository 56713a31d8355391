// C++ unit tests of the bridge (plain checks + ctest; no external framework).
// argv[1]: folder with tagger.onnx, preprocess.json, corrupt.onnx (written by tests/_onnx_models.py).
#include <cmath>
#include <functional>
#include <iostream>
#include <thread>

#include "hepjepa/Exceptions.h"
#include "hepjepa/JetTagProducer.h"
#include "hepjepa/ONNXRuntime.h"

namespace {
int failures = 0;
void check(bool ok, const std::string& what) {
  if (!ok) { ++failures; std::cerr << "FAIL: " << what << "\n"; }
}
template <class E>
void expectThrow(const std::function<void()>& f, const std::string& what, const std::string& must_contain = "") {
  try {
    f();
  } catch (const E& e) {
    if (std::string(e.what()).find(must_contain) == std::string::npos) {
      ++failures;
      std::cerr << "FAIL: " << what << ": message '" << e.what() << "' lacks '" << must_contain << "'\n";
    }
    return;
  } catch (const std::exception& e) {
    ++failures;
    std::cerr << "FAIL: " << what << ": wrong exception type: " << e.what() << "\n";
    return;
  }
  ++failures;
  std::cerr << "FAIL: " << what << ": no exception\n";
}
std::vector<float> ramp(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(scale * static_cast<float>(i));
  return v;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) { std::cerr << "usage: test_bridge MODEL_DIR\n"; return 77; }
  const std::string dir = argv[1];
  const std::string model = dir + "/tagger.onnx";
  using hepjepa::ort::ONNXRuntime;

  ONNXRuntime rt(model);
  check(rt.getOutputNames() == std::vector<std::string>{"scores", "embedding"}, "output names");
  check(rt.getOutputShape("scores") == std::vector<int64_t>{-1, 5}, "scores shape (-1, 5)");
  check(!hepjepa::ort::ortVersion().empty(), "ort version");

  // dynamic axes: with explicit shapes, batch 3, G = 2
  const int64_t n = 3, g = 2;
  auto jet = ramp(n * 4, 0.3f), groups = ramp(n * g * 3, 0.7f);
  auto out = rt.run({"jet", "groups"}, {jet, groups}, {{n, 4}, {n, g, 3}});
  check(out.size() == 2 && out[0].size() == n * 5 && out[1].size() == n * 16, "output sizes");
  for (int64_t j = 0; j < n; ++j) {
    float s = 0;
    for (int c = 0; c < 5; ++c) s += out[0][j * 5 + c];
    check(std::fabs(s - 1.f) < 1e-5f, "softmax rows sum to 1");
  }
  // batch_size fills -1 axes when no shapes are given (G is also -1 -> batch_size)
  auto out_b = rt.run({"jet", "groups"}, {ramp(2 * 4, 0.3f), ramp(2 * 2 * 3, 0.7f)}, {}, {"scores"}, 2);
  check(out_b.size() == 1 && out_b[0].size() == 10, "batch_size fills dynamic axes");

  expectThrow<hepjepa::InvalidInput>([&] { rt.run({"jet", "groupz"}, {jet, groups}, {{n, 4}, {n, g, 3}}); }, "bad name", "groupz");
  expectThrow<hepjepa::InvalidInput>([&] { rt.run({"jet", "groups"}, {jet, groups}, {{n, 4}, {n, g + 1, 3}}); }, "bad size", "expected");
  expectThrow<hepjepa::InvalidInput>([&] { rt.run({"jet", "groups"}, {jet, groups}, {{n, 4}, {n * g, 3}}); }, "bad rank", "rank");
  expectThrow<hepjepa::ModelNotFound>([&] { ONNXRuntime x(dir + "/missing.onnx"); }, "missing file", "missing.onnx");
  expectThrow<hepjepa::ModelError>([&] { ONNXRuntime x(dir + "/corrupt.onnx"); }, "corrupt file", "corrupt.onnx");

  // producer: batches of 2 equal one run of everything
  hepjepa::ParameterSet ps{{"model_path", model}, {"preprocess_json", dir + "/preprocess.json"}, {"batch_size", int64_t{2}}};
  hepjepa::JetTagProducer prod(ps);
  check(prod.flavNames().size() == 5, "flav names from preprocess_json");
  auto scores = prod.produce(std::vector<std::vector<float>>{jet, groups}, {{n, 4}, {n, g, 3}});
  check(scores.size() == out[0].size(), "producer output size");
  for (size_t i = 0; i < scores.size(); ++i) check(std::fabs(scores[i] - out[0][i]) < 1e-6f, "producer == runtime");
  auto empty = prod.produce(std::vector<std::vector<float>>{{}, {}}, {{0, 4}, {0, g, 3}});
  check(empty.empty(), "empty batch");

  // threads share one producer and get the serial result
  std::vector<std::thread> ts;
  std::vector<int> bad(4, 0);
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int r = 0; r < 50; ++r)
        if (prod.produce(std::vector<std::vector<float>>{jet, groups}, {{n, 4}, {n, g, 3}}) != scores) ++bad[t];
    });
  for (auto& t : ts) t.join();
  for (int t = 0; t < 4; ++t) check(bad[t] == 0, "thread result == serial");

  expectThrow<hepjepa::ConfigError>([&] { hepjepa::JetTagProducer p({{"model_pth", model}}); }, "unknown key", "model_path");
  expectThrow<hepjepa::ConfigError>([&] { hepjepa::JetTagProducer p({{"flav_names", std::vector<std::string>{"a"}}}); }, "missing key", "model_path");
  expectThrow<hepjepa::ConfigError>(
      [&] { hepjepa::JetTagProducer p({{"model_path", model}, {"flav_names", std::vector<std::string>(6, "x")}}); },
      "too many flav_names", "only 5");

  if (failures) { std::cerr << failures << " failure(s)\n"; return 1; }
  std::cout << "all C++ bridge checks passed (ORT " << hepjepa::ort::ortVersion() << ")\n";
  return 0;
}
