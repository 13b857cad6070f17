import pytest

from weightspace.errors import ConfigError, OutputError
from weightspace.train.output import RunFolder
from weightspace.train.state import save_state


def test_a_run_folder_refuses_a_users_folder_and_another_recipes_run(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    with pytest.raises(OutputError, match="did not write"):
        RunFolder.at(tmp_path / "mine").prepare({"epochs": 1}, overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").is_file()  # refused before anything is cleared
    run = RunFolder.at(tmp_path / "run")
    run.prepare({"epochs": 1}, overwrite=False)
    save_state(run.state, {"recipe": {"epochs": 1, "seed": 0}})
    with pytest.raises(ConfigError, match="key 'seed' differs"):
        run.prepare({"epochs": 1, "seed": 1}, overwrite=False)
    run.prepare({"epochs": 1, "seed": 0, "output": "elsewhere"}, overwrite=False)  # same run
    run.metrics.write_text("{}\n")
    run.prepare({"epochs": 1, "seed": 1}, overwrite=True)
    assert not run.state.exists() and not run.metrics.exists()


def test_the_result_lists_the_snapshots_and_outputs_that_exist(tmp_path):
    run = RunFolder.at(tmp_path)
    run.snapshot(1).mkdir(parents=True)
    res = run.result(epochs=2, resumed=(1, 0), final_loss=0.5)
    assert res.snapshots == [tmp_path / "snapshots" / "epoch_001"] and res.gwa is None and res.loss_curve is None
    assert (res.resumed_from, res.final_loss, res.metrics) == ((1, 0), 0.5, tmp_path / "metrics.jsonl")
