"""EnergyFlow quark/gluon ``.npz`` reader (Komiske, Metodiev, Thaler 2019), without importing energyflow.

``X`` (n_jets, max_particles, 4) = (pt, rapidity, phi, pdgid), zero-padded (pt == 0 is padding);
``y`` 1 = quark. Four-vectors use the PDG mass of each particle's id and the *rapidity*:
``mT = sqrt(pt^2 + m^2)``, ``E = mT cosh y``, ``pz = mT sinh y``.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
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
    """Yield jets of an EnergyFlow q/g ``.npz`` in chunks of ``step_size`` jets, in bounded memory.

    ``X`` is memory-mapped when stored uncompressed (``np.savez``). A compressed member
    (``np.savez_compressed``, the form the EnergyFlow files are published in) cannot be
    mapped, so it is decompressed as a stream: the ``.npy`` header is parsed, then
    ``step_size`` rows at a time are read, so memory holds one chunk, not the file.
    (A Fortran-ordered compressed ``X``, which ``np.savez`` writes only for Fortran
    arrays, cannot be cut into rows from a stream and is read whole.) ``y``, one number
    per jet, is read whole.

    Args:
        path: the ``.npz`` file.
        step_size: jets per chunk.
        entry_start: first jet.

    Returns:
        iterator of ``ak.Array`` records with ``label`` QCD and scalar ``is_quark`` (1/0).
    """
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        msg = f"{path}: not an .npz (zip) file: {e}"
        raise FormatError(msg) from e
    with zf:
        names = [n.removesuffix(".npy") for n in zf.namelist()]
        missing = [k for k in ("X", "y") if k not in names]
        if missing:
            raise MissingFieldsError(path, "EnergyFlow quark/gluon", missing, names)
        y = _member(path, zf, "y.npy")
        y = y.read_all() if isinstance(y, _NpyStream) else np.asarray(y)
        X = _member(path, zf, "X.npy")
        if len(X.shape) != 3 or X.shape[2] != 4:
            msg = f"{path}: X has shape {X.shape}, expected (n_jets, max_particles, 4) = (pt, y, phi, pdgid)"
            raise FormatError(msg)
        if y.shape[0] != X.shape[0]:
            msg = f"{path}: y has {y.shape[0]} entries but X has {X.shape[0]} jets"
            raise FormatError(msg)
        if isinstance(X, _NpyStream):
            try:
                for start, chunk in X.chunks(entry_start, step_size):
                    yield _convert(path, chunk, y[start:start + len(chunk)])
            finally:
                X.fh.close()
            return
        for start in range(entry_start, X.shape[0], step_size):
            stop = min(start + step_size, X.shape[0])
            yield _convert(path, np.asarray(X[start:stop]), y[start:stop])


class _NpyStream:
    """A C-ordered ``.npy`` member of a compressed zip, read row block by row block.

    Args:
        path: the zip file (for messages).
        fh: the open member (``ZipFile.open``), positioned after the ``.npy`` header.
        shape, dtype: from the header.
    """

    def __init__(self, path: str, fh, shape: tuple[int, ...], dtype: np.dtype):
        self.path, self.fh, self.shape, self.dtype = path, fh, shape, dtype
        self.row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize

    def chunks(self, start: int, step: int) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (first row, rows) blocks of at most ``step`` rows from row ``start`` on.

        Raises:
            FormatError: the member ends before ``shape[0]`` rows.
        """
        n = self.shape[0]
        pos = 0
        while pos < min(start, n):  # a compressed stream can only be skipped by reading it
            k = min(step, start - pos)
            self._read(pos, k)
            pos += k
        while pos < n:
            k = min(step, n - pos)
            yield pos, self._read(pos, k)
            pos += k

    def read_all(self) -> np.ndarray:
        """All rows at once (for the small ``y``); closes the member."""
        with self.fh:
            return self._read(0, self.shape[0])

    def _read(self, pos: int, k: int) -> np.ndarray:
        out = np.empty((k, *self.shape[1:]), dtype=self.dtype)
        view = out.reshape(-1).view(np.uint8).data  # a writable memoryview of out's bytes
        got = 0
        while got < len(view):
            # small pieces: the decompressor's temporary bytes stay ~1 MiB, not a chunk's size
            n = self.fh.readinto(view[got:got + (1 << 20)])
            if not n:
                msg = (
                    f"{self.path}: X.npy ends after row {pos + got // max(self.row_bytes, 1)}, "
                    f"expected {self.shape[0]} rows of shape {self.shape[1:]}"
                )
                raise FormatError(msg)
            got += n
        return out


def _read_header(path: str, fh, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(fh)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read_header(fh)
    if dtype.hasobject:
        msg = f"{path}: member {name} holds Python objects, expected a numeric array"
        raise FormatError(msg)
    return shape, fortran, dtype


def _member(path: str, zf: zipfile.ZipFile, name: str):
    """``name`` as a memmap (stored member) or an :class:`_NpyStream` (compressed, C order)."""
    info = zf.getinfo(name)
    if info.compress_type != zipfile.ZIP_STORED:
        fh = zf.open(name)
        shape, fortran, dtype = _read_header(path, fh, name)
        if fortran or len(shape) == 0:
            fh.close()
            with zf.open(name) as whole:
                return np.lib.format.read_array(whole)
        return _NpyStream(path, fh, shape, dtype)
    with open(path, "rb") as fh:
        # local file header: 30 fixed bytes, then name and extra field of their own lengths
        fh.seek(info.header_offset)
        head = fh.read(30)
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        data_start = info.header_offset + 30 + name_len + extra_len
        fh.seek(data_start)
        shape, fortran, dtype = _read_header(path, fh, name)
        offset = fh.tell()
        _check_crc(path, fh, name, data_start, info)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")


def _check_crc(path: str, fh, name: str, start: int, info: zipfile.ZipInfo) -> None:
    """The zip's CRC-32 of a stored member, which a memory map would otherwise bypass.

    One streaming pass over the member (16 MiB at a time), so a flipped bit is an error, not a
    changed value.

    Raises:
        FormatError: the member is shorter than recorded, or its CRC-32 differs.
    """
    fh.seek(start)
    crc, left = 0, info.compress_size
    while left:
        buf = fh.read(min(left, 1 << 24))
        if not buf:
            msg = f"{path}: member {name} ends {left} bytes early: the file is truncated"
            raise FormatError(msg)
        crc = zlib.crc32(buf, crc)
        left -= len(buf)
    if crc != info.CRC:
        msg = (
            f"{path}: member {name} fails its CRC-32 check (recorded {info.CRC:08x}, read {crc:08x}): "
            "the file is damaged"
        )
        raise FormatError(msg)


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
        msg = f"{path}: unknown PDG id {int(pid[bad][0])}, expected one of ±{list(known)}"
        raise FormatError(msg)
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
