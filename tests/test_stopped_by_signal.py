"""Multi-run commands (the KL-WGAN table, whole-run studies) stopped by SIGINT/SIGTERM: the run in
progress keeps its checkpoint, nothing is recorded as finished, and the command exits 128 + the
signal with the resume line."""

import signal
import subprocess

import pytest

from repro import errors


def test_exit_on_error_turns_a_stop_into_128_plus_the_signal(capsys):
  @errors.exit_on_error
  def main(argv):
    raise errors.StoppedBySignal(signal.SIGTERM, "stopped in W at step 3 of 9 (checkpoint saved): "
                                                 "run the same command to resume")
  with pytest.raises(SystemExit) as exit_info:
    main([])
  assert exit_info.value.code == 143
  assert capsys.readouterr().out.strip().endswith("run the same command to resume")


def test_klwgan_table_cell_stopped_by_a_signal_is_not_recorded(tmp_path, monkeypatch):
  from repro.papers import klwgan
  from repro.train import runner

  def stopped_train(self):
    self._stop_signal = signal.SIGINT   # what the handler records; the loop then saves and returns
    return {}

  monkeypatch.setattr(runner.Trainer, "train", stopped_train)
  cell = tmp_path / "mog_kl_run0"
  with pytest.raises(errors.StoppedBySignal) as stop:
    klwgan.train_cell("mog", "kl", 0, 1, str(cell))
  assert stop.value.signum == signal.SIGINT and "run the same command to resume" in str(stop.value)
  assert not (cell / "result.json").exists() and not (cell / "generated.npy").exists()


def test_whole_run_study_passes_a_stopped_training_on(tmp_path, monkeypatch):
  from repro.studies import whole_run
  monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 143))
  with pytest.raises(errors.StoppedBySignal) as stop:
    whole_run.run_study(whole_run.get("wgan_gp_8gaussians"), [1], str(tmp_path), log=lambda s: None)
  assert stop.value.signum == signal.SIGTERM
