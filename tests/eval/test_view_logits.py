def test_splits_that_share_videos_share_the_forward_pass_and_a_rescore_runs_none(world, ckpts, tmp_path):
    from weightspace.eval.evaluator import Evaluator
    from weightspace.eval.suite import load_suite

    _, fts = ckpts
    suite = load_suite(world)
    alone = Evaluator(suite.with_benchmarks(["b2n"]), store=False, cache_dir=tmp_path)
    alone.evaluate(fts[0])
    # target's two splits, ooc's and closed's lists hold the same 12 videos as base + novel: no new batch
    every = Evaluator(suite, store=False, cache_dir=tmp_path)
    first = every.evaluate(fts[0])
    assert every.logits.model_batches == alone.logits.model_batches > 0
    again = every.evaluate(fts[0], force=True)  # the same weights: its split logits are still held
    assert every.logits.model_batches == alone.logits.model_batches and again.rows == first.rows
    every.evaluate(fts[1])
    assert every.logits.model_batches == 2 * alone.logits.model_batches
