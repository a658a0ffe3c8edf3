#!/usr/bin/python3
"""A classifier produced by another tool, for the registry's import test
(src/tracking/torch-import.integration.test.ts).

`export`: builds a small seeded CNN in PyTorch (RGB input, ImageNet-style per-channel normalization,
BatchNorm with non-trivial running statistics), exports it with torch.onnx.export (dynamic batch axis)
and writes the meta.json that `secondread models import` expects, plus the weights.
`predict`: runs the same PyTorch module (float64) on inputs prepared by secondread and prints the
logits and softmax(logits / T) as JSON, so the test compares secondread's prediction with PyTorch's.

Run with Debian's interpreter (/usr/bin/python3: torch 1.13), not pyenv's python3.
"""
import argparse
import json
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class SmallCnn(nn.Module):
    def __init__(self, channels, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.head = nn.Linear(16, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.relu(self.bn2(self.conv2(x)))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.head(x)


def build(channels, classes, seed):
    torch.manual_seed(seed)
    model = SmallCnn(channels, classes)
    # Running statistics away from their defaults, as after training (else BN is nearly the identity).
    with torch.no_grad():
        for bn in (model.bn1, model.bn2):
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.5, 1.5)
            bn.weight.uniform_(0.8, 1.2)
            bn.bias.uniform_(-0.1, 0.1)
    return model.eval()


def export(args):
    classes = args.classes.split(',')
    model = build(3, len(classes), args.seed)
    dummy = torch.zeros(1, 3, args.size, args.size)
    torch.onnx.export(
        model, dummy, args.out, input_names=['input'], output_names=['logits'],
        dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=13,
    )
    torch.save(model.state_dict(), args.weights)
    meta = {
        'classes': classes,
        'input': {'name': 'input', 'shape': ['batch', 3, args.size, args.size]},
        'output': {'name': 'logits'},
        'preprocessing': {'size': args.size, 'channels': 3, 'scale': 1 / 255,
                          'mean': [0.485, 0.456, 0.406], 'std': [0.229, 0.224, 0.225]},
        'temperature': args.temperature,
        'framework': 'pytorch ' + torch.__version__,
        'description': 'small CNN exported by torch.onnx.export (test peer)',
    }
    with open(args.meta, 'w') as f:
        json.dump(meta, f, indent=2)


def predict(args):
    with open(args.meta) as f:
        meta = json.load(f)
    size = meta['preprocessing']['size']
    model = build(3, len(meta['classes']), 0)
    model.load_state_dict(torch.load(args.weights))
    model = model.double().eval()
    x = np.fromfile(args.input, dtype='<f4').reshape(-1, 3, size, size)
    with torch.no_grad():
        logits = model(torch.from_numpy(x.astype(np.float64)))
        probs = torch.softmax(logits / meta.get('temperature', 1.0), dim=1)
    json.dump({'logits': logits.tolist(), 'probabilities': probs.tolist()}, sys.stdout)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='cmd', required=True)
    e = sub.add_parser('export')
    e.add_argument('--out', required=True)
    e.add_argument('--meta', required=True)
    e.add_argument('--weights', required=True)
    e.add_argument('--classes', required=True)
    e.add_argument('--size', type=int, default=48)
    e.add_argument('--seed', type=int, default=0)
    e.add_argument('--temperature', type=float, default=1.0)
    r = sub.add_parser('predict')
    r.add_argument('--meta', required=True)
    r.add_argument('--weights', required=True)
    r.add_argument('--input', required=True)
    args = p.parse_args()
    export(args) if args.cmd == 'export' else predict(args)


if __name__ == '__main__':
    main()
