from weightspace.train.recipe_diff import recipe_difference

SAVED = {"optim": {"lr": 1e-3, "warmup_epochs": 1}, "strategy": {"name": "meta", "tasks": 2}, "output": "a",
         "data": {"train": "t.txt", "workers": 2}, "epochs": 5}


def test_the_first_differing_dotted_key_is_named_and_result_free_keys_are_not():
    assert recipe_difference(SAVED, SAVED) is None
    assert recipe_difference(SAVED, {**SAVED, "output": "b", "data": {"train": "t.txt", "workers": 8}}) is None
    assert recipe_difference(SAVED, {**SAVED, "optim": {"lr": 1e-4, "warmup_epochs": 2}}) == "optim.lr"
    assert recipe_difference(SAVED, {**SAVED, "strategy": {"name": "meta", "tasks": 4}}) == "strategy"  # as a whole
    assert recipe_difference(SAVED, {k: v for k, v in SAVED.items() if k != "epochs"}) == "epochs"
