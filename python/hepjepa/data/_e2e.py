"""ML4SCI E2E quark/gluon jet-image parquet reader: non-empty pixels become pseudo-particles.

Columns: ``X_jets`` (3 x 125 x 125, channels ECAL, HCAL, tracks; stored as nested lists of
lists), ``pt``, ``m0``, ``y`` (1 = quark). Assumptions, since the images carry no units or axes:

* a pixel value is the deposited energy in GeV;
* the image is centred on the jet axis, which is put at (eta, phi) = (0, 0); rows run along eta,
  columns along phi; one pixel is taken to be one CMS ECAL barrel crystal, the granularity of
  the E2E images (Andrews et al., "End-to-End Jet Classification of Quarks and Gluons with the
  CMS Open Data", NIM A 977 (2020) 164304, arXiv:1902.08276, images built from ECAL crystal
  hits with HCAL and tracks on the same grid; only the abstract could be consulted when this
  was written, so this is the dataset's usual description, not a quote). The crystal pitch is
  fixed by the ECAL barrel geometry (CMS Collaboration, JINST 3 (2008) S08004, sec. 4:
  360-fold in phi, 2 x 85-fold in eta over |eta| < 1.479): ``PIXEL_DPHI`` = 2 pi / 360 =
  0.017453 exactly and ``PIXEL_DETA`` = 1.479 / 85 = 0.0174 on average (crystals point at the
  vertex, so the eta pitch is uniform only to about 1%); 125 pixels cover about 2.2 x 2.2;
* each pseudo-particle is massless at its pixel centre;
* flags: ECAL -> photon-like, HCAL -> neutral-hadron-like, tracks -> charged-hadron-like.
  Track charge signs are not in the images, so no ``charge`` field is returned.
"""

from __future__ import annotations

from collections.abc import Iterator

import awkward as ak
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hepjepa.contract import FLAG_FIELDS as FLAGS

from ..labels import label_index
from ._common import jagged_record
from ._errors import FormatError, check_fields

#: eta pitch of a pixel: the mean ECAL barrel crystal pitch, 1.479 / 85 (see module docstring).
PIXEL_DETA = 0.0174
#: phi pitch of a pixel: 360 ECAL barrel crystals around phi.
PIXEL_DPHI = 2 * np.pi / 360
COLUMNS = ("X_jets", "pt", "m0", "y")
#: flag set by each channel (ECAL, HCAL, tracks).
CHANNEL_FLAG = ("isPhoton", "isNeutralHadron", "isChargedHadron")


def iter_file(path: str, step_size: int, entry_start: int = 0) -> Iterator[ak.Array]:
    """Yield jets of an E2E parquet file, reading row groups in batches of at most ``step_size`` rows.

    Args:
        path: the parquet file.
        step_size: jets per chunk.
        entry_start: first jet.

    Returns:
        iterator of ``ak.Array`` records with ``label`` QCD, ``is_quark`` (from ``y``),
        ``jet_pt`` (from ``pt``) and ``jet_mass`` (from ``m0``).
    """
    try:
        pf = pq.ParquetFile(path, page_checksum_verification=True)  # CRC of each page, when the writer stored one
    except (pa.ArrowInvalid, OSError) as e:
        msg = f"{path}: not a parquet file: {e}"
        raise FormatError(msg) from e
    check_fields(path, "E2E jet-image", COLUMNS, pf.schema_arrow.names)
    seen = 0
    for batch in pf.iter_batches(batch_size=step_size, columns=list(COLUMNS)):
        n = batch.num_rows
        if seen + n <= entry_start:
            seen += n
            continue
        skip = max(entry_start - seen, 0)
        seen += n
        yield _convert(path, batch.slice(skip))


def _images(path: str, col: pa.Array) -> np.ndarray:
    n = len(col)
    vals = col
    for _ in range(3):
        if not pa.types.is_list(vals.type) and not pa.types.is_large_list(vals.type) and not pa.types.is_fixed_size_list(vals.type):
            msg = f"{path}: X_jets has type {col.type}, expected nested lists (channel, eta, phi)"
            raise FormatError(msg)
        vals = vals.flatten()
    flat = vals.to_numpy(zero_copy_only=False).astype(np.float32)
    if n == 0:
        return flat.reshape(0, 3, 1, 1)
    side = int(round(np.sqrt(flat.size / (3 * n))))
    if 3 * n * side * side != flat.size:
        msg = f"{path}: X_jets holds {flat.size} values for {n} jets, expected 3 x H x H each (e.g. 3 x 125 x 125)"
        raise FormatError(msg)
    return flat.reshape(n, 3, side, side)


def _convert(path: str, batch: pa.RecordBatch) -> ak.Array:
    img = _images(path, batch.column("X_jets"))  # (n, 3, H, W)
    n, _, h, w = img.shape
    jet, ch, row, colm = np.nonzero(img > 0)  # C order: jet-major, so particles are grouped by jet
    e = img[jet, ch, row, colm].astype(np.float64)
    eta = (row - (h - 1) / 2) * PIXEL_DETA
    phi = (colm - (w - 1) / 2) * PIXEL_DPHI
    pt = e / np.cosh(eta)
    particles = {
        "px": (pt * np.cos(phi)).astype(np.float32),
        "py": (pt * np.sin(phi)).astype(np.float32),
        "pz": (pt * np.sinh(eta)).astype(np.float32),
        "energy": e.astype(np.float32),
    }
    for f in FLAGS:
        particles[f] = np.zeros(len(e), dtype=np.float32)
    for c, f in enumerate(CHANNEL_FLAG):
        particles[f][ch == c] = 1.0
    counts = np.bincount(jet, minlength=n)
    y = batch.column("y").to_numpy(zero_copy_only=False)
    scalars = {
        "label": np.full(n, label_index("QCD"), dtype=np.int64),
        "is_quark": np.rint(y).astype(np.int64),
        "jet_pt": batch.column("pt").to_numpy(zero_copy_only=False).astype(np.float32),
        "jet_mass": batch.column("m0").to_numpy(zero_copy_only=False).astype(np.float32),
    }
    return jagged_record(counts, particles, scalars)
