# Source: github.com/wandb/examples, colabs/intro/Intro_to_Weights_&_Biases_keras.ipynb,
#   commit 5cab88702fc51edfb4afc79a1de89e9acf6cb605 (cells 7, 8, 10, 13 and 16, in order).
#   Licence: the repository states none.
# Changed: `import wandb` -> `import nbtrack as wandb`, and
#   `from wandb.integration.keras import ...` -> `from nbtrack.integration.keras import ...`;
#   the `!pip install` cell dropped. TensorFlow is not installed here: `tf.keras` is Keras 3
#   (`import keras`, run with KERAS_BACKEND=torch), the same layers, loss and optimizer by name.
#   The dataset: tf.keras.datasets.mnist (a download) is swapped for synthetic arrays of the same
#   shapes and dtypes, uint8 (N, 28, 28) images and uint8 labels in 0..9, 2000 training and 400
#   test images (then sliced by 5 and by 20, as the notebook does). Every W&B call is as written.

# --- cell 7
# Log in to your W&B account
import nbtrack as wandb

# Use wandb-core
wandb.require("core")

# --- cell 8
wandb.login()

# --- cell 10
import random

# Launch 5 simulated experiments
for run in range(5):
    # 1️⃣ Start a new run to track this script
    wandb.init(
        # Set entity to specify your username or team name
        # ex: entity="carey",
        # Set the project where this run will be logged
        project="basic-intro",
        # Track hyperparameters and run metadata
        config={
            "learning_rate": 0.02,
            "architecture": "CNN",
            "dataset": "CIFAR-100",
        },
    )

    # This simple block simulates a training loop logging metrics
    offset = random.random() / 5
    for ii in range(2, 10):
        acc = 1 - 2**-ii - random.random() / ii - offset
        loss = 2**-ii + random.random() / ii + offset
        # 2️⃣ Log metrics from your script to W&B
        wandb.log({"acc": acc, "loss": loss})

    # Mark the run as finished
    wandb.finish()

# --- cell 13
import random
import numpy as np
import keras
from nbtrack.integration.keras import WandbMetricsLogger, WandbModelCheckpoint


def load_data():
    # The stand-in for tf.keras.datasets.mnist.load_data().
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (2000, 28, 28), dtype=np.uint8)
    y_train = rng.integers(0, 10, (2000,), dtype=np.uint8)
    x_test = rng.integers(0, 256, (400, 28, 28), dtype=np.uint8)
    y_test = rng.integers(0, 10, (400,), dtype=np.uint8)
    return (x_train, y_train), (x_test, y_test)

# Simple Keras Model

# Launch 5 experiments, trying different dropout rates
for run in range(5):
    # Start a run, tracking hyperparameters
    wandb.init(
        project="keras-intro",
        # (optional) set entity to specify your username or team name
        # entity="my_team",
        config={
            "layer_1": 512,
            "activation_1": "relu",
            "dropout": random.uniform(0.01, 0.80),
            "layer_2": 10,
            "activation_2": "softmax",
            "optimizer": "sgd",
            "loss": "sparse_categorical_crossentropy",
            "metric": "accuracy",
            "epoch": 6,
            "batch_size": 256,
        },
    )
    config = wandb.config

    # Get the data
    (x_train, y_train), (x_test, y_test) = load_data()
    x_train, x_test = x_train / 255.0, x_test / 255.0
    x_train, y_train = x_train[::5], y_train[::5]  # Subset data for a faster demo
    x_test, y_test = x_test[::20], y_test[::20]
    labels = [str(digit) for digit in range(np.max(y_train) + 1)]

    # Build a model
    model = keras.models.Sequential(
        [
            keras.layers.Flatten(input_shape=(28, 28)),
            keras.layers.Dense(config.layer_1, activation=config.activation_1),
            keras.layers.Dropout(config.dropout),
            keras.layers.Dense(config.layer_2, activation=config.activation_2),
        ]
    )

    model.compile(optimizer=config.optimizer, loss=config.loss, metrics=[config.metric])

    # Add WandbMetricsLogger to log metrics and WandbModelCheckpoint to log model checkpoints
    wandb_callbacks = [
        WandbMetricsLogger(),
        WandbModelCheckpoint(filepath="my_model_{epoch:02d}.keras"),
    ]

    model.fit(
        x=x_train,
        y=y_train,
        epochs=config.epoch,
        batch_size=config.batch_size,
        validation_data=(x_test, y_test),
        callbacks=wandb_callbacks,
    )

    # Mark the run as finished
    wandb.finish()

# --- cell 16
# Start a wandb run
wandb.init(project="keras-intro")

# Simulating a model training loop
acc_threshold = 0.3
for training_step in range(1000):

    # Generate a random number for accuracy
    accuracy = round(random.random() + random.random(), 3)
    print(f"Accuracy is: {accuracy}, {acc_threshold}")

    # 🐝 Log accuracy to wandb
    wandb.log({"Accuracy": accuracy})

    # 🔔 If the accuracy is below the threshold, fire a W&B Alert and stop the run
    if accuracy <= acc_threshold:
        # 🐝 Send the wandb Alert
        wandb.alert(
            title="Low Accuracy",
            text=f"Accuracy {accuracy} at step {training_step} is below the acceptable theshold, {acc_threshold}",
        )
        print("Alert triggered")
        break

# Mark the run as finished (useful in Jupyter notebooks)
wandb.finish()
