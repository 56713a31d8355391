"""Heads over a backbone's token tensor (B, T, D) with a token mask (B, T) (1 = real, 0 = padding).

- ``ClassAttentionHead``: 2 class-attention blocks (CaiT; ParT's class-attention stage) + MLP.
- ``LinearHead``: one linear layer over the pooled (mean + max of real tokens) embedding.
- ``RegressionHead``: MLP over the pooled embedding to jet-level targets
  (jet mass, soft-drop mass, tau21, tau32).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from hepjepa.config import Config, ConfigError
from hepjepa.contract import MASK_NEG
from hepjepa.errors import UserInputError

__all__ = [
    "HeadConfig",
    "ClassAttentionHead",
    "LinearHead",
    "RegressionHead",
    "REGRESSION_TARGETS",
    "build_head",
    "masked_pool",
]

#: Targets of the regression head, in output order.
REGRESSION_TARGETS: tuple[str, ...] = ("jet_mass", "jet_sdmass", "tau21", "tau32")

_NEG = MASK_NEG  # the contract's additive mask for padding: finite, so ONNX and fp16 stay NaN-free


@dataclass
class HeadConfig(Config):
    """Head settings, saved with every tagger checkpoint.

    Attributes:
        kind: "class_attention", "linear" or "regression".
        num_heads: attention heads of the class-attention blocks.
        num_blocks: class-attention blocks (2 as ParT/HEP-JEPA).
        mlp_ratio: hidden width of block MLPs / embed_dim.
        hidden: width of the final MLP (class-attention and regression heads).
        dropout: dropout before the final layer.
    """

    kind: str = "class_attention"
    num_heads: int = 4
    num_blocks: int = 2
    mlp_ratio: float = 4.0
    hidden: int = 128
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            msg = f"head kind must be one of {sorted(_KINDS)}, got {self.kind!r}"
            raise ConfigError(msg)
        if self.num_blocks < 1 or self.num_heads < 1:
            msg = f"num_blocks and num_heads must be >= 1, got {self.num_blocks}, {self.num_heads}"
            raise ConfigError(msg)


def masked_pool(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Concatenate the mean and the max of the real tokens.

    Args:
        tokens: (B, T, D).
        mask: (B, T), 1 = real, 0 = padding.

    Returns:
        (B, 2D) pooled embedding; padding never contributes.
    """
    m = mask.to(tokens.dtype).unsqueeze(-1)  # (B, T, 1)
    mean = (tokens * m).sum(1) / m.sum(1).clamp(min=1.0)  # (B, D)
    mx = (tokens + (1.0 - m) * _NEG).max(1).values  # (B, D)
    return torch.cat([mean, mx], dim=-1)  # (B, 2D)


class _ClassAttentionBlock(nn.Module):
    """Pre-norm block in which only the class token attends (to itself and the real tokens)."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float) -> None:
        super().__init__()
        if dim % num_heads:
            msg = f"embed dim {dim} is not divisible by num_heads {num_heads}"
            raise UserInputError(msg)
        self.h, self.dh = num_heads, dim // num_heads
        self.norm1 = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, cls: torch.Tensor, tokens: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        # cls (B, 1, D); tokens (B, T, D); bias (B, 1, 1, 1+T) additive, _NEG at padding
        B, T, D = tokens.shape
        x = self.norm1(torch.cat([cls, tokens], dim=1))  # (B, 1+T, D)
        q = self.q(x[:, 0]).reshape(B, 1, self.h, self.dh).transpose(1, 2)  # (B, h, 1, dh)
        # Linears on 2-D views: exported, each is one Gemm with its bias folded in
        k, v = self.kv(x.reshape(-1, D)).reshape(B, 1 + T, 2, self.h, self.dh).permute(2, 0, 3, 1, 4)  # 2 x (B, h, 1+T, dh)
        att = (q @ k.transpose(-2, -1)) * self.dh**-0.5 + bias  # (B, h, 1, 1+T)
        out = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, 1, D)  # (B, 1, D)
        cls = cls[:, 0] + self.proj(out[:, 0])  # (B, D)
        return (cls + self.mlp(self.norm2(cls))).unsqueeze(1)  # (B, 1, D)


class ClassAttentionHead(nn.Module):
    """Class token refined by class-attention blocks over the tokens, then an MLP to logits.

    Args:
        embed_dim: D of the incoming tokens.
        n_out: number of outputs (classes).
        config: HeadConfig.
    """

    def __init__(self, embed_dim: int, n_out: int, config: HeadConfig | None = None) -> None:
        super().__init__()
        cfg = config or HeadConfig()
        self.cls = nn.Parameter(torch.zeros(1, 1, embed_dim))
        nn.init.trunc_normal_(self.cls, std=0.02)
        self.blocks = nn.ModuleList(_ClassAttentionBlock(embed_dim, cfg.num_heads, cfg.mlp_ratio) for _ in range(cfg.num_blocks))
        self.norm = nn.LayerNorm(embed_dim)
        self.mlp = nn.Sequential(nn.Linear(embed_dim, cfg.hidden), nn.GELU(), nn.Dropout(cfg.dropout), nn.Linear(cfg.hidden, n_out))

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # tokens (B, T, D); mask (B, T) 1 = real
        B = tokens.shape[0]
        keep = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)  # (B, 1+T): class token always real
        bias = ((1.0 - keep.to(tokens.dtype)) * _NEG)[:, None, None, :]  # (B, 1, 1, 1+T)
        cls = self.cls.expand(B, -1, -1)  # (B, 1, D)
        for blk in self.blocks:
            cls = blk(cls, tokens, bias)
        return self.mlp(self.norm(cls[:, 0]))  # (B, n_out)


class LinearHead(nn.Module):
    """A linear layer over the mean+max pooled embedding (a linear probe you can fine-tune through)."""

    def __init__(self, embed_dim: int, n_out: int, config: HeadConfig | None = None) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(2 * embed_dim)
        self.fc = nn.Linear(2 * embed_dim, n_out)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # tokens (B, T, D); mask (B, T) -> (B, n_out)
        return self.fc(self.norm(masked_pool(tokens, mask)))


class RegressionHead(nn.Module):
    """MLP over the pooled embedding to jet-level regression targets (``REGRESSION_TARGETS``)."""

    def __init__(self, embed_dim: int, n_out: int = len(REGRESSION_TARGETS), config: HeadConfig | None = None) -> None:
        super().__init__()
        cfg = config or HeadConfig(kind="regression")
        self.mlp = nn.Sequential(
            nn.LayerNorm(2 * embed_dim), nn.Linear(2 * embed_dim, cfg.hidden), nn.GELU(), nn.Dropout(cfg.dropout), nn.Linear(cfg.hidden, n_out)
        )

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # tokens (B, T, D); mask (B, T) -> (B, n_out)
        return self.mlp(masked_pool(tokens, mask))


_KINDS = {"class_attention": ClassAttentionHead, "linear": LinearHead, "regression": RegressionHead}


def build_head(config: HeadConfig, embed_dim: int, n_out: int) -> nn.Module:
    """The head named by ``config.kind`` for ``embed_dim``-wide tokens and ``n_out`` outputs."""
    return _KINDS[config.kind](embed_dim, n_out, config)
