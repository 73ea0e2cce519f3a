# Source: github.com/wandb/docs, content/en/guides/models/track/config.md,
#   commit 91a956888205bf60b217067152712b75ae060810: the snippets "Set the configuration with
#   argparse" (config_experiment.py) and then "Set the configuration after your Run has
#   finished", in that order. Licence: the repository states none.
# Changed: `import wandb` -> `import nbtrack as wandb`; the second snippet runs after main(args)
#   under `if __name__ == "__main__":` (its `wandb.init()` names no project: WANDB_PROJECT
#   does). Every W&B call is as written.
# config_experiment.py
import argparse
import random

import numpy as np
import nbtrack as wandb


# Training and evaluation demo code
def train_one_epoch(epoch, lr, bs):
    acc = 0.25 + ((epoch / 30) + (random.random() / 10))
    loss = 0.2 + (1 - ((epoch - 1) / 10 + random.random() / 5))
    return acc, loss


def evaluate_one_epoch(epoch):
    acc = 0.1 + ((epoch / 20) + (random.random() / 10))
    loss = 0.25 + (1 - ((epoch - 1) / 10 + random.random() / 6))
    return acc, loss


def main(args):
    # Start a W&B Run
    with wandb.init(project="config_example", config=args) as run:
        # Access values from config dictionary and store them
        # into variables for readability
        lr = run.config["learning_rate"]
        bs = run.config["batch_size"]
        epochs = run.config["epochs"]

        # Simulate training and logging values to W&B
        for epoch in np.arange(1, epochs):
            train_acc, train_loss = train_one_epoch(epoch, lr, bs)
            val_acc, val_loss = evaluate_one_epoch(epoch)

            run.log(
                {
                    "epoch": epoch,
                    "train_acc": train_acc,
                    "train_loss": train_loss,
                    "val_acc": val_acc,
                    "val_loss": val_loss,
                }
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )

    parser.add_argument("-b", "--batch_size", type=int, default=32, help="Batch size")
    parser.add_argument(
        "-e", "--epochs", type=int, default=50, help="Number of training epochs"
    )
    parser.add_argument(
        "-lr", "--learning_rate", type=int, default=0.001, help="Learning rate"
    )

    args = parser.parse_args()
    main(args)

    # --- Set the configuration after your Run has finished
    with wandb.init() as run:
        ...

    # Find the following values from the Run object if it was initiated from the
    # current script or notebook, or you can copy them from the W&B App UI.
    username = run.entity
    project = run.project
    run_id = run.id

    # Note that api.run() returns a different type of object than wandb.init().
    api = wandb.Api()
    api_run = api.run(f"{username}/{project}/{run_id}")
    api_run.config["bar"] = 32
    api_run.update()
