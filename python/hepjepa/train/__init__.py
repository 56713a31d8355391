"""JEPA pretraining (DDP/torchrun-compatible), with exact resume and logs."""

from hepjepa.train.pretrain import PretrainConfig, effective_rank, load_config, lr_at, pretrain

__all__ = ["PretrainConfig", "effective_rank", "load_config", "lr_at", "pretrain"]
