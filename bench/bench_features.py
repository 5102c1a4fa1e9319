r"""Benchmarks 5 and 6: feature-extraction images/s, and the machine's matmul GFLOP/s against the
train step's FLOPs.

    .venv/bin/python bench/bench_features.py                 # batch 100; reads bench/results/train_step_dcgan32.json
    .venv/bin/python bench/bench_features.py --smoke         # seconds

Feature extraction (batch 100, images/s, median of `--repeats` timed passes after one warm-up):
  fashion_mnist_cnn  the shipped Fashion-MNIST classifier (`repro.metrics.get_extractor`), fed
                     [-1, 1] 28x28 images through the extractor's own batching (as FID evaluation).
  inception_2015     the Inception-2015 (`classify_image_graph_def.pb`) network *structure* with
                     random weights: Inception-v3 (`keras.applications.InceptionV3(weights=None,
                     include_top=False, pooling="avg")`, 2048-d pool_3) behind the graph's own
                     bilinear resize of the input to 299x299, in one tf.function. The official graph
                     is not on this machine; its weights do not change the cost.

Machine limit: float32 `tf.matmul` of 2048x2048 matrices (2 n³ FLOPs each), best of `--repeats`, in
GFLOP/s. Train-step FLOPs are counted from the layers (2 x multiply-adds of every Dense, Conv2D and
Conv2DTranspose forward pass per example; backward = 2 x forward; the gradient penalty's
double backward through the critic counted as 3 x a forward+backward) for the DCGAN 32x32 WGAN-GP step
(5 critic updates + 1 generator update, batch 64); with the suite's measured steps/s from
`bench/results/train_step_dcgan32.json` this gives the achieved fraction of the matmul rate.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  pylint: disable=g-import-not-at-top

common.quiet_tensorflow()


def images_per_second(fn, n_images, repeats):
  times, _ = common.interleaved({"f": fn}, repeats, warmup=1)
  return common.summary([n_images / t for t in times["f"]])


def fashion_rate(batch, n_batches, repeats):
  from repro.metrics.extractors import get_extractor  # pylint: disable=g-import-not-at-top
  extractor = get_extractor("fashion_mnist_cnn")
  x = np.random.default_rng(0).uniform(-1, 1, (batch * n_batches, 28, 28, 1)).astype(np.float32)
  return images_per_second(lambda: extractor(x, batch_size=batch), x.shape[0], repeats)


def inception_rate(batch, n_batches, repeats, size=299):
  import keras  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  net = keras.applications.InceptionV3(weights=None, include_top=False, pooling="avg",
                                       input_shape=(size, size, 3))

  @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
  def forward(images):   # [0, 255] images of any size, as the 2015 graph's ResizeBilinear + Sub/Mul
    x = tf.image.resize(images, (size, size), method="bilinear")
    return net((x - 128.0) / 128.0, training=False)

  x = np.random.default_rng(0).uniform(0, 255, (batch, 32, 32, 3)).astype(np.float32)

  def run():
    for _ in range(n_batches):
      forward(x).numpy()
  return images_per_second(run, batch * n_batches, repeats)


def matmul_gflops(n, repeats):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  a = tf.random.normal((n, n))
  b = tf.random.normal((n, n))
  mm = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
  mm(a, b).numpy()
  best = []
  for _ in range(repeats):
    start = time.perf_counter()
    mm(a, b).numpy()
    best.append(2.0 * n ** 3 / (time.perf_counter() - start) / 1e9)
  return common.summary(best)


def forward_flops(model):
  """2 x multiply-adds of one example's forward pass through Dense / Conv2D / Conv2DTranspose."""
  total = 0
  for layer in model.layers:
    kind = type(layer).__name__
    kernel = getattr(layer, "kernel", None)
    if kernel is None:
      inner = getattr(layer, "layer", None)   # wrappers (spectral norm)
      kernel = getattr(inner, "kernel", None)
      kind = type(inner).__name__ if inner is not None else kind
    if kernel is None:
      continue
    k = int(np.prod(kernel.shape))
    if kind == "Dense":
      total += 2 * k
    elif kind == "Conv2D":
      _, h, w, _ = layer.output.shape
      total += 2 * k * h * w
    elif kind == "Conv2DTranspose":
      _, h, w, _ = layer.input.shape
      total += 2 * k * h * w
  return total


def dcgan_step_flops(batch=64, n_critic=5):
  from repro import data  # pylint: disable=g-import-not-at-top
  from repro import registry  # pylint: disable=g-import-not-at-top
  from repro.papers import wgan  # pylint: disable=g-import-not-at-top
  recipe = wgan.gp_recipe("cifar10")
  generator, critic = registry.build_models(recipe, data.dataset_info(recipe.dataset).shape)
  f_g, f_d = forward_flops(generator), forward_flops(critic)
  critic_update = batch * (f_g + 3 * f_d * 2 + 3 * 3 * f_d)   # G fwd; D fwd+bwd real+fake; GP
  generator_update = batch * 3 * (f_g + f_d)
  return {"generator_forward_per_example": f_g, "critic_forward_per_example": f_d,
          "batch": batch, "n_critic": n_critic,
          "per_generator_step": n_critic * critic_update + generator_update}


def main(argv=None):
  parser = common.add_common_flags(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
  parser.add_argument("--batch", type=int, default=100)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--matmul", type=int, default=2048)
  parser.add_argument("--train_step_json", default=os.path.join(common.RESULTS_DIR, "train_step_dcgan32.json"))
  args = parser.parse_args(argv)
  smoke = args.smoke
  repeats = 1 if smoke else args.repeats
  batch = 4 if smoke else args.batch
  load_before = common.load_average()
  print(f"load before: {load_before['uptime']}", flush=True)
  fashion = fashion_rate(batch, 2 if smoke else 20, repeats)
  print(f"fashion_mnist_cnn: {fashion['median']:.0f} images/s", flush=True)
  inception = inception_rate(batch, 1, repeats, size=75 if smoke else 299)
  print(f"inception_2015 structure: {inception['median']:.1f} images/s", flush=True)
  matmul_n = 256 if smoke else args.matmul
  gflops = matmul_gflops(matmul_n, 2 if smoke else 5 * repeats)
  print(f"matmul {matmul_n}: {gflops['max']:.1f} GFLOP/s (best)", flush=True)
  step = dcgan_step_flops()
  fraction = None
  if os.path.exists(args.train_step_json):
    import json  # pylint: disable=g-import-not-at-top
    with open(args.train_step_json) as f:
      ts = json.load(f)
    for r in ts.get("results", []):
      if r["case"] == "dcgan32" and not ts.get("smoke"):
        rate = r["variants"][r["best_suite"]]["median"]
        achieved = rate * step["per_generator_step"] / 1e9
        fraction = {"suite_steps_per_s": rate, "variant": r["best_suite"],
                    "achieved_gflops": achieved, "fraction_of_matmul": achieved / gflops["max"],
                    "train_step_time": ts.get("time"), "train_step_load": ts.get("load_before")}
  load_after = common.load_average()
  size = 75 if smoke else 299
  rows = [["fashion_mnist_cnn (28x28, batch %d)" % batch, fashion["median"]],
          ["inception_2015 structure, random weights (%dx%d, batch %d)" % (size, size, batch),
           inception["median"]]]
  common.print_table(["extractor", "images/s (median)"], rows, title="feature extraction")
  print(f"\nmatmul {matmul_n}x{matmul_n} float32: best {gflops['max']:.1f} GFLOP/s, "
        f"median {gflops['median']:.1f}")
  print(f"DCGAN 32x32 WGAN-GP generator step (batch 64, n_critic 5): "
        f"{step['per_generator_step'] / 1e9:.1f} GFLOP (estimate)")
  if fraction:
    print(f"suite {fraction['suite_steps_per_s']:.3f} steps/s -> {fraction['achieved_gflops']:.1f} "
          f"GFLOP/s = {100 * fraction['fraction_of_matmul']:.0f}% of the matmul rate")
  print(f"load after: {load_after['uptime']}")
  common.write_result("features_machine", {
      "smoke": smoke, "repeats": repeats, "batch": batch, "load_before": load_before,
      "load_after": load_after, "fashion_mnist_cnn_images_per_s": fashion,
      "inception_2015_structure_images_per_s": inception, "matmul_n": matmul_n,
      "matmul_gflops": gflops, "dcgan32_step_flops": step, "train_step_fraction": fraction},
      args.out)
  return 0


if __name__ == "__main__":
  sys.exit(main())
