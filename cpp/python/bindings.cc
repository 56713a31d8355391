// pybind11 bindings of hepjepa._core: type conversion and exception translation only.
// pybind11 (Python.h) first: Python's macros must be seen before any standard header.
#include <pybind11/pybind11.h>
#include <pybind11/gil_safe_call_once.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>  // the std::vector / std::optional / std::string conversions

#include <algorithm>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <onnxruntime_cxx_api.h>

#include "hepjepa/Exceptions.h"
#include "hepjepa/JetTagProducer.h"
#include "hepjepa/ONNXRuntime.h"

namespace py = pybind11;
using hepjepa::InvalidInput;

namespace {
using FArray = py::array_t<float, py::array::c_style>;

std::string typeName(const py::handle& obj) { return py::str(py::type::handle_of(obj).attr("__name__")); }
std::string reprOf(const py::handle& obj) {
  std::string r = py::repr(obj);
  return r.size() > 80 ? r.substr(0, 80) + "..." : r;
}

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
  // a view at an odd byte offset of a buffer: reading it as float is undefined behaviour in C++
  if (!(a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
    throw InvalidInput("input '" + name + "' is not aligned to 4 bytes; pass arr.copy()");
  return py::reinterpret_borrow<FArray>(a);
}

std::vector<int64_t> shapeOf(const py::array& a) { return {a.shape(), a.shape() + a.ndim()}; }

bool isInteger(const py::handle& v) {
  // bool is an int subclass but True as a size is a bug; NumPy integers (arr.shape[0] of a
  // computed size, np.int64) are integers in all but type
  if (py::isinstance<py::bool_>(v)) return false;
  return py::isinstance<py::int_>(v) || py::isinstance(v, py::module_::import("numpy").attr("integer"));
}

// An int in lo..hi, else E naming `what` and the value: checked here, before any narrowing,
// because pybind11 would wrap, truncate or refuse with a generic TypeError.
template <class E>
int64_t toInt(const py::handle& v, const std::string& what, int64_t lo, int64_t hi, const std::string& hint = "") {
  const std::string expected = "; expected an int in " + std::to_string(lo) + ".." + std::to_string(hi) + hint;
  if (!isInteger(v)) throw E(what + " is " + reprOf(v) + " (" + typeName(v) + ")" + expected);
  int overflow = 0;
  const long long x = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
  if (x == -1 && PyErr_Occurred()) {
    PyErr_Clear();
    throw E(what + " is " + reprOf(v) + " (" + typeName(v) + ")" + expected);
  }
  if (overflow || x < lo || x > hi) throw E(what + " is " + reprOf(v) + expected);
  return x;
}

std::vector<std::vector<int64_t>> toShapes(const py::object& obj, const std::vector<std::string>& names) {
  std::vector<std::vector<int64_t>> shapes;
  if (obj.is_none()) return shapes;
  auto isSeq = [](const py::handle& h) {
    return PySequence_Check(h.ptr()) && !py::isinstance<py::str>(h) && !py::isinstance<py::bytes>(h);
  };
  if (!isSeq(obj))
    throw InvalidInput("input_shapes must be a list with one list of ints per input, got " + reprOf(obj) + " (" +
                       typeName(obj) + ")");
  const std::string range = " (2^40)";
  for (size_t i = 0; i < py::len(obj); ++i) {
    py::object s = obj[py::int_(i)];
    const std::string which = "input_shapes[" + std::to_string(i) + "]" + (i < names.size() ? " (input '" + names[i] + "')" : "");
    if (!isSeq(s)) throw InvalidInput(which + " is " + reprOf(s) + " (" + typeName(s) + "); expected a list of ints");
    shapes.emplace_back();
    for (size_t d = 0; d < py::len(s); ++d)
      shapes.back().push_back(toInt<InvalidInput>(s[py::int_(d)], which + " axis " + std::to_string(d), 0,
                                                  hepjepa::ort::kMaxDeclaredSize, range));
  }
  return shapes;
}

hepjepa::ParamValue toParam(const std::string& key, const py::handle& v) {
  if (py::isinstance<py::bool_>(v)) return v.cast<bool>();
  if (py::isinstance<py::int_>(v)) {
    // the range is the C++ side's to check (it names the limits); here only "fits in int64",
    // which pybind11's own cast refuses with a message naming neither the key nor the value
    int overflow = 0;
    const long long x = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
    if (overflow)
      throw hepjepa::ConfigError("parameter '" + key + "' is " + reprOf(v) + ", which does not fit in a 64-bit integer");
    return int64_t{x};
  }
  if (py::isinstance<py::str>(v)) return v.cast<std::string>();
  if (py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v)) {
    std::vector<std::string> r;
    for (auto item : py::reinterpret_borrow<py::sequence>(v)) {
      if (!py::isinstance<py::str>(item))
        throw hepjepa::ConfigError("parameter '" + key + "' must be a list of strings; item " + std::to_string(r.size()) +
                                   " is " + reprOf(item) + " (" + typeName(item) + ")");
      r.push_back(item.cast<std::string>());
    }
    return r;
  }
  if (py::isinstance(v, py::module_::import("os").attr("PathLike"))) return py::str(v).cast<std::string>();
  throw hepjepa::ConfigError("parameter '" + key + "' has unsupported type " + std::string(py::str(py::type::handle_of(v))));
}

std::unique_ptr<hepjepa::JetTagProducer> makeProducer(const py::dict& params) {
  hepjepa::ParameterSet p;
  for (auto& [k, v] : params) {
    if (!py::isinstance<py::str>(k))
      throw hepjepa::ConfigError("parameter names must be strings, got " + reprOf(k) + " (" + typeName(k) + ")");
    auto key = k.cast<std::string>();
    if (py::isinstance(v, py::module_::import("os").attr("PathLike"))) {
      p[key] = py::module_::import("os").attr("fspath")(v).cast<std::string>();
    } else {
      p[key] = toParam(key, v);
    }
  }
  return std::make_unique<hepjepa::JetTagProducer>(p);
}

// A NumPy array that takes over `values` (moved, not copied); the capsule frees them with the array.
template <class T>
py::array_t<T> ownedArray(std::vector<T>&& values, const std::vector<int64_t>& shape) {
  auto owned = std::make_unique<std::vector<T>>(std::move(values));
  T* data = owned->data();
  py::capsule free_with_array(owned.get(), [](void* v) { delete static_cast<std::vector<T>*>(v); });
  owned.release();  // the capsule holds it now
  return py::array_t<T>(std::vector<py::ssize_t>(shape.begin(), shape.end()), data, free_with_array);
}

// The producer's inputs from a dict of float32 arrays, in its input order; keep holds the arrays.
struct Inputs {
  std::vector<FArray> keep;
  std::vector<const float*> ptrs;
  std::vector<std::vector<int64_t>> shapes;
};
Inputs toInputs(const hepjepa::JetTagProducer& self, const py::dict& inputs) {
  const auto& names = self.inputNames();
  for (auto& [k, _] : inputs) {
    if (!py::isinstance<py::str>(k)) throw InvalidInput("input names must be strings, got " + reprOf(k));
    auto key = k.cast<std::string>();
    if (std::find(names.begin(), names.end(), key) == names.end()) {
      std::string valid;
      for (auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
      throw InvalidInput("unknown input name '" + key + "'; the producer takes: " + valid);
    }
  }
  Inputs x;
  for (auto& n : names) {
    if (!inputs.contains(n)) throw InvalidInput("missing input '" + n + "'");
    x.keep.push_back(asFloat32(inputs[py::str(n)], n));
    x.ptrs.push_back(x.keep.back().data());
    x.shapes.push_back(shapeOf(x.keep.back()));
  }
  return x;
}

// produce(): the scores output (n_jets, ...) float32; produce_with_status(): (scores, status (n_jets,) int8)
py::object produce(const hepjepa::JetTagProducer& self, const py::dict& inputs, bool with_status) {
  const Inputs x = toInputs(self, inputs);
  const std::vector<std::string> scores{self.scoresOutput().name};
  hepjepa::ProducedOutputs r;
  {
    py::gil_scoped_release nogil;
    r = self.produceOutputs(x.ptrs, x.shapes, scores);
  }
  auto& o = r.outputs[0];
  auto out = ownedArray(std::move(o.values), o.shape);
  if (!with_status) return out;
  const std::vector<int64_t> n_jets{static_cast<int64_t>(r.status.size())};
  return py::make_tuple(out, ownedArray(std::move(r.status), n_jets));
}

// produce_outputs(): ({name: (n_jets, ...) float32} for every output, status (n_jets,) int8)
py::tuple produceOutputs(const hepjepa::JetTagProducer& self, const py::dict& inputs) {
  const Inputs x = toInputs(self, inputs);
  hepjepa::ProducedOutputs r;
  {
    py::gil_scoped_release nogil;
    r = self.produceOutputs(x.ptrs, x.shapes);
  }
  py::dict out;
  for (auto& o : r.outputs) out[py::str(o.name)] = ownedArray(std::move(o.values), o.shape);
  const std::vector<int64_t> n_jets{static_cast<int64_t>(r.status.size())};
  return py::make_tuple(out, ownedArray(std::move(r.status), n_jets));
}

// A Python exception class hepjepa._core.<name> with these bases, for the translator below.
py::object newError(py::module_& m, const char* name, const py::tuple& bases, const char* doc) {
  const std::string full = m.attr("__name__").cast<std::string>() + "." + name;
  auto e = py::reinterpret_steal<py::object>(PyErr_NewExceptionWithDoc(full.c_str(), doc, bases.ptr(), nullptr));
  if (!e) throw py::error_already_set();
  m.attr(name) = e;
  return e;
}
}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "hepjepa's C++ ONNX Runtime bridge (private; use hepjepa.bridge)";

  // stored the way pybind11 asks for objects that the translator uses: a function-local static
  // py::object would be released after the interpreter is gone
  PYBIND11_CONSTINIT static py::gil_safe_call_once_and_store<py::object> config_error, unknown_parameter, missing_parameter;
  config_error.call_once_and_store_result([&] {
    return newError(m, "ConfigError", py::make_tuple(py::handle(PyExc_ValueError)),
                    "An ill-typed or out-of-range parameter, or an invalid preprocess.json.");
  });
  // a ConfigError and a KeyError: `except KeyError` keeps working, `except ConfigError` catches every parameter error
  unknown_parameter.call_once_and_store_result([&] {
    return newError(m, "UnknownParameter", py::make_tuple(config_error.get_stored(), py::handle(PyExc_KeyError)),
                    "A parameter name the producer does not declare (see JetTagProducer.valid_keys()).");
  });
  missing_parameter.call_once_and_store_result([&] {
    return newError(m, "MissingParameter", py::make_tuple(config_error.get_stored(), py::handle(PyExc_KeyError)),
                    "A required parameter given neither in the parameters nor in preprocess_json.");
  });
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const hepjepa::ModelNotFound& e) {
      PyErr_SetString(PyExc_FileNotFoundError, e.what());
    } catch (const hepjepa::InvalidInput& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const hepjepa::UnknownParameter& e) {
      py::set_error(unknown_parameter.get_stored(), e.what());
    } catch (const hepjepa::MissingParameter& e) {
      py::set_error(missing_parameter.get_stored(), e.what());
    } catch (const hepjepa::ConfigError& e) {
      py::set_error(config_error.get_stored(), e.what());
    } catch (const hepjepa::ModelError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (const Ort::Exception& e) {
      PyErr_SetString(PyExc_RuntimeError, (std::string("ONNX Runtime: ") + e.what()).c_str());
    }
  });

  m.def("ort_version", &hepjepa::ort::ortVersion, "Version of the ONNX Runtime library the bridge runs on.");
  // the C++ copies of hepjepa.contract's numbers, exported so a test can hold them equal
  m.attr("UNTAGGED_SCORE") = hepjepa::kUntaggedScore;
  py::dict status;
  status[py::int_(int(hepjepa::kTagged))] = "tagged";
  status[py::int_(int(hepjepa::kNoConstituents))] = "no_constituents";
  status[py::int_(int(hepjepa::kBadAssociation))] = "bad_association";
  status[py::int_(int(hepjepa::kNonfiniteInput))] = "nonfinite_input";
  status[py::int_(int(hepjepa::kNonfiniteScore))] = "nonfinite_score";
  m.attr("TAG_STATUS") = status;
  m.attr("OUTPUT_KINDS") = py::tuple(py::cast(hepjepa::JetTagProducer::outputKindNames()));

  const hepjepa::ort::RunLimits default_limits;
  py::class_<hepjepa::ort::ONNXRuntime>(m, "ONNXRuntime")
      .def(py::init([](const std::string& path, const py::object& threads, const py::object& max_batch,
                       const py::object& max_elements) {
             using hepjepa::ConfigError;
             const int64_t top = hepjepa::ort::kMaxDeclaredSize;
             auto so = hepjepa::ort::ONNXRuntime::defaultSessionOptions(
                 "cpu", toInt<ConfigError>(threads, "intra_op_threads", 1, hepjepa::ort::kMaxIntraOpThreads));
             hepjepa::ort::RunLimits limits;
             limits.max_batch = toInt<ConfigError>(max_batch, "max_batch", 1, top);
             limits.max_elements = toInt<ConfigError>(max_elements, "max_elements", 1, top);
             return std::make_unique<hepjepa::ort::ONNXRuntime>(path, &so, limits);
           }),
           py::arg("model_path"), py::arg("intra_op_threads") = 1, py::arg("max_batch") = default_limits.max_batch,
           py::arg("max_elements") = default_limits.max_elements)
      .def(
          "run",
          [](const hepjepa::ort::ONNXRuntime& self, const std::vector<std::string>& names, const py::sequence& values,
             const py::object& shapes_obj, std::optional<std::vector<std::string>> outs, const py::object& batch_obj) {
            if (py::len(values) != names.size())
              throw InvalidInput("got " + std::to_string(py::len(values)) + " input arrays for " +
                                 std::to_string(names.size()) + " input names");
            const auto shapes = toShapes(shapes_obj, names);
            const int64_t batch_size = toInt<InvalidInput>(batch_obj, "batch_size", 1, self.limits().max_batch,
                                                           " (max_batch)");
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
              self.runInto(names, ptrs, sizes, shapes, outs.value_or(std::vector<std::string>{}), result, &rshapes,
                           batch_size);
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
      .def_property_readonly("max_batch", [](const hepjepa::ort::ONNXRuntime& r) { return r.limits().max_batch; })
      .def_property_readonly("max_elements", [](const hepjepa::ort::ONNXRuntime& r) { return r.limits().max_elements; })
      .def("input_shape", &hepjepa::ort::ONNXRuntime::getInputShape, py::arg("name"))
      .def("output_shape", &hepjepa::ort::ONNXRuntime::getOutputShape, py::arg("name"));

  py::class_<hepjepa::JetTagProducer>(m, "JetTagProducer")
      .def(py::init([](const py::kwargs& kw) { return makeProducer(kw); }))
      .def_static("from_pset", [](const py::dict& d) { return makeProducer(d); }, py::arg("pset"))
      .def_static("valid_keys", &hepjepa::JetTagProducer::validKeys)
      .def(
          "produce", [](const hepjepa::JetTagProducer& self, const py::dict& inputs) { return produce(self, inputs, false); },
          py::arg("inputs"))
      .def(
          "produce_with_status",
          [](const hepjepa::JetTagProducer& self, const py::dict& inputs) { return produce(self, inputs, true); },
          py::arg("inputs"))
      .def("produce_outputs", &produceOutputs, py::arg("inputs"))
      .def_property_readonly("input_names", &hepjepa::JetTagProducer::inputNames)
      .def_property_readonly("output_names", &hepjepa::JetTagProducer::outputNames)
      .def_property_readonly("output_kinds", &hepjepa::JetTagProducer::outputKinds)
      .def_property_readonly("output_columns",
                             [](const hepjepa::JetTagProducer& self) {
                               py::dict d;
                               for (const auto& o : self.outputs())
                                 if (!o.columns.empty()) d[py::str(o.name)] = py::cast(o.columns);
                               return d;
                             })
      .def_property_readonly("scores_output", [](const hepjepa::JetTagProducer& self) { return self.scoresOutput().name; })
      .def_property_readonly("flav_names", &hepjepa::JetTagProducer::flavNames)
      .def_property_readonly("batch_size", &hepjepa::JetTagProducer::batchSize)
      .def_property_readonly("sha256_verified", &hepjepa::JetTagProducer::sha256Verified);
}
