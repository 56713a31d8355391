// C++ unit tests of the bridge (plain checks + ctest; no external framework).
// argv[1]: folder with tagger.onnx, preprocess.json, corrupt.onnx, contract.onnx,
// contract_preprocess.json, multi.onnx and multi_preprocess.json (written by
// tests/_onnx_models.py); the tests write scratch files there.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iostream>
#include <iterator>
#include <limits>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "hepjepa/Exceptions.h"
#include "hepjepa/FreeList.h"
#include "hepjepa/JetTagProducer.h"
#include "hepjepa/ONNXRuntime.h"
#include "hepjepa/Sha256.h"

// like ONNXRuntime: one producer owns one session and its buffers, so copies are bugs
static_assert(!std::is_copy_constructible_v<hepjepa::JetTagProducer> && !std::is_copy_assignable_v<hepjepa::JetTagProducer>);
static_assert(!std::is_copy_constructible_v<hepjepa::ort::ONNXRuntime>);

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
std::string readFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
void writeFile(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// Inputs of contract.onnx (features (N,G,2,3), particle_mask (N,G,2), group_mask (N,G),
// centers (N,G,2), pair_features (N,G,G,4)); jet j has 1 + j % G real groups.
struct ContractInputs {
  std::vector<std::vector<float>> values;
  std::vector<std::vector<int64_t>> shapes;
};
ContractInputs contractInputs(int64_t n, int64_t g) {
  ContractInputs x;
  x.shapes = {{n, g, 2, 3}, {n, g, 2}, {n, g}, {n, g, 2}, {n, g, g, 4}};
  for (auto& s : x.shapes) {
    size_t size = 1;
    for (auto d : s) size *= static_cast<size_t>(d);
    x.values.push_back(ramp(size, 0.37f + 0.1f * static_cast<float>(x.values.size())));
  }
  for (int64_t j = 0; j < n; ++j)
    for (int64_t k = 0; k < g; ++k) {
      const float real = k < 1 + j % g ? 1.f : 0.f;
      x.values[2][static_cast<size_t>(j * g + k)] = real;
      for (int p = 0; p < 2; ++p) x.values[1][static_cast<size_t>((j * g + k) * 2 + p)] = p == 0 ? real : 0.f;
    }
  return x;
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

  expectThrow<hepjepa::UnknownParameter>([&] { hepjepa::JetTagProducer p({{"model_pth", model}}); }, "unknown key",
                                         "unknown parameter 'model_pth'; did you mean 'model_path'?");
  expectThrow<hepjepa::MissingParameter>([&] { hepjepa::JetTagProducer p({{"flav_names", std::vector<std::string>{"a"}}}); },
                                         "missing key", "missing required parameter 'model_path'");
  expectThrow<hepjepa::MissingParameter>([&] { hepjepa::JetTagProducer p({{"model_path", model}}); }, "missing flav_names",
                                         "missing required parameter 'flav_names'");
  expectThrow<hepjepa::ConfigError>(
      [&] { hepjepa::JetTagProducer p({{"model_path", model}, {"flav_names", std::vector<std::string>(6, "x")}}); },
      "too many flav_names", "only 5");

  expectThrow<hepjepa::ConfigError>(
      [&] { hepjepa::JetTagProducer p({{"model_path", model}, {"flav_names", std::vector<std::string>(2, "x")}}); },
      "too few flav_names (used to drop columns silently)", "one name per column");

  // ---- SHA-256 against FIPS 180-4's test vectors, one-shot and fed in odd pieces
  using hepjepa::sha256Hex;
  check(sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256('')");
  check(sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256('abc')");
  check(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        "sha256(448-bit message: two padding blocks)");
  const std::string million(1000000, 'a');
  check(sha256Hex(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "sha256(1e6 x 'a')");
  {
    hepjepa::Sha256 h;
    for (size_t pos = 0, step = 1; pos < million.size(); pos += step, step = step * 3 % 1021 + 1)
      h.update(million.data() + pos, std::min(step, million.size() - pos));
    check(h.hexDigest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "sha256 in pieces");
  }
  for (size_t len : {55, 56, 63, 64, 65, 119, 120}) {  // the padding boundaries, file vs memory
    const std::string m(len, 'x');
    writeFile(dir + "/sha_probe.bin", m);
    check(hepjepa::sha256File(dir + "/sha_probe.bin") == sha256Hex(m), "sha256File == sha256Hex, length " + std::to_string(len));
  }
  expectThrow<hepjepa::ModelNotFound>([&] { hepjepa::sha256File(dir + "/nothere.bin"); }, "sha256File of a missing file", "nothere.bin");

  // ---- preprocess.json: nesting limit before parsing, sha256 of model.onnx
  const std::string pre = dir + "/preprocess.json", pre_text = readFile(pre);
  {
    hepjepa::JetTagProducer p(ps);
    check(p.sha256Verified(), "model.onnx checked against preprocess.json's sha256.onnx");
  }
  auto withKey = [&](const std::string& key_and_value) {  // preprocess.json + one more key
    return pre_text.substr(0, pre_text.rfind('}')) + ", " + key_and_value + "}";
  };
  const std::string deep = dir + "/deep.json";
  writeFile(deep, withKey("\"x\": " + std::string(100000, '[') + std::string(100000, ']')));
  expectThrow<hepjepa::ConfigError>([&] { hepjepa::JetTagProducer p({{"model_path", model}, {"preprocess_json", deep}}); },
                                    "100,000-deep preprocess.json (used to segfault)", "deep.json: nested deeper than 64");
  std::string flav_deep = pre_text;
  flav_deep.replace(flav_deep.find("\"flav_names\": ["), 15, "\"flav_names\": " + std::string(100000, '['));
  flav_deep.insert(flav_deep.find(']', flav_deep.find("\"flav_names\"")), std::string(99999, ']'));
  writeFile(deep, flav_deep);
  expectThrow<hepjepa::ConfigError>([&] { hepjepa::JetTagProducer p({{"model_path", model}, {"preprocess_json", deep}}); },
                                    "100,000-deep flav_names", "nested deeper than 64");
  writeFile(deep, withKey("\"x\": " + std::string(63, '[') + std::string(63, ']')));  // 64 levels with the object
  { hepjepa::JetTagProducer p({{"model_path", model}, {"preprocess_json", deep}}); check(p.flavNames().size() == 5, "64 levels load"); }
  writeFile(deep, withKey("\"x\": \"" + std::string(1000, '[') + "\\\"{\""));  // brackets in a string do not nest
  { hepjepa::JetTagProducer p({{"model_path", model}, {"preprocess_json", deep}}); check(p.flavNames().size() == 5, "brackets in strings"); }
  writeFile(deep, withKey("\"input_shapes_x\": 1").replace(pre_text.find("[[-1, 4]"), 8, "[[-1, 4.5]"));
  expectThrow<hepjepa::ConfigError>([&] { hepjepa::JetTagProducer p({{"model_path", model}, {"preprocess_json", deep}}); },
                                    "non-integer input_shapes (nlohmann casts 4.5 silently)", "key 'input_shapes' must be");

  std::string tampered_bytes = readFile(model);
  std::memset(&tampered_bytes[tampered_bytes.size() / 2], 0, 64);
  const std::string tampered = dir + "/tampered.onnx";
  writeFile(tampered, tampered_bytes);
  expectThrow<hepjepa::ModelError>(
      [&] { hepjepa::JetTagProducer p({{"model_path", tampered}, {"preprocess_json", pre}}); },
      "model.onnx with 64 zeroed bytes (used to load and score)", "is not the one preprocess.json describes");
  {
    hepjepa::JetTagProducer p({{"model_path", tampered}, {"preprocess_json", pre}, {"verify_sha256", false}});
    check(!p.sha256Verified(), "verify_sha256=false skips the check");
  }
  std::string bad_sha = pre_text;
  bad_sha.replace(bad_sha.find("\"onnx\": \"") + 9, 4, "zzzz");
  writeFile(deep, bad_sha);
  expectThrow<hepjepa::ConfigError>([&] { hepjepa::JetTagProducer p({{"model_path", model}, {"preprocess_json", deep}}); },
                                    "sha256.onnx not hex", "key 'sha256 -> onnx' must be");

  // ---- integer parameters are range-checked before narrowing
  expectThrow<hepjepa::ConfigError>(
      [&] { hepjepa::JetTagProducer p({{"model_path", model}, {"preprocess_json", pre}, {"intra_op_threads", (int64_t{1} << 32) + 1}}); },
      "intra_op_threads 2^32+1 (used to become 1)", "4294967297");
  expectThrow<hepjepa::ConfigError>(
      [&] { hepjepa::JetTagProducer p({{"model_path", model}, {"preprocess_json", pre}, {"batch_size", int64_t{1} << 31}}); },
      "batch_size 2^31", "must be in 1..1048576, got 2147483648");
  expectThrow<hepjepa::ConfigError>([&] { ONNXRuntime::defaultSessionOptions("cpu", int64_t{1} << 32); }, "threads 2^32", "4294967296");

  // ---- runtime: per-call limits and shared symbolic axes
  {
    ONNXRuntime small(model, nullptr, hepjepa::ort::RunLimits{2, 1000});
    expectThrow<hepjepa::InvalidInput>([&] { small.run({"jet", "groups"}, {jet, groups}, {{n, 4}, {n, g, 3}}); },
                                       "batch past max_batch", "pass them through JetTagProducer");
    ONNXRuntime tiny(model, nullptr, hepjepa::ort::RunLimits{16, 20});
    expectThrow<hepjepa::InvalidInput>([&] { tiny.run({"jet", "groups"}, {jet, groups}, {{n, 4}, {n, g, 3}}); },
                                       "values past max_elements", "max_elements = 20");
    expectThrow<hepjepa::ConfigError>([&] { ONNXRuntime x(model, nullptr, hepjepa::ort::RunLimits{0, 10}); }, "max_batch 0", "max_batch");
  }
  expectThrow<hepjepa::InvalidInput>([&] { rt.run({"jet", "groups"}, {ramp(2 * 4, 1.f), groups}, {{2, 4}, {n, g, 3}}); },
                                     "runtime: jet axis differs", "dimension 'batch'");
  expectThrow<hepjepa::InvalidInput>(
      [&] { rt.run({"jet", "groups"}, {jet, groups}, {{n, 4}, {int64_t{1} << 40, int64_t{1} << 40, 3}}); },
      "runtime: shape product overflows", "values in all");

  // ---- producer on a model with hepjepa's five inputs and masks
  const std::string cmodel = dir + "/contract.onnx";
  hepjepa::JetTagProducer cp({{"model_path", cmodel}, {"preprocess_json", dir + "/contract_preprocess.json"},
                              {"batch_size", int64_t{2}}});
  check(cp.sha256Verified() && cp.flavNames().size() == 3, "contract model loads");
  const int64_t cn = 5, cg = 4;
  auto cx = contractInputs(cn, cg);
  std::vector<int8_t> st;
  auto base = cp.produce(cx.values, cx.shapes, &st);
  check(st == std::vector<int8_t>(cn, hepjepa::kTagged) && base.size() == cn * 3, "all jets tagged");
  {
    // jets 1 and 3 without a real group: untagged, not run; the others as if called alone
    auto e = cx;
    for (int64_t j : {1, 3})
      for (size_t i = 0; i < e.values.size(); ++i) {
        const size_t row = e.values[i].size() / cn;
        std::fill_n(e.values[i].begin() + static_cast<std::ptrdiff_t>(j * row), row, 0.f);
      }
    auto got = cp.produce(e.values, e.shapes, &st);
    check(st == std::vector<int8_t>{0, 1, 0, 1, 0}, "empty jets get status no_constituents");
    ContractInputs kept;
    for (size_t i = 0; i < e.values.size(); ++i) {
      const size_t row = e.values[i].size() / cn;
      kept.values.emplace_back();
      for (int64_t j : {0, 2, 4})
        kept.values[i].insert(kept.values[i].end(), e.values[i].begin() + static_cast<std::ptrdiff_t>(j * row),
                              e.values[i].begin() + static_cast<std::ptrdiff_t>((j + 1) * row));
      kept.shapes.push_back(e.shapes[i]);
      kept.shapes.back()[0] = 3;
    }
    auto alone = cp.produce(kept.values, kept.shapes);
    for (int c = 0; c < 3; ++c) {
      check(got[1 * 3 + c] == hepjepa::kUntaggedScore && got[3 * 3 + c] == hepjepa::kUntaggedScore, "empty jets score -1");
      for (int k = 0; k < 3; ++k) check(got[static_cast<size_t>(2 * k * 3 + c)] == alone[static_cast<size_t>(k * 3 + c)],
                                        "real jets bit-identical to a call without the empty ones");
    }
    for (auto& v : e.values[2]) v = 0.f;  // no jet has a real group
    got = cp.produce(e.values, e.shapes, &st);
    check(st == std::vector<int8_t>(cn, hepjepa::kNoConstituents) && got == std::vector<float>(cn * 3, -1.f), "all jets empty");
  }
  {
    auto z = contractInputs(3, 0);  // zero groups: used to fail inside ORT naming no input
    auto got = cp.produce(z.values, z.shapes, &st);
    check(st == std::vector<int8_t>(3, hepjepa::kNoConstituents) && got == std::vector<float>(9, -1.f), "zero groups");
  }
  {
    auto b = cx;  // centers with 1 group against 4: used to broadcast and score
    b.shapes[3][1] = 1;
    b.values[3].resize(cn * 2);
    expectThrow<hepjepa::InvalidInput>([&] { cp.produce(b.values, b.shapes); }, "group counts differ",
                                       "input 'centers' axis 1 has size 1, but input 'features' axis 1 has size 4");
    b = cx;
    b.shapes[4][2] = 3;
    b.values[4].resize(static_cast<size_t>(cn * cg * 3 * 4));
    expectThrow<hepjepa::InvalidInput>([&] { cp.produce(b.values, b.shapes); }, "pair_features groups twice", "'pair_features' axis 2");
  }
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    auto b = cx;
    b.values[0][((1 * cg + 2) * 2 + 0) * 3 + 1] = bad;  // features[1, 2, 0, 1]
    expectThrow<hepjepa::InvalidInput>([&] { cp.produce(b.values, b.shapes); }, "non-finite input",
                                       "input 'features' holds " + std::string(std::isnan(bad) ? "nan" : bad > 0 ? "inf" : "-inf") +
                                           " at index (1, 2, 0, 1)");
  }
  {
    auto b = cx;
    b.values[4][0] = 3e38f;  // finite, but pair_features' sum overflows to inf inside the model
    b.values[4][4] = 3e38f;
    auto got = cp.produce(b.values, b.shapes, &st);
    check(st == std::vector<int8_t>{4, 0, 0, 0, 0}, "huge finite input: status nonfinite_score");
    for (size_t k = 0; k < got.size(); ++k)
      check(k < 3 ? got[k] == -1.f : got[k] == base[k], "nonfinite score -> -1, the other jets unchanged");
    for (float v : {0.5f, 2.f, -1.f}) {
      b = cx;
      b.values[2][7] = v;  // group_mask[1, 3]
      expectThrow<hepjepa::InvalidInput>([&] { cp.produce(b.values, b.shapes); }, "mask not 0/1", "mask input 'group_mask' holds");
      b = cx;
      b.values[1][5] = v;  // particle_mask[0, 2, 1]
      expectThrow<hepjepa::InvalidInput>([&] { cp.produce(b.values, b.shapes); }, "mask not 0/1", "'particle_mask' holds");
    }
  }
  {
    // shapes that wrap a size_t product, negative axes: refused before any pointer is read
    std::vector<const float*> none(5, nullptr);
    const int64_t big = int64_t{1} << 31;
    expectThrow<hepjepa::InvalidInput>(
        [&] { cp.produce(none, {{2, big, 2, 3}, {2, big, 2}, {2, big}, {2, big, 2}, {2, big, big, 4}}); },
        "overflowing shape", "values in all");
    expectThrow<hepjepa::InvalidInput>(
        [&] { cp.produce(none, {{2, -4, 2, 3}, {2, -4, 2}, {2, -4}, {2, -4, 2}, {2, -4, -4, 4}}); }, "negative axis", "axis 1 is -4");
    expectThrow<hepjepa::InvalidInput>(
        [&] { cp.produce(none, {{2, 4, 2, 3}, {2, 4, 2}, {2, 4}, {2, 4, 2}, {2, 4, 4, 5}}); }, "fixed axis", "axis 3 must be 4");
    auto got = prod.produce(std::vector<std::vector<float>>{jet, {}}, {{n, 4}, {n, 0, 3}}, &st);
    check(st == std::vector<int8_t>(n, hepjepa::kNoConstituents) && got == std::vector<float>(n * 5, -1.f),
          "zero groups on a model without group_mask");
  }
  // threads with status on the contract model
  {
    std::vector<std::thread> cts;
    std::vector<int> cbad(4, 0);
    for (int t = 0; t < 4; ++t)
      cts.emplace_back([&, t] {
        std::vector<int8_t> s;
        for (int r = 0; r < 50; ++r)
          if (cp.produce(cx.values, cx.shapes, &s) != base || s != std::vector<int8_t>(cn, 0)) ++cbad[t];
      });
    for (auto& t : cts) t.join();
    for (int t = 0; t < 4; ++t) check(cbad[t] == 0, "contract threads == serial");
  }

  // ---- FreeList: objects are reused, one per concurrent lease, and die with the list
  {
    hepjepa::FreeList<std::vector<float>> pool;
    const std::vector<float>* first = nullptr;
    {
      auto a = pool.lease();
      a->assign(100, 1.f);
      first = &*a;
      auto b = pool.lease();  // a is in use: a second object
      check(&*b != first, "free list: concurrent leases get distinct objects");
    }
    check(pool.idle() == 2, "free list: both objects back after the leases end");
    auto c = pool.lease();  // a went back last (leases end in reverse order): it comes out first
    check(&*c == first && c->capacity() >= 100 && pool.idle() == 1, "free list: a returned object is reused, capacity kept");
    std::vector<std::thread> ts;
    for (int t = 0; t < 8; ++t)
      ts.emplace_back([&] {
        for (int r = 0; r < 1000; ++r) pool.lease()->push_back(1.f);
      });
    for (auto& t : ts) t.join();
    check(pool.idle() >= 1 && pool.idle() <= 8, "free list: never more objects than concurrent leases (+1 held)");
  }

  // ---- every declared output: multi.onnx (scores, embedding, mass, group_embedding)
  {
    const std::string mmodel = dir + "/multi.onnx", mpre = dir + "/multi_preprocess.json";
    hepjepa::JetTagProducer mp({{"model_path", mmodel}, {"preprocess_json", mpre}, {"batch_size", int64_t{2}}});
    const std::vector<std::string> names{"scores", "embedding", "mass", "group_embedding"};
    check(mp.outputNames() == names, "declared outputs are the producer's outputs");
    check(mp.outputKinds() == std::vector<std::string>{"scores", "embedding", "regression", "embedding"}, "declared kinds");
    check(mp.flavNames() == std::vector<std::string>{"probQCD", "probTbqq", "probWqq"}, "flav_names = scores columns");
    check(mp.scoresOutput().name == "scores" && mp.outputs()[2].columns.size() == 2, "scores output, mass columns");
    check(mp.outputs()[2].shape == std::vector<int64_t>{-1, 2}, "mass width from preprocess.json (the model's is dynamic)");
    check(mp.outputs()[3].shape == std::vector<int64_t>{-1, -1, 2}, "group_embedding keeps its groups axis");
    const int64_t mn = 5, mg = 3;
    auto mx = contractInputs(mn, mg);
    ONNXRuntime mrt(mmodel);
    const auto want = mrt.run(mp.inputNames(), mx.values, mx.shapes, names);
    auto got = mp.produceOutputs(mx.values, mx.shapes);
    check(got.status == std::vector<int8_t>(mn, hepjepa::kTagged), "multi: all tagged");
    const std::vector<std::vector<int64_t>> shapes{{mn, 3}, {mn, 6}, {mn, 2}, {mn, mg, 2}};
    for (size_t o = 0; o < names.size(); ++o) {
      check(got.outputs[o].name == names[o] && got.outputs[o].shape == shapes[o], "multi: output " + names[o] + " shape");
      check(got.outputs[o].values.size() == want[o].size(), "multi: output " + names[o] + " size");
      for (size_t k = 0; k < std::min(want[o].size(), got.outputs[o].values.size()); ++k)
        if (std::fabs(got.outputs[o].values[k] - want[o][k]) > 1e-6f) {
          check(false, "multi: output " + names[o] + " == runtime at " + std::to_string(k));
          break;
        }
    }
    check(mp.produce(mx.values, mx.shapes) == got.at("scores").values, "produce() = the scores output");
    auto two = mp.produceOutputs(mx.values, mx.shapes, {"mass", "scores"});
    check(two.outputs.size() == 2 && two.outputs[0].values == got.at("mass").values &&
              two.outputs[1].values == got.at("scores").values, "select: the named outputs in that order");
    expectThrow<hepjepa::InvalidInput>([&] { mp.produceOutputs(mx.values, mx.shapes, {"nope"}); }, "select unknown",
                                       "unknown output 'nope'; the producer's outputs: scores, embedding");
    expectThrow<hepjepa::InvalidInput>([&] { got.at("nope"); }, "at unknown", "no output 'nope'");
    // jets 1 and 3 without a real group: -1 in every value of their rows, in every output
    auto e = mx;
    for (int64_t j : {1, 3})
      for (auto& v : e.values) std::fill_n(v.begin() + static_cast<std::ptrdiff_t>(j * (v.size() / mn)), v.size() / mn, 0.f);
    auto eg = mp.produceOutputs(e.values, e.shapes);
    check(eg.status == std::vector<int8_t>{0, 1, 0, 1, 0}, "multi: empty jets untagged");
    for (const auto& o : eg.outputs) {
      const size_t row = o.values.size() / mn;
      for (int64_t j : {1, 3})
        check(std::all_of(o.values.begin() + static_cast<std::ptrdiff_t>(j * row),
                          o.values.begin() + static_cast<std::ptrdiff_t>((j + 1) * row), [](float v) { return v == -1.f; }),
              "multi: untagged row of " + o.name + " is -1");
    }
    // a features sum of 100 overflows exp() in 'mass' only: that jet is untagged in every output
    auto h = mx;
    h.values[0][static_cast<size_t>(2 * mg * 2 * 3)] = 100.f;  // features[2, 0, 0, 0]
    auto hg = mp.produceOutputs(h.values, h.shapes);
    check(hg.status == std::vector<int8_t>{0, 0, 4, 0, 0}, "multi: nonfinite mass -> nonfinite_score");
    for (size_t o = 0; o < hg.outputs.size(); ++o) {
      const size_t row = hg.outputs[o].values.size() / mn;
      for (size_t k = 0; k < hg.outputs[o].values.size(); ++k)
        check(k / row == 2 ? hg.outputs[o].values[k] == -1.f : hg.outputs[o].values[k] == got.outputs[o].values[k],
              "multi: only jet 2 marked in " + hg.outputs[o].name);
    }
    auto z = contractInputs(2, 0);
    auto zg = mp.produceOutputs(z.values, z.shapes);
    check(zg.at("group_embedding").shape == std::vector<int64_t>{2, 0, 2} && zg.at("mass").values == std::vector<float>(4, -1.f),
          "multi: zero groups");
    // threads on one producer, every output
    std::vector<std::thread> mts;
    std::vector<int> mbad(4, 0);
    for (int t = 0; t < 4; ++t)
      mts.emplace_back([&, t] {
        for (int r = 0; r < 30; ++r) {
          auto x = mp.produceOutputs(mx.values, mx.shapes);
          for (size_t o = 0; o < names.size(); ++o) mbad[t] += x.outputs[o].values != got.outputs[o].values;
        }
      });
    for (auto& t : mts) t.join();
    for (int t = 0; t < 4; ++t) check(mbad[t] == 0, "multi threads == serial");

    // declarations are checked against the model
    const std::string mtext = readFile(mpre);
    auto refusedWith = [&](const std::string& from, const std::string& to, const std::string& must) {
      std::string t = mtext;
      const auto at = t.find(from);
      check(at != std::string::npos, "test edit '" + from + "' applies");
      if (at == std::string::npos) return;
      writeFile(dir + "/multi_bad.json", t.replace(at, from.size(), to));
      expectThrow<hepjepa::ConfigError>(
          [&] { hepjepa::JetTagProducer p({{"model_path", mmodel}, {"preprocess_json", dir + "/multi_bad.json"}}); },
          "declaration " + from + " -> " + to, must);
    };
    refusedWith("\"shape\": [-1, 6]", "\"shape\": [-1, 7]", "('embedding') declares shape (-1, 7), but the model's output has (-1, 6)");
    refusedWith("\"kind\": \"regression\"", "\"kind\": \"mass\"", "\"kind\" is \"mass\", expected one of scores, embedding, regression");
    refusedWith("\"columns\": [\"jet_mass\", \"jet_sdmass\"]", "\"columns\": [\"jet_mass\"]", "has 1 columns [jet_mass], but its shape (-1, 2) gives 2");
    refusedWith("\"name\": \"centers\"", "\"name\": \"centres\"", "lacks the model's input 'centers'");
    refusedWith("\"dtype\": \"float32\", \"kind\": \"embedding\"", "\"dtype\": \"int64\", \"kind\": \"embedding\"",
                "\"dtype\" is \"int64\", expected \"float32\"");
  }

  if (failures) { std::cerr << failures << " failure(s)\n"; return 1; }
  std::cout << "all C++ bridge checks passed (ORT " << hepjepa::ort::ortVersion() << ")\n";
  return 0;
}
