"""JEPA masking: strategies (one per file), the collator, and the shared ``apply_masks``."""

from hepjepa.masks.apply import apply_masks
from hepjepa.masks.collator import STRATEGIES, JEPACollator
from hepjepa.masks.contiguous_blocks import contiguous_order, greedy_sequence
from hepjepa.masks.random_blocks import random_order

__all__ = ["JEPACollator", "STRATEGIES", "apply_masks", "contiguous_order", "greedy_sequence", "random_order"]
