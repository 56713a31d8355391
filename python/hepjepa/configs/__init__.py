"""Packaged YAML configs (pretrain_tiny, pretrain_small, pretrain_base)."""
