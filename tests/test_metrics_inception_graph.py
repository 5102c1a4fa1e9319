"""The inception-2015 GraphDef loader, on a small GraphDef built here with the official tensor names.

The toy graph has the official graph's structure around the tensors the loader touches:
DecodeJpeg/contents -> DecodeJpeg -> Cast -> ExpandDims -> ResizeBilinear (legacy, to a fixed size)
-> Sub 128 -> Mul 1/128 -> 1x1 conv -> BatchNormWithGlobalNormalization (removed from TF at GraphDef
version 9; the file's producer version is older) -> Relu -> pool_3 (average pool to 1x1) ->
pool_3/_reshape ([1, D], batch 1 as in the official graph) -> softmax/logits/MatMul (softmax/weights)
-> softmax/logits (bias) -> softmax. The expected features and logits are computed in NumPy.
"""

import io
import os
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from repro.errors import DataUnavailableError, UsageError
from repro.metrics.extractors import get_extractor
from repro.metrics.extractors import inception_2015 as inc

SIZE = 6        # the toy graph resizes to SIZE x SIZE (the official one to 299 x 299)
FEATURES = 5    # pool_3 width (official: 2048)
CLASSES = 7     # logits (official: 1008)
BN_EPS = 1e-3


def _params():
  rng = np.random.default_rng(42)
  return dict(
      kernel=rng.normal(size=(3, FEATURES)).astype(np.float32),
      mean=rng.normal(size=FEATURES).astype(np.float32) * 0.1,
      var=rng.uniform(0.5, 2.0, size=FEATURES).astype(np.float32),
      beta=rng.normal(size=FEATURES).astype(np.float32) * 0.1,
      gamma=rng.uniform(0.5, 1.5, size=FEATURES).astype(np.float32),
      weights=rng.normal(size=(FEATURES, CLASSES)).astype(np.float32),
      biases=rng.normal(size=CLASSES).astype(np.float32))


def build_toy_graph_def(p):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  g = tf.Graph()
  with g.as_default():
    contents = tf.compat.v1.placeholder(tf.string, [], name="DecodeJpeg/contents")
    decoded = tf.io.decode_jpeg(contents, channels=3, name="DecodeJpeg")
    x = tf.cast(decoded, tf.float32, name="Cast")
    x = tf.expand_dims(x, 0, name="ExpandDims")
    x = tf.compat.v1.image.resize_bilinear(x, tf.constant([SIZE, SIZE], name="ResizeBilinear/size"),
                                           name="ResizeBilinear")
    x = tf.subtract(x, tf.constant(128.0, name="Sub/y"), name="Sub")
    x = tf.multiply(x, tf.constant(1.0 / 128.0, name="Mul/y"), name="Mul")
    conv = tf.nn.conv2d(x, tf.constant(p["kernel"][None, None], name="conv/conv2d_params"),
                        strides=1, padding="VALID", name="conv/Conv2D")
    for key in ("mean", "var", "beta", "gamma"):
      tf.constant(p[key], name=f"conv/batchnorm/{key}")
    bn = tf.identity(conv, name="conv/batchnorm")  # becomes the old op below
    x = tf.nn.relu(bn, name="conv/Relu")
    pool = tf.nn.avg_pool2d(x, ksize=SIZE, strides=1, padding="VALID", name="pool_3")
    flat = tf.reshape(pool, [1, FEATURES], name="pool_3/_reshape")
    mm = tf.matmul(flat, tf.constant(p["weights"], name="softmax/weights"),
                   name="softmax/logits/MatMul")
    logits = tf.nn.bias_add(mm, tf.constant(p["biases"], name="softmax/biases"),
                            name="softmax/logits")
    tf.nn.softmax(logits, name="softmax")
  graph_def = g.as_graph_def()
  for node in graph_def.node:
    if node.name == "conv/batchnorm":
      node.op = "BatchNormWithGlobalNormalization"
      del node.input[:]
      node.input.extend(["conv/Conv2D"] + [f"conv/batchnorm/{k}"
                                           for k in ("mean", "var", "beta", "gamma")])
      node.attr["variance_epsilon"].f = BN_EPS
      node.attr["scale_after_normalization"].b = True
  graph_def.versions.producer = 8  # before BatchNormWithGlobalNormalization was removed (9)
  return graph_def


def _legacy_resize_bilinear(img, size):
  """TF1 resize_bilinear (align_corners=False, half_pixel_centers=False) for one [H, W, C] image."""
  h, w, _ = img.shape

  def axis(n_in):
    src = np.arange(size) * (n_in / size)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, (src - lo)

  y0, y1, fy = axis(h)
  x0, x1, fx = axis(w)
  top = img[y0][:, x0] * (1 - fx)[None, :, None] + img[y0][:, x1] * fx[None, :, None]
  bottom = img[y1][:, x0] * (1 - fx)[None, :, None] + img[y1][:, x1] * fx[None, :, None]
  return top * (1 - fy)[:, None, None] + bottom * fy[:, None, None]


def numpy_reference(images, p):
  """(pool_3 features [N, D], logits [N, K]) of the toy graph, as improved-gan/TTUR read them."""
  feats = []
  for img in np.asarray(images, np.float64):
    x = (_legacy_resize_bilinear(img, SIZE) - 128.0) / 128.0
    x = x @ p["kernel"].astype(np.float64)
    x = (x - p["mean"]) / np.sqrt(p["var"] + BN_EPS) * p["gamma"] + p["beta"]
    feats.append(np.maximum(x, 0.0).mean(axis=(0, 1)))
  feats = np.stack(feats)
  return feats, feats @ p["weights"]  # improved-gan: no bias


@pytest.fixture(scope="module")
def params():
  return _params()


@pytest.fixture(scope="module")
def graph_file(tmp_path_factory, params):
  path = tmp_path_factory.mktemp("inception") / inc.GRAPH_FILENAME
  path.write_bytes(build_toy_graph_def(params).SerializeToString())
  return str(path)


@pytest.fixture(scope="module")
def extractor(graph_file):
  return get_extractor("inception_2015", graph_path=graph_file)


def test_features_and_logits_match_numpy(extractor, params):
  rng = np.random.default_rng(0)
  images = rng.uniform(0, 255, size=(5, 9, 7, 3)).astype(np.float32)  # any size, batched
  out = extractor(images, batch_size=2)
  want_f, want_l = numpy_reference(images, params)
  assert extractor.feature_dim == FEATURES and extractor.num_classes == CLASSES
  assert out["features"].shape == (5, FEATURES) and out["logits"].shape == (5, CLASSES)
  np.testing.assert_allclose(out["features"], want_f, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(out["logits"], want_l, rtol=1e-4, atol=1e-5)


def test_same_size_input_and_grayscale_tiling(extractor, params):
  rng = np.random.default_rng(1)
  gray = rng.integers(0, 256, size=(3, SIZE, SIZE, 1)).astype(np.float32)
  out = extractor(gray)
  want_f, _ = numpy_reference(np.repeat(gray, 3, axis=-1), params)
  np.testing.assert_allclose(out["features"], want_f, rtol=1e-4, atol=1e-5)


def test_info_records_graph_hash(extractor, graph_file):
  info = extractor.info()
  assert info["name"] == "inception_2015"
  assert info["input_spec"]["value_range"] == [0.0, 255.0]
  assert len(info["graph_sha256"]) == 64 and info["source"] == inc.INCEPTION_URL


def test_graph_from_tgz_and_folder_and_env(tmp_path, graph_file, params, monkeypatch):
  tgz = tmp_path / inc.ARCHIVE_FILENAME
  with tarfile.open(tgz, "w:gz") as tar:
    tar.add(graph_file, arcname="inception-2015-12-05/" + inc.GRAPH_FILENAME)
    info = tarfile.TarInfo("inception-2015-12-05/LICENSE")
    info.size = 2
    tar.addfile(info, io.BytesIO(b"ok"))
  with open(graph_file, "rb") as f:
    assert inc.read_graph_bytes(str(tgz)) == f.read()
  assert inc.resolve_graph_path(str(tmp_path)) == str(tgz)          # folder holding the .tgz
  monkeypatch.setenv(inc.ENV_VAR, graph_file)
  assert inc.resolve_graph_path(None) == graph_file
  x = np.full((1, 4, 4, 3), 200.0, np.float32)
  out = get_extractor("inception_2015", graph_path=str(tgz))(x)
  np.testing.assert_allclose(out["features"], numpy_reference(x, params)[0], rtol=1e-4, atol=1e-5)


def test_missing_graph_is_one_line_with_url_and_location(tmp_path, monkeypatch):
  monkeypatch.delenv(inc.ENV_VAR, raising=False)
  monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
  for arg in (None, str(tmp_path / "nope.pb"), str(tmp_path)):
    with pytest.raises(DataUnavailableError) as e:
      inc.resolve_graph_path(arg)
    msg = str(e.value)
    assert "\n" not in msg
    assert inc.GRAPH_FILENAME in msg and inc.INCEPTION_URL in msg
    assert os.path.join(str(tmp_path / "cache"), "repro") in msg


def test_not_a_graph_or_wrong_graph(tmp_path):
  bad = tmp_path / "bad.pb"
  bad.write_bytes(b"\xff\xfe not a protobuf \x00\x01")
  with pytest.raises(UsageError, match="not a TensorFlow GraphDef|has no node"):
    get_extractor("inception_2015", graph_path=str(bad))
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  g = tf.Graph()
  with g.as_default():
    tf.constant(1.0, name="ExpandDims")
  other = tmp_path / "other.pb"
  other.write_bytes(g.as_graph_def().SerializeToString())
  with pytest.raises(UsageError, match="has no node 'pool_3'"):
    get_extractor("inception_2015", graph_path=str(other))


def test_fid_cli_missing_graph_fails_fast(tmp_path):
  folder = tmp_path / "imgs"
  folder.mkdir()
  (folder / "a.png").write_bytes(b"")  # never read: the graph is resolved first
  repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"),
             PYTHONPATH=repo + os.pathsep + os.environ.get("PYTHONPATH", ""))
  env.pop(inc.ENV_VAR, None)
  proc = subprocess.run([sys.executable, "-m", "repro.metrics.fid", str(folder), str(folder)],
                        capture_output=True, text=True, timeout=60, env=env, cwd=repo)
  assert proc.returncode == 1, proc.stderr
  lines = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
  assert len(lines) == 1 and inc.INCEPTION_URL in lines[0] and inc.GRAPH_FILENAME in lines[0]
  assert "Traceback" not in proc.stderr
