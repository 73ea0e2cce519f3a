# Source: github.com/wandb/examples, colabs/wandb-model-registry/New_Model_Logging_in_W&B.ipynb,
#   commit 5cab88702fc51edfb4afc79a1de89e9acf6cb605 (cells 4, 6, 9, 10, 12 and 14, in order).
#   Licence: the repository states none.
# Changed: `import wandb` -> `import nbtrack as wandb`; the `!pip install` cell dropped. The
#   dataset is the notebook's own (random tensors): 100 images of 256x256 -> 32 of 64x64 (the
#   patch size, 32, kept), so one batch an epoch. einops is not installed here: its four calls
#   (two `rearrange`, `repeat`, the `Rearrange` layer) are the same reshapes written with torch,
#   in the stand-ins below the imports; the torchvision imports (unused) are dropped. Every W&B
#   call is as written (`link_model` included: nbtrack has no model registry and says so).

# --- cell 4
import torch
from torch import nn
import torch
from torch.utils.data import DataLoader, Dataset
import torch
from torch import nn
from torch.optim import Adam
from torch.utils.data import DataLoader

import nbtrack as wandb


# Stand-ins for einops (not installed here), for exactly the patterns this notebook uses.
def rearrange(t, pattern, h=None):
    if pattern == 'b n (h d) -> b h n d':
        b, n, hd = t.shape
        return t.view(b, n, h, hd // h).transpose(1, 2)
    if pattern == 'b h n d -> b n (h d)':
        b, h, n, d = t.shape
        return t.transpose(1, 2).reshape(b, n, h * d)
    raise ValueError(pattern)


def repeat(t, pattern, b):
    assert pattern == '1 1 d -> b 1 d'
    return t.expand(b, -1, -1)


class Rearrange(nn.Module):
    def __init__(self, pattern, p1, p2):
        super().__init__()
        assert pattern == 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)'
        self.p1, self.p2 = p1, p2

    def forward(self, x):
        b, c, H, W = x.shape
        h, w = H // self.p1, W // self.p2
        x = x.view(b, c, h, self.p1, w, self.p2).permute(0, 2, 4, 3, 5, 1)
        return x.reshape(b, h * w, self.p1 * self.p2 * c)
# --- cell 6
wandb.login()
# --- cell 9
# Define the number of samples, classes, and image size
num_samples = 32
num_classes = 10
image_size = 64
batch_size = 32
# --- cell 10
# helpers
def pair(t):
    return t if isinstance(t, tuple) else (t, t)

# classes
class FeedForward(nn.Module):
    def __init__(self, dim, hidden_dim, dropout = 0.):
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(dim),
            nn.Linear(dim, hidden_dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, dim),
            nn.Dropout(dropout)
        )

    def forward(self, x):
        return self.net(x)

class Attention(nn.Module):
    def __init__(self, dim, heads = 8, dim_head = 64, dropout = 0.):
        super().__init__()
        inner_dim = dim_head *  heads
        project_out = not (heads == 1 and dim_head == dim)

        self.heads = heads
        self.scale = dim_head ** -0.5

        self.norm = nn.LayerNorm(dim)

        self.attend = nn.Softmax(dim = -1)
        self.dropout = nn.Dropout(dropout)

        self.to_qkv = nn.Linear(dim, inner_dim * 3, bias = False)

        self.to_out = nn.Sequential(
            nn.Linear(inner_dim, dim),
            nn.Dropout(dropout)
        ) if project_out else nn.Identity()

    def forward(self, x):
        x = self.norm(x)

        qkv = self.to_qkv(x).chunk(3, dim = -1)
        q, k, v = map(lambda t: rearrange(t, 'b n (h d) -> b h n d', h = self.heads), qkv)

        dots = torch.matmul(q, k.transpose(-1, -2)) * self.scale

        attn = self.attend(dots)
        attn = self.dropout(attn)

        out = torch.matmul(attn, v)
        out = rearrange(out, 'b h n d -> b n (h d)')
        return self.to_out(out)

class Transformer(nn.Module):
    def __init__(self, dim, depth, heads, dim_head, mlp_dim, dropout = 0.):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.layers = nn.ModuleList([])
        for _ in range(depth):
            self.layers.append(nn.ModuleList([
                Attention(dim, heads = heads, dim_head = dim_head, dropout = dropout),
                FeedForward(dim, mlp_dim, dropout = dropout)
            ]))

    def forward(self, x):
        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x

        return self.norm(x)

class ViT(nn.Module):
    def __init__(self, *, image_size, patch_size, num_classes, dim, depth, heads, mlp_dim, pool = 'cls', channels = 3, dim_head = 64, dropout = 0., emb_dropout = 0.):
        super().__init__()
        image_height, image_width = pair(image_size)
        patch_height, patch_width = pair(patch_size)

        assert image_height % patch_height == 0 and image_width % patch_width == 0, 'Image dimensions must be divisible by the patch size.'

        num_patches = (image_height // patch_height) * (image_width // patch_width)
        patch_dim = channels * patch_height * patch_width
        assert pool in {'cls', 'mean'}, 'pool type must be either cls (cls token) or mean (mean pooling)'

        self.to_patch_embedding = nn.Sequential(
            Rearrange('b c (h p1) (w p2) -> b (h w) (p1 p2 c)', p1 = patch_height, p2 = patch_width),
            nn.LayerNorm(patch_dim),
            nn.Linear(patch_dim, dim),
            nn.LayerNorm(dim),
        )

        self.pos_embedding = nn.Parameter(torch.randn(1, num_patches + 1, dim))
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))
        self.dropout = nn.Dropout(emb_dropout)

        self.transformer = Transformer(dim, depth, heads, dim_head, mlp_dim, dropout)

        self.pool = pool
        self.to_latent = nn.Identity()

        self.mlp_head = nn.Linear(dim, num_classes)

    def forward(self, img):
        x = self.to_patch_embedding(img)
        b, n, _ = x.shape

        cls_tokens = repeat(self.cls_token, '1 1 d -> b 1 d', b = b)
        x = torch.cat((cls_tokens, x), dim=1)
        x += self.pos_embedding[:, :(n + 1)]
        x = self.dropout(x)

        x = self.transformer(x)

        x = x.mean(dim = 1) if self.pool == 'mean' else x[:, 0]

        x = self.to_latent(x)
        return self.mlp_head(x)


# Define a custom dataset
class RandomImageDataset(Dataset):
    def __init__(self, num_samples, num_classes, image_size):
        self.num_samples = num_samples
        self.num_classes = num_classes
        self.image_size = image_size

    def __len__(self):
        return self.num_samples

    def __getitem__(self, idx):
        # Generate a random image tensor
        image = torch.randn(3, self.image_size, self.image_size)  # 3 channels, image_size x image_size
        # Generate a random label
        label = torch.randint(0, self.num_classes, (1,)).item()
        return image, label



# Create the dataset
dataset = RandomImageDataset(num_samples=num_samples, num_classes=num_classes, image_size=image_size)

# Create a DataLoader
dataloader = DataLoader(dataset, batch_size=batch_size, shuffle=True)
# --- cell 12
run = wandb.init(project="new_model_logging",
                 job_type="training")

v = ViT(
    image_size = image_size,
    patch_size = 32,
    num_classes = num_classes,
    dim = 128,
    depth = 3,
    heads = 2,
    mlp_dim = 256,
    dropout = 0.1,
    emb_dropout = 0.1
)

# Define the loss function and optimizer
criterion = nn.CrossEntropyLoss()
optimizer = Adam(v.parameters(), lr=0.003)

# Training loop
best_accuracy = 0
for epoch in range(5):  # number of epochs
    for images, labels in dataloader:
        # Forward pass
        preds = v(images)
        loss = criterion(preds, labels)

        # Backward pass and optimization
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        wandb.log({"train/loss": loss})

    # Model evaluation after each epoch (using a validation set)
    # Here you would write your validation loop and calculate accuracy
    val_accuracy = 0.5  # Assume this is the validation accuracy you compute
    model_path = 'model_vit.pth'
    torch.save(v.state_dict(), model_path)

    # Check if this is the best model so far
    if val_accuracy > best_accuracy:
        best_accuracy = val_accuracy
        # Log the model to your W&B run
        wandb.log_model(name=f"model_vit-{wandb.run.id}", path=model_path, aliases=["best", f"epoch_{epoch}"])
    else:
        wandb.log_model(name=f"model_vit-{wandb.run.id}", path=model_path, aliases=[f"epoch_{epoch}"])
# --- cell 14
# Link the best model to the W&B Model Registry (after all epochs are finished)
artifact_name = f"model_vit-{wandb.run.id}:best"
best_model_path = wandb.use_model(artifact_name)

# Link the best model to the registry
wandb.link_model(path=best_model_path,
                 registered_model_name="Industrial ViT",
                 aliases=["staging"])
run.finish()
