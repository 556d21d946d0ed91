"""`tests.neural.npz_fuzz_worker`'s mutations applied to a tiny causal CNN model file and a CNN training
checkpoint. Run as `python -m tests.neural.cnn_fuzz_worker TARGET N OUT.json` with TARGET cnn or
cnn_checkpoint (test_cnn_npz_fuzz.py does, in a subprocess under RLIMIT_AS)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from tests.neural import npz_fuzz_worker as fuzz


def make_files(tmp: Path) -> dict[str, Path]:
    from neural.cnn_lm import CNNLanguageModel
    from neural.trainer import TrainConfig, Trainer
    from ngram.vocab import Vocabulary
    from tokenizers_kit.simple import CharTokenizer

    vocab, tok = Vocabulary(list("abcdefg") + ["<unk>"]), CharTokenizer()
    config = dict(n_layer=2, channels=4, kernel_size=3, dilations="1,2", block_size=6)
    CNNLanguageModel.from_config(config, vocab, tok).save(tmp / "m.npz")
    model = CNNLanguageModel.from_config({**config, "dropout": 0.1}, vocab, tok)
    ids = np.arange(400, dtype=np.int32) % 8
    Trainer(model, ids, ids[:50], TrainConfig(steps=2, batch_size=3, val_every=0, eval_batches=0),
            tmp / "c.npz").run()
    return {"cnn": tmp / "m.npz", "cnn_checkpoint": tmp / "c.npz"}


def load(target: str, path: Path) -> None:
    from neural import load_model
    from neural.checkpoint import load_checkpoint

    model = load_checkpoint(path).model if target == "cnn_checkpoint" else load_model(path)
    model.sequence_logprobs(np.arange(20) % model.vocab_size)  # a loaded model must also run


if __name__ == "__main__":
    fuzz.make_files, fuzz.load = make_files, load
    out = fuzz.run(sys.argv[1], int(sys.argv[2]))
    Path(sys.argv[3]).write_text(json.dumps(out, indent=1))
