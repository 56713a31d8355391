"""JEPA pretraining: build, load, loop. DDP when launched with torchrun, plain on one CPU otherwise."""

from __future__ import annotations

import csv
import json
import math
import os
import random
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hepjepa.config import Config, ConfigError, from_dict, to_dict
from hepjepa.errors import UserInputError
from hepjepa.features.config import TokenizerConfig
from hepjepa.model.config import JEPAConfig

__all__ = ["PretrainConfig", "DataConfig", "MaskConfig", "OptimConfig", "RunConfig", "lr_at", "effective_rank", "pretrain", "load_config", "weights_sha256"]


@dataclass
class DataConfig(Config):
    train: list[str] = field(default_factory=list)  # jet files (any supported format)
    chunk_size: int = 512  # jets read at once
    buffer_size: int = 2048  # shuffle buffer (jets)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)


@dataclass
class MaskConfig(Config):
    strategy: str = "contiguous"
    target_scale: list[float] = field(default_factory=lambda: [0.15, 0.2])
    n_targets: int = 1
    context_scale: list[float] = field(default_factory=lambda: [0.85, 1.0])


@dataclass
class OptimConfig(Config):
    batch_size: int = 64  # per rank
    total_steps: int = 1000
    warmup_steps: int = 100
    lr: float = 1e-3
    min_lr: float = 1e-5
    weight_decay: float = 0.05
    grad_clip: float = 1.0
    amp: str = "bf16"  # bf16 | fp16 | none; only used on CUDA


@dataclass
class RunConfig(Config):
    out_dir: str = "runs/pretrain"
    seed: int = 0
    checkpoint_every: int = 100
    log_every: int = 10
    deterministic: bool = False
    stop_at: int | None = None  # stop (as if killed) after this step, for resume tests
    progress: bool = True
    collapse_std: float = 0.01  # warn when target-embedding std falls below


@dataclass
class PretrainConfig(Config):
    model: JEPAConfig = field(default_factory=JEPAConfig)
    data: DataConfig = field(default_factory=DataConfig)
    masks: MaskConfig = field(default_factory=MaskConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    run: RunConfig = field(default_factory=RunConfig)


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> PretrainConfig:
    """YAML file (or a packaged config name like ``pretrain_tiny``) + ``key.sub=value`` overrides."""
    import yaml

    data: dict = {}
    if path is not None:
        p = Path(path)
        if not p.exists():
            from importlib.resources import files

            p = Path(str(files("hepjepa.configs").joinpath(f"{Path(path).stem}.yaml")))
            if not p.exists():
                msg = f"config {str(path)!r} is neither a file nor a packaged config (hepjepa/configs/*.yaml)"
                raise FileNotFoundError(msg)
        data = yaml.safe_load(p.read_text()) or {}
    for item in overrides or []:
        if "=" not in item:
            msg = f"override {item!r}: expected key.sub=value"
            raise ConfigError(msg)
        key, val = item.split("=", 1)
        d = data
        parts = key.split(".")
        for k in parts[:-1]:
            d = d.setdefault(k, {})
        d[parts[-1]] = yaml.safe_load(val)
    return from_dict(PretrainConfig, data)


def lr_at(step: int, cfg: OptimConfig) -> float:
    """Linear warm-up then cosine decay to min_lr (pure function of the step)."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if step >= cfg.total_steps:
        return cfg.min_lr
    frac = (step - cfg.warmup_steps) / max(1, cfg.total_steps - cfg.warmup_steps)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * frac))


def effective_rank(emb: torch.Tensor, eps: float = 1e-12) -> float:
    """exp(entropy) of the normalised singular values (Roy & Vetterli 2007). emb (n, D)."""
    if emb.shape[0] < 2:
        return float("nan")
    s = torch.linalg.svdvals((emb - emb.mean(0)).float())
    p = s / s.sum().clamp_min(eps)
    return float(torch.exp(-(p * torch.log(p.clamp_min(eps))).sum()))


def _check_run_folder(out: Path, ckpt_path: Path, resume: bool) -> None:
    """A run folder is resumed or refused, never silently overwritten.

    Raises:
        UserInputError: ``resume`` without a checkpoint, or a checkpoint there without ``resume``.
    """
    if resume and not ckpt_path.is_file():
        msg = f"--resume: run folder {str(out)!r} has no checkpoint.pt to continue from"
        raise UserInputError(msg)
    if not resume and ckpt_path.is_file():
        msg = (
            f"run folder {str(out)!r} already holds a checkpoint.pt: pass --resume to continue that run, "
            "or set run.out_dir=<a new folder> (nothing is overwritten)"
        )
        raise UserInputError(msg)


def pretrain(cfg: PretrainConfig, resume: bool = False) -> dict[str, Any]:
    """Run (or resume) pretraining. Returns a summary dict (final loss, jets/s, paths)."""
    import torch.distributed as dist

    from hepjepa.masks import JEPACollator
    from hepjepa.model.checkpoint import load_checkpoint, save_checkpoint
    from hepjepa.model.jepa import JEPA, ema_momentum
    from hepjepa.train._stream import JetStream

    # ---- build (refuse first: every rank checks before any process group or file exists)
    _check_run_folder(Path(cfg.run.out_dir), Path(cfg.run.out_dir) / "checkpoint.pt", resume)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    ddp = world > 1
    device = torch.device("cpu")
    if ddp:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    rank = dist.get_rank() if ddp else 0
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if cfg.run.deterministic:
        torch.use_deterministic_algorithms(True)
    _seed_all(cfg.run.seed + rank)
    tok_cfg = cfg.data.tokenizer
    if len(tok_cfg.feature_names) != cfg.model.backbone.num_features:
        msg = f"model.backbone.num_features={cfg.model.backbone.num_features} but the tokenizer makes {len(tok_cfg.feature_names)} features {tok_cfg.feature_names}"
        raise UserInputError(msg)
    torch.manual_seed(cfg.run.seed)  # same initial weights on every rank
    model = JEPA(cfg.model).to(device)
    _seed_all(cfg.run.seed + rank)
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.optim.weight_decay}, {"params": no_decay, "weight_decay": 0.0}], lr=cfg.optim.lr)
    stream = JetStream(cfg.data.train, tok_cfg, cfg.data.chunk_size, cfg.data.buffer_size, cfg.run.seed, rank, world)
    collate = JEPACollator(cfg.masks.strategy, tuple(cfg.masks.target_scale), cfg.masks.n_targets, tuple(cfg.masks.context_scale), seed=cfg.run.seed + 104729 * rank)
    out = Path(cfg.run.out_dir)
    ckpt_path, log_rows, start = out / "checkpoint.pt", [], 0
    out.mkdir(parents=True, exist_ok=True)

    # ---- load
    if resume:
        ck = load_checkpoint(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        rs = torch.load(out / f"state_rank{rank}.pt", weights_only=False)
        stream.load_state_dict(rs["stream"])
        collate.load_state_dict(rs["collator"])
        _set_rng(rs["rng"])
        start, log_rows = ck["step"], ck["log"]
    from hepjepa.model.config import save_yaml

    if rank == 0:
        save_yaml(cfg, out / "config.yaml")
    net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) if ddp else model
    amp = device.type == "cuda" and cfg.optim.amp != "none"
    amp_dtype = torch.bfloat16 if cfg.optim.amp == "bf16" else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=amp and amp_dtype == torch.float16)

    # ---- loop
    total = cfg.optim.total_steps
    stop = total if cfg.run.stop_at is None else min(total, int(cfg.run.stop_at))
    if rank == 0:
        n_bb = sum(p.numel() for p in model.context_encoder.parameters()) if hasattr(model, "context_encoder") else None
        n_all = sum(p.numel() for p in params)
        print(f"pretrain: {len(cfg.data.train)} file(s) [{stream.describe()}]; model {n_all / 1e6:.2f}M trainable parameters"
              + (f" (encoder {n_bb / 1e6:.2f}M)" if n_bb is not None else "")
              + f"; batch {cfg.optim.batch_size} x {world} rank(s) on {device}; steps {start} -> {stop} of {total}"
              + (" (resumed)" if resume else ""), flush=True)
    bar = _bar(range(start, stop), cfg.run.progress and rank == 0, start, total)
    t0, n_jets = time.perf_counter(), 0
    for step in bar:
        batch = {k: v.to(device) for k, v in collate(stream.next_batch(cfg.optim.batch_size)).items()}
        lr = lr_at(step, cfg.optim)
        for g in opt.param_groups:
            g["lr"] = lr
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp):
            loss, mon = net(batch)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        gnorm = torch.nn.utils.clip_grad_norm_(params, cfg.optim.grad_clip)
        scaler.step(opt)
        scaler.update()
        model.update_target(ema_momentum(step, total, cfg.model.ema_start, cfg.model.ema_end))
        n_jets += cfg.optim.batch_size * world
        elapsed = time.perf_counter() - t0
        jps = n_jets / max(elapsed, 1e-9)
        # logged numbers are means over ranks, so the log does not depend on which rank writes it
        mean = torch.stack([loss.detach().float(), mon["target_std"].detach().float()]).cpu()
        if ddp:
            dist.all_reduce(mean)
            mean /= world
        row = {"step": step + 1, "loss": float(mean[0]), "lr": lr, "grad_norm": float(gnorm), "target_std": float(mean[1]),
               "effective_rank": effective_rank(mon["target_emb"]), "jets_per_s": jps, "time_s": elapsed}
        log_rows.append(row)
        if rank == 0 and hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{row['loss']:.4f}", jets_s=f"{jps:.0f}")
        elif rank == 0 and ((step + 1) % cfg.run.log_every == 0 or step == start):
            print(f"step {step + 1}/{total} loss {row['loss']:.4f} lr {lr:.2e} {jps:.1f} jets/s", flush=True)
        if row["target_std"] < cfg.run.collapse_std and rank == 0:
            warnings.warn(f"REPRESENTATION COLLAPSE? step {step + 1}: std of target embeddings {row['target_std']:.2e} < {cfg.run.collapse_std} (effective rank {row['effective_rank']:.2f})", RuntimeWarning, stacklevel=1)
        if (step + 1) % cfg.run.checkpoint_every == 0 or step + 1 == stop:
            _checkpoint(cfg, model, opt, stream, collate, step + 1, log_rows, rank, out, save_checkpoint)
    if rank == 0:
        _write_logs(out, log_rows)
    if ddp:
        dist.destroy_process_group()
    return {"steps": len(log_rows), "final_loss": log_rows[-1]["loss"] if log_rows else float("nan"), "out_dir": str(out),
            "checkpoint": str(ckpt_path), "rank": rank, "world_size": world, "jets_per_s": log_rows[-1]["jets_per_s"] if log_rows else float("nan"),
            "weights_sha256": weights_sha256(model)}


def weights_sha256(model: torch.nn.Module) -> str:
    """SHA-256 of every parameter and buffer (names, dtypes, bytes): equal on all DDP ranks after training."""
    import hashlib

    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes() if t.dtype != torch.bfloat16 else t.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()


def _checkpoint(cfg, model, opt, stream, collate, step, log_rows, rank, out, save_checkpoint) -> None:
    import torch.distributed as dist

    from hepjepa.atomic import atomic_path

    with atomic_path(out / f"state_rank{rank}.pt", suffix=".pt") as tmp:
        torch.save({"stream": stream.state_dict(), "collator": collate.state_dict(), "rng": _get_rng(), "step": step}, tmp)
    if dist.is_initialized():
        dist.barrier()
    if rank == 0:
        save_checkpoint(out / "checkpoint.pt", {"config": to_dict(cfg), "model": model.state_dict(), "optimizer": opt.state_dict(), "step": step, "log": list(log_rows)})


def _seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _get_rng() -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def _set_rng(s: dict) -> None:
    random.setstate(s["python"])
    np.random.set_state(s["numpy"])
    torch.set_rng_state(s["torch"])
    if s.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


def _bar(it, enabled: bool, start: int, total: int):
    if not enabled:
        return it
    from tqdm import tqdm

    return tqdm(it, initial=start, total=total, desc="pretrain", unit="step")


def _write_logs(out: Path, rows: list[dict]) -> None:
    from hepjepa.atomic import atomic_path

    if not rows:
        return
    with atomic_path(out / "log.csv") as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with atomic_path(out / "log.json") as tmp:
        tmp.write_text(json.dumps(rows, indent=1))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mplhep

    plt.style.use(mplhep.style.CMS)
    fig, ax = plt.subplots(figsize=(8, 6))
    ax.plot([r["step"] for r in rows], [r["loss"] for r in rows])
    ax.set_xlabel("step")
    ax.set_ylabel("JEPA loss (smooth L1)")
    ax.set_yscale("log")
    with atomic_path(out / "loss.png") as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)
