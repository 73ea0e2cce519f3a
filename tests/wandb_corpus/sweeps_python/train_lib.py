# Source: github.com/wandb/examples, examples/wandb-sweeps/sweeps-python/train_lib.py,
#   commit 5cab88702fc51edfb4afc79a1de89e9acf6cb605. Licence: the repository states none.
# Changed: `import wandb` -> `import nbtrack as wandb`. TensorFlow is not installed here:
#   `tf.keras` is Keras 3 (`import keras`, run with KERAS_BACKEND=torch) and `tf.nn.relu` /
#   `tf.nn.softmax` are the activations by name. The dataset: fashion_mnist (a download) is
#   swapped for synthetic arrays of the same shapes and dtypes, uint8 (N, 28, 28) images and
#   labels in 0..9, 600 training and 100 test images; 5 epochs -> 1. Every W&B call is as
#   written (`magic=True` included).

def train():
    import numpy as np
    import keras
    import nbtrack as wandb
    config_defaults = {
        'layers': 128
    }
    wandb.init(config=config_defaults, magic=True)

    def load_data():
        # The stand-in for tf.keras.datasets.fashion_mnist.load_data().
        rng = np.random.default_rng(0)
        return ((rng.integers(0, 256, (600, 28, 28), dtype=np.uint8),
                 rng.integers(0, 10, (600,), dtype=np.uint8)),
                (rng.integers(0, 256, (100, 28, 28), dtype=np.uint8),
                 rng.integers(0, 10, (100,), dtype=np.uint8)))

    (train_images, train_labels), (test_images, test_labels) = load_data()
    class_names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
                   'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']

    train_images.shape
    train_images = train_images / 255.0
    test_images = test_images / 255.0

    model = keras.Sequential([
        keras.layers.Flatten(input_shape=(28, 28)),
        keras.layers.Dense(wandb.config.layers, activation="relu"),
        keras.layers.Dense(10, activation="softmax")
    ])

    model.compile(optimizer='adam',
                  loss='sparse_categorical_crossentropy',
                  metrics=['accuracy'])

    model.fit(train_images, train_labels, epochs=1,
                  validation_data=(test_images, test_labels))
