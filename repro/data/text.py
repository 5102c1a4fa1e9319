"""Character-level text for the language GANs (WGAN-GP `gan_language.py`, TTUR / FOGAN
`gan_language_JSD.py`, Coulomb GAN `billion_word`). Imports no TensorFlow except to read tfds.

Semantics of improved_wgan_training `language_helpers.py` `load_dataset` (identical in TTUR's and
FOGAN's `WGAN_GP/language_helpers.py`; Coulomb GAN's `utils.load_text_dataset` builds the same
vocabulary, sorted):

* one sentence per line, the newline removed; every line is a tuple of characters, cut to
  `max_length` (SEQ_LEN 32) and right-padded with the filler character "`" to exactly that length;
  the padding is part of the data (and of the n-gram statistics);
* up to `max_n_examples` lines (MAX_N_EXAMPLES 10,000,000), read in file order;
* vocabulary: "unk" (id 0), then the `max_vocab_size - 1` (2047) most frequent characters of the
  loaded (padded) lines; any other character becomes "unk".

Sources of lines:
* `--text_file=F`: a UTF-8 file, one sentence per line; or the extracted One Billion Word folder
  (`1-billion-word-language-modeling-benchmark-r13output`), read as the official code reads it:
  `training-monolingual.tokenized.shuffled/news.en-000NN-of-00100` for NN = 1..99, in order.
* `--dataset=lm1b`: tfds `lm1b` train split (the same 99 training files, but tfds strips each line's
  surrounding whitespace and stores the examples in its own order, so the first 10M lines are not the
  official subset; pass the extracted folder as --text_file for that).

Errors are one line: a missing, empty, non-UTF-8 or unreadable file is a UsageError (exit 2).
"""

import collections
import dataclasses
import functools
import os

import numpy as np

from repro.errors import DataUnavailableError, UsageError

SEQ_LEN = 32                 # gan_language.py / gan_language_JSD.py SEQ_LEN = 32
MAX_LINES = 10_000_000       # gan_language.py MAX_N_EXAMPLES = 10000000
MAX_VOCAB = 2048             # language_helpers.py load_dataset(max_vocab_size=2048)
PAD = "`"                    # language_helpers.py: line + ("`",) * (max_length - len(line))
UNK = "unk"                  # language_helpers.py: charmap = {'unk': 0}
# language_helpers.py: data_dir + "/training-monolingual.tokenized.shuffled/news.en-{:05d}-of-00100"
# for i + 1 in range(99).
ONE_BILLION_WORD_FILES = tuple(
    os.path.join("training-monolingual.tokenized.shuffled", f"news.en-{i:05d}-of-00100")
    for i in range(1, 100))


@dataclasses.dataclass(frozen=True)
class Corpus:
  """Encoded lines [n, seq_len] (int32 ids into `inv_charmap`) and the vocabulary."""
  ids: np.ndarray
  inv_charmap: tuple
  source: str

  @property
  def vocab_size(self):
    return len(self.inv_charmap)

  @property
  def seq_len(self):
    return self.ids.shape[1]

  def decode(self, ids):
    """Rows of ids -> strings (the padding "`" kept, "unk" written as is), as the official
    `samples_*.txt` files."""
    inv = self.inv_charmap
    return ["".join(inv[int(i)] for i in row) for row in np.asarray(ids)]


# ---- reading lines -------------------------------------------------------------------------------

def _files_of(path):
  """The files a --text_file names: itself, or the 99 training files of an extracted 1BW folder."""
  if not os.path.exists(path):
    raise UsageError(f"--text_file {path} does not exist; pass a UTF-8 text file with one sentence "
                     "per line (or the extracted One Billion Word folder)")
  if os.path.isdir(path):
    files = [os.path.join(path, f) for f in ONE_BILLION_WORD_FILES]
    present = [f for f in files if os.path.isfile(f)]
    if not present:
      raise UsageError(f"--text_file {path} is a folder without One Billion Word training files "
                       f"({ONE_BILLION_WORD_FILES[0]} ...); pass a text file or that folder")
    return present
  return [path]


def _read_lines(files, max_lines, label):
  """Up to `max_lines` lines without their newline, checked to be UTF-8 (one-line errors)."""
  lines = []
  for path in files:
    try:
      f = open(path, "rb")
    except OSError as e:
      raise UsageError(f"cannot read --text_file {path}: {e.strerror}") from None
    with f:
      for number, raw in enumerate(f, 1):
        try:
          line = raw.decode("utf-8-sig" if number == 1 else "utf-8")   # a leading BOM is dropped
        except UnicodeDecodeError as e:
          raise UsageError(
              f"{path} is not UTF-8 text: line {number} has byte 0x{raw[e.start]:02x} at column "
              f"{e.start + 1}; convert it (e.g. iconv -f latin1 -t utf-8)") from None
        # language_helpers.py: line = line[:-1] (drops the newline; here also a final line
        # without one keeps its last character, and Windows "\r\n" loses the "\r" too).
        if line.endswith("\n"):
          line = line[:-1]
          if line.endswith("\r"):
            line = line[:-1]
        lines.append(line)
        if len(lines) == max_lines:
          return lines
  if not any(line.strip() for line in lines):
    raise UsageError(f"{label} has no text (it is empty or holds only blank lines); pass a file "
                     "with one sentence per line")
  return lines


def check_text_file(path):
  """Fast checks before TensorFlow starts: the file exists and is readable (content is checked
  when the corpus is loaded, still before TensorFlow)."""
  for f in _files_of(path):
    if not os.access(f, os.R_OK):
      raise UsageError(f"cannot read --text_file {f}: permission denied")


def _lm1b_lines(max_lines, data_dir=None, download=False):
  """The first `max_lines` lines of tfds lm1b's train split (fails fast when not prepared)."""
  from repro.data import catalog  # pylint: disable=g-import-not-at-top
  info = catalog.dataset_info("lm1b")
  if not download:
    catalog.check_prepared("lm1b", data_dir)
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  builder = tfds.builder(info.tfds_name, data_dir=catalog.tfds_root(data_dir))
  if download:
    builder.download_and_prepare()
  try:
    ds = builder.as_dataset(split="train", shuffle_files=False)
  except (AssertionError, FileNotFoundError) as e:
    raise DataUnavailableError(catalog.not_prepared_message(info, catalog.tfds_root(data_dir))
                               ) from None
  lines = []
  for example in ds.take(max_lines).as_numpy_iterator():
    lines.append(example["text"].decode("utf-8"))
  if not lines:
    raise DataUnavailableError(f"tfds lm1b in {catalog.tfds_root(data_dir)} has no training lines")
  return lines


# ---- vocabulary and encoding ---------------------------------------------------------------------

def build_corpus(lines, seq_len=SEQ_LEN, max_vocab=MAX_VOCAB, source=""):
  """Pads/truncates `lines` (strings) and encodes them with the language_helpers.py vocabulary."""
  if seq_len < 1 or max_vocab < 2:
    raise UsageError(f"seq_len must be >= 1 and max_vocab >= 2, got {seq_len}, {max_vocab}")
  padded = [line[:seq_len] + PAD * (seq_len - len(line[:seq_len])) for line in lines]
  counts = collections.Counter()
  for line in padded:
    counts.update(line)
  # language_helpers.py: charmap = {'unk': 0}; most_common(max_vocab_size - 1) in order of count
  # (ties: first seen first, as Counter.most_common). Here the lines are in file order (the
  # official shuffles them first, which only changes how ties are ordered).
  inv_charmap = [UNK] + [c for c, _ in counts.most_common(max_vocab - 1)]
  charmap = {c: i for i, c in enumerate(inv_charmap)}
  ids = np.zeros((len(padded), seq_len), np.int32)     # 0 = unk for characters out of the vocabulary
  for row, line in enumerate(padded):
    ids[row] = [charmap.get(c, 0) for c in line]
  return Corpus(ids=ids, inv_charmap=tuple(inv_charmap), source=source)


def load_corpus(dataset, text_file="", seq_len=SEQ_LEN, max_lines=MAX_LINES, max_vocab=MAX_VOCAB,
                data_dir=None, download=False):
  """The Corpus of `--dataset=lm1b` or of a `--text_file` (dataset "text"); cached per process so
  the command-line check, the data pipeline and the JSD evaluation share one copy."""
  if dataset == "text":   # tfds options do not apply to a local file (one cache entry)
    data_dir, download = None, False
  return _load_corpus(str(dataset), str(text_file or ""), int(seq_len), int(max_lines),
                      int(max_vocab), data_dir or None, bool(download))


@functools.lru_cache(maxsize=4)
def _load_corpus(dataset, text_file, seq_len, max_lines, max_vocab, data_dir, download):
  if max_lines < 1:
    raise UsageError(f"max_lines must be >= 1, got {max_lines}")
  if dataset == "text":
    if not text_file:
      raise UsageError("the text dataset needs --text_file=PATH (one sentence per line)")
    files = _files_of(text_file)
    lines = _read_lines(files, max_lines, f"--text_file {text_file}")
    source = os.path.abspath(text_file)
  elif dataset == "lm1b":
    lines = _lm1b_lines(max_lines, data_dir, download)
    source = "tfds:lm1b/train"
  else:
    raise UsageError(f"{dataset} is not a text dataset; use lm1b or --text_file")
  return build_corpus(lines, seq_len, max_vocab, source)


def corpus_for(recipe):
  """The Corpus of a recipe (dataset "lm1b" or "text", options in `recipe.data.text`)."""
  t, d = dict(recipe.data.text or {}), recipe.data
  return load_corpus(recipe.dataset, t.get("file", ""), t.get("seq_len", SEQ_LEN),
                     t.get("max_lines", MAX_LINES), t.get("max_vocab", MAX_VOCAB),
                     d.data_dir or None, d.download)


def write_lines(path, lines):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w", encoding="utf-8") as f:
    for line in lines:
      f.write(line + "\n")
