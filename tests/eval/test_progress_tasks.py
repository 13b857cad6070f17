import logging

from weightspace.eval.progress_tasks import ProgressTasks


def test_nested_tasks_share_one_display_that_stops_with_the_last(caplog):
    tasks = ProgressTasks(enabled=True)  # stderr is not a terminal under pytest: log lines
    with caplog.at_level(logging.INFO, logger="weightspace.progress"):
        with tasks.task("b2n/base", 2) as outer:
            live = tasks._live
            with tasks.task("decode b2n/base", 1) as inner:
                assert tasks._live is live and len(live.tasks) == 2
                inner()
            outer()
            outer()
            assert len(live.tasks) == 1
        assert tasks._live is None
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["decode b2n/base", "b2n/base"]


def test_disabled_tasks_show_nothing(caplog):
    tasks = ProgressTasks()
    with caplog.at_level(logging.INFO, logger="weightspace.progress"), tasks.task("x", 1) as advance:
        advance()
    assert tasks._live is None and not caplog.records
