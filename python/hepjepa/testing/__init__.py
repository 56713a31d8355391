"""Testing utilities shipped with hepjepa (as ``numpy.testing`` is): the bounded fuzz campaign.

``python -m hepjepa.testing.fuzz --cases 300`` runs it; ``tests/testing/test_fuzz.py`` runs a few hundred
cases per target and ``python -m benchmarks.fuzz_campaign`` the long campaign.
"""
