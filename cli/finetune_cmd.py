"""`tkit finetune BASE.npz FILES...`: continue training a tkit Transformer on new text, with LoRA adapters
(the base frozen) or, with `--lora-rank 0`, every weight.

OUT is the merged model (a plain Transformer every command loads) or, with `--adapter-only`, the adapters
and the base's hash (`tkit sample BASE --adapter OUT`). Training runs through the shared Trainer, so
checkpoints, Ctrl-C and `--resume` behave as in `tkit train`.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np

from cli import console
from cli.options import FiniteFloat
from cli.train_neural import _default_checkpoint, _write_logs
from neural import load_model
from neural.alloc import keep_freed_memory
from neural.checkpoint import load_checkpoint
from neural.data import random_batch, split_stream
from neural.trainable import TrainableLM
from neural.trainer import (
    StepInfo,
    TrainConfig,
    Trainer,
    TrainingInterrupted,
    TrainResult,
)
from neural.training_budget import require_training_fits
from tokenizers_kit.atomic import check_output_dir
from tokenizers_kit.corpus import read_text, require_nonempty
from tokenizers_kit.errors import TkitError

if TYPE_CHECKING:  # the model modules load when a command runs, not when tkit starts
    from neural.transformer import TransformerLM

FINETUNE_TRAIN = dict(batch_size=12, steps=300, min_lr=1e-4, warmup=20, optimizer="adamw", weight_decay=0.0,
                      beta2=0.99, grad_clip=1.0, val_every=50, eval_batches=10)
LORA_LR, FULL_LR = 2e-3, 3e-4  # adapters start at zero and are few: they take a larger step


def _targets(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from neural.lora_model import parse_targets

    try:
        return ",".join(parse_targets(value))
    except ValueError as err:
        raise click.BadParameter(str(err)) from None


@click.command("finetune")
@click.argument("base_path", metavar="BASE.npz")
@click.argument("files", nargs=-1, required=True, metavar="FILES...")
@click.option("--lora-rank", type=click.IntRange(min=0), default=8, show_default=True, metavar="R",
              help="rank of the LoRA adapters; 0 = full fine-tuning (every weight trains)")
@click.option("--lora-alpha", type=FiniteFloat(min=0, min_open=True), default=None, metavar="A",
              help="adapter scale alpha / r [default: 2 r]")
@click.option("--lora-targets", default="attn", show_default=True, callback=_targets,
              help="projections to adapt, comma-separated: attn (c_attn, c_proj), mlp (c_fc, c_proj)")
@click.option("--adapter-only", is_flag=True, help="write only the adapters and the base's hash, not a merged model")
@click.option("--steps", type=click.IntRange(min=1), default=None, help=f"[default: {FINETUNE_TRAIN['steps']}]")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="[default: 12]")
@click.option("--lr", type=FiniteFloat(min=0, min_open=True), default=None,
              help=f"peak learning rate [default: {LORA_LR:g} with LoRA, {FULL_LR:g} full]")
@click.option("--min-lr", type=FiniteFloat(min=0), default=None, help="end of the cosine decay [default: lr / 10]")
@click.option("--warmup", type=click.IntRange(min=0), default=None, help="[default: 20]")
@click.option("--weight-decay", type=FiniteFloat(min=0), default=None, help="[default: 0]")
@click.option("--seed", type=click.IntRange(min=0), default=1337, show_default=True,
              help="adapter initialisation and batches")
@click.option("--val-fraction", type=FiniteFloat(0, 1, max_open=True), default=None,
              help="the last part of the text held out for validation [default: 0.1]")
@click.option("--val-every", type=click.IntRange(min=0), default=None, help="[default: 50]")
@click.option("--eval-batches", type=click.IntRange(min=0), default=None, help="[default: 10]")
@click.option("--checkpoint", default=None, metavar="CKPT", help="[default: OUT with .ckpt.npz]")
@click.option("--checkpoint-every", type=click.IntRange(min=0), default=None)
@click.option("--resume", default=None, metavar="CKPT", help="continue a fine-tuning run (same BASE and FILES)")
@click.option("--log", "log_path", default=None, metavar="LOG", help="loss per step as CSV (or .jsonl)")
@click.option("--plot", "plot_path", default=None, metavar="SVG", help="loss curve as SVG")
@click.option("-o", "--output", required=True, metavar="OUT.npz")
def finetune_command(base_path: str, files: tuple[str, ...], lora_rank: int, lora_alpha: float | None,
                     lora_targets: str, adapter_only: bool, output: str, **opts: Any) -> None:
    """Fine-tune the Transformer BASE.npz on FILES (with its own tokenizer and vocabulary)."""
    from neural.adapter_files import base_hash, save_adapter
    from neural.lora_model import LoRATransformerLM, full_finetune_model, lora_from_base
    from neural.transformer import TransformerLM

    if adapter_only and lora_rank == 0:
        raise click.BadParameter("--adapter-only needs LoRA adapters: give --lora-rank 1 or more",
                                 param_hint="--lora-rank")
    checkpoint, resume = opts.pop("checkpoint") or _default_checkpoint(output), opts.pop("resume")
    log_path, plot_path = opts.pop("log_path"), opts.pop("plot_path")
    if plot_path is None and log_path:
        plot_path = str(Path(log_path).with_suffix(".svg"))
    inputs = [*files, base_path]
    for path in (output, log_path, plot_path):
        if path:
            check_output_dir(path, inputs=[*inputs, resume])
    check_output_dir(checkpoint, inputs=inputs)
    if not str(output).lower().endswith(".npz"):
        raise TkitError(f"-o {output}: the fine-tuned model is saved as .npz; give a name ending in .npz")
    if Path(checkpoint).resolve() == Path(output).resolve():
        raise TkitError("--checkpoint and -o name the same file: give the checkpoint another name")
    require_nonempty(list(files))

    base = _base_model(base_path)
    try:
        ids = base.vocab.encode(base.tokenizer.tokenize(read_text(list(files))))
    except ValueError as err:  # a vocabulary without <unk> meets a token it lacks
        raise TkitError(f"BASE {base_path} cannot read FILES ({err}): fine-tune on text in its vocabulary") from None
    seed, alpha = opts.pop("seed"), lora_alpha if lora_alpha is not None else 2.0 * lora_rank
    lr = opts["lr"] or (LORA_LR if lora_rank else FULL_LR)
    train_cfg = TrainConfig.from_dict({**FINETUNE_TRAIN, "min_lr": lr / 10,
                                       **{k: v for k, v in opts.items() if v is not None}, "lr": lr, "seed": seed})
    train_ids, val_ids = split_stream(ids, train_cfg.val_fraction)
    random_batch(train_ids, 1, base.block_size, np.random.default_rng(0))  # too little text: one clear error
    require_training_fits(TransformerLM, base.cfg, train_cfg.batch_size, train_cfg.optimizer, ["batch_size"])
    digest = base_hash(base)

    if resume:
        trainer = _resumed(resume, base, digest, lora_rank, train_ids, val_ids, checkpoint, opts.get("steps"))
    else:
        model = (lora_from_base(base, lora_rank, alpha, lora_targets, seed, digest) if lora_rank
                 else full_finetune_model(base, seed))
        trainer = Trainer(model, train_ids, val_ids, train_cfg, checkpoint)
    model = trainer.model
    result = _train(trainer, log_path, plot_path)
    model.eval()
    if adapter_only:
        save_adapter(output, model)  # type: ignore[arg-type]
    else:
        (model.merged() if isinstance(model, LoRATransformerLM) else model).save(output)
    _write_logs(result.history, log_path, plot_path, model)
    console.info(_summary(model, result, output, adapter_only, len(train_ids), len(val_ids)))


def _base_model(path: str) -> TransformerLM:
    from neural.transformer import TransformerLM

    model = load_model(path)
    if type(model) is not TransformerLM:
        kind = getattr(model, "FORMAT", "") or type(model).__name__
        raise TkitError(f"BASE {path} is a {kind} model: tkit finetune starts from a Transformer "
                        "(train one with `tkit train transformer`)")
    return model


def _resumed(resume: str, base: TransformerLM, digest: str, rank: int, train_ids: np.ndarray,
             val_ids: np.ndarray, checkpoint: str, steps: int | None) -> Trainer:
    from neural.lora_model import LoRATransformerLM
    from neural.transformer import TransformerLM

    ckpt = load_checkpoint(resume)
    model = ckpt.model
    lora = isinstance(model, LoRATransformerLM)
    if type(model) not in (LoRATransformerLM, TransformerLM) or lora != bool(rank):
        raise TkitError(f"{resume} is not a checkpoint of a {'LoRA' if rank else 'full'} fine-tuning run: give "
                        "the same --lora-rank as the run that wrote it")
    if lora and model.cfg.base_hash != digest:
        raise TkitError(f"checkpoint {resume} was fine-tuned from another base: give the BASE it started from")
    try:
        return Trainer.resume(ckpt, train_ids, val_ids, checkpoint, steps=steps)
    except TkitError as err:
        raise TkitError(f"cannot resume from checkpoint {resume}: {err}") from None


def _train(trainer: Trainer, log_path: str | None, plot_path: str | None) -> TrainResult:
    keep_freed_memory()
    model = trainer.model
    trainer.on_checkpoint = lambda history: _write_logs(history, log_path, plot_path, model)
    with console.progress(f"fine-tuning {model.name}", trainer.cfg.steps) as bar:
        def on_step(info: StepInfo) -> None:
            bar.update(completed=info.step, description=f"loss {info.loss:.4f} · {info.tokens_per_s:,.0f} tok/s")

        trainer.on_step = on_step
        bar.update(completed=trainer.step)
        try:
            return trainer.run()
        except TrainingInterrupted:
            _write_logs(trainer.history, log_path, plot_path, model)
            raise


def parameter_counts(model: TrainableLM) -> tuple[int, int]:
    """(trainable, total) parameters."""
    from neural.lora_model import LoRATransformerLM

    trainable = sum(p.size for _, p in model.named_parameters())
    total = model.total_parameters() if isinstance(model, LoRATransformerLM) else trainable
    return trainable, total


def _summary(model: TrainableLM, r: TrainResult, output: str, adapter_only: bool, n_train: int, n_val: int) -> str:
    trainable, total = parameter_counts(model)
    val = f", val {r.val_loss:.4f}" if r.val_loss is not None else ""
    what = "adapters" if adapter_only else "merged model"
    return (f"fine-tuned {model.name}: {trainable:,} trainable of {total:,} parameters "
            f"({100 * trainable / total:.2f}%), {r.steps} steps in {r.seconds:.1f}s ({r.tokens_per_s:,.0f} tok/s): "
            f"train loss {r.train_loss:.4f}{val} nats/token on {n_train:,}/{n_val:,} train/val tokens "
            f"-> {what} {output}")


def register(app: click.Group, train: click.Group) -> None:
    app.add_command(finetune_command)
