# Source: github.com/wandb/examples, colabs/wandb-log/Configs_in_W&B.ipynb,
#   commit 5cab88702fc51edfb4afc79a1de89e9acf6cb605 (cells 4, 5, 11, 16, 20 and 24, in order).
# Licence: the repository states none.
# Changed: `import wandb` -> `import nbtrack as wandb` (twice, as the notebook imports it twice);
#   the `!pip install` cell and the last cell (a YouTube video) dropped. The notebook never calls
#   wandb.finish(): the run ends with the process, as a script's does. Every W&B call is as
#   written.

# --- cell 4
import nbtrack as wandb

# --- cell 5
wandb.login()

# --- cell 11
import nbtrack as wandb

wandb.init(project="config_example",
           config={"dataset": "CelebA", "type": "baseline"});

# --- cell 16
wandb.config.epochs = 4
wandb.config["batch_size"] = 32

# --- cell 20
import argparse

parser = argparse.ArgumentParser()
parser.add_argument('-b', '--batch_per_gpu', type=int, default=8,
                    help='input batch size for training (default: 8)')
parser.add_argument('-wd', '--weight_decay', type=float, default=0.1,
                    help='weight decay (default: 0.1)')

args = parser.parse_args(args=[])
wandb.config.update(args)

# --- cell 24
api = wandb.Api()

# pulling the relevant info automatically from the run object
# this can also be found on the website
username = wandb.run.entity
project = wandb.run.project
run_id = wandb.run.id

run = api.run(f"{username}/{project}/{run_id}")
run.config["bar"] = 32
run.update()
