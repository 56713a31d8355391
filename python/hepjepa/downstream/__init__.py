"""Downstream tasks: heads, taggers, label-fraction splits, metrics, fine-tuning, evaluation, probes.

Heavy submodules (torch, sklearn, matplotlib) are imported where used.
"""

from __future__ import annotations

__all__ = ["heads", "metrics", "splits", "tagger"]
