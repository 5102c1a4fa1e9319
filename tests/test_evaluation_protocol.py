"""The recipe's evaluation protocol: sampler modes, fresh noise per evaluation, an evaluation at step
0, no metric before `first_step`, the mode recorded in eval.jsonl, and the Inception Score hook."""

import json

import keras
import numpy as np
import pytest

from repro.recipe import Evaluation, make
from repro.train import streams
from repro.train.runner import Trainer


def batch_norm_nets():
  """A 2-D generator with batch norm (so the two samplers differ) and a small critic."""
  z = keras.Input((2,))
  h = keras.layers.BatchNormalization(momentum=0.5)(keras.layers.Dense(8)(z))
  generator = keras.Model(z, keras.layers.Dense(2)(keras.layers.ReLU()(h)))
  x = keras.Input((2,))
  critic = keras.Model(x, keras.layers.Dense(1)(keras.layers.Dense(8, activation="relu")(x)))
  return generator, critic


def trainer_with(tmp_path, evaluation, eval_fn=None, steps=2):
  recipe = make("test", "8gaussians", "mlp", model=dict(hidden=(8,)),
                objective=("wgan", dict(gp_weight=0.1)), z_dim=2, batch_size=16, steps=steps,
                n_critic=1, save_every=steps, log_every=steps, seed=1, evaluation=evaluation)
  return Trainer(recipe, str(tmp_path), quiet=True, models=lambda r: batch_norm_nets(),
                 eval_fn=eval_fn)


@pytest.mark.parametrize("sampler", ["inference", "training"])
def test_samplers(tmp_path, sampler):
  trainer = trainer_with(tmp_path, Evaluation(every=1, sampler=sampler, sample_batch=50))
  net = trainer.generator
  moving = [v.numpy().copy() for v in net.non_trainable_variables]
  samples = trainer.eval_samples(100)
  z = trainer._draw_fixed_noise(100, seed=streams.eval_noise_seed(1, 0))   # pylint: disable=protected-access
  for v, old in zip(net.non_trainable_variables, moving):   # sampling left them as they were
    np.testing.assert_array_equal(v.numpy(), old)
  inference = net(z, training=False).numpy()
  if sampler == "inference":
    np.testing.assert_allclose(samples, inference, rtol=1e-6, atol=1e-6)
  else:   # batch statistics of each batch of 50
    per_batch = np.concatenate([net(z[i:i + 50], training=True).numpy() for i in (0, 50)])
    np.testing.assert_allclose(samples, per_batch, rtol=1e-5, atol=1e-5)
    assert not np.allclose(samples, inference, atol=1e-3)


def test_fresh_noise_at_every_evaluation(tmp_path):
  trainer = trainer_with(tmp_path, Evaluation(every=1))
  first = trainer.eval_samples(64)
  np.testing.assert_array_equal(trainer.eval_samples(64), first)   # same step: the same draw
  trainer.step.assign(7)
  assert not np.allclose(trainer.eval_samples(64), first)


def test_evaluation_at_step_0_and_from_first_step(tmp_path):
  seen = []

  def eval_fn(trainer, step):
    seen.append((step, int(trainer.step.numpy())))
    return {"metric": float(step)}

  trainer = trainer_with(tmp_path, Evaluation(every=1, at_start=True, first_step=2,
                                              sampler="training", metric="none"),
                         eval_fn=eval_fn, steps=3)
  trainer.train()
  # at_start evaluates the untrained generator; step 1 is before first_step; 2 and 3 evaluate.
  assert seen == [(0, 0), (2, 2), (3, 3)]
  records = [json.loads(line) for line in open(tmp_path / "eval.jsonl")]
  assert [r["step"] for r in records] == [0, 2, 3]


def test_sampler_and_precision_recall_are_recorded_with_every_result(tmp_path):
  from repro import data
  from repro.metrics import prdc
  trainer = trainer_with(tmp_path, Evaluation(metric="mode_coverage", every=2, n_samples=200,
                                              sampler="training", sample_batch=100))
  trainer.train()
  record = json.loads(open(tmp_path / "eval.jsonl").read().splitlines()[-1])
  assert record["sampler"] == "training" and "modes_covered" in record
  # the 2-D sets also report precision / recall / density / coverage against 200 training points
  real = next(iter(data.get_dataset("8gaussians", "train", 200,
                                   streams.eval_real_seed(trainer.recipe.seed)))).numpy()
  expected = prdc.prdc(real.astype(np.float64), trainer.eval_samples(200).astype(np.float64))
  assert {k: record[k] for k in expected} == pytest.approx(expected, abs=1e-12)


def test_inception_score_hook_matches_the_score_of_its_logits():
  from repro.metrics.evaluate import inception_score_eval_fn
  from repro.metrics.images import to_extractor_range
  from repro.metrics.inception_score import inception_score

  class Images:
    def eval_samples(self, n):
      return np.random.default_rng(3).uniform(-1, 1, (n, 8, 8, 3)).astype(np.float32)

  hook = inception_score_eval_fn("fake", n=40, quantize="truncate", splits=4)
  result = hook(Images(), 1)
  x = to_extractor_range(Images().eval_samples(40), hook.extractor.input_spec, "truncate")
  mean, std = inception_score(hook.extractor(x)["logits"], 4)
  assert result == {"inception_score": mean, "inception_score_std": std}
