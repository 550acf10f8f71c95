"""Offsets-and-values access to jagged awkward arrays.

The reader works on whole chunks with numpy. Going through the layouts
directly costs microseconds per branch, where high-level awkward calls such
as ``ak.num`` and ``ak.flatten`` cost about a millisecond each, and a chunk
touches more than fifty branches.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

__all__ = ["Jagged", "unpack", "pack"]


class Jagged:
    """A jagged array as nested offsets and flat values.

    Attributes:
        offsets: One int64 offsets array per list level, outermost first.
            ``offsets[k]`` starts at 0 and has one more entry than there are
            lists at level ``k``.
        values: The innermost values as a numpy array.
    """

    def __init__(self, offsets: list[np.ndarray], values: np.ndarray) -> None:
        self.offsets = offsets
        self.values = values

    def counts(self, level: int = 0) -> np.ndarray:
        """Return the length of every list at ``level`` (0 is the outermost list axis)."""
        return np.diff(self.offsets[level])


def unpack(array: ak.Array) -> Jagged:
    """Split an array of lists (of lists...) of numbers into offsets and values.

    Every list level is normalised to offsets starting at 0, whatever the
    layout uproot produced (offsets, starts/stops or indexed lists).
    """
    layout = ak.to_layout(array)
    offsets = []
    while not isinstance(layout, ak.contents.NumpyArray):
        if isinstance(layout, (ak.contents.IndexedArray, ak.contents.IndexedOptionArray, ak.contents.UnmaskedArray)):
            layout = layout.project() if not isinstance(layout, ak.contents.UnmaskedArray) else layout.content
            continue
        if isinstance(layout, ak.contents.RegularArray):
            layout = layout.to_ListOffsetArray64(False)
        elif isinstance(layout, ak.contents.ListArray):
            layout = layout.to_ListOffsetArray64(True)
        if not isinstance(layout, ak.contents.ListOffsetArray):
            raise TypeError(f"expected a jagged array of numbers, got layout {type(layout).__name__}")
        level = np.asarray(layout.offsets.data, dtype=np.int64)
        start, stop = int(level[0]), int(level[-1])
        offsets.append(level - start)
        layout = layout.content[start:stop]
    return Jagged(offsets, np.asarray(layout.data))


def pack(offsets: np.ndarray, content: ak.contents.Content | np.ndarray) -> ak.contents.ListOffsetArray:
    """Wrap ``content`` (a layout or a numpy array) into lists given by int64 ``offsets``."""
    if isinstance(content, np.ndarray):
        content = ak.contents.NumpyArray(content)
    return ak.contents.ListOffsetArray(ak.index.Index64(np.asarray(offsets, dtype=np.int64)), content)
