"""ELU+1 kernel (linear) attention (Katharopoulos et al. 2020): O(T D^2) memory, no pairwise bias."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor, bias: torch.Tensor | None,
           eps: float = 1e-6) -> torch.Tensor:
    """q, k, v (B, H, T, Dh); key_mask (B, T) 1 = real; padded keys contribute nothing. Returns (B, H, T, Dh)."""
    if bias is not None:
        msg = "the linear attention backend cannot take a pairwise bias; set pair_bias=False"
        raise ValueError(msg)
    q = F.elu(q) + 1.0
    k = (F.elu(k) + 1.0) * key_mask[:, None, :, None]  # (B, H, T, Dh), padded keys -> 0
    kv = torch.einsum("bhtd,bhte->bhde", k, v)  # (B, H, Dh, Dh)
    z = 1.0 / (torch.einsum("bhtd,bhd->bht", q, k.sum(dim=2)) + eps)  # (B, H, T)
    return torch.einsum("bhtd,bhde->bhte", q, kv) * z.unsqueeze(-1)  # (B, H, T, Dh)


def _backend():
    from hepjepa.model.backends import Backend

    return Backend(attend=attend, takes_bias=False, doc="O(T) memory, never forms the T x T matrix: no pairwise bias")


BACKEND = _backend()
