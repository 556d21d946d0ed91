"""`-o` naming one of a command's inputs (directly, through a symlink, a hard link or another spelling) is
refused before any work with one line, and the input is left as it was: generated over commands and inputs."""
from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.cli.clirunner import assert_one_line_error, run_tkit

CORPUS = "to be or not to be\nthat is the question\n" * 20
VOCAB = "to be or not\n"
# command -> (argv with placeholders, the inputs it reads)
COMMANDS = {
    "count": (["count", "{corpus}", "--order", "2", "--tokenizer", "whitespace", "--limit-vocab-file", "{vocab}",
               "-o", "{out}"], ["corpus", "vocab"]),
    "train ngram": (["train", "ngram", "{corpus}", "{corpus2}", "--order", "2", "-t", "{tok}", "-o", "{out}"],
                    ["corpus", "corpus2", "tok"]),
    "train tokenizer": (["train", "tokenizer", "{corpus}", "{corpus2}", "--algo", "char", "-o", "{out}"],
                        ["corpus", "corpus2"]),
    "tokenize": (["tokenize", "-t", "{tok}", "{corpus}", "-o", "{out}"], ["corpus", "tok"]),
    "detokenize": (["detokenize", "-t", "{tok}", "{ids}", "-o", "{out}"], ["ids", "tok"]),
}


def make_inputs(tmp: Path) -> dict[str, Path]:
    paths = {"corpus": tmp / "corpus.txt", "corpus2": tmp / "more.txt", "vocab": tmp / "vocab.txt",
             "ids": tmp / "ids.txt", "tok": tmp / "tok.json"}
    paths["corpus"].write_text(CORPUS, encoding="utf-8")
    paths["corpus2"].write_text(CORPUS, encoding="utf-8")
    paths["vocab"].write_text(VOCAB, encoding="utf-8")
    paths["ids"].write_text("1 2 3\n", encoding="utf-8")
    assert run_tkit("train", "tokenizer", str(paths["corpus"]), "--algo", "char", "-o", str(paths["tok"])).code == 0
    return paths


def spell(tmp: Path, target: Path, how: str) -> str:
    if how == "same":
        return str(target)
    if how == "dotted":
        return str(tmp / "." / target.name)
    link = tmp / f"link-{how}-{target.name}"
    if not os.path.lexists(link):
        (link.symlink_to(target) if how == "symlink" else os.link(target, link))
    return str(link)


@settings(max_examples=25, deadline=None)
@given(command=st.sampled_from(sorted(COMMANDS)), data=st.data(),
       how=st.sampled_from(["same", "dotted", "symlink", "hardlink"]))
def test_output_that_is_an_input_is_refused(tmp_path_factory, command, data, how):
    tmp = tmp_path_factory.mktemp("io")
    paths = make_inputs(tmp)
    argv, inputs = COMMANDS[command]
    victim = data.draw(st.sampled_from(inputs))
    before = {name: p.read_bytes() for name, p in paths.items()}
    out = spell(tmp, paths[victim], how)
    args = [a.format(out=out, **{k: str(v) for k, v in paths.items()}) for a in argv]
    assert_one_line_error(run_tkit(*args), "also an input")
    assert {name: p.read_bytes() for name, p in paths.items()} == before


def test_neural_training_outputs(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(CORPUS, encoding="utf-8")
    tiny = ["--n-layer", "1", "--n-head", "1", "--n-embd", "8", "--block-size", "8", "--batch-size", "2",
            "--steps", "1"]
    before = corpus.read_bytes()
    for out in (str(corpus), str(tmp_path / "." / "c.txt")):
        assert_one_line_error(run_tkit("train", "transformer", str(corpus), *tiny, "-o", out), "also an input")
    assert_one_line_error(run_tkit("train", "transformer", str(corpus), *tiny, "--log", str(corpus),
                                   "-o", str(tmp_path / "m.npz")), "also an input")
    assert_one_line_error(run_tkit("train", "transformer", str(corpus), *tiny, "-o", str(tmp_path / "m.arpa")),
                          ".npz")
    assert corpus.read_bytes() == before and not (tmp_path / "m.arpa").exists()
