// pybind11 bindings of hepjepa._core: type conversion and exception translation only.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "hepjepa/Exceptions.h"
#include "hepjepa/JetTagProducer.h"
#include "hepjepa/ONNXRuntime.h"

namespace py = pybind11;
using hepjepa::InvalidInput;

namespace {
using FArray = py::array_t<float, py::array::c_style>;

// float32 C-contiguous arrays pass through untouched (zero-copy); anything else is refused,
// so a silent float64 -> float32 downcast or a hidden copy can never happen.
FArray asFloat32(const py::handle& obj, const std::string& name) {
  if (!py::isinstance<py::array>(obj))
    throw InvalidInput("input '" + name + "' must be a numpy.ndarray, got " + std::string(py::str(py::type::handle_of(obj))));
  auto a = py::reinterpret_borrow<py::array>(obj);
  if (!a.dtype().is(py::dtype::of<float>()))
    throw InvalidInput("input '" + name + "' has dtype " + std::string(py::str(a.dtype())) +
                       ", expected float32 (convert with arr.astype(numpy.float32))");
  if (!(a.flags() & py::array::c_style))
    throw InvalidInput("input '" + name + "' is not C-contiguous; pass numpy.ascontiguousarray(arr)");
  return py::reinterpret_borrow<FArray>(a);
}

std::vector<int64_t> shapeOf(const py::array& a) { return {a.shape(), a.shape() + a.ndim()}; }

hepjepa::ParamValue toParam(const std::string& key, const py::handle& v) {
  if (py::isinstance<py::bool_>(v)) return v.cast<bool>();
  if (py::isinstance<py::int_>(v)) return v.cast<int64_t>();
  if (py::isinstance<py::str>(v)) return v.cast<std::string>();
  if (py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v)) return v.cast<std::vector<std::string>>();
  if (py::isinstance(v, py::module_::import("os").attr("PathLike"))) return py::str(v).cast<std::string>();
  throw hepjepa::ConfigError("parameter '" + key + "' has unsupported type " + std::string(py::str(py::type::handle_of(v))));
}

std::unique_ptr<hepjepa::JetTagProducer> makeProducer(const py::dict& params) {
  hepjepa::ParameterSet p;
  for (auto& [k, v] : params) {
    auto key = k.cast<std::string>();
    if (py::isinstance(v, py::module_::import("os").attr("PathLike"))) {
      p[key] = py::module_::import("os").attr("fspath")(v).cast<std::string>();
    } else {
      p[key] = toParam(key, v);
    }
  }
  return std::make_unique<hepjepa::JetTagProducer>(p);
}
}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "hepjepa's C++ ONNX Runtime bridge (private; use hepjepa.bridge)";

  static py::exception<hepjepa::ConfigError> config_error(m, "ConfigError", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const hepjepa::ModelNotFound& e) {
      PyErr_SetString(PyExc_FileNotFoundError, e.what());
    } catch (const hepjepa::InvalidInput& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const hepjepa::ConfigError& e) {
      std::string msg = e.what();
      // unknown / missing keys are KeyErrors (still ValueError-compatible via ConfigError)
      if (msg.rfind("unknown parameter", 0) == 0 || msg.rfind("missing required parameter", 0) == 0)
        PyErr_SetString(PyExc_KeyError, msg.c_str());
      else
        py::set_error(config_error, msg.c_str());
    } catch (const hepjepa::ModelError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (const Ort::Exception& e) {
      PyErr_SetString(PyExc_RuntimeError, (std::string("ONNX Runtime: ") + e.what()).c_str());
    }
  });

  m.def("ort_version", &hepjepa::ort::ortVersion, "Version of the ONNX Runtime library the bridge runs on.");

  py::class_<hepjepa::ort::ONNXRuntime>(m, "ONNXRuntime")
      .def(py::init([](const std::string& path, int threads) {
             auto so = hepjepa::ort::ONNXRuntime::defaultSessionOptions("cpu", threads);
             return std::make_unique<hepjepa::ort::ONNXRuntime>(path, &so);
           }),
           py::arg("model_path"), py::arg("intra_op_threads") = 1)
      .def(
          "run",
          [](const hepjepa::ort::ONNXRuntime& self, const std::vector<std::string>& names, const py::sequence& values,
             std::optional<std::vector<std::vector<int64_t>>> shapes, std::optional<std::vector<std::string>> outs,
             int64_t batch_size) {
            if (py::len(values) != names.size())
              throw InvalidInput("got " + std::to_string(py::len(values)) + " input arrays for " +
                                 std::to_string(names.size()) + " input names");
            std::vector<FArray> keep;
            std::vector<const float*> ptrs;
            std::vector<size_t> sizes;
            for (size_t i = 0; i < names.size(); ++i) {
              keep.push_back(asFloat32(values[i], names[i]));
              ptrs.push_back(keep.back().data());
              sizes.push_back(static_cast<size_t>(keep.back().size()));
            }
            hepjepa::ort::FloatArrays result;
            std::vector<std::vector<int64_t>> rshapes;
            {
              py::gil_scoped_release nogil;
              self.runInto(names, ptrs, sizes, shapes.value_or(std::vector<std::vector<int64_t>>{}),
                           outs.value_or(std::vector<std::string>{}), result, &rshapes, batch_size);
            }
            py::list out;
            for (size_t i = 0; i < result.size(); ++i) {
              FArray a(rshapes[i]);
              std::copy(result[i].begin(), result[i].end(), a.mutable_data());
              out.append(a);
            }
            return out;
          },
          py::arg("input_names"), py::arg("input_values"), py::arg("input_shapes") = py::none(),
          py::arg("output_names") = py::none(), py::arg("batch_size") = 1)
      .def_property_readonly("input_names", &hepjepa::ort::ONNXRuntime::getInputNames)
      .def_property_readonly("output_names", &hepjepa::ort::ONNXRuntime::getOutputNames)
      .def("input_shape", &hepjepa::ort::ONNXRuntime::getInputShape, py::arg("name"))
      .def("output_shape", &hepjepa::ort::ONNXRuntime::getOutputShape, py::arg("name"));

  py::class_<hepjepa::JetTagProducer>(m, "JetTagProducer")
      .def(py::init([](const py::kwargs& kw) { return makeProducer(kw); }))
      .def_static("from_pset", [](const py::dict& d) { return makeProducer(d); }, py::arg("pset"))
      .def_static("valid_keys", &hepjepa::JetTagProducer::validKeys)
      .def(
          "produce",
          [](const hepjepa::JetTagProducer& self, const py::dict& inputs) {
            const auto& names = self.inputNames();
            for (auto& [k, _] : inputs) {
              auto key = k.cast<std::string>();
              if (std::find(names.begin(), names.end(), key) == names.end()) {
                std::string valid;
                for (auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
                throw InvalidInput("unknown input name '" + key + "'; the producer takes: " + valid);
              }
            }
            std::vector<FArray> keep;
            std::vector<const float*> ptrs;
            std::vector<std::vector<int64_t>> shapes;
            for (auto& n : names) {
              if (!inputs.contains(n)) throw InvalidInput("missing input '" + n + "'");
              keep.push_back(asFloat32(inputs[py::str(n)], n));
              ptrs.push_back(keep.back().data());
              shapes.push_back(shapeOf(keep.back()));
            }
            std::vector<float> scores;
            {
              py::gil_scoped_release nogil;
              scores = self.produce(ptrs, shapes);
            }
            const auto n_flav = static_cast<py::ssize_t>(self.flavNames().size());
            FArray out({static_cast<py::ssize_t>(scores.size()) / n_flav, n_flav});
            std::copy(scores.begin(), scores.end(), out.mutable_data());
            return out;
          },
          py::arg("inputs"))
      .def_property_readonly("input_names", &hepjepa::JetTagProducer::inputNames)
      .def_property_readonly("output_names", &hepjepa::JetTagProducer::outputNames)
      .def_property_readonly("flav_names", &hepjepa::JetTagProducer::flavNames)
      .def_property_readonly("batch_size", &hepjepa::JetTagProducer::batchSize);
}
