# Source: github.com/wandb/examples,
#   colabs/pytorch/Organizing_Hyperparameter_Sweeps_in_PyTorch_with_W&B.ipynb,
#   commit 5cab88702fc51edfb4afc79a1de89e9acf6cb605 (cells 6, 8, 12, 14, 16, 18, 20, 22, 25, 29,
#   31 and 34, in order). Licence: the repository states none.
# Changed: `import wandb` -> `import nbtrack as wandb`; the `!pip install` cell dropped.
#   The dataset: torchvision's MNIST (a download, normalised) is swapped for synthetic tensors of
#   the same item shape, (1, 28, 28) floats and an int label in 0..9, 1000 training images (then
#   sliced by 5, as the notebook does); torchvision is not imported (not installed here).
#   Every W&B call is as written, `count=5` included.

# --- cell 6
import nbtrack as wandb

# --- cell 8
wandb.login()

# --- cell 12
sweep_config = {
    'method': 'random'
    }

# --- cell 14
metric = {
    'name': 'loss',
    'goal': 'minimize'
    }

sweep_config['metric'] = metric

# --- cell 16
parameters_dict = {
    'optimizer': {
        'values': ['adam', 'sgd']
        },
    'fc_layer_size': {
        'values': [128, 256, 512]
        },
    'dropout': {
          'values': [0.3, 0.4, 0.5]
        },
    }

sweep_config['parameters'] = parameters_dict

# --- cell 18
parameters_dict.update({
    'epochs': {
        'value': 1}
    })

# --- cell 20
parameters_dict.update({
    'learning_rate': {
        # a flat distribution between 0 and 0.1
        'distribution': 'uniform',
        'min': 0,
        'max': 0.1
      },
    'batch_size': {
        # integers between 32 and 256
        # with evenly-distributed logarithms
        'distribution': 'q_log_uniform_values',
        'q': 8,
        'min': 32,
        'max': 256,
      }
    })

# --- cell 22
import pprint
pprint.pprint(sweep_config)

# --- cell 25
sweep_id = wandb.sweep(sweep_config, project="pytorch-sweeps-demo")

# --- cell 29
import torch
import torch.optim as optim
import torch.nn.functional as F
import torch.nn as nn

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

def train(config=None):
    # Initialize a new wandb run
    with wandb.init(config=config):
        # If called by wandb.agent, as below,
        # this config will be set by Sweep Controller
        config = wandb.config

        loader = build_dataset(config.batch_size)
        network = build_network(config.fc_layer_size, config.dropout)
        optimizer = build_optimizer(network, config.optimizer, config.learning_rate)

        for epoch in range(config.epochs):
            avg_loss = train_epoch(network, loader, optimizer)
            wandb.log({"loss": avg_loss, "epoch": epoch})

# --- cell 31
def build_dataset(batch_size):

    # The stand-in for datasets.MNIST(".", train=True, download=True, transform=transform)
    g = torch.Generator().manual_seed(0)
    dataset = torch.utils.data.TensorDataset(
        torch.randn(1000, 1, 28, 28, generator=g), torch.randint(0, 10, (1000,), generator=g))
    sub_dataset = torch.utils.data.Subset(
        dataset, indices=range(0, len(dataset), 5))
    loader = torch.utils.data.DataLoader(sub_dataset, batch_size=batch_size)

    return loader


def build_network(fc_layer_size, dropout):
    network = nn.Sequential(  # fully-connected, single hidden layer
        nn.Flatten(),
        nn.Linear(784, fc_layer_size), nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(fc_layer_size, 10),
        nn.LogSoftmax(dim=1))

    return network.to(device)


def build_optimizer(network, optimizer, learning_rate):
    if optimizer == "sgd":
        optimizer = optim.SGD(network.parameters(),
                              lr=learning_rate, momentum=0.9)
    elif optimizer == "adam":
        optimizer = optim.Adam(network.parameters(),
                               lr=learning_rate)
    return optimizer


def train_epoch(network, loader, optimizer):
    cumu_loss = 0
    for _, (data, target) in enumerate(loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()

        # ➡ Forward pass
        loss = F.nll_loss(network(data), target)
        cumu_loss += loss.item()

        # ⬅ Backward pass + weight update
        loss.backward()
        optimizer.step()

        wandb.log({"batch loss": loss.item()})

    return cumu_loss / len(loader)

# --- cell 34
wandb.agent(sweep_id, train, count=5)
