// Typed errors of the bridge; the Python bindings translate each to one Python type.
#pragma once
#include <stdexcept>
#include <string>

namespace hepjepa {
/// Bad input values, names, sizes or ranks (Python: ValueError).
struct InvalidInput : std::invalid_argument { using std::invalid_argument::invalid_argument; };
/// The model file does not exist (Python: FileNotFoundError).
struct ModelNotFound : std::runtime_error { using std::runtime_error::runtime_error; };
/// Unreadable/invalid model or ORT failure (Python: RuntimeError).
struct ModelError : std::runtime_error { using std::runtime_error::runtime_error; };
/// Unknown, missing or ill-typed parameter (Python: KeyError for keys, ValueError otherwise).
struct ConfigError : std::invalid_argument { using std::invalid_argument::invalid_argument; };
}  // namespace hepjepa
