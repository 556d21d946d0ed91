"""The `tkit` entry point: the click group, and the one place user mistakes become a one-line error."""
from __future__ import annotations

import os
import signal
import sys


def _exit_at_startup(signum: int, frame: object) -> None:
    """Ctrl-C or SIGTERM while tkit is still importing: nothing is written yet, so say so in one line and leave
    at once (an exception raised inside the import machinery would end in its own traceback)."""
    word = "interrupted" if signum == signal.SIGINT else "terminated"
    os.write(2, f"tkit: error: {word}\n".encode())
    os._exit(128 + signum)


def _is_entry_point() -> bool:
    """Run as the `tkit` command (or `python -m cli.main`), not imported by a program or a test."""
    return __name__ == "__main__" or os.path.basename(sys.argv[0]) == "tkit"


if _is_entry_point():  # the CLI's own process-wide setting, until main() installs the working handlers
    for _sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(_sig, _exit_at_startup)

import importlib
import threading
import warnings
from collections.abc import Callable

import click

from cli import console
from tokenizers_kit import stop_request
from tokenizers_kit.errors import TkitError
from tokenizers_kit.stop_request import Terminated

# Each module adds its commands to `app` (or `train`) with a `register(app, train)` function.
COMMAND_MODULES = [
    "cli.tokenize_cmd",
    "cli.count_cmd",
    "cli.train_tokenizer",
    "cli.train_ngram",
    "cli.train_neural",
    "cli.eval_cmd",
    "cli.sample_cmd",
    "cli.demo_cmd",
    "cli.build_binary_cmd",
    "cli.finetune_cmd",
    "cli.mlm_cmd",
    "cli.word2vec_cmd",
    "cli.seq2seq_cmd",
    "cli.translate_cmd",
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tokenizers-kit")
    except PackageNotFoundError:
        return "0+unknown"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(_version(), "--version", prog_name="tkit")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or summaries (errors still print).")
def app(quiet: bool) -> None:
    """tkit: train tokenizers and language models, then sample Shakespeare-style text.

    Files may be '-' for stdin/stdout. Run `tkit COMMAND --help` for each command.
    """
    console.set_quiet(quiet)


@app.group()
def train() -> None:
    """Train a tokenizer or a language model."""


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name == name:  # a command whose issue has not landed yet
                continue
            raise
        module.register(app, train)


# click >= 8.2 raises this for a bare `tkit` or `tkit train` (8.1 prints the help and returns 0 itself)
NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", None)


def _fail(message: str, code: int) -> "NoReturn":  # noqa: F821
    click.echo(f"tkit: error: {message}", err=True)
    sys.exit(code)


def _on_signal(signum: int, frame: object) -> None:
    """SIGINT and SIGTERM while a command runs: unwind with KeyboardInterrupt or Terminated, and remember the
    signal in case the exception is swallowed where it lands (tokenizers_kit.stop_request)."""
    stop_request.request(signum)
    raise stop_request.exception_for(signum)


def _quiet_lost_stop(previous: Callable) -> Callable:
    """An unraisable-exception hook that keeps quiet about a stop's exception swallowed where it landed (an
    at-fork hook, a `__del__`): the stop is pending and the run ends as asked; anything else goes to `previous`."""
    def hook(unraisable) -> None:
        if isinstance(unraisable.exc_value, (KeyboardInterrupt, Terminated)) and stop_request.pending():
            return
        previous(unraisable)
    return hook


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; turn user mistakes into one line on stderr and a non-zero exit, never a traceback."""
    _register_all()  # run as `tkit`, still under the startup handlers
    if threading.current_thread() is not threading.main_thread():  # signals can only be set there
        _run(argv)
        return
    # the CLI's own process-wide settings, undone on the way out (tests run main() in-process)
    stop_request.clear()
    previous_int = signal.getsignal(signal.SIGINT)
    if previous_int in (_exit_at_startup, signal.default_int_handler):  # not if SIGINT is ignored (`cmd &`)
        signal.signal(signal.SIGINT, _on_signal)  # Ctrl-C now unwinds and cleans up
    previous_term = signal.signal(signal.SIGTERM, _on_signal)
    previous_hook, sys.unraisablehook = sys.unraisablehook, _quiet_lost_stop(sys.unraisablehook)
    try:
        _run(argv)
    finally:
        sys.unraisablehook = previous_hook
        if signal.getsignal(signal.SIGINT) is _on_signal:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous_term is _exit_at_startup else previous_term)
        stop_request.clear()


def _run(argv: list[str] | None) -> None:
    with warnings.catch_warnings():
        # overflow in a diverging run is reported by the trainer in one line, not as NumPy warnings
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"(neural|ngram|tokenizers_kit)(\.|$)")
        _run_app(argv)


def _run_app(argv: list[str] | None) -> None:
    try:
        code = app.main(args=argv, prog_name="tkit", standalone_mode=False)
        stop_request.raise_if_pending()  # a stop whose exception was swallowed still ends the run as asked
        if isinstance(code, int) and code:
            sys.exit(code)
    except click.UsageError as err:
        if NO_ARGS_IS_HELP is not None and isinstance(err, NO_ARGS_IS_HELP):
            click.echo(err.ctx.get_help() if err.ctx else str(err), err=True)
            sys.exit(2)
        hint = f" (see `{err.ctx.command_path} --help`)" if err.ctx else ""
        _fail(f"{err.format_message()}{hint}", 2)
    except click.Abort:
        _fail("interrupted", 130)  # click turns Ctrl-C into Abort
    except click.ClickException as err:
        _fail(err.format_message(), err.exit_code or 1)
    except TkitError as err:
        _fail(str(err), getattr(err, "exit_code", 1))
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Terminated:
        _fail("terminated", 143)
    except BrokenPipeError:
        # `tkit ... | head`: the reader left; exit quietly as other Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except MemoryError:
        _fail("out of memory: use a smaller corpus, order or model (or --prune for n-grams)", 1)
    except OSError as err:
        where = f" {err.filename!r}" if err.filename else ""
        _fail(f"{err.strerror or err}{where}", 1)


if __name__ == "__main__":
    main()
