#!/usr/bin/python3
"""How far can a plain CNN get on a dataset version's training cache? A diagnostic for the vit-small goal
(docs/training.md, "Is it the data or the model?"): if a small convolutional network trained for a few minutes on the
very same 64x64 tensors clears a test accuracy the ViT does not, the pixels carry the information and the gap is the
model's; if it does not, the preprocessed data is the limit.

Reads the `<split>.srcache` files that `secondread data cache` writes (format in src/data/cache/format.ts): trains on
train, reports val accuracy per epoch (val rows not flagged final_eval, as the trainer selects), and test accuracy and
confusion over the whole test split (as `secondread train` reports it).

    /usr/bin/python3 bench/peers/cnn_ceiling.py $SECONDREAD_HOME/cache/<version>/64 --epochs 20

Run with Debian's interpreter (/usr/bin/python3: torch 1.13), not pyenv's python3.
"""
import argparse
import json
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load(root, split, keep_final_eval):
    with open(f"{root}/{split}.srcache", "rb") as f:
        b = f.read()
    if b[:8] != b"SRCACHE1":
        raise SystemExit(f"{root}/{split}.srcache is not a secondread cache file")
    h = int.from_bytes(b[8:12], "little")
    arrays = json.loads(b[12 : 12 + h])["arrays"]
    n, s, _ = arrays["images"]["shape"]
    x = np.frombuffer(b, np.uint8, n * s * s, arrays["images"]["offset"]).reshape(n, 1, s, s)
    y = np.frombuffer(b, np.uint8, n, arrays["labels"]["offset"])
    flagged = np.frombuffer(b, np.uint8, n, arrays["final_eval"]["offset"]) == 1
    keep = np.ones(n, bool) if keep_final_eval else ~flagged
    return torch.tensor(x[keep].astype(np.float32) / 255.0), torch.tensor(y[keep].astype(np.int64))


def conv_bn_relu(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


def small_cnn(classes):
    """Seven 3x3 conv blocks (full resolution first, then /2 three times), global average pooling: ~0.29M parameters."""
    return nn.Sequential(
        conv_bn_relu(1, 16, 1), conv_bn_relu(16, 32, 2), conv_bn_relu(32, 32, 1), conv_bn_relu(32, 64, 2),
        conv_bn_relu(64, 64, 1), conv_bn_relu(64, 128, 2), conv_bn_relu(128, 128, 1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(128, classes),
    )


def augment(x, gen):
    """Scale ±10 %, rotation ±5°, shift ±5 %, brightness and contrast ±10 %: as mild as the ViT recipe."""
    n = x.shape[0]
    scale = 1 + (torch.rand(n, generator=gen) - 0.5) * 0.2
    angle = (torch.rand(n, generator=gen) - 0.5) * 0.17
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = scale * torch.cos(angle)
    theta[:, 0, 1] = -scale * torch.sin(angle)
    theta[:, 1, 0] = scale * torch.sin(angle)
    theta[:, 1, 1] = scale * torch.cos(angle)
    theta[:, :, 2] = (torch.rand(n, 2, generator=gen) - 0.5) * 0.1
    x = F.grid_sample(x, F.affine_grid(theta, x.shape, align_corners=False), align_corners=False)
    return x * (1 + (torch.rand(n, 1, 1, 1, generator=gen) - 0.5) * 0.2) + (torch.rand(n, 1, 1, 1, generator=gen) - 0.5) * 0.2


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cache_dir", help="folder with train/val/test.srcache (e.g. $SECONDREAD_HOME/cache/<version>/64)")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    xtr, ytr = load(a.cache_dir, "train", True)
    xva, yva = load(a.cache_dir, "val", False)
    xte, yte = load(a.cache_dir, "test", True)
    classes = int(max(ytr.max(), yva.max(), yte.max())) + 1
    mean, std = xtr.mean(), xtr.std()
    net = small_cnn(classes)
    print(f"train {len(xtr)}, val {len(xva)}, test {len(xte)}; {sum(p.numel() for p in net.parameters())} parameters", flush=True)
    batch = 64
    opt = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=a.epochs * ((len(xtr) + batch - 1) // batch))

    def predict(x):
        net.eval()
        with torch.no_grad():
            p = torch.cat([net((x[i : i + 256] - mean) / std).argmax(1) for i in range(0, len(x), 256)])
        net.train()
        return p

    t0 = time.time()
    for epoch in range(a.epochs):
        perm = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(xtr), batch):
            idx = perm[i : i + batch]
            loss = F.cross_entropy(net((augment(xtr[idx], gen) - mean) / std), ytr[idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        val = (predict(xva) == yva).float().mean().item()
        print(f"epoch {epoch + 1}/{a.epochs}  val accuracy {val:.3f}  {time.time() - t0:.0f} s", flush=True)
    p = predict(xte)
    print(f"test accuracy {(p == yte).float().mean().item():.4f} (n={len(yte)}) after {time.time() - t0:.0f} s")
    cm = np.zeros((classes, classes), int)
    for t, q in zip(yte.numpy(), p.numpy()):
        cm[t, q] += 1
    print("test confusion (rows truth, columns predicted):")
    print(cm)


if __name__ == "__main__":
    main()
