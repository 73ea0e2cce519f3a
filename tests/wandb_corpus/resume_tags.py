# Source: github.com/wandb/wandb, tests/system_tests/test_core/test_resume.py,
#   commit b6e29505884ea60c79ca12091f1f75bd39d2f955 (the four test_resume_tags_* tests).
#   Licence: MIT, Copyright (c) 2021 Weights and Biases, Inc.
# Changed: `import wandb` -> `import nbtrack as wandb`. W&B's own tests run under pytest with
#   fixtures: here they are called in order at the end of the file, `user` (a fake W&B account)
#   as None and `test_settings` (a factory of wandb.Settings for the test server) as
#   wandb.Settings. Their assertions are W&B's. Every W&B call is as written.
import nbtrack as wandb


def test_resume_tags_overwrite(user, test_settings):
    run = wandb.init(project="tags", tags=["tag1", "tag2"], settings=test_settings())
    run.tags += ("tag3",)
    run_id = run.id
    run.finish()

    run = wandb.init(
        id=run_id,
        resume="must",
        project="tags",
        tags=["tag4", "tag5"],
        settings=test_settings(),
    )
    run.tags += ("tag7",)
    assert run.tags == ("tag4", "tag5", "tag7")
    run.finish()


def test_resume_tags_preserve(user, test_settings):
    run = wandb.init(project="tags", tags=["tag1", "tag2"], settings=test_settings())
    run.tags += ("tag3",)
    run_id = run.id
    run.finish()

    run = wandb.init(id=run_id, resume="must", project="tags", settings=test_settings())
    run.tags += ("tag7",)
    assert run.tags == ("tag1", "tag2", "tag3", "tag7")
    run.finish()


def test_resume_tags_add_after_resume(user, test_settings):
    run = wandb.init(project="tags", settings=test_settings())
    run_id = run.id
    run.finish()

    run = wandb.init(
        id=run_id,
        resume="must",
        project="tags",
        settings=test_settings(),
    )
    run.tags += ("tag7",)
    assert run.tags == ("tag7",)
    run.finish()


def test_resume_tags_add_at_resume(user, test_settings):
    run = wandb.init(project="tags", settings=test_settings())
    run_id = run.id
    run.finish()

    run = wandb.init(
        id=run_id,
        resume="must",
        project="tags",
        tags=["tag4", "tag5"],
        settings=test_settings(),
    )
    run.tags += ("tag7",)
    assert run.tags == ("tag4", "tag5", "tag7")
    run.finish()



if __name__ == "__main__":
    user, test_settings = None, wandb.Settings
    test_resume_tags_overwrite(user, test_settings)
    test_resume_tags_preserve(user, test_settings)
    test_resume_tags_add_after_resume(user, test_settings)
    test_resume_tags_add_at_resume(user, test_settings)
