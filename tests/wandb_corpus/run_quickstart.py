# Source: github.com/wandb/examples, colabs/intro/run_quickstart.ipynb,
#   commit 5cab88702fc51edfb4afc79a1de89e9acf6cb605 (cells 3, 5 and 7, in order).
# Licence: the repository states none.
# Changed: `import wandb` -> `import nbtrack as wandb` (twice, as the notebook imports it twice);
#   the `!pip install` cell dropped; Colab's secrets (`from google.colab import userdata`) exist
#   only in Colab, so `userdata` is the process environment here (`userdata.get` reads the same
#   name). Every W&B call is as written.

# --- cell 3
import nbtrack as wandb
import os
userdata = os.environ  # Colab's `from google.colab import userdata`, outside Colab

os.environ["WANDB_API_KEY"] = userdata.get("WANDB_API_KEY")


wandb.login()

# --- cell 5
import nbtrack as wandb

# Project that the run is recorded to
project = "my-run-quickstart"

# Hyperparameters
config = {
    "epochs": 10,
    "lr": 0.01,
}

# --- cell 7

import random


with wandb.init(project=project, config=config) as run:
    offset = random.random() / 5
    print(f"lr: {config['lr']}")

    for epoch in range(2, config["epochs"]):
        acc = 1 - 2**-config["epochs"] - random.random() / config["epochs"] - offset
        loss = 2**-config["epochs"] + random.random() / config["epochs"] + offset

        print(f"epoch={epoch}, accuracy={acc:.4f}, loss={loss:.4f}")
        run.log({"epoch": epoch, "accuracy": acc, "loss": loss})
