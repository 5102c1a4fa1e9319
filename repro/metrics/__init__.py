"""Evaluation metrics for GANs: FID, Inception Score, KID, toy-data and n-gram metrics.

Layout (metric math is plain NumPy; only the feature extractors and image I/O import TensorFlow):

  fid.py              Fréchet distance, activation statistics, stats ``.npz`` files, ``python -m`` CLI
  statistics.py       one-shot and streaming mean/covariance (float64)
  stats_io.py         ``.npz`` statistics files (TTUR's ``fid_stats_*.npz`` layout)
  inception_score.py  Inception Score from logits
  kid.py              Kernel Inception Distance (TF-GAN's block estimator)
  extractors/         registry of feature extractors (official 2015 Inception graph, Fashion-MNIST CNN, fake)
  images.py           image folders and the [-1, 1] -> extractor-range quantisation protocol
  evaluate.py         evaluate a generator against reference statistics; ``fid_eval_fn`` for the trainer
  fid_cli.py          ``python -m repro.metrics.fid A B`` (TTUR-like command line)
  train_classifier.py ``python -m repro.metrics.train_classifier``: the Fashion-MNIST CNN extractor
  manifest.py         ``checkpoints/manifest.json`` (sha256 of shipped weights, metrics, command)
  toy.py              2-D mode coverage, KL-WGAN MMD, KDE log-likelihood
  ngram.py            character n-gram Jensen-Shannon divergence (WGAN-GP language experiments)

This ``__init__`` deliberately imports nothing, so ``python -m repro.metrics.fid`` runs cleanly and
importing the math does not import TensorFlow.
"""
