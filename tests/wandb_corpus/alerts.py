# Source: github.com/wandb/examples, colabs/wandb-log/Set_Alerts_with_W_&_B.ipynb,
#   commit 5cab88702fc51edfb4afc79a1de89e9acf6cb605 (cells 5, 6 and 8, in order).
# Licence: the repository states none.
# Changed: `import wandb` -> `import nbtrack as wandb` and `from wandb import AlertLevel` ->
#   `from nbtrack import AlertLevel`; the `!pip install` cell dropped. Every W&B call is as
#   written.

# --- cell 5
# Log in to your W&B account
import nbtrack as wandb

# --- cell 6
wandb.login()

# --- cell 8
import random
from nbtrack import AlertLevel

# Initialize a new run in Weights & Biases
wandb.init(project="test_alerts",
                 config={
                     "threshold": 0.3, # The minimum acceptable accuracy
                     "max_steps": 1000, # The max number of steps for this run
                 })
config = wandb.config

# Simulating a model training loop
for training_step in range(config.max_steps):

  # Generate a random number for accuracy
  accuracy = round(random.random() + random.random(), 3)
  wandb.log({"Accuracy": accuracy})

  # If the accuracy is below the threshold, fire an alert and stop the run
  if accuracy <= config.threshold:
    wandb.alert(
      title='Low Accuracy',
      text=f'Accuracy {accuracy} at step {training_step} is below the acceptable theshold',
      level=AlertLevel.WARN,
      wait_duration=5
    )
    print(f"Script stopped as accuracy is below threshold, {accuracy} vs {config.threshold}")
    break

# Mark the run as finished (useful in Jupyter notebooks)
wandb.finish()
