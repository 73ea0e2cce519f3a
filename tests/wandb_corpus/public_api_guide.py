# Source: github.com/wandb/docs, content/en/guides/models/track/public-api-guide.md,
#   commit 594808511148c68c9a81b3a7487731680a79d63f: the guide's Python snippets, in the guide's
#   order: "Understanding the Different Attributes" (its run, made twice so that "Compare two
#   runs" has two), "Querying Multiple Runs" (DataFrame and CSVs, then MongoDB style), "Read
#   metrics from a run", "Compare two runs", "Rename a
#   metric in a completed run", "Update config for an existing run", "Get unsampled metric
#   data", "Get the starting time for a run". Licence: the repository states none.
# Changed: `import wandb` -> `import nbtrack as wandb`. The guide's placeholders are filled with
#   this script's own runs: "<entity>/<project>/<run_id>" (and "username/project", "entity/
#   project/run_id") are the first run's, `project` is "public-api-guide", the metric
#   "accuracy" of "Read metrics from a run" is this run's "loss", "old_name" is "val",
#   `updated_value` is 0.5. Left out: the snippets that need a W&B server's files, sweeps,
#   system-metrics stream or media (file(), files(), upload_file, history(stream="events"),
#   api.sweep, a Histogram in a summary), and "Read specific metrics from a run", which fails
#   in W&B itself: `history(keys=[...])` rows hold `_step` and the keys only (W&B's
#   `_sampled_history`), so its `row["_timestamp"]` is a KeyError. Every W&B call is as the
#   guide writes it.
import random

import nbtrack as wandb

project = "public-api-guide"

# --- Understanding the Different Attributes (twice)
made = []
for _ in range(2):
    n_epochs = 5
    config = {"n_epochs": n_epochs}
    run = wandb.init(project=project, config=config)
    for n in range(run.config.get("n_epochs")):
        run.log(
            {"val": random.randint(0, 1000), "loss": (random.randint(0, 1000) / 1000.00)}
        )
    run.finish()
    made.append(run)

first, second = made
ENTITY, PROJECT, RUN_ID = first.entity, first.project, first.id

# --- Querying Multiple Runs: DataFrame and CSVs
import pandas as pd
import nbtrack as wandb

api = wandb.Api()
entity, project = ENTITY, PROJECT
runs = api.runs(entity + "/" + project)

summary_list, config_list, name_list = [], [], []
for run in runs:
    # .summary contains output keys/values for
    # metrics such as accuracy.
    #  We call ._json_dict to omit large files
    summary_list.append(run.summary._json_dict)

    # .config contains the hyperparameters.
    #  We remove special values that start with _.
    config_list.append({k: v for k, v in run.config.items() if not k.startswith("_")})

    # .name is the human-readable name of the run.
    name_list.append(run.name)

runs_df = pd.DataFrame(
    {"summary": summary_list, "config": config_list, "name": name_list}
)

runs_df.to_csv("project.csv")

# --- Querying Multiple Runs: MongoDB Style
runs = api.runs(
    f"{ENTITY}/{PROJECT}",
    {"$or": [{"config.experiment_name": "foo"}, {"config.experiment_name": "bar"}]},
)
print(f"Found {len(runs)} runs")

# --- Read metrics from a run
import nbtrack as wandb

api = wandb.Api()

run = api.run(f"{ENTITY}/{PROJECT}/{RUN_ID}")
if run.state == "finished":
    for i, row in run.history().iterrows():
        print(row["_timestamp"], row["loss"])

# --- Compare two runs
import pandas as pd
import nbtrack as wandb

api = wandb.Api()

# replace with your <entity>, <project>, and <run_id>
run1 = api.run(f"{ENTITY}/{PROJECT}/{first.id}")
run2 = api.run(f"{ENTITY}/{PROJECT}/{second.id}")


df = pd.DataFrame([run1.config, run2.config]).transpose()

df.columns = [run1.name, run2.name]
print(df[df[run1.name] != df[run2.name]])

# --- Rename a metric in a completed run
import nbtrack as wandb

api = wandb.Api()

run = api.run(f"{ENTITY}/{PROJECT}/{RUN_ID}")
run.summary["new_name"] = run.summary["val"]
del run.summary["val"]
run.summary.update()

# --- Update config for an existing run
import nbtrack as wandb

api = wandb.Api()

updated_value = 0.5
run = api.run(f"{ENTITY}/{PROJECT}/{RUN_ID}")
run.config["key"] = updated_value
run.update()

# --- Get unsampled metric data
import nbtrack as wandb

api = wandb.Api()

run = api.run(f"{ENTITY}/{PROJECT}/{RUN_ID}")
history = run.scan_history()
losses = [row["loss"] for row in history]
print("losses", losses)

# --- Get the starting time for a run
import nbtrack as wandb

api = wandb.Api()

run = api.run(f"{ENTITY}/{PROJECT}/{RUN_ID}")
start_time = run.created_at
print("start_time", start_time)
