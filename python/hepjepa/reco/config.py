"""Typed job-config vocabulary with the shape of CMSSW's ``FWCore.ParameterSet.Config``.

Parameters are typed (``string``, ``int32``, ``uint32``, ``double``, ``bool``,
``vstring``, ``vint32``, ``vdouble``); a module declares a C++-style type name whose
parameter schema (names, types, defaults) lives in :data:`MODULE_SCHEMAS`, so an
unknown parameter or a wrong type is an error that names module and parameter,
raised when the config is built or validated, never after the first event.
"""

from __future__ import annotations

import builtins as _builtins
import copy
import dataclasses
from pathlib import Path as _FsPath
from typing import Any

from hepjepa.config import ConfigError  # the one config error: a job config that is invalid names module and parameter
from hepjepa.deploy import DEFAULT_BATCH_SIZE

__all__ = [
    "ConfigError", "Parameter", "string", "int32", "uint32", "double", "bool", "vstring", "vint32", "vdouble",
    "untracked", "EDProducer", "Source", "OutputModule", "Path", "Options", "Process", "VarParsing", "MODULE_SCHEMAS",
]




class Parameter:
    """A typed parameter value (``cms.string("x")`` etc.)."""

    type_name = "Parameter"
    py_types: tuple[type[Any], ...] = ()
    is_vector = False

    def __init__(self, *values: Any):
        if self.is_vector:
            if len(values) == 1 and isinstance(values[0], (list, tuple)):
                values = tuple(values[0])
            self.value = [self._check(v) for v in values]
        else:
            if len(values) != 1:
                msg = f"cms.{self.type_name} takes exactly one value, got {len(values)}: {values!r}"
                raise ConfigError(msg)
            self.value = self._check(values[0])

    def _check(self, v: Any) -> Any:
        # bool is an int subclass: refuse it for numeric types, as CMSSW does.
        if isinstance(v, _builtins.bool) and _builtins.bool not in self.py_types:
            msg = f"cms.{self.type_name} expects {self._expected()}, got bool {v!r}"
            raise ConfigError(msg)
        if not isinstance(v, self.py_types):
            msg = f"cms.{self.type_name} expects {self._expected()}, got {type(v).__name__} {v!r}"
            raise ConfigError(msg)
        return float(v) if float in self.py_types else v

    def _expected(self) -> str:
        return "/".join(t.__name__ for t in self.py_types)

    def value_of(self) -> Any:
        return list(self.value) if self.is_vector else self.value

    def __repr__(self) -> str:
        return f"cms.{self.type_name}({self.value!r})"


def _ptype(name: str, types: tuple[type, ...], vector: _builtins.bool = False, check=None) -> type:
    ns = {"type_name": name, "py_types": types, "is_vector": vector}
    if check is not None:
        def _check(self, v, _base=Parameter._check):
            v = _base(self, v)
            check(self, v)
            return v
        ns["_check"] = _check
    return type(name, (Parameter,), ns)


def _nonneg(self, v):
    if v < 0:
        msg = f"cms.{self.type_name} expects a value >= 0, got {v}"
        raise ConfigError(msg)


string = _ptype("string", (str,))
int32 = _ptype("int32", (int,))
uint32 = _ptype("uint32", (int,), check=_nonneg)
double = _ptype("double", (float, int))
bool = _ptype("bool", (_builtins.bool,))  # noqa: A001
vstring = _ptype("vstring", (str,), vector=True)
vint32 = _ptype("vint32", (int,), vector=True)
vdouble = _ptype("vdouble", (float, int), vector=True)


class _Untracked:
    """``cms.untracked.string(...)``: same types; tracking has no meaning here and is kept for familiarity."""

    string, int32, uint32, double, bool, vstring, vint32, vdouble = string, int32, uint32, double, bool, vstring, vint32, vdouble


untracked = _Untracked()

# type name -> {parameter: default Parameter}; a module may only set these.
MODULE_SCHEMAS: dict[str, dict[str, Parameter]] = {
    "JetTagProducer": {
        "src": string("FatJet"),
        "pfcands": string(""),  # "" = auto: PFCands (PFNano) or PFCand (NanoAOD v15)
        "model_dir": string(""),
        "model_path": string(""),
        "preprocess_json": string(""),
        "batch_size": uint32(DEFAULT_BATCH_SIZE),
        "intra_op_threads": uint32(1),
        "backend": string("cpu"),
        "verify_sha256": bool(True),  # refuse a model.onnx whose sha256 is not preprocess.json's
        "debug": bool(False),
    },
    "NanoAODSource": {
        "fileNames": vstring(),
        "treeName": string("Events"),
        "chunkSize": uint32(1000),
    },
    "RootOutput": {
        "fileName": string("output.root"),
        "treeName": string("Events"),
    },
}


class _Module:
    """Common part of modules: a type name and typed parameters checked against its schema."""

    kind = "module"

    def __init__(self, type_name: str, **params: Any):
        if type_name not in MODULE_SCHEMAS:
            msg = f"unknown {self.kind} type {type_name!r}; known: {sorted(MODULE_SCHEMAS)}"
            raise ConfigError(msg)
        object.__setattr__(self, "type_name", type_name)
        object.__setattr__(self, "label", None)
        object.__setattr__(self, "_params", {k: copy.deepcopy(v) for k, v in MODULE_SCHEMAS[type_name].items()})
        # A module is built before `process.<label> = ...` names it: a bad parameter is kept and raised
        # when the label is known (attach), so that the error names the module as the user does.
        object.__setattr__(self, "_pending", [])
        for k, v in params.items():
            try:
                setattr(self, k, v)
            except ConfigError:
                self._pending.append((k, v))

    def _attach(self, label: str) -> None:
        """Name the module; raise the first bad constructor parameter, now with its label."""
        object.__setattr__(self, "label", label)
        for k, v in self.__dict__.get("_pending", []):
            setattr(self, k, v)  # raises, naming the label

    def _where(self) -> str:
        return f"{self.kind} {self.label or '<unlabelled>'} ({self.type_name})"

    def __setattr__(self, name: str, value: Any) -> None:
        params = self._params
        if name not in params:
            import difflib

            close = difflib.get_close_matches(name, params, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            msg = f"{self._where()}: unknown parameter {name!r}; allowed: {sorted(params)}{hint}"
            raise ConfigError(msg)
        expected = type(params[name])
        try:
            if isinstance(value, Parameter):
                if type(value) is not expected and value.type_name != expected.type_name:
                    msg = f"expects cms.{expected.type_name}, got cms.{value.type_name}"
                    raise ConfigError(msg)
                new = expected(value.value) if expected.is_vector else expected(value.value)
            else:
                new = expected(value)
        except ConfigError as exc:
            msg = f"{self._where()}: parameter {name!r}: {exc}"
            raise ConfigError(msg) from None
        params[name] = new

    def __getattr__(self, name: str) -> Any:
        params = self.__dict__.get("_params", {})
        if name in params:
            return params[name]
        msg = f"{self.__dict__.get('type_name', '?')} has no parameter {name!r}"
        raise AttributeError(msg)

    def value(self, name: str) -> Any:
        """Plain Python value of a parameter."""
        return self._params[name].value_of()

    def parameters(self) -> dict[str, Any]:
        """All parameters as plain Python values (a PSet as a dict)."""
        return {k: v.value_of() for k, v in self._params.items()}

    def clone(self, **overrides: Any) -> _Module:
        """Copy with some parameters replaced (unknown names/wrong types raise ConfigError)."""
        new = copy.deepcopy(self)
        object.__setattr__(new, "label", None)
        object.__setattr__(new, "_pending", list(self.__dict__.get("_pending", [])))
        for k, v in overrides.items():
            setattr(new, k, v)
        return new

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"cms.{type(self).__name__}({self.type_name!r}, {args})"


class EDProducer(_Module):
    kind = "EDProducer"


class Source(_Module):
    kind = "Source"


class OutputModule(_Module):
    kind = "OutputModule"


class Path:
    """Ordered list of producers run for each chunk of events."""

    def __init__(self, *modules: EDProducer):
        for m in modules:
            if not isinstance(m, EDProducer):
                msg = f"cms.Path takes EDProducers, got {type(m).__name__} {m!r}"
                raise ConfigError(msg)
        self.modules = list(modules)

    def __iadd__(self, m: EDProducer) -> Path:
        self.modules.append(m)
        return self


@dataclasses.dataclass
class Options:
    """``process.options``: ``numberOfThreads`` = ONNX Runtime intra-op threads if a producer leaves it at 1."""

    numberOfThreads: int = 1
    wantSummary: _builtins.bool = True

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in ("numberOfThreads", "wantSummary"):
            msg = f"process.options: unknown option {name!r}; allowed: ['numberOfThreads', 'wantSummary']"
            raise ConfigError(msg)
        if name == "numberOfThreads" and (not isinstance(value, int) or isinstance(value, _builtins.bool) or value < 1):
            msg = f"process.options.numberOfThreads must be an int >= 1, got {value!r}"
            raise ConfigError(msg)
        object.__setattr__(self, name, value)


class Process:
    """The job: a source, producers (attributes; their label is the attribute name), paths, an output."""

    def __init__(self, name: str):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "options", Options())
        object.__setattr__(self, "maxEvents", -1)
        object.__setattr__(self, "source", None)
        object.__setattr__(self, "producers", {})
        object.__setattr__(self, "paths", {})
        object.__setattr__(self, "outputs", {})

    def __setattr__(self, label: str, value: Any) -> None:
        if label == "maxEvents":
            if not isinstance(value, int) or isinstance(value, _builtins.bool):
                msg = f"process.maxEvents must be an int (-1 = all), got {value!r}"
                raise ConfigError(msg)
            object.__setattr__(self, label, value)
        elif label == "options":
            msg = "process.options cannot be replaced; set process.options.numberOfThreads = N"
            raise ConfigError(msg)
        elif isinstance(value, Source):
            value._attach(label)
            object.__setattr__(self, "source", value)
        elif isinstance(value, EDProducer):
            value._attach(label)
            self.producers[label] = value
        elif isinstance(value, OutputModule):
            value._attach(label)
            self.outputs[label] = value
        elif isinstance(value, Path):
            self.paths[label] = value
        else:
            msg = f"process.{label}: cannot hold a {type(value).__name__} ({value!r})"
            raise ConfigError(msg)

    def __getattr__(self, label: str) -> Any:
        for d in ("producers", "outputs", "paths"):
            if label in self.__dict__.get(d, {}):
                return self.__dict__[d][label]
        msg = f"process has no module or path {label!r}"
        raise AttributeError(msg)

    def scheduled(self) -> list[EDProducer]:
        """Producers in path order (each once)."""
        seen: list[EDProducer] = []
        for p in self.paths.values():
            for m in p.modules:
                if m not in seen:
                    seen.append(m)
        return seen

    def validate(self) -> None:
        """Check everything that can be checked before reading the first event.

        Raises:
            ConfigError: no source / no path / no output, a path module not attached to
                the process, an input or model file that does not exist.
        """
        if self.source is None:
            msg = "process.source is not set"
            raise ConfigError(msg)
        files = self.source.value("fileNames")
        if not files:
            msg = f"{self.source._where()}: parameter 'fileNames' is empty"
            raise ConfigError(msg)
        for f in files:
            if "://" not in f and not _FsPath(f).is_file():
                msg = f"{self.source._where()}: parameter 'fileNames': no such file {f!r}"
                raise ConfigError(msg)
        if not self.paths:
            msg = "process has no cms.Path: nothing to run"
            raise ConfigError(msg)
        if len(self.outputs) != 1:
            msg = f"process needs exactly one OutputModule, has {sorted(self.outputs)}"
            raise ConfigError(msg)
        for m in self.scheduled():
            if m.__dict__.get("_pending"):
                m._attach(m.label or "<unlabelled>")
            if m.label is None or self.producers.get(m.label) is not m:
                msg = f"{m._where()} is in a Path but not attached to the process (process.<label> = ...)"
                raise ConfigError(msg)
            _validate_producer_files(m)


def _validate_producer_files(m: EDProducer) -> None:
    p = m.parameters()
    if p["model_dir"]:
        d = _FsPath(p["model_dir"])
        if not d.is_dir():
            what = "is a file; expected the directory holding it" if d.is_file() else "does not exist"
            msg = (
                f"{m._where()}: parameter 'model_dir': model directory {str(d)!r} {what} "
                "(an exported model: `hepjepa export CHECKPOINT -o DIR`)"
            )
            raise ConfigError(msg)
        for key, fname in (("model_path", "model.onnx"), ("preprocess_json", "preprocess.json")):
            if not p[key] and not (d / fname).is_file():
                msg = f"{m._where()}: parameter 'model_dir': {d / fname} does not exist"
                raise ConfigError(msg)
    elif not p["model_path"]:
        msg = f"{m._where()}: set parameter 'model_dir' or 'model_path'"
        raise ConfigError(msg)
    for key in ("model_path", "preprocess_json"):
        if p[key] and not _FsPath(p[key]).is_file():
            msg = f"{m._where()}: parameter {key!r}: no such file {p[key]!r}"
            raise ConfigError(msg)


class VarParsing:
    """``FWCore.ParameterSet.VarParsing`` in miniature: ``key=value`` command-line overrides.

    Built-in options: ``inputFiles`` (comma-separated list), ``outputFile`` (string),
    ``maxEvents`` (int), ``modelDir`` (an exported model directory for every JetTagProducer of
    the job, replacing its ``model_dir``/``model_path``/``preprocess_json``). More with :meth:`register`.
    """

    def __init__(self) -> None:
        self._types: dict[str, type] = {}
        self._values: dict[str, Any] = {}
        self.register("inputFiles", [], list)
        self.register("outputFile", "", str)
        self.register("maxEvents", -1, int)
        self.register("modelDir", "", str)

    def register(self, name: str, default: Any, kind: type) -> None:
        self._types[name] = kind
        self._values[name] = default

    def parseArguments(self, argv: list[str]) -> VarParsing:
        """Parse ``key=value`` items. Raises ConfigError on unknown keys or bad values."""
        for item in argv:
            key, sep, raw = item.partition("=")
            if not sep:
                msg = f"command-line override {item!r} is not key=value"
                raise ConfigError(msg)
            if key not in self._types:
                msg = f"unknown command-line option {key!r}; known: {sorted(self._types)}"
                raise ConfigError(msg)
            kind = self._types[key]
            if kind is list:
                self._values[key] = [s for s in raw.split(",") if s]
            else:
                try:
                    self._values[key] = kind(raw)
                except ValueError:
                    msg = f"command-line option {key}={raw!r}: expected {kind.__name__}"
                    raise ConfigError(msg) from None
        self._set = {i.partition("=")[0] for i in argv}
        return self

    def is_set(self, name: str) -> _builtins.bool:
        return name in getattr(self, "_set", set())

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__.get("_values", {})
        if name in values:
            return values[name]
        raise AttributeError(name)

    def apply(self, process: Process) -> Process:
        """Apply the standard options that were given to ``process``."""
        if self.is_set("inputFiles"):
            process.source.fileNames = vstring(self.inputFiles)
        if self.is_set("outputFile"):
            (out,) = process.outputs.values() if len(process.outputs) == 1 else (None,)
            if out is None:
                msg = "outputFile= given but the process has no single OutputModule"
                raise ConfigError(msg)
            out.fileName = self.outputFile
        if self.is_set("maxEvents"):
            process.maxEvents = self.maxEvents
        if self.is_set("modelDir"):
            producers = [m for m in process.producers.values() if m.type_name == "JetTagProducer"]
            if not producers:
                msg = "modelDir= given but the process has no JetTagProducer"
                raise ConfigError(msg)
            for m in producers:
                m.model_dir, m.model_path, m.preprocess_json = self.modelDir, "", ""
        return process
