#!/usr/bin/python3
"""PyTorch peer of src/models/cnn.ts: the same residual CNN (3x3 stem at full resolution, basic blocks with
BatchNorm, a 1x1 conv + BN shortcut where a block changes the shape, global average pooling, dropout, Linear), used
to (1) prove the engine's loss and gradients against PyTorch autograd (`grad`) and (2) measure PyTorch's training
and eval throughput on the same machine (`bench`). The commands, the weight exchange (one safetensors file, keys =
state_dict keys = the engine's parameter names; Linear weights transposed) are vit_torch.py's.

    /usr/bin/python3 bench/peers/cnn_torch.py grad --config cfg.json --weights w.safetensors --inputs in.safetensors --out out.safetensors

Run with Debian's interpreter (/usr/bin/python3: torch 1.13 + libopenblas0-pthread), not pyenv's python3.
"""
import os
import sys

import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vit_torch  # noqa: E402


def activation(cfg):
    return nn.SiLU() if cfg["activation"] == "silu" else nn.ReLU()


class ConvBn(nn.Module):
    def __init__(self, cin, cout, k, stride, cfg):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=(k - 1) // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=cfg["batchNormEps"], momentum=cfg["batchNormMomentum"])

    def forward(self, x):
        return self.bn(self.conv(x))


class BasicBlock(nn.Module):
    """y = act(bn1(conv1(x))); y = bn2(conv2(y)); x = act(shortcut(x) + y)."""

    def __init__(self, cin, cout, stride, cfg):
        super().__init__()
        eps, momentum = cfg["batchNormEps"], cfg["batchNormMomentum"]
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout, eps=eps, momentum=momentum)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, eps=eps, momentum=momentum)
        self.down = ConvBn(cin, cout, 1, stride, cfg) if stride != 1 or cin != cout else None
        self.act = activation(cfg)

    def forward(self, x):
        y = self.act(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.act((self.down(x) if self.down is not None else x) + y)


class CNN(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.stem = ConvBn(cfg["inChannels"], cfg["stemChannels"], 3, 1, cfg)
        self.act = activation(cfg)
        stages, cin = [], cfg["stemChannels"]
        for width, depth, stride in zip(cfg["widths"], cfg["depths"], cfg["strides"]):
            blocks = []
            for j in range(depth):
                blocks.append(BasicBlock(cin, width, stride if j == 0 else 1, cfg))
                cin = width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.drop = nn.Dropout(cfg["dropout"])
        self.head = nn.Linear(cin, cfg["numClasses"])

    def forward(self, x):
        x = self.stages(self.act(self.stem(x)))
        return self.head(self.drop(F.adaptive_avg_pool2d(x, 1).flatten(1)))


if __name__ == "__main__":
    vit_torch.main(CNN, __doc__)
