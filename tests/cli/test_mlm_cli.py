"""`tkit train mlm`, `tkit fill-mask` and `tkit eval` on a masked LM end to end, and their one-line errors."""
import json

import pytest

from tests.cli.clirunner import assert_one_line_error, run_tkit

TEXT = ("to be or not to be that is the question whether tis nobler in the mind to suffer the slings and "
        "arrows of outrageous fortune or to take arms against a sea of troubles\n") * 40
TINY = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "4",
        "--steps", "4", "--val-every", "2", "--eval-batches", "1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("mlm")
    text, tok, model = d / "t.txt", d / "wp.json", d / "m.npz"
    text.write_text(TEXT, encoding="utf-8")
    assert run_tkit("train", "tokenizer", str(text), "--algo", "wordpiece", "--vocab-size", "120",
                    "-o", str(tok)).code == 0
    r = run_tkit("train", "mlm", str(text), "-t", str(tok), *TINY, "-o", str(model))
    assert r.code == 0, r.err
    assert "masked LM" in r.err
    return d, text, tok, model


def test_fill_mask_json_one_and_several_masks(trained):
    _, _, _, model = trained
    r = run_tkit("fill-mask", str(model), "to be or [MASK] to be", "--top-k", "4", "--json")
    assert r.code == 0, r.err
    preds = json.loads(r.out)["predictions"]
    assert len(preds) == 4 and set(preds[0]) == {"token", "id", "prob"}
    probs = [p["prob"] for p in preds]
    assert probs == sorted(probs, reverse=True) and 0 < probs[-1] and probs[0] <= 1
    r = run_tkit("fill-mask", str(model), "[MASK] be or not [MASK] be", "--json")
    several = json.loads(r.out)["predictions"]
    assert len(several) == 2 and all(len(p) == 5 for p in several)
    plain = run_tkit("fill-mask", str(model), "to be or [MASK] to be")
    assert plain.code == 0 and len(plain.out.splitlines()) == 5


def test_eval_reports_masked_metrics(trained):
    _, text, _, model = trained
    r = run_tkit("eval", str(model), str(text), "--json")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["masked_tokens"] > 0 and 0 <= report["masked_accuracy"] <= 1 and report["masked_cross_entropy"] > 0


def test_resume(trained, tmp_path):
    _, text, tok, _ = trained
    ckpt, out = tmp_path / "c.npz", tmp_path / "m.npz"
    assert run_tkit("train", "mlm", str(text), "-t", str(tok), *TINY, "--checkpoint", str(ckpt), "-o", str(out)).code == 0
    r = run_tkit("train", "mlm", str(text), "--resume", str(ckpt), "--steps", "6", "--checkpoint", str(ckpt),
                 "-o", str(out))
    assert r.code == 0, r.err
    assert "6 steps" in r.err


def test_errors(trained, tmp_path):
    d, text, tok, model = trained
    no_mask = tmp_path / "nomask.json"
    assert run_tkit("train", "tokenizer", str(text), "--algo", "wordpiece", "--vocab-size", "80",
                    "--special-tokens", "[UNK],[CLS],[SEP]", "-o", str(no_mask)).code == 0
    out = tmp_path / "out.npz"
    cases = [
        (["train", "mlm", str(text), "-t", str(no_mask), *TINY, "-o", str(out)], "no [MASK]"),
        (["train", "mlm", str(text), "--tokenizer", "char", *TINY, "-o", str(out)], "WordPiece"),
        (["train", "mlm", str(text), "-t", str(tok), *TINY, "--block-size", "2", "-o", str(out)], "block_size"),
        (["fill-mask", str(model), "no mask at all"], "no [MASK]"),
        (["fill-mask", str(model), "to be " * 40 + "[MASK]"], "block size"),
        (["fill-mask", str(text), "a [MASK]"], ""),
        (["sample", str(model)], "fill-mask"),
    ]
    for args, fragment in cases:
        assert_one_line_error(run_tkit(*args), fragment)
    assert not out.exists()
    transformer = tmp_path / "tr.npz"
    assert run_tkit("train", "transformer", str(text), "--n-layer", "1", "--n-head", "1", "--n-embd", "8",
                    "--block-size", "8", "--steps", "1", "-o", str(transformer)).code == 0
    assert_one_line_error(run_tkit("fill-mask", str(transformer), "a [MASK]"), "not a masked LM")
    assert_one_line_error(run_tkit("finetune", str(model), str(text), "-o", str(out)), "tkit-mlm")


def test_eval_of_text_without_words(trained, tmp_path):
    _, _, _, model = trained
    empty = tmp_path / "blank.txt"
    empty.write_text("[MASK] [SEP]\n", encoding="utf-8")
    assert_one_line_error(run_tkit("eval", str(model), str(empty)), "no ordinary tokens")
