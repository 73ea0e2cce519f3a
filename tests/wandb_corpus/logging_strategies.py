# Source: github.com/wandb/examples,
#   colabs/wandb-log/Logging_Strategies_for_High_Frequency_Data.ipynb,
#   commit 5cab88702fc51edfb4afc79a1de89e9acf6cb605 (cells 5, 6, 7, 9, 13, 18 and 24, in order).
#   Licence: the repository states none.
# Changed: `import wandb` -> `import nbtrack as wandb`; the `!pip install` cell dropped, and the
#   cells' `%%time` line (an IPython magic: the cell's timing, not W&B's). Nothing else: the
#   four runs log as written, 100_000 steps each, the last one every step. Every W&B call is as
#   written.

# --- cell 5
import nbtrack as wandb

# --- cell 6
wandb.login()

# --- cell 7

import random

timing_header = "=" * 5 + " Timing Results " + "=" * 5

# --- cell 9
total_steps = 100_000
log_every = 500

run = wandb.init(project="perf-log",
                 name="downsample")
with run:
    random.seed(117)
    metric = 0
    for iter in range(total_steps):
        metric += random.randint(-1, 1)

        if (iter + 1) % log_every == 0:  # subsampling
            run.log({"metric": metric, "iter": iter})

    print("Run Finished!")

print("Logging Finished!")
print("\n" + timing_header)

# --- cell 13
total_steps = 100_000
log_every = 500

run = wandb.init(project="perf-log",
                 name="summarizing")

with run:
    random.seed(117)
    metric, running_average = 0, 0
    for iter in range(total_steps):
        metric += random.randint(-1, 1)
        running_average += metric / log_every

        if (iter + 1) % log_every == 0:
            run.log({"metric": running_average, "iter": iter})
            running_average = 0

    print("Run Finished!")

print("Logging Finished!")
print("\n" + timing_header)

# --- cell 18
total_steps = 100_000
log_every = 500

run = wandb.init(project="perf-log",
                 name="batch")
with run:
    random.seed(117)
    metric, batch = 0, []
    for iter in range(total_steps):
        metric += random.randint(-1, 1)
        batch.append(metric)

        if (iter + 1) % log_every == 0:
            run.log({"metric_hist": wandb.Histogram(batch), "iter": iter})
            batch = []

    print("Run Finished!")

print("Logging Finished!")
print("\n" + timing_header)

# --- cell 24
total_steps = 100_000

run = wandb.init(project="perf-log",
                 name="log-everything")
with run:
    random.seed(117)
    metric = 0
    for iter in range(total_steps):
        metric += random.randint(-1, 1)
        run.log({"metric": metric, "iter": iter})

    print("Run Finished!")

print("Logging Finished!")
print("\n" + timing_header)
