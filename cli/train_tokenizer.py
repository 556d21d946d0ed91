"""`tkit train tokenizer`: train a subword tokenizer and write HF tokenizer.json."""
from __future__ import annotations

import click

from cli import console
from cli.cluster_opts import (
    client_of,
    describe,
    refuse_memory,
    scheduler_option,
    stage_bars,
)
from cli.inputs import read_once
from ngram.heap import return_freed_memory
from tokenizers_kit.atomic import check_output_dir
from tokenizers_kit.chunk_runs import check_temp_dir, parse_memory
from tokenizers_kit.corpus import corpus_bytes, require_nonempty
from tokenizers_kit.training import (
    ALGOS,
    DEFAULT_SPECIALS,
    DEFAULT_VOCAB_SIZE,
    NORMALIZATIONS,
    SP_MODELS,
    build_pipeline,
    count_chunks,
    prunable_min_count,
    resolve_specials,
    train_from_counts,
)

ALGO_HELP = ("bpe: GPT-2 byte-level BPE (lossless, no unknown tokens); wordpiece: BERT (splits on whitespace "
             "and drops it); unigram: HF Unigram with Metaspace, keeps every space (runs of spaces become '▁' "
             "pieces), no NFKC; sentencepiece: no whitespace pre-split, Unigram (or --model bpe) with byte "
             "fallback, lossless: keeps every space, no NFKC; char: one token per character. sentencepiece's own "
             "defaults (NFKC, whitespace runs collapsed, ends stripped) are --normalization sentencepiece.")


def _split_specials(values: tuple[str, ...]) -> list[str] | None:
    """--special-tokens may be repeated and/or comma- or space-separated; none given -> the algo's defaults."""
    if not values:
        return None
    return [t for v in values for part in v.split(",") for t in part.split() if t]


def register(app: click.Group, train: click.Group) -> None:
    defaults = "; ".join(f"{a}: {' '.join(s)}" for a, s in DEFAULT_SPECIALS.items())

    @train.command("tokenizer")
    @click.argument("files", nargs=-1, required=True, metavar="FILES...", callback=read_once)
    @click.option("--algo", type=click.Choice(ALGOS), required=True, help=ALGO_HELP)
    @click.option("--vocab-size", type=click.IntRange(min=1), default=None, metavar="N",
                  help=f"exact vocabulary size, special tokens included [default: {DEFAULT_VOCAB_SIZE}; "
                       "char: the corpus's characters]")
    @click.option("--min-frequency", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
                  help="bpe/wordpiece: no merge of a pair seen fewer times; unigram/sentencepiece: ignore rarer "
                       "words; char: rarer characters become <unk>")
    @click.option("--special-tokens", multiple=True, metavar="TOKENS",
                  help=f"special tokens, comma-separated or repeated (never split; first ids) [default: {defaults}]")
    @click.option("--lowercase", is_flag=True, help="lowercase the text (BERT uncased for wordpiece)")
    @click.option("--pattern", type=click.Choice(["gpt2", "gpt4"]), default="gpt2", show_default=True,
                  help="bpe: the split regex (GPT-2's, or GPT-4's cl100k)")
    @click.option("--model", "sp_model", type=click.Choice(SP_MODELS), default="unigram", show_default=True,
                  help="sentencepiece: the subword model")
    @click.option("--wordpiece-score", type=click.Choice(["likelihood", "ratio"]), default="likelihood",
                  show_default=True,
                  help="wordpiece: which pair to merge. likelihood: the largest gain in unigram log-likelihood "
                       "(the WordPiece paper's criterion; about as compact as BPE); ratio: the largest "
                       "count(ab)/(count(a)count(b)), which favours rare pieces (many more tokens)")
    @click.option("--normalization", type=click.Choice(NORMALIZATIONS), default="none", show_default=True,
                  help="normalization first; none keeps the text as it is. nfc/nfkc: that Unicode form. "
                       "unigram/sentencepiece only: nmt_nfkc is sentencepiece's rule of that name (NFKC, control "
                       "characters dropped, tabs and other spaces -> ' '); sentencepiece is sentencepiece's "
                       "default normalizer (nmt_nfkc and remove_extra_whitespaces: no leading or trailing "
                       "space, runs of spaces collapsed to one). All but none and nfc are lossy")
    @click.option("--memory", metavar="SIZE",
                  help="count within this memory budget (e.g. 500M, 2G; 16M or more): partial counts spill to "
                       "--temp-dir as sorted runs and are merged back, the same tokenizer. Bounds the counting, "
                       "not the trainer, which holds the distinct words. Default: count in memory")
    @click.option("--temp-dir", metavar="DIR", help="where --memory spills its runs (default: the system temp dir)")
    @click.option("-o", "--output", required=True, metavar="TOKENIZER.json", help="where to write tokenizer.json")
    @scheduler_option
    def train_tokenizer(files: tuple[str, ...], algo: str, vocab_size: int | None, min_frequency: int,
                        special_tokens: tuple[str, ...], lowercase: bool, pattern: str, sp_model: str,
                        normalization: str, wordpiece_score: str, memory: str | None, temp_dir: str | None,
                        output: str, scheduler: str | None) -> None:
        """Train a tokenizer on FILES ('-' for stdin) and write it as Hugging Face tokenizer.json.

        The file loads in `tokenizers.Tokenizer.from_file` and encodes exactly as tkit does.
        """
        check_output_dir(output, inputs=files)  # fail before the work, not after
        budget = None if memory is None else parse_memory(memory)
        check_temp_dir(temp_dir)
        if "-" not in files:
            require_nonempty(list(files))
        watch = console.Stopwatch()
        pipeline = build_pipeline(algo, lowercase=lowercase, pattern=pattern, normalization=normalization)
        specials = resolve_specials(algo, _split_specials(special_tokens))
        total = corpus_bytes(files) or None
        where_run = ""
        if scheduler is not None:
            refuse_memory(memory)
            from tokenizers_kit.distributed_counts import count_chunks_distributed

            with client_of(scheduler) as client, stage_bars() as bars:
                counts = count_chunks_distributed(client, list(files), pipeline, specials, progress=bars)
                where_run = f" on {describe(client)}"
        else:
            with console.progress("counting", total) as bar:
                counts = count_chunks(list(files), pipeline, specials,
                                      progress=lambda _stage, done, _total: bar.update(completed=done),
                                      memory=budget, temp_dir=temp_dir,
                                      min_count=prunable_min_count(algo, min_frequency))
        counted = watch.seconds
        if algo in ("unigram", "sentencepiece"):
            return_freed_memory()  # the Unigram trainer's blocks come and go: give their memory back (ngram.heap)
        with console.progress(f"training {algo}", 100) as bar:
            def step(_stage: str, done: float, steps: float | None) -> None:
                if steps:
                    bar.update(completed=100.0 * done / steps)

            tok = train_from_counts(counts, pipeline, vocab_size=vocab_size, min_frequency=min_frequency,
                                    special_tokens=specials, sp_model=sp_model,
                                    wordpiece_score=wordpiece_score, progress=step)
        tok.save(output)
        seconds = watch.seconds
        console.info(
            f"trained {algo} tokenizer: vocab {tok.get_vocab_size():,} from {console.human_bytes(counts.bytes)} "
            f"({counts.lines:,} lines, {len(counts.counts):,} distinct chunks) in {seconds:.1f} s "
            f"(counting {counted:.1f} s{where_run}, {counts.chars / max(seconds, 1e-9) / 1e6:.2f} M chars/s) -> {output}")
