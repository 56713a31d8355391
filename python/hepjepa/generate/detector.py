"""A simple, documented detector response applied to final-state particles before clustering.

Per particle type (numbers in docs/generator.md):
- charged (tracker): sigma(pT)/pT = 0.0001 * pT[GeV] (+) 0.005, threshold pT > 0.5 GeV;
- photons, electrons (ECAL): sigma(E)/E = 3% / sqrt(E) (+) 0.3%, threshold E > 0.5 GeV;
- neutral hadrons (HCAL): sigma(E)/E = 100% / sqrt(E) (+) 5%, threshold E > 1 GeV,
  and (eta, phi) smeared by a Gaussian of 0.02 (HCAL granularity);
- muons: as charged tracks. Everything outside |eta| < 2.5 (tracker) for charged
  particles becomes nothing (no tracking); neutrals are kept up to |eta| < 5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DetectorConfig", "apply_detector"]


@dataclass(frozen=True)
class DetectorConfig:
    """Resolution and threshold parameters (GeV)."""

    track_a: float = 1e-4  # sigma(pT)/pT term proportional to pT
    track_b: float = 5e-3
    track_min_pt: float = 0.5
    track_max_eta: float = 2.5
    ecal_stoch: float = 0.03
    ecal_const: float = 0.003
    ecal_min_e: float = 0.5
    hcal_stoch: float = 1.0
    hcal_const: float = 0.05
    hcal_min_e: float = 1.0
    hcal_angle: float = 0.02
    max_eta: float = 5.0


def apply_detector(pt, eta, phi, mass, pid, charge, rng: np.random.Generator, config: DetectorConfig = DetectorConfig()):
    """Smear flat particle arrays and apply thresholds.

    Args:
        pt, eta, phi, mass, pid, charge: flat arrays of equal length (one entry per particle).
        rng: seeded generator (the block's), so the response is reproducible.
        config: resolutions and thresholds.

    Returns:
        (pt, eta, phi, mass, keep) with ``keep`` a boolean mask of particles that pass.
    """
    pt = np.asarray(pt, np.float64).copy()
    eta = np.asarray(eta, np.float64).copy()
    phi = np.asarray(phi, np.float64).copy()
    mass = np.asarray(mass, np.float64)
    apid = np.abs(np.asarray(pid))
    charged = np.asarray(charge) != 0
    photon_like = (apid == 22) | (apid == 11)
    neutral_had = ~charged & ~photon_like
    track = charged & ~(apid == 11)
    e = np.sqrt((pt * np.cosh(eta)) ** 2 + mass**2)
    n = len(pt)
    g = rng.standard_normal((3, n))  # one draw per particle per quantity: reproducible whatever the mask

    # tracks: relative pT resolution grows with pT
    rel_t = np.hypot(config.track_a * pt, config.track_b)
    # ECAL / HCAL: stochastic (+) constant, applied to energy -> pT at fixed eta
    rel_e = np.hypot(config.ecal_stoch / np.sqrt(np.maximum(e, 1e-9)), config.ecal_const)
    rel_h = np.hypot(config.hcal_stoch / np.sqrt(np.maximum(e, 1e-9)), config.hcal_const)
    rel = np.where(track, rel_t, np.where(photon_like, rel_e, rel_h))
    scale = np.maximum(1.0 + rel * g[0], 0.0)
    pt = pt * scale
    eta = np.where(neutral_had, eta + config.hcal_angle * g[1], eta)
    phi = np.where(neutral_had, phi + config.hcal_angle * g[2], phi)
    phi = (phi + np.pi) % (2 * np.pi) - np.pi
    e_new = e * scale
    keep = np.where(track, (pt > config.track_min_pt) & (np.abs(eta) < config.track_max_eta),
                    np.where(photon_like, e_new > config.ecal_min_e, e_new > config.hcal_min_e))
    keep &= np.abs(eta) < config.max_eta
    return pt, eta, phi, mass, keep
