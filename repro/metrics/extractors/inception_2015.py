"""The official 2015 Inception graph (``classify_image_graph_def.pb``) as TTUR and improved-gan use it.

Sources: TTUR ``fid.py`` (``create_inception_graph``, ``_get_inception_layer``, ``get_activations``),
openai/improved-gan ``inception_score/model.py`` and TTUR ``FIDvsINC/fidutils.py`` (``get_softmax``).

* The graph comes from ``inception-2015-12-05.tgz`` (``INCEPTION_URL``); pass the ``.pb``, the ``.tgz``
  or a folder holding either via ``graph_path`` / ``--inception_graph`` or the environment
  variable ``REPRO_INCEPTION_GRAPH``, or put it in the cache folder
  ``~/.cache/repro/`` (``$REPRO_CACHE_DIR``, else ``$XDG_CACHE_HOME/repro``).
  Nothing is downloaded at run time; a missing file is a one-line DataUnavailableError naming the
  file, the URL and where to put it.
* Input: float RGB images in [0, 255], any size, fed at ``ExpandDims:0`` (skipping the JPEG decoder).
  The graph itself resizes to 299x299 (``ResizeBilinear``, TF1 semantics) and normalises (x-128)/128.
* Features: ``pool_3:0`` [N, 1, 1, 2048] reshaped to [N, 2048]. Logits: ``pool_3 . W`` with W the
  weight input of ``softmax/logits/MatMul`` (1008 classes), as improved-gan's ``_init_inception``
  and TTUR's ``get_softmax`` compute them: *without* the ``softmax/biases`` that the graph's own
  ``softmax/logits:0`` adds (and that tensor is wired to a batch-1 reshape). The published Inception
  Scores are computed from these bias-free logits.

TF2 loading: the GraphDef is imported inside ``tf.compat.v1.wrap_function`` with an ``input_map``
that replaces ``ExpandDims:0`` by a [None, None, None, 3] float placeholder, then pruned to the
pool_3/logits outputs. That replaces TTUR's batch-size patch (rewriting every static leading dim 1
to None): shapes are inferred from the batched placeholder, recorded ``_output_shapes`` are dropped,
and the graph's own batch-1 ``pool_3/_reshape`` is pruned away.

Compatibility rewrite: the 2015 graph uses ``BatchNormWithGlobalNormalization``, removed at GraphDef
version 9. A TF1 session runs it because the graph keeps the file's old producer version, but a
TF2 function runs at the current version and refuses the op. Each such node is therefore rewritten
into standard ops with the kernel's formula (``tensorflow/core/kernels/batch_norm_op.h``)::

    out = (t - mean) * (rsqrt(var + variance_epsilon) * gamma) + beta     # gamma only if
                                                                          # scale_after_normalization
"""

import hashlib
import os
import tarfile

import numpy as np

from repro.errors import DataUnavailableError, UsageError
from repro.metrics.extractors.base import Extractor, InputSpec

INCEPTION_URL = "http://download.tensorflow.org/models/image/imagenet/inception-2015-12-05.tgz"
GRAPH_FILENAME = "classify_image_graph_def.pb"
ARCHIVE_FILENAME = "inception-2015-12-05.tgz"
ENV_VAR = "REPRO_INCEPTION_GRAPH"
INPUT_TENSOR = "ExpandDims:0"
POOL3_TENSOR = "pool_3:0"
LOGITS_MATMUL = "softmax/logits/MatMul"
_OLD_BATCH_NORM = "BatchNormWithGlobalNormalization"


def default_dir():
  """The folder searched when no path is given: the cache folder (repro.resources.cache_dir():
  $REPRO_CACHE_DIR, else $XDG_CACHE_HOME/repro, default ~/.cache/repro)."""
  from repro import resources  # pylint: disable=g-import-not-at-top
  return resources.cache_dir()


def missing_graph_message(looked_at):
  """One line: what is missing, where it comes from, where to put it."""
  return (f"Inception graph {GRAPH_FILENAME} not found ({looked_at}): download {INCEPTION_URL} "
          f"and put the .tgz (or the {GRAPH_FILENAME} inside it) in {default_dir()}/, or pass "
          f"--inception_graph=PATH or set {ENV_VAR}=PATH")


def resolve_graph_path(graph_path=None):
  """Returns the path of the graph (.pb / .tgz / folder holding either) or raises.

  Order: the `graph_path` argument, then $REPRO_INCEPTION_GRAPH, then ``default_dir()``. Raises
  DataUnavailableError with a one-line message (file, URL, where to put it). Imports no TensorFlow
  and reads nothing, so a missing graph fails at once.
  """
  path = graph_path or os.environ.get(ENV_VAR)
  if path:
    path = os.path.expanduser(os.fspath(path))
    where = path
  else:
    path = default_dir()
    where = f"no --inception_graph, no ${ENV_VAR}, nothing in {path}"
  if os.path.isdir(path):
    for name in (GRAPH_FILENAME, ARCHIVE_FILENAME):
      candidate = os.path.join(path, name)
      if os.path.isfile(candidate):
        return candidate
    if graph_path or os.environ.get(ENV_VAR):
      where = f"no {GRAPH_FILENAME} or {ARCHIVE_FILENAME} in {path}"
    raise DataUnavailableError(missing_graph_message(where))
  if not os.path.isfile(path):
    raise DataUnavailableError(missing_graph_message(where))
  return path


def read_graph_bytes(path):
  """Returns the serialized GraphDef from a .pb file or from the inception-2015-12-05 .tgz."""
  if tarfile.is_tarfile(path):
    try:
      with tarfile.open(path, "r:*") as tar:
        for member in tar.getmembers():
          if member.isfile() and os.path.basename(member.name) == GRAPH_FILENAME:
            return tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as e:
      raise UsageError(f"cannot read Inception archive {path}: {e}") from None
    raise UsageError(f"archive {path} holds no {GRAPH_FILENAME}: expected {INCEPTION_URL}")
  with open(path, "rb") as f:
    return f.read()


def parse_graph_def(data, path="<bytes>"):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  graph_def = tf.compat.v1.GraphDef()
  try:
    graph_def.ParseFromString(data)
  except Exception as e:  # protobuf raises DecodeError (no common public base class)
    raise UsageError(f"{path} is not a TensorFlow GraphDef ({type(e).__name__}): expected "
                     f"{GRAPH_FILENAME} from {INCEPTION_URL}") from None
  names = {node.name for node in graph_def.node}
  for tensor in (INPUT_TENSOR, POOL3_TENSOR, LOGITS_MATMUL):
    if tensor.split(":")[0] not in names:
      raise UsageError(f"graph {path} has no node {tensor.split(':')[0]!r}: not the "
                       f"inception-2015-12-05 {GRAPH_FILENAME}")
  return graph_def


def rewrite_old_batch_norms(graph_def):
  """Returns a copy of `graph_def` with BatchNormWithGlobalNormalization replaced by standard ops.

  Also drops recorded ``_output_shapes`` attributes (which carry the graph's static batch of 1).
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  out = tf.compat.v1.GraphDef()
  out.versions.CopyFrom(graph_def.versions)
  out.library.CopyFrom(graph_def.library)
  for node in graph_def.node:
    if node.op != _OLD_BATCH_NORM:
      new = out.node.add()
      new.CopyFrom(node)
      if "_output_shapes" in new.attr:
        del new.attr["_output_shapes"]
      continue
    data_inputs = [i for i in node.input if not i.startswith("^")]
    control_inputs = [i for i in node.input if i.startswith("^")]
    if len(data_inputs) != 5:
      raise UsageError(f"node {node.name} ({_OLD_BATCH_NORM}) has {len(data_inputs)} inputs, "
                       f"expected 5: unexpected graph")
    t, mean, var, beta, gamma = data_inputs
    dtype = node.attr["T"].type
    eps = node.attr["variance_epsilon"].f
    scale_after = node.attr["scale_after_normalization"].b
    prefix = node.name + "/_repro_bn"

    def add(name, op, inputs, _dtype=dtype, _device=node.device):
      n = out.node.add()
      n.name, n.op, n.device = name, op, _device
      n.input.extend(inputs)
      n.attr["T"].type = _dtype
      return n

    eps_node = out.node.add()
    eps_node.name, eps_node.op = prefix + "/epsilon", "Const"
    eps_node.attr["dtype"].type = dtype
    eps_node.attr["value"].tensor.CopyFrom(
        tf.make_tensor_proto(np.asarray(eps, dtype=tf.as_dtype(dtype).as_numpy_dtype)))
    add(prefix + "/var_eps", "AddV2", [var, eps_node.name])
    add(prefix + "/rsqrt", "Rsqrt", [prefix + "/var_eps"])
    scale = prefix + "/rsqrt"
    if scale_after:
      add(prefix + "/scale", "Mul", [scale, gamma])
      scale = prefix + "/scale"
    add(prefix + "/centred", "Sub", [t, mean])
    add(prefix + "/scaled", "Mul", [prefix + "/centred", scale])
    add(node.name, "AddV2", [prefix + "/scaled", beta] + control_inputs)
  return out


def build_inception_function(graph_def):
  """Returns a TF function images [N, H, W, 3] float32 -> (features [N, D], logits [N, K])."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  graph_def = rewrite_old_batch_norms(graph_def)

  def imported(images):
    pool3, matmul = tf.compat.v1.import_graph_def(
        graph_def, input_map={INPUT_TENSOR: images},
        return_elements=[POOL3_TENSOR, LOGITS_MATMUL], name="FID_Inception_Net")
    weights = matmul.inputs[1]
    features = tf.reshape(pool3, [-1, weights.shape[0]])
    return features, tf.matmul(features, weights)

  spec = tf.TensorSpec([None, None, None, 3], tf.float32)
  try:
    wrapped = tf.compat.v1.wrap_function(imported, [spec])
  except (ValueError, TypeError, tf.errors.OpError) as e:
    raise UsageError(f"cannot import the Inception graph: {' '.join(str(e).split())[:300]}") from None
  return wrapped.prune(wrapped.inputs[0], wrapped.outputs)


class Inception2015Extractor(Extractor):
  """pool_3 features and 1008-class logits of the inception-2015-12-05 graph."""

  name = "inception_2015"
  input_spec = InputSpec(height=None, width=None, channels=3, value_range=(0.0, 255.0))
  default_batch_size = 50  # TTUR get_activations default

  def __init__(self, graph_path=None, batch_size=None):
    self.graph_path = resolve_graph_path(graph_path)
    data = read_graph_bytes(self.graph_path)
    self.graph_sha256 = hashlib.sha256(data).hexdigest()
    graph_def = parse_graph_def(data, self.graph_path)
    self._fn = build_inception_function(graph_def)
    features, logits = self._fn.structured_outputs if hasattr(
        self._fn, "structured_outputs") else self._fn.outputs
    self.feature_dim = int(features.shape[-1])
    self.num_classes = int(logits.shape[-1])
    if batch_size:
      self.default_batch_size = int(batch_size)

  def _forward(self, batch):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    features, logits = self._fn(tf.constant(batch, dtype=tf.float32))
    return features.numpy(), logits.numpy()

  def info(self):
    return dict(super().info(), graph=os.path.basename(self.graph_path),
                graph_sha256=self.graph_sha256, source=INCEPTION_URL,
                features=POOL3_TENSOR, logits="pool_3 x softmax/weights, no bias (improved-gan)")
