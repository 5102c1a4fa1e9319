"""Character-level language GANs: n-gram JSD, the text pipeline, the 1-D conv nets, a few training
steps, and the command-line errors (TTUR / FOGAN / Coulomb GAN on One Billion Word or a local file)."""

import collections
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from repro.errors import UsageError
from repro.metrics import ngram

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- JSD against an independent computation -------------------------------------------------------

def reference_jsd(corpus_a, corpus_b, n):
  """Base-2 JSD of the n-gram frequency vectors over the union of n-grams (plain numpy)."""
  def freqs(corpus):
    c = collections.Counter(tuple(s[i:i + n]) for s in corpus for i in range(len(s) - n + 1))
    return c, sum(c.values())
  ca, ta = freqs(corpus_a)
  cb, tb = freqs(corpus_b)
  grams = sorted(set(ca) | set(cb))
  p = np.array([ca[g] / ta for g in grams])
  q = np.array([cb[g] / tb for g in grams])
  m = (p + q) / 2

  def kl(x):
    mask = x > 0
    return np.sum(x[mask] * np.log2(x[mask] / m[mask]))
  return 0.5 * (kl(p) + kl(q))


def _ids(corpus, alphabet):
  index = {c: i for i, c in enumerate(alphabet)}
  return np.array([[index[c] for c in s] for s in corpus])


# Fixed-length rows padded with "`", as the training lines are.
A = [s.ljust(24, "`") for s in ("the cat sat on the mat", "a dog ate the hat", "the the the cat")]
B = [s.ljust(24, "`") for s in ("a cat is not a dog", "the mat was on a cat", "hat hat hat cat dog")]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6])
def test_jsd_matches_an_independent_computation(n):
  alphabet = sorted(set("".join(A + B)))
  expected = reference_jsd(A, B, n)
  assert 0 < expected <= 1
  assert ngram.ngram_jsd(A, B, n) == pytest.approx(expected, abs=1e-12)
  ids_a, ids_b = _ids(A, alphabet), _ids(B, alphabet)
  got = ngram.NgramCounts(n, ids_a, len(alphabet)).js_with(ngram.NgramCounts(n, ids_b, len(alphabet)))
  assert got == pytest.approx(expected, abs=1e-12)
  # The generic key path (vocab**n beyond int64) and chunked counting give the same value.
  big = 2 ** 20
  assert ngram.NgramCounts(n, ids_a, big, chunk=2).js_with(
      ngram.NgramCounts(n, ids_b, big, chunk=1)) == pytest.approx(expected, abs=1e-12)


def test_self_jsd_is_zero_and_disjoint_ngrams_give_one():
  alphabet = "abcd"
  x, y = ["abcdabcd", "dabcdabc"], ["acbdacbd", "dbcadbca"]   # same characters, no common 3-gram
  ix, iy = _ids(x, alphabet), _ids(y, alphabet)
  for n in range(1, 7):
    assert ngram.NgramCounts(n, ix, 4).js_with(ngram.NgramCounts(n, ix, 4)) == pytest.approx(0, abs=1e-15)
    assert ngram.ngram_jsd(x, x, n) == pytest.approx(0, abs=1e-15)
  for n in (3, 4):
    assert reference_jsd(x, y, n) == pytest.approx(1.0, abs=1e-12)
    assert ngram.ngram_jsd(x, y, n) == pytest.approx(1.0, abs=1e-12)
    assert ngram.NgramCounts(n, ix, 4).js_with(ngram.NgramCounts(n, iy, 4)) == pytest.approx(1.0, abs=1e-12)
  assert ngram.NgramCounts(1, ix, 4).js_with(ngram.NgramCounts(1, iy, 4)) < 0.01
  jsds = ngram.ngram_jsds(iy, [ngram.NgramCounts(n, ix, 4) for n in (1, 2, 3)])
  assert set(jsds) == {"js1", "js2", "js3"} and jsds["js3"] == pytest.approx(1.0)


# ---- the text pipeline -------------------------------------------------------------------------------

def _write(path, text, mode="w"):
  with open(path, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
    f.write(text)
  return str(path)


def test_corpus_vocabulary_padding_truncation_and_unk(tmp_path):
  from repro.data import text
  long_line = "x" * 40
  path = _write(tmp_path / "t.txt", f"aaab\n{long_line}\nbaé\r\nzq")   # no final newline
  corpus = text.load_corpus("text", path, seq_len=32, max_vocab=5)
  assert corpus.ids.shape == (4, 32) and corpus.ids.dtype == np.int32
  # "unk" first, then the 4 most frequent characters of the padded lines: ` (pad), x, a, b.
  assert corpus.inv_charmap == ("unk", "`", "x", "a", "b")
  lines = corpus.decode(corpus.ids)
  assert lines[0] == "aaab" + "`" * 28
  assert lines[1] == "x" * 32                                   # cut to 32 characters
  assert lines[2] == "ba" + "unk" + "`" * 29                    # "é" is out of the vocabulary
  assert lines[3] == "unk" * 2 + "`" * 30                       # "\r\n" dropped, "q" kept
  full = text.load_corpus("text", path)                         # default vocabulary: every character
  assert full.decode(full.ids)[2:] == ["baé" + "`" * 29, "zq" + "`" * 30]
  assert full.vocab_size == 1 + len(set("abxézq`"))
  assert text.load_corpus("text", path, max_lines=2).ids.shape == (2, 32)


def test_a_leading_byte_order_mark_is_not_text(tmp_path):
  from repro.data import text
  corpus = text.load_corpus("text", _write(tmp_path / "bom.txt", b"\xef\xbb\xbfhi\nho\n", "wb"))
  assert corpus.decode(corpus.ids)[0] == "hi" + "`" * 30 and "\ufeff" not in corpus.inv_charmap


def test_text_pipeline_batches_are_one_hot(tmp_path):
  from repro import data
  from repro.data import text
  path = _write(tmp_path / "t.txt", "".join(f"line {i}\n" for i in range(20)))
  ds = data.get_dataset("text", batch_size=8, seed=1, text={"file": path})
  batch = next(iter(ds)).numpy()
  vocab = text.load_corpus("text", path).vocab_size
  assert batch.shape == (8, 32, vocab) and batch.dtype == np.float32
  np.testing.assert_array_equal(batch.sum(-1), 1.0)
  with pytest.raises(UsageError, match="fewer than one batch"):
    data.get_dataset("text", batch_size=64, text={"file": path})


@pytest.mark.parametrize("content, message", [
    (b"", "has no text"),
    (b"\n  \n\n", "has no text"),
    (b"fine\nnot \xe9 utf-8\n", "is not UTF-8 text: line 2 has byte 0xe9 at column 5"),
])
def test_bad_text_files_are_usage_errors(tmp_path, content, message):
  from repro.data import text
  path = _write(tmp_path / "bad.txt", content, "wb")
  with pytest.raises(UsageError, match=message):
    text.load_corpus("text", path)
  with pytest.raises(UsageError, match="does not exist"):
    text.load_corpus("text", str(tmp_path / "missing.txt"))


def test_one_billion_word_folder_is_read_in_the_official_order(tmp_path):
  from repro.data import text
  folder = tmp_path / "1bw" / "training-monolingual.tokenized.shuffled"
  folder.mkdir(parents=True)
  _write(folder / "news.en-00002-of-00100", "second file\n")
  _write(folder / "news.en-00001-of-00100", "first file\nstill first\n")
  _write(folder / "news.en-00100-of-00100", "held out, never read\n")
  corpus = text.load_corpus("text", str(tmp_path / "1bw"))
  assert [l.rstrip("`") for l in corpus.decode(corpus.ids)] == ["first file", "still first",
                                                                 "second file"]


def test_lm1b_reads_the_tfds_train_split(tmp_path):
  import tensorflow_datasets as tfds
  from repro import data
  from repro.data import text
  prepared = tmp_path / "lm1b" / "1.1.0"     # what check_prepared looks for
  prepared.mkdir(parents=True)
  (prepared / "dataset_info.json").write_text("{}")
  with tfds.testing.mock_data(num_examples=40):
    corpus = text.load_corpus("lm1b", max_lines=24, data_dir=str(tmp_path))
    batch = next(iter(data.get_dataset("lm1b", batch_size=8, data_dir=str(tmp_path),
                                       text={"max_lines": 24})))
  assert corpus.ids.shape == (24, 32) and corpus.inv_charmap[0] == "unk"
  assert batch.shape == (8, 32, corpus.vocab_size)


# ---- networks ---------------------------------------------------------------------------------------

def test_language_nets_shapes_and_softmax():
  from repro.models import build_models
  for g_norm, init in (("none", "tflib"), ("batch", "tflib"), ("coulomb", "glorot")):
    g, d = build_models("language", (32, 7), 128, width=8, g_norm=g_norm, init=init)
    x = g(np.random.default_rng(0).standard_normal((3, 128)).astype(np.float32)).numpy()
    assert x.shape == (3, 32, 7)
    np.testing.assert_allclose(x.sum(-1), 1.0, rtol=1e-5)
    assert d(x).shape == (3, 1)
    if g_norm != "none":   # the official blocks normalise per sequence position (32 statistics)
      assert tuple(g.get_layer("Generator.1.bn1").moving_mean.shape) == (32,)
  with pytest.raises(UsageError, match="one-hot text"):
    build_models("language", (32, 32, 3), 128)


# ---- training ---------------------------------------------------------------------------------------

SENTENCES = ["the cat sat on the mat", "a dog ran to the park", "we eat bread and jam",
             "she reads a good book", "it rains in the town"]


def _corpus_file(tmp_path):
  return _write(tmp_path / "corpus.txt", "\n".join(SENTENCES * 40) + "\n")


def _trainer(paper, path, workdir, steps, **overrides):
  from repro.papers import coulomb, fogan, ttur
  from repro.train.runner import Trainer
  module = {"ttur": ttur, "fogan": fogan, "coulomb": coulomb}[paper]
  recipe = module.recipe("text", net=dict(width=16), steps=steps, eval_every=steps,
                         log_every=steps, save_every=steps, text_file=path, **overrides)
  assert recipe.model.args["width"] == 16 and recipe.data.text["file"] == path
  return Trainer(recipe, str(workdir), quiet=True)


def test_a_few_steps_lower_the_unigram_jsd(tmp_path):
  trainer = _trainer("ttur", _corpus_file(tmp_path), tmp_path / "w", steps=40, g_lr=1e-3,
                     d_lr=3e-3)
  before = trainer.eval_fn(trainer, 0)
  trainer.train()
  after = trainer.eval_fn(trainer, 40)
  assert set(after) == {f"js{n}" for n in range(1, 7)}
  # Measured (seed 0): js1 0.28 -> 0.19, js2 0.76 -> 0.54, js4 1.00 -> 0.74.
  assert after["js1"] < 0.8 * before["js1"], (before, after)
  assert after["js2"] < before["js2"] - 0.1, (before, after)
  lines = open(tmp_path / "w" / "eval.jsonl").read().splitlines()
  assert len(lines) == 1 and '"js4"' in lines[0]
  assert os.path.isfile(tmp_path / "w" / "samples" / "step_0000040.txt")


@pytest.mark.parametrize("paper", ["fogan", "coulomb"])
def test_fogan_and_coulomb_train_on_text(tmp_path, paper):
  trainer = _trainer(paper, _corpus_file(tmp_path), tmp_path / "w", steps=3, batch_size=16)
  logged = trainer.train()
  assert all(np.isfinite(v) for v in logged.values()), logged
  assert 0 <= logged["js1"] <= 1 and "js6" in logged
  if paper != "coulomb":
    return
  # Coulomb samples its training-mode generator (batch statistics) for the JSD; the moving
  # statistics of the batch norms stay as they were.
  before = [v.numpy().copy() for v in trainer.generator.non_trainable_variables]
  assert before   # billion_word_generator has batch norm
  trainer.eval_fn(trainer, 3)
  for v, old in zip(trainer.generator.non_trainable_variables, before):
    np.testing.assert_array_equal(v.numpy(), old)


# ---- the command line: errors in one line, before TensorFlow -------------------------------------

def run(*args, env=None, timeout=60):
  return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT,
                        timeout=timeout, env=dict(os.environ, **(env or {})))


@pytest.mark.parametrize("args", [
    ("repro.papers.ttur", "--dataset=lm1b", "--model=language"),
    ("repro.papers.ttur", "--model=language"),          # lm1b is the language model's default
    ("repro.papers.fogan", "--dataset=lm1b"),
    ("repro.papers.coulomb", "--dataset=lm1b"),
])
def test_unprepared_lm1b_fails_fast_with_the_preparation_command(tmp_path, args):
  start = time.time()
  proc = run(*args, f"--data_dir={tmp_path}", f"--workdir={tmp_path / 'w'}")
  elapsed = time.time() - start
  assert proc.returncode == 1, proc.stderr
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1, proc.stderr
  assert f"download_and_prepare --datasets=lm1b --data_dir={tmp_path}" in lines[0]
  assert "--text_file" in lines[0]
  assert elapsed < 2, elapsed


@pytest.mark.parametrize("content, extra, message", [
    (b"", (), "has no text"),
    (b"ok\n\xff\xfe bad\n", (), "is not UTF-8 text: line 2"),
    (None, (), "does not exist"),
    (b"fine\n", ("--dataset=cifar10",), "cannot be combined with --dataset=cifar10"),
    (b"fine\n", ("--model=wgan_gp",), "TTUR has no wgan_gp setting for --dataset=text"),
])
def test_bad_text_file_commands_exit_2_in_one_line(tmp_path, content, extra, message):
  path = tmp_path / "in.txt"
  if content is not None:
    _write(path, content, "wb")
  module = "repro.papers.ttur" if "--model=wgan_gp" in extra else "repro.papers.fogan"
  start = time.time()
  proc = run(module, f"--text_file={path}", f"--workdir={tmp_path / 'w'}", *extra)
  assert time.time() - start < 5   # before TensorFlow starts
  assert proc.returncode == 2, proc.stderr
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1 and message in lines[0], proc.stderr
  assert not os.path.exists(tmp_path / "w")
