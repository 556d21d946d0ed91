"""`tkit train mlm` (a BERT-style masked LM on FILES with a WordPiece tokenizer) and `tkit fill-mask MODEL TEXT`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import numpy as np

from cli import console
from cli.options import require_tokenizer
from cli.train_neural import (
    _default_checkpoint,
    _summary,
    _train_options,
    train_and_save,
)
from neural import load_model
from neural.checkpoint import load_checkpoint
from neural.data import random_batch, split_stream
from neural.model_file_checks import checked_config
from neural.trainer import TrainConfig, Trainer
from neural.training_budget import require_training_fits
from tokenizers_kit.atomic import check_output_dir
from tokenizers_kit.corpus import read_text, require_nonempty
from tokenizers_kit.errors import TkitError

MLM_TRAIN = dict(batch_size=16, steps=2000, lr=1e-3, min_lr=1e-4, warmup=100, optimizer="adamw",
                 weight_decay=0.01, beta2=0.99, grad_clip=1.0, val_every=250, eval_batches=20)


def _train_mlm(model_opts: dict[str, Any], opts: dict[str, Any]) -> None:
    from neural.mlm import (  # loaded when the command runs
        MaskedLM,
        frame_ids,
        vocabulary_of,
    )

    files, output = list(opts.pop("files")), opts.pop("output")
    checkpoint = opts.pop("checkpoint") or _default_checkpoint(output)
    log_path, plot_path, half, resume = opts.pop("log_path"), opts.pop("plot_path"), opts.pop("half"), opts.pop("resume")
    tok_file, tok_name = opts.pop("tokenizer_file"), opts.pop("tokenizer_name")
    if plot_path is None and log_path:
        plot_path = str(Path(log_path).with_suffix(".svg"))
    inputs = [*files, tok_file, tok_name]
    for path in (output, log_path, plot_path):
        if path:
            check_output_dir(path, inputs=[*inputs, resume])
    check_output_dir(checkpoint, inputs=inputs)
    if not str(output).lower().endswith(".npz"):
        raise TkitError(f"-o {output}: a neural model is saved as .npz; give a name ending in .npz")
    if Path(checkpoint).resolve() == Path(output).resolve():
        raise TkitError("--checkpoint and -o name the same file: give the checkpoint another name")
    require_nonempty(files)
    if resume:
        ckpt = load_checkpoint(resume)
        if not isinstance(ckpt.model, MaskedLM):
            raise TkitError(f"{resume} is a checkpoint of a {ckpt.model.FORMAT} model: resume it with its own command")
        model = ckpt.model
        train_cfg = TrainConfig.from_dict(ckpt.trainer["config"])
    else:
        tokenizer = require_tokenizer(tok_file, tok_name)
        cls_id, sep_id, mask_id = frame_ids(tokenizer)
        vocab = vocabulary_of(tokenizer)
        seed = opts["seed"] if opts["seed"] is not None else 1337
        config = {**{k: v for k, v in model_opts.items() if v is not None}, "seed": seed, "cls_id": cls_id,
                  "sep_id": sep_id, "mask_id": mask_id}
        train_cfg = TrainConfig.from_dict({**MLM_TRAIN, **{k: v for k, v in opts.items() if v is not None},
                                           "seed": seed})
        try:
            cfg = checked_config(MaskedLM, config, len(vocab), memory=False)
        except TkitError as err:
            raise TkitError(f"bad model options: {err}") from None
        model = None
    ids = np.asarray((model.tokenizer if model else tokenizer).encode_ids(read_text(files)), dtype=np.int32)
    train_ids, val_ids = split_stream(ids, train_cfg.val_fraction)
    if model is None:
        random_batch(train_ids, 1, cfg.block_size, np.random.default_rng(0))
        require_training_fits(MaskedLM, cfg, train_cfg.batch_size, train_cfg.optimizer, ["batch_size"])
        model = MaskedLM(cfg, vocab, tokenizer)
        trainer = Trainer(model, train_ids, val_ids, train_cfg, checkpoint)
    else:
        try:
            trainer = Trainer.resume(ckpt, train_ids, val_ids, checkpoint, steps=opts.get("steps"))
        except TkitError as err:
            raise TkitError(f"cannot resume from checkpoint {resume}: {err}") from None

    def attach(on_step, on_checkpoint):  # noqa: ANN001, ANN202 (the shared loop's callbacks)
        trainer.on_step, trainer.on_checkpoint = on_step, on_checkpoint
        return trainer

    _, result, seconds = train_and_save(model, attach, output, half, log_path, plot_path)
    console.info(_summary(model, result, output, seconds, len(train_ids), len(val_ids)).replace(
        "nats/token", "nats per masked token"))


@click.command("fill-mask")
@click.argument("model_path", metavar="MODEL")
@click.argument("text")
@click.option("--top-k", type=click.IntRange(min=1), default=5, show_default=True, help="fillers per [MASK]")
@click.option("--json", "as_json", is_flag=True,
              help='print {"predictions": [...]} (one list per [MASK] when there are several)')
def fill_mask_command(model_path: str, text: str, top_k: int, as_json: bool) -> None:
    """The most probable fillers of each [MASK] in TEXT under the masked LM MODEL (`tkit train mlm`)."""
    from neural.mlm import MaskedLM, fill_mask

    model = load_model(model_path)
    if not isinstance(model, MaskedLM):
        raise TkitError(f"{model_path} is not a masked LM (train one with `tkit train mlm`)")
    predictions = fill_mask(model, text, top_k)
    if as_json:
        click.echo(json.dumps({"predictions": predictions[0] if len(predictions) == 1 else predictions},
                              ensure_ascii=False))
        return
    for i, entries in enumerate(predictions):
        for e in entries:
            prefix = f"{i}\t" if len(predictions) > 1 else ""
            click.echo(f"{prefix}{e['prob']:.6f}\t{e['id']}\t{e['token']}")


def register(app: click.Group, train: click.Group) -> None:
    @train.command("mlm")
    @_train_options(MLM_TRAIN)
    @click.option("--n-layer", type=click.IntRange(min=1), default=None, help="encoder blocks [default: 4]")
    @click.option("--n-head", type=click.IntRange(min=1), default=None, help="attention heads [default: 4]")
    @click.option("--n-embd", type=click.IntRange(min=1), default=None, help="model width [default: 128]")
    @click.option("--mask-prob", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
                  help="share of the tokens chosen for the loss (80/10/10 [MASK]/random/kept) [default: 0.15]")
    def train_mlm(n_layer: int | None, n_head: int | None, n_embd: int | None, mask_prob: float | None,
                  **opts: Any) -> None:
        """Train a BERT-style masked LM (bidirectional Transformer encoder, NumPy) on FILES with a WordPiece
        tokenizer (-t) that has [MASK], [CLS] and [SEP]. Windows of --block-size tokens (default 128) are framed
        [CLS] ... [SEP]; the MLM head is tied to the token embeddings."""
        if n_embd and n_head and n_embd % n_head:
            raise click.BadParameter(f"--n-embd ({n_embd}) must be divisible by --n-head ({n_head})",
                                     param_hint="--n-embd")
        model_opts = dict(n_layer=n_layer, n_head=n_head, n_embd=n_embd, mask_prob=mask_prob,
                          block_size=opts.pop("block_size"), dropout=opts.pop("dropout"))
        _train_mlm(model_opts, opts)

    app.add_command(fill_mask_command)

