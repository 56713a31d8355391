"""The main analysis job ``hepjepa tag``: bundled sample, coffea run, histograms, plots, summary.

Public API::

    from hepjepa.analysis import bundled_sample, run_tag, TagInputError
"""

from hepjepa.analysis._sample import bundled_sample, cache_dir
from hepjepa.analysis.tag_cli import TagInputError, run_tag

__all__ = ["TagInputError", "bundled_sample", "cache_dir", "run_tag"]
