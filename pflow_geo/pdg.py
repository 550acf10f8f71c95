"""Electric charge of particles from their PDG Monte Carlo numbering scheme id."""

from __future__ import annotations

import numpy as np

__all__ = ["charge"]

# Charges in units of e for the positive PDG id of common long-lived particles;
# the antiparticle (negative id) has the opposite charge.
_CHARGE_BY_ID: dict[int, int] = {
    11: -1, 12: 0, 13: -1, 14: 0, 15: -1, 16: 0,  # leptons
    22: 0, 23: 0, 24: 1, 25: 0,  # gauge and Higgs bosons
    111: 0, 211: 1, 113: 0, 213: 1, 221: 0, 223: 0, 331: 0, 333: 0,  # light mesons
    130: 0, 310: 0, 311: 0, 321: 1, 313: 0, 323: 1,  # kaons
    411: 1, 421: 0, 431: 1, 511: 0, 521: 1, 531: 0,  # charm and bottom mesons
    2212: 1, 2112: 0, 3122: 0, 3222: 1, 3212: 0, 3112: -1, 3322: 0, 3312: -1, 3334: -1,  # baryons
    2224: 2, 2214: 1, 2114: 0, 1114: -1,  # Delta baryons
}


def _quark_charge_thirds(flavour: np.ndarray) -> np.ndarray:
    """Return quark charges in units of e/3: +2 for u, c, t (2, 4, 6), -1 for d, s, b (1, 3, 5), 0 for no quark."""
    return np.where(flavour == 0, 0, np.where(flavour % 2 == 0, 2, -1))


def charge(pdg_id: np.ndarray | int) -> np.ndarray:
    """Return the charge in units of e for each PDG id (int8 array).

    Ids in the table above use it. Other hadrons follow the quark content of
    the PDG numbering scheme (mesons: digits n_q2 n_q3, baryons: n_q1 n_q2
    n_q3, with up-type quarks at +2/3 and down-type quarks at -1/3). Nuclei (10LZZZAAAI) get Z. Other ids, such as generator-internal
    codes, get charge 0.
    """
    pdg_id = np.asarray(pdg_id, dtype=np.int64)
    magnitude = np.abs(pdg_id)
    sign = np.where(pdg_id < 0, -1, 1)
    result = np.zeros(pdg_id.shape, dtype=np.int64)

    known = np.isin(magnitude, list(_CHARGE_BY_ID))
    if known.any():
        lookup = np.vectorize(_CHARGE_BY_ID.__getitem__, otypes=[np.int64])
        result[known] = lookup(magnitude[known]) * sign[known]

    other = ~known & (magnitude > 100) & (magnitude < 1_000_000)
    if other.any():
        digits = [(magnitude[other] // 10**place) % 10 for place in (3, 2, 1)]
        q1, q2, q3 = (_quark_charge_thirds(d) for d in digits)
        baryon = digits[0] > 0
        # A meson's positive id holds an up-type heavier quark as the quark and a
        # down-type heavier quark as the antiquark, hence the flip for odd q2.
        meson = np.where(digits[1] % 2 == 1, q3 - q2, q2 - q3)
        thirds = np.where(baryon, q1 + q2 + q3, meson)
        result[other] = (thirds // 3) * sign[other]

    # Nuclei are 10LZZZAAAI: the charge is ZZZ.
    nucleus = magnitude >= 1_000_000_000
    result[nucleus] = ((magnitude[nucleus] // 10_000) % 1000) * sign[nucleus]
    return result.astype(np.int8)
