import json

from weightspace.train.metrics import MetricsLog


def test_a_fresh_run_replaces_stale_lines_and_a_resumed_one_keeps_those_before_its_state(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 9}\n')
    log = MetricsLog(path)
    log.append({"step": 1})
    log.append({"step": 2})
    assert [json.loads(x)["step"] for x in path.read_text().splitlines()] == [1, 2] and log.lines == 2
    resumed = MetricsLog(path, lines=1)  # the state was written after the first line
    resumed.truncate()
    resumed.append({"step": 2})
    assert [json.loads(x)["step"] for x in path.read_text().splitlines()] == [1, 2] and resumed.lines == 2
