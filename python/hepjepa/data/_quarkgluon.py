"""EnergyFlow quark/gluon ``.npz`` reader (Komiske, Metodiev, Thaler 2019), without importing energyflow.

``X`` (n_jets, max_particles, 4) = (pt, rapidity, phi, pdgid), zero-padded (pt == 0 is padding);
``y`` 1 = quark. Four-vectors use the PDG mass of each particle's id and the *rapidity*:
``mT = sqrt(pt^2 + m^2)``, ``E = mT cosh y``, ``pz = mT sinh y``.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterator

import awkward as ak
import numpy as np

from ..labels import label_index
from ._common import flags_from_pdgid, jagged_record
from ._errors import FormatError, MissingFieldsError

#: PDG masses (GeV) of the ids found in the EnergyFlow samples.
PDG_MASS = {22: 0.0, 11: 0.51099895e-3, 13: 0.1056583755, 211: 0.13957039, 321: 0.493677, 130: 0.497611, 2212: 0.93827208816, 2112: 0.93956542052}
#: charge of the positive id; the negative id has the opposite charge.
PDG_CHARGE = {22: 0, 11: -1, 13: -1, 211: 1, 321: 1, 130: 0, 2212: 1, 2112: 0}


def iter_file(path: str, step_size: int, entry_start: int = 0) -> Iterator[ak.Array]:
    """Yield jets of an EnergyFlow q/g ``.npz`` in chunks of ``step_size`` jets.

    ``X`` is memory-mapped when stored uncompressed (``np.savez``); a compressed member
    (``np.savez_compressed``) cannot be mapped and is decompressed once per file.

    Args:
        path: the ``.npz`` file.
        step_size: jets per chunk.
        entry_start: first jet.

    Returns:
        iterator of ``ak.Array`` records with ``label`` QCD and scalar ``is_quark`` (1/0).
    """
    X, y = _open(path)
    if X.ndim != 3 or X.shape[2] != 4:
        raise FormatError(f"{path}: X has shape {X.shape}, expected (n_jets, max_particles, 4) = (pt, y, phi, pdgid)")
    if y.shape[0] != X.shape[0]:
        raise FormatError(f"{path}: y has {y.shape[0]} entries but X has {X.shape[0]} jets")
    for start in range(entry_start, X.shape[0], step_size):
        stop = min(start + step_size, X.shape[0])
        yield _convert(path, np.asarray(X[start:stop]), np.asarray(y[start:stop]))


def _open(path: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise FormatError(f"{path}: not an .npz (zip) file: {e}") from e
    with zf:
        names = [n.removesuffix(".npy") for n in zf.namelist()]
        missing = [k for k in ("X", "y") if k not in names]
        if missing:
            raise MissingFieldsError(path, "EnergyFlow quark/gluon", missing, names)
        arrays = {k: _member(path, zf, k + ".npy") for k in ("X", "y")}
    return arrays["X"], arrays["y"]


def _member(path: str, zf: zipfile.ZipFile, name: str) -> np.ndarray:
    info = zf.getinfo(name)
    if info.compress_type != zipfile.ZIP_STORED:
        with zf.open(name) as fh:
            return np.lib.format.read_array(fh)
    with open(path, "rb") as fh:
        # local file header: 30 fixed bytes, then name and extra field of their own lengths
        fh.seek(info.header_offset)
        head = fh.read(30)
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        fh.seek(info.header_offset + 30 + name_len + extra_len)
        version = np.lib.format.read_magic(fh)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(fh)
        offset = fh.tell()
    if dtype.hasobject:
        raise FormatError(f"{path}: member {name} holds Python objects, expected a numeric array")
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")


def _convert(path: str, X: np.ndarray, y: np.ndarray) -> ak.Array:
    real = X[:, :, 0] > 0  # pt == 0 marks padding; (n, max_particles)
    counts = real.sum(axis=1)
    flat = X[real].astype(np.float64)  # (n_particles, 4)
    pt, rap, phi = flat[:, 0], flat[:, 1], flat[:, 2]
    pid = np.rint(flat[:, 3]).astype(np.int64)
    aid = np.abs(pid)
    known = np.array(sorted(PDG_MASS))
    bad = ~np.isin(aid, known)
    if bad.any():
        raise FormatError(f"{path}: unknown PDG id {int(pid[bad][0])}, expected one of ±{list(known)}")
    lut = np.searchsorted(known, aid)
    mass = np.array([PDG_MASS[k] for k in known])[lut]
    charge = np.array([PDG_CHARGE[k] for k in known])[lut] * np.sign(pid)
    mt = np.sqrt(pt**2 + mass**2)
    particles = {
        "px": (pt * np.cos(phi)).astype(np.float32),
        "py": (pt * np.sin(phi)).astype(np.float32),
        "pz": (mt * np.sinh(rap)).astype(np.float32),
        "energy": (mt * np.cosh(rap)).astype(np.float32),
        "charge": charge.astype(np.float32),
        "pdgid": pid,
    }
    particles.update(flags_from_pdgid(pid, charge))
    yq = y.astype(np.int64)
    scalars = {"label": np.full(len(yq), label_index("QCD"), dtype=np.int64), "is_quark": yq}
    return jagged_record(counts, particles, scalars)
