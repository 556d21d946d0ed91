"""`tkit train transformer`, `tkit train rnn` and `tkit train cnn`: train a NumPy neural language model on
FILES.

The commands share the training options (schedule, optimizer, validation, checkpoints, logs); they differ
in the model options and in their defaults (nanoGPT's CPU recipe for the Transformer, an Adam-trained
LSTM for the RNN, AdamW for the gated causal CNN).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from cli import console
from cli.options import FiniteFloat, require_tokenizer, tokenizer_options
from neural.alloc import keep_freed_memory
from neural.checkpoint import load_checkpoint
from neural.data import StreamBatcher, random_batch, split_stream
from neural.model_file_checks import build_bytes, checked_config
from neural.trainable import TrainableLM
from neural.trainer import (
    StepInfo,
    TrainConfig,
    Trainer,
    TrainingInterrupted,
    TrainResult,
    write_history_plot,
    write_loss_log,
)
from neural.training_budget import require_training_fits
from ngram.vocab import UNK, Vocabulary
from tokenizers_kit.atomic import check_output_dir
from tokenizers_kit.corpus import read_text, require_nonempty
from tokenizers_kit.errors import TkitError
from tokenizers_kit.simple import TextTokenizer

# Training defaults per model kind (a None option means "use these").
TRANSFORMER_TRAIN = dict(batch_size=12, steps=2000, lr=1e-3, min_lr=1e-4, warmup=100, optimizer="adamw",
                         weight_decay=0.1, beta2=0.99, grad_clip=1.0, val_every=250, eval_batches=20)
RNN_TRAIN = dict(batch_size=32, steps=2000, lr=2e-3, min_lr=2e-4, warmup=0, optimizer="adam",
                 weight_decay=0.0, beta2=0.999, grad_clip=5.0, val_every=250, eval_batches=20)
CNN_TRAIN = dict(batch_size=32, steps=2000, lr=2e-3, min_lr=2e-4, warmup=50, optimizer="adamw",
                 weight_decay=0.01, beta2=0.99, grad_clip=1.0, val_every=250, eval_batches=20)
TRAIN_KEYS = ("batch_size", "steps", "lr", "min_lr", "warmup", "optimizer", "weight_decay", "beta2",
              "grad_clip", "val_every", "eval_batches", "checkpoint_every", "seed", "val_fraction")


def build_vocab(tokens: list[str]) -> Vocabulary:
    """The sorted distinct tokens of the training text, then `<unk>` (unseen tokens at eval/sample time map
    to it instead of failing)."""
    distinct = sorted(set(tokens) - {UNK})
    return Vocabulary([*distinct, UNK])


def _train_options(defaults: dict[str, Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options both commands share; `defaults` only feeds the help text (None means the default)."""
    d = defaults
    opts = [
        click.argument("files", nargs=-1, required=True, metavar="FILES..."),
        tokenizer_options,
        click.option("--block-size", type=click.IntRange(min=1), default=None, metavar="T",
                     help="context length (Transformer) / TBPTT window (RNN) / training window (CNN) "
                          "[default: 64]"),
        click.option("--batch-size", type=click.IntRange(min=1), default=None, metavar="B",
                     help=f"windows per step [default: {d['batch_size']}]"),
        click.option("--steps", type=click.IntRange(min=1), default=None, metavar="N",
                     help=f"optimizer steps in total; with --resume, may extend the run [default: {d['steps']}]"),
        click.option("--lr", type=FiniteFloat(min=0, min_open=True), default=None,
                     help=f"peak learning rate [default: {d['lr']:g}]"),
        click.option("--min-lr", type=FiniteFloat(min=0), default=None,
                     help=f"end of the cosine decay [default: {d['min_lr']:g}]"),
        click.option("--warmup", type=click.IntRange(min=0), default=None, metavar="N",
                     help=f"linear warmup steps [default: {d['warmup']}]"),
        click.option("--optimizer", type=click.Choice(["adamw", "adam", "sgd"]), default=None,
                     help=f"AdamW (decoupled decay), Adam (L2 decay) or SGD with momentum 0.9 "
                          f"[default: {d['optimizer']}]"),
        click.option("--weight-decay", type=FiniteFloat(min=0), default=None,
                     help=f"on 2-D weights only [default: {d['weight_decay']:g}]"),
        click.option("--beta2", type=FiniteFloat(0, 1, max_open=True), default=None,
                     help=f"Adam's second-moment decay [default: {d['beta2']:g}]"),
        click.option("--grad-clip", type=FiniteFloat(min=0), default=None,
                     help=f"clip the global gradient norm; 0 = off [default: {d['grad_clip']:g}]"),
        click.option("--dropout", type=FiniteFloat(0, 1, max_open=True), default=None,
                     help="dropout probability [default: 0]"),
        click.option("--seed", type=int, default=None, help="initialisation, batches and dropout [default: 1337]"),
        click.option("--val-fraction", type=FiniteFloat(0, 1, max_open=True), default=None,
                     help="the last part of the token stream held out for validation [default: 0.1]"),
        click.option("--val-every", type=click.IntRange(min=0), default=None, metavar="N",
                     help=f"validate every N steps and at the end; 0 = never [default: {d['val_every']}]"),
        click.option("--eval-batches", type=click.IntRange(min=0), default=None, metavar="N",
                     help=f"validation batches per evaluation [default: {d['eval_batches']}]"),
        click.option("--checkpoint", "checkpoint", default=None, metavar="CKPT",
                     help="checkpoint file (Ctrl-C saves it too) [default: MODEL with .ckpt.npz]"),
        click.option("--checkpoint-every", type=click.IntRange(min=0), default=None, metavar="N",
                     help="steps between checkpoints [default: at each validation]"),
        click.option("--resume", default=None, metavar="CKPT",
                     help="continue a run from its checkpoint (same FILES; model and training options come "
                          "from the checkpoint)"),
        click.option("--log", "log_path", default=None, metavar="LOG",
                     help="write the loss per step as CSV (or JSON Lines if LOG ends in .jsonl)"),
        click.option("--plot", "plot_path", default=None, metavar="SVG",
                     help="write the loss curve as SVG [default: LOG with .svg, when --log is given]"),
        click.option("--half", is_flag=True, help="store the model's weights as float16 (half the file; "
                                                   "loading casts back to float32)"),
        click.option("-o", "--output", required=True, metavar="MODEL.npz", help="where to write the model"),
    ]

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for opt in reversed(opts):
            func = opt(func)
        return func

    return decorate


def register(app: click.Group, train: click.Group) -> None:
    @train.command("transformer")
    @_train_options(TRANSFORMER_TRAIN)
    @click.option("--n-layer", type=click.IntRange(min=1), default=None, help="Transformer blocks [default: 4]")
    @click.option("--n-head", type=click.IntRange(min=1), default=None, help="attention heads [default: 4]")
    @click.option("--n-embd", type=click.IntRange(min=1), default=None, help="model width [default: 128]")
    @click.option("--positional", type=click.Choice(["learned", "sinusoidal"]), default=None,
                  help="positional encoding [default: learned]")
    @click.option("--bias/--no-bias", default=None, help="biases in Linear and LayerNorm [default: no, as nanoGPT]")
    def train_transformer(n_layer: int | None, n_head: int | None, n_embd: int | None, positional: str | None,
                          bias: bool | None, **opts: Any) -> None:
        """Train a decoder-only Transformer LM (GPT-2 style, NumPy) on FILES.

        Defaults are nanoGPT's CPU "baby GPT" recipe: 4 layers, 4 heads, width 128, block 64, batch 12,
        AdamW (0.9, 0.99), weight decay 0.1, warmup 100, cosine 1e-3 -> 1e-4, clip 1.0.
        The last 10% of the token stream is validation.
        """
        from neural.transformer import TransformerConfig, TransformerLM

        model_opts = dict(n_layer=n_layer, n_head=n_head, n_embd=n_embd, positional=positional, bias=bias,
                          block_size=opts.pop("block_size"), dropout=opts.pop("dropout"))
        if n_embd and n_head and n_embd % n_head:
            raise click.BadParameter(f"--n-embd ({n_embd}) must be divisible by --n-head ({n_head})",
                                     param_hint="--n-embd")
        _run(TransformerLM, TransformerConfig, model_opts, TRANSFORMER_TRAIN, opts)

    @train.command("rnn")
    @_train_options(RNN_TRAIN)
    @click.option("--cell", type=click.Choice(["elman", "gru", "lstm", "ugrnn"]), default=None,  # neural.rnn.CELLS
                  help="recurrent cell [default: lstm]")
    @click.option("--embedding-size", type=click.IntRange(min=1), default=None, help="[default: 64]")
    @click.option("--hidden-size", type=click.IntRange(min=1), default=None, help="[default: 256]")
    @click.option("--n-layer", type=click.IntRange(min=1), default=None, help="stacked cells [default: 1]")
    def train_rnn(cell: str | None, embedding_size: int | None, hidden_size: int | None, n_layer: int | None,
                  **opts: Any) -> None:
        """Train a recurrent LM (Elman, GRU, LSTM or UGRNN) with truncated BPTT on FILES.

        B parallel streams of the text are read window after window, carrying the hidden state across
        windows. Defaults: LSTM, embedding 64, hidden 256, windows of 64, batch 32, Adam 2e-3 with cosine
        decay to 2e-4, gradient norm clipped at 5. Characters are the tokens unless -t/--tokenizer says
        otherwise; the last 10% of the token stream is validation. Ctrl-C saves a checkpoint; --resume
        continues it exactly (data cursor and hidden state included).
        """
        from neural.rnn_lm import RNNConfig, RNNLanguageModel

        model_opts = dict(cell=cell, embedding_size=embedding_size, hidden_size=hidden_size, n_layer=n_layer,
                          block_size=opts.pop("block_size"), dropout=opts.pop("dropout"))
        _run(RNNLanguageModel, RNNConfig, model_opts, RNN_TRAIN, opts)

    @train.command("cnn")
    @_train_options(CNN_TRAIN)
    @click.option("--n-layer", type=click.IntRange(min=1), default=None, help="residual conv blocks [default: 4]")
    @click.option("--channels", type=click.IntRange(min=1), default=None, help="width of every block [default: 128]")
    @click.option("--kernel-size", type=click.IntRange(min=1), default=None, help="taps per convolution [default: 3]")
    @click.option("--dilations", default=None, metavar="D1,D2,...",
                  help="dilation of each layer, repeated over the layers if fewer [default: 1,2,4,8]")
    def train_cnn(n_layer: int | None, channels: int | None, kernel_size: int | None, dilations: str | None,
                  **opts: Any) -> None:
        """Train a causal convolutional LM (gated linear units, residual blocks; Dauphin et al. 2017) on FILES.

        Each block is a causal 1-D convolution (left padding only: position t never sees t+1) from C to 2C
        channels, a gated linear unit back to C, and a residual connection; dilations widen the receptive
        field (1 + (kernel-1) x the sum of the dilations). Defaults: 4 blocks of 128 channels, kernel 3,
        dilations 1,2,4,8, windows of 64, batch 32, AdamW 2e-3 (warmup 50, cosine to 2e-4), clip 1.0.
        `tkit sample` decodes with a cache of each block's last inputs.
        """
        from neural.cnn_config import default_dilations
        from neural.cnn_lm import CNNConfig, CNNLanguageModel

        if dilations is None and n_layer is not None and not opts.get("resume"):
            dilations = default_dilations(n_layer)  # 1,2,4,8 cut to fewer layers
        model_opts = dict(n_layer=n_layer, channels=channels, kernel_size=kernel_size, dilations=dilations,
                          block_size=opts.pop("block_size"), dropout=opts.pop("dropout"))
        _run(CNNLanguageModel, CNNConfig, model_opts, CNN_TRAIN, opts)


# ---- the shared flow ----------------------------------------------------------------------------------------

def _run(model_cls: type[TrainableLM], config_cls: Any, model_opts: dict[str, Any], defaults: dict[str, Any],
         opts: dict[str, Any]) -> None:
    files, output = list(opts.pop("files")), opts.pop("output")
    checkpoint = opts.pop("checkpoint") or _default_checkpoint(output)
    log_path, plot_path, half = opts.pop("log_path"), opts.pop("plot_path"), opts.pop("half")
    resume = opts.pop("resume")
    tokenizer_file, tokenizer_name = opts.pop("tokenizer_file"), opts.pop("tokenizer_name")
    if plot_path is None and log_path:
        plot_path = str(Path(log_path).with_suffix(".svg"))
    inputs = [*files, tokenizer_file, tokenizer_name]
    for path in (output, log_path, plot_path):
        if path:
            check_output_dir(path, inputs=[*inputs, resume])
    check_output_dir(checkpoint, inputs=inputs)  # a resumed run rewrites its own checkpoint
    if not str(output).lower().endswith(".npz"):
        raise TkitError(f"-o {output}: a neural model is saved as .npz; give a name ending in .npz")
    if Path(checkpoint).resolve() == Path(output).resolve():
        raise TkitError("--checkpoint and -o name the same file: give the checkpoint another name")
    require_nonempty(files)
    text = read_text(files)

    if resume:
        ckpt = load_checkpoint(resume)
        if not isinstance(ckpt.model, model_cls):
            raise TkitError(f"{resume} is a checkpoint of a {ckpt.model.FORMAT} model, not {model_cls.FORMAT}: "
                            "resume it with the matching `tkit train` command")
        conflicts = _resume_conflicts(ckpt, {**model_opts, **opts}, tokenizer_file, tokenizer_name)
        if conflicts:
            raise TkitError(f"checkpoint {resume} was trained with {', '.join(conflicts)}: drop these options "
                            "(a resumed run keeps its checkpoint's) or start a new run without --resume")
        model = ckpt.model
        train_cfg = TrainConfig.from_dict(ckpt.trainer["config"])
        require_training_fits(model_cls, model.cfg, train_cfg.batch_size, train_cfg.optimizer, ["batch_size"],
                              held=build_bytes(model_cls, model.cfg))
        try:
            train_ids, val_ids = _split(model.tokenizer, model.vocab, text, train_cfg.val_fraction)
        except ValueError as err:  # a vocabulary without <unk> meets an unknown token
            raise TkitError(f"checkpoint {resume} cannot read FILES ({err}): give the run's own FILES") from None

        def trainer_factory(on_step: Callable[[StepInfo], None], on_ckpt: Callable[..., None]) -> Trainer:
            try:
                return Trainer.resume(ckpt, train_ids, val_ids, checkpoint, on_step, steps=opts.get("steps"),
                                      on_checkpoint=on_ckpt)
            except TkitError as err:
                raise TkitError(f"cannot resume from checkpoint {resume}: {err}") from None
    else:
        tokenizer = require_tokenizer(tokenizer_file, tokenizer_name, default="char")
        tokens = tokenizer.tokenize(text)
        if len(tokens) < 2:
            raise TkitError(f"{', '.join(files)} has fewer than two tokens: give more text")
        vocab = build_vocab(tokens)
        seed = opts["seed"] if opts["seed"] is not None else 1337
        config = {k: v for k, v in model_opts.items() if v is not None}
        config["seed"] = seed
        train_cfg = TrainConfig.from_dict({**defaults, **{k: v for k, v in opts.items() if v is not None},
                                           "seed": seed})
        try:
            cfg = checked_config(model_cls, config, len(vocab), memory=False)  # the step's budget below
        except TkitError as err:  # e.g. width not divisible by heads
            raise TkitError(f"bad model options: {err}") from None
        ids = vocab.encode(tokens)
        train_ids, val_ids = split_stream(ids, train_cfg.val_fraction)
        _require_text_for(model_cls, train_ids, cfg.block_size, train_cfg.batch_size)  # the simpler fix first
        given = [k for k in (*model_opts, "batch_size") if {**model_opts, **opts}.get(k) is not None]
        require_training_fits(model_cls, cfg, train_cfg.batch_size, train_cfg.optimizer, given)
        model = model_cls(cfg, vocab, tokenizer)  # type: ignore[call-arg]
        trainer_factory = lambda on_step, on_ckpt: Trainer(  # noqa: E731
            model, train_ids, val_ids, train_cfg, checkpoint, on_step, on_ckpt)

    trainer, result, seconds = train_and_save(model, trainer_factory, output, half, log_path, plot_path)
    console.info(_summary(model, result, output, seconds, len(train_ids), len(val_ids)))


def train_and_save(model: TrainableLM, trainer_factory: Callable[..., Any], output: str, half: bool,
                   log_path: str | None, plot_path: str | None, rate: bool = True) -> tuple[Any, Any, float]:
    """The training loop every `tkit train`-like command shares: a progress bar (loss, last validation loss,
    tokens/s unless `rate` is off), logs written at each checkpoint and on Ctrl-C, the model saved at the end.
    `trainer_factory(on_step, on_checkpoint)` builds (or resumes) the trainer. Returns (trainer, result, seconds)."""
    keep_freed_memory()  # a training loop frees and reallocates the same big arrays every step
    watch = console.Stopwatch()
    bar: list[console.Tracker] = []
    last_val: list[float | None] = [None]

    def on_step(info: StepInfo) -> None:
        if info.val_loss is not None:
            last_val[0] = info.val_loss
        val = f" val {last_val[0]:.4f}" if last_val[0] is not None else ""
        speed = f" · {info.tokens_per_s:,.0f} tok/s" if rate else ""
        bar[0].update(completed=info.step, description=f"loss {info.loss:.4f}{val}{speed}")

    trainer = trainer_factory(on_step, lambda history: _write_logs(history, log_path, plot_path, model))
    with console.progress(f"training {model.name}", trainer.cfg.steps) as tracker:
        bar.append(tracker)
        tracker.update(completed=trainer.step)
        try:
            result = trainer.run()
        except TrainingInterrupted:
            _write_logs(trainer.history, log_path, plot_path, model)
            raise
    model.eval()
    model.save(output, dtype=np.float16 if half else None)
    _write_logs(result.history, log_path, plot_path, model)
    return trainer, result, watch.seconds


def _resume_conflicts(ckpt: Any, given: dict[str, Any], tokenizer_file: str | None,
                      tokenizer_name: str | None) -> list[str]:
    """The options given to a resumed run that disagree with what the checkpoint recorded, as
    "--option RECORDED (not GIVEN)"; --steps may differ (it extends the run)."""
    recorded = {**ckpt.trainer["config"], **ckpt.model.config}
    out = [f"--{k.replace('_', '-')} {recorded.get(k)} (not {v})" for k, v in given.items()
           if v is not None and k != "steps" and recorded.get(k) != v]
    if tokenizer_file or tokenizer_name:
        spec = require_tokenizer(tokenizer_file, tokenizer_name, default="char").to_spec()
        if spec != ckpt.model.tokenizer.to_spec():
            out.append(f"another tokenizer (not {tokenizer_file or tokenizer_name})")
    return out


def _require_text_for(model_cls: type[TrainableLM], train_ids: np.ndarray, block_size: int, batch_size: int) -> None:
    """CorpusError if the text is too short for one batch (what the Trainer checks, before the model is built)."""
    if model_cls.stateful:
        StreamBatcher(train_ids, batch_size, block_size)
    else:
        random_batch(train_ids, 1, block_size, np.random.default_rng(0))


def _split(tokenizer: TextTokenizer, vocab: Vocabulary, text: str, val_fraction: float):
    return split_stream(vocab.encode(tokenizer.tokenize(text)), val_fraction)


def _default_checkpoint(output: str) -> str:
    p = Path(output)
    stem = p.name[: -len(".npz")] if p.name.endswith(".npz") else p.name
    return str(p.with_name(stem + ".ckpt.npz"))


def _write_logs(history: list[dict[str, Any]], log_path: str | None, plot_path: str | None,
                model: TrainableLM) -> None:
    if log_path:
        write_loss_log(log_path, history)
    if plot_path:
        write_history_plot(plot_path, history, f"{model.name}: loss (nats/token)")


def _summary(model: TrainableLM, r: TrainResult, output: str, seconds: float, n_train: int, n_val: int) -> str:
    val = f", val {r.val_loss:.4f}" if r.val_loss is not None else ""
    best = f" (best {r.best_val_loss:.4f})" if r.best_val_loss is not None and r.best_val_loss != r.val_loss else ""
    return (f"trained {model.name} ({model.num_parameters():,} params) for {r.steps} steps in {seconds:.1f}s "
            f"({r.tokens_per_s:,.0f} tok/s): train loss {r.train_loss:.4f}{val}{best} nats/token on "
            f"{n_train:,}/{n_val:,} train/val tokens -> {output}")
