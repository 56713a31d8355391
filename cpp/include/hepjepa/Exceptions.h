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
/// Ill-typed or out-of-range parameter, invalid preprocess.json (Python: hepjepa._core.ConfigError, a ValueError).
struct ConfigError : std::invalid_argument { using std::invalid_argument::invalid_argument; };
/// A parameter name the producer does not declare (Python: UnknownParameter, a ConfigError and a KeyError).
struct UnknownParameter : ConfigError { using ConfigError::ConfigError; };
/// A required parameter given nowhere (Python: MissingParameter, a ConfigError and a KeyError).
struct MissingParameter : ConfigError { using ConfigError::ConfigError; };
}  // namespace hepjepa
