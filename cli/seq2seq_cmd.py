"""`tkit train seq2seq PAIRS.tsv...`: train an encoder-decoder (Transformer, or GRU/LSTM with additive
attention) on `source<TAB>target` lines, with the training options every neural model shares."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np

from cli import console
from cli.options import load_text_tokenizer, require_tokenizer
from cli.train_neural import (
    _default_checkpoint,
    _resume_conflicts,
    _train_options,
    train_and_save,
)
from neural.checkpoint import load_checkpoint
from neural.model_file_checks import build_bytes, checked_config
from neural.seq2seq import Seq2SeqModel
from neural.seq2seq_data import Pair, build_vocab, pack, read_pairs, split_pairs
from neural.seq2seq_trainer import Seq2SeqTrainer
from neural.trainer import TrainConfig
from neural.training_budget import require_training_fits
from tokenizers_kit.atomic import check_output_dir
from tokenizers_kit.corpus import require_nonempty
from tokenizers_kit.errors import TkitError
from tokenizers_kit.simple import TextTokenizer

# Defaults that learn small string transformations without tuning (a None option means "use these").
SEQ2SEQ_TRAIN = dict(batch_size=64, steps=2000, lr=2e-3, min_lr=1e-4, warmup=200, optimizer="adamw",
                     weight_decay=0.01, beta2=0.98, grad_clip=1.0, val_every=250, eval_batches=10)


def register(app: click.Group, train: click.Group) -> None:
    @train.command("seq2seq")
    @_train_options(SEQ2SEQ_TRAIN)
    @click.option("--source-tokenizer", metavar="TOKENIZER", help="tokenizer of the source side (file or built-in)")
    @click.option("--target-tokenizer", metavar="TOKENIZER", help="tokenizer of the target side (file or built-in)")
    @click.option("--arch", type=click.Choice(["transformer", "gru", "lstm"]), default=None,
                  help="Transformer encoder-decoder, or a GRU/LSTM one with additive attention [default: transformer]")
    @click.option("--n-layer", type=click.IntRange(min=1), default=None, help="encoder (and decoder) layers [default: 2]")
    @click.option("--n-head", type=click.IntRange(min=1), default=None, help="Transformer heads [default: 4]")
    @click.option("--n-embd", type=click.IntRange(min=1), default=None,
                  help="Transformer width / RNN embedding size [default: 128]")
    @click.option("--hidden-size", type=click.IntRange(min=1), default=None, help="RNN hidden size [default: 256]")
    @click.option("--max-source-len", type=click.IntRange(min=1), default=None,
                  help="longest source in tokens [default: the longest in PAIRS]")
    @click.option("--max-target-len", type=click.IntRange(min=1), default=None,
                  help="longest target in tokens [default: the longest in PAIRS]")
    def train_seq2seq(source_tokenizer: str | None, target_tokenizer: str | None, **opts: Any) -> None:
        """Train a sequence-to-sequence model on PAIRS.tsv files of `source<TAB>target` lines.

        Teacher forcing, padding masked out; a random --val-fraction of the pairs (default 10%) is held out.
        Tokenizers: -t/--tokenizer for both sides (default char), or --source-tokenizer and
        --target-tokenizer (e.g. char -> whitespace for grapheme-to-phoneme). Translate with `tkit translate`.
        """
        if opts.pop("block_size") is not None:
            raise click.UsageError("--block-size does not apply to seq2seq: use --max-source-len/--max-target-len")
        files = opts.pop("files")
        model_keys = ("arch", "n_layer", "n_head", "n_embd", "hidden_size", "max_source_len", "max_target_len",
                      "dropout")
        model_opts = {k: opts.pop(k) for k in model_keys}
        _run(list(files), model_opts, opts, source_tokenizer, target_tokenizer)


def _tokenizers(opts: dict[str, Any], source: str | None, target: str | None) -> tuple[TextTokenizer, TextTokenizer]:
    file, name = opts.pop("tokenizer_file"), opts.pop("tokenizer_name")
    if (source or target) and (file or name):
        raise click.UsageError("give -t/--tokenizer or --source-tokenizer/--target-tokenizer, not both")
    if source or target:
        both = require_tokenizer(None, None, default="char")
        return (load_text_tokenizer(source) if source else both, load_text_tokenizer(target) if target else both)
    tok = require_tokenizer(file, name, default="char")
    return tok, tok


def _run(files: list[str], model_opts: dict[str, Any], opts: dict[str, Any], source: str | None,
         target: str | None) -> None:
    output = opts.pop("output")
    checkpoint = opts.pop("checkpoint") or _default_checkpoint(output)
    log_path, plot_path, half, resume = opts.pop("log_path"), opts.pop("plot_path"), opts.pop("half"), opts.pop("resume")
    if plot_path is None and log_path:
        plot_path = str(Path(log_path).with_suffix(".svg"))
    given_tok = [opts.get("tokenizer_file"), opts.get("tokenizer_name"), source, target]
    for path in (output, log_path, plot_path):
        if path:
            check_output_dir(path, inputs=[*files, *given_tok, resume])
    check_output_dir(checkpoint, inputs=[*files, *given_tok])
    if not str(output).lower().endswith(".npz"):
        raise TkitError(f"-o {output}: a neural model is saved as .npz; give a name ending in .npz")
    if Path(checkpoint).resolve() == Path(output).resolve():
        raise TkitError("--checkpoint and -o name the same file: give the checkpoint another name")
    require_nonempty(files)
    if resume:
        model, trainer = _resumed(resume, files, model_opts, opts, source, target, checkpoint)
    else:
        model, trainer = _fresh(files, model_opts, opts, source, target, checkpoint)
    _train(model, trainer, output, half, log_path, plot_path)


def _fresh(files, model_opts, opts, source, target, checkpoint):
    src_tok, tgt_tok = _tokenizers(opts, source, target)
    pairs = read_pairs(files, src_tok, tgt_tok)
    vocab = build_vocab(pairs)
    seed = opts["seed"] if opts["seed"] is not None else 1337
    config = {k: v for k, v in model_opts.items() if v is not None}
    config.setdefault("max_source_len", max(len(p.source) for p in pairs))
    config.setdefault("max_target_len", max(len(p.target) for p in pairs))
    config["seed"] = seed
    train_cfg = TrainConfig.from_dict({**SEQ2SEQ_TRAIN, **{k: v for k, v in opts.items() if v is not None},
                                       "seed": seed})
    cls = _model_class(config.get("arch", "transformer"))
    try:
        cfg = checked_config(cls, config, len(vocab), memory=False)
    except TkitError as err:
        raise TkitError(f"bad model options: {err}") from None
    train_rows, val_rows = _rows(pairs, vocab, cfg, train_cfg)
    given = [k for k in (*model_opts, "batch_size") if {**model_opts, **opts}.get(k) is not None]
    require_training_fits(cls, cfg, train_cfg.batch_size, train_cfg.optimizer, given)
    model = cls(cfg, vocab, src_tok, tgt_tok)
    return model, lambda on_step, on_ckpt: Seq2SeqTrainer(model, train_rows, val_rows, train_cfg, checkpoint,
                                                          on_step, on_ckpt)


def _resumed(resume, files, model_opts, opts, source, target, checkpoint):
    ckpt = load_checkpoint(resume)
    model = ckpt.model
    if not isinstance(model, Seq2SeqModel):
        raise TkitError(f"{resume} is a checkpoint of a {model.FORMAT} model, not a seq2seq one: resume it with "
                        "the matching `tkit train` command")
    tok_file, tok_name = opts.pop("tokenizer_file"), opts.pop("tokenizer_name")
    conflicts = _resume_conflicts(ckpt, {**model_opts, **opts}, tok_file, tok_name)
    for flag, given, have in (("--source-tokenizer", source, model.tokenizer),
                              ("--target-tokenizer", target, model.target_tokenizer)):
        if given and load_text_tokenizer(given).to_spec() != have.to_spec():
            conflicts.append(f"another {flag[2:]} (not {given})")
    if conflicts:
        raise TkitError(f"checkpoint {resume} was trained with {', '.join(conflicts)}: drop these options "
                        "(a resumed run keeps its checkpoint's) or start a new run without --resume")
    train_cfg = TrainConfig.from_dict(ckpt.trainer["config"])
    require_training_fits(type(model), model.cfg, train_cfg.batch_size, train_cfg.optimizer, ["batch_size"],
                          held=build_bytes(type(model), model.cfg))
    pairs = read_pairs(files, model.tokenizer, model.target_tokenizer)
    train_rows, val_rows = _rows(pairs, model.vocab, model.cfg, train_cfg)

    def factory(on_step, on_ckpt):
        try:
            return Seq2SeqTrainer.resume(ckpt, train_rows, val_rows, checkpoint, on_step, steps=opts.get("steps"),
                                         on_checkpoint=on_ckpt)
        except TkitError as err:
            raise TkitError(f"cannot resume from checkpoint {resume}: {err}") from None
    return model, factory


def _rows(pairs: list[Pair], vocab, cfg, train_cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    train, val = split_pairs(pairs, train_cfg.val_fraction, train_cfg.seed)
    s, t = cfg.max_source_len, cfg.max_target_len
    return pack(train, vocab, s, t), pack(val, vocab, s, t)


def _model_class(arch: str) -> type[Seq2SeqModel]:
    if arch == "transformer":
        from neural.seq2seq_transformer import TransformerSeq2Seq

        return TransformerSeq2Seq
    from neural.seq2seq_rnn import RNNSeq2Seq

    return RNNSeq2Seq


def _train(model: Seq2SeqModel, factory, output: str, half: bool, log_path, plot_path) -> None:
    trainer, result, seconds = train_and_save(model, factory, output, half, log_path, plot_path, rate=False)
    val = f", val {result.val_loss:.4f}" if result.val_loss is not None else ""
    console.info(f"trained {model.name} ({model.num_parameters():,} params) for {result.steps} steps in "
                 f"{seconds:.1f}s: train loss {result.train_loss:.4f}{val} nats/token on "
                 f"{len(trainer.train_ids):,}/{len(trainer.val_ids):,} train/val pairs -> {output}")
