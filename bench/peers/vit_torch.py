#!/usr/bin/python3
"""PyTorch peer of src/models/vit.ts: the same Vision Transformer with a conv stem, used to
(1) prove the engine's loss and gradients against PyTorch autograd (`grad`), and
(2) measure PyTorch's training and eval throughput on the same machine (`bench`).

Parameter names equal the engine's graph parameter names (the state_dict keys below), so weights travel as one
safetensors file. Layout difference: the engine stores Linear weights as [in, out] (x @ W); PyTorch as [out, in].
`ENGINE_TRANSPOSED` lists those names and they are transposed on the way in and out.

Run with Debian's interpreter (/usr/bin/python3: torch 1.13 + libopenblas0-pthread), not pyenv's python3.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402


class ConvBnRelu(nn.Module):
    def __init__(self, cin, cout, stride, eps, momentum):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=eps, momentum=momentum)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        h = self.heads
        qkv = self.qkv(x).reshape(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // h))
        att = att.softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        return self.proj(y)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        eps = cfg["layerNormEps"]
        self.ln1 = nn.LayerNorm(cfg["dim"], eps=eps)
        self.attn = Attention(cfg["dim"], cfg["heads"])
        self.ln2 = nn.LayerNorm(cfg["dim"], eps=eps)
        self.mlp = Mlp(cfg["dim"], cfg["mlpDim"])
        self.drop = nn.Dropout(cfg["dropout"])

    def forward(self, x):
        x = x + self.drop(self.attn(self.ln1(x)))
        return x + self.drop(self.mlp(self.ln2(x)))


class ViT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        chans = [cfg["inChannels"]] + list(cfg["stemChannels"])
        self.stem = nn.Sequential(
            *[
                ConvBnRelu(chans[i], chans[i + 1], s, cfg["batchNormEps"], cfg["batchNormMomentum"])
                for i, s in enumerate(cfg["stemStrides"])
            ]
        )
        p = cfg["patchSize"]
        self.patch = nn.Conv2d(chans[-1], cfg["dim"], p, stride=p)
        grid = cfg["imageSize"] // int(np.prod(cfg["stemStrides"])) // p
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg["dim"]))
        self.pos_embed = nn.Parameter(torch.randn(1, grid * grid + 1, cfg["dim"]) * 0.02)
        self.blocks = nn.Sequential(*[Block(cfg) for _ in range(cfg["depth"])])
        self.norm = nn.LayerNorm(cfg["dim"], eps=cfg["layerNormEps"])
        self.head = nn.Linear(cfg["dim"], cfg["numClasses"])
        self.pool = cfg.get("pool", "cls")

    def forward(self, x):
        x = self.patch(self.stem(x))  # [B, D, g, g]
        x = x.flatten(2).transpose(1, 2)  # [B, g*g, D]
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embed
        x = self.blocks(x)
        # LayerNorm is per token: normalizing only [CLS] equals normalizing all tokens, as src/models/vit.ts does.
        # pool 'mean': the mean of the patch tokens (not [CLS]), normalized after pooling (timm's fc_norm order).
        pooled = x[:, 1:].mean(dim=1) if self.pool == "mean" else x[:, 0]
        return self.head(self.norm(pooled))


def engine_transposed(model):
    """Names of Linear weights (engine layout [in, out])."""
    return {f"{n}.weight" for n, m in model.named_modules() if isinstance(m, nn.Linear)}


def load_engine_weights(model, tensors, dtype):
    transposed = engine_transposed(model)
    state = model.state_dict()
    missing = [k for k in state if k not in tensors and not k.endswith("num_batches_tracked")]
    if missing:
        raise SystemExit(f"weights file lacks: {missing}")
    for k in state:
        if k.endswith("num_batches_tracked"):
            continue
        arr = tensors[k].T if k in transposed else tensors[k]
        if tuple(arr.shape) != tuple(state[k].shape):
            raise SystemExit(f"{k}: shape {arr.shape} != {tuple(state[k].shape)}")
        state[k].copy_(torch.from_numpy(np.ascontiguousarray(arr)).to(dtype))


def cmd_grad(a, build):
    """Loss, logits and parameter gradients of one training-mode forward/backward of build(cfg)."""
    cfg = json.load(open(a.config))
    dtype = torch.float64 if a.dtype == "float64" else torch.float32
    torch.manual_seed(0)
    model = build(cfg).to(dtype)
    weights, _ = safetensors_io.read(a.weights)
    load_engine_weights(model, weights, dtype)
    inputs, _ = safetensors_io.read(a.inputs)
    x = torch.from_numpy(inputs["x"]).to(dtype)
    y = torch.from_numpy(inputs["y"]).long()
    model.train()
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    transposed = engine_transposed(model)
    out = {"loss": np.array(loss.item()), "logits": logits.detach().numpy()}
    for n, p in model.named_parameters():
        g = p.grad.detach().numpy()
        out[f"grad/{n}"] = g.T if n in transposed else g
    for n, b in model.named_buffers():
        if not n.endswith("num_batches_tracked"):
            out[f"buffer/{n}"] = b.detach().numpy()
    safetensors_io.write(a.out, out)


def timed(fn, warmup, steps):
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return time.perf_counter() - t0


def cmd_bench(a, build):
    """Training (AdamW, batch a.batch) and eval throughput of build(cfg), float32, a.threads intra-op threads."""
    torch.set_num_threads(a.threads)
    cfg = json.load(open(a.config))
    torch.manual_seed(0)
    model = build(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    res = {"torch": torch.__version__, "threads": torch.get_num_threads(), "params": n_params}
    shape = (cfg["inChannels"], cfg["imageSize"], cfg["imageSize"])
    if a.steps > 0:
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)
        x = torch.randn(a.batch, *shape)
        y = torch.randint(0, cfg["numClasses"], (a.batch,))
        model.train()

        def step():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()

        secs = timed(step, a.warmup, a.steps)
        res["train"] = {"batch": a.batch, "steps": a.steps, "seconds": secs, "images_per_s": a.batch * a.steps / secs}
    model.eval()
    res["eval"] = []
    for b in [int(v) for v in a.eval_batches.split(",") if v]:
        xb = torch.randn(b, *shape)
        reps = max(3, a.eval_images // b)
        with torch.inference_mode():
            secs = timed(lambda: model(xb), 2, reps)
        res["eval"].append({"batch": b, "runs": reps, "seconds": secs, "images_per_s": b * reps / secs})
    print(json.dumps(res))


def main(build=ViT, description=__doc__):
    """The `grad` and `bench` commands for the model build(cfg) (bench/peers/cnn_torch.py reuses them)."""
    ap = argparse.ArgumentParser(description=description)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("grad")
    g.add_argument("--config", required=True)
    g.add_argument("--weights", required=True)
    g.add_argument("--inputs", required=True)
    g.add_argument("--out", required=True)
    g.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    g.set_defaults(fn=cmd_grad)
    b = sub.add_parser("bench")
    b.add_argument("--config", required=True)
    b.add_argument("--batch", type=int, default=32)
    b.add_argument("--steps", type=int, default=20)
    b.add_argument("--warmup", type=int, default=3)
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--eval-batches", default="1,32")
    b.add_argument("--eval-images", type=int, default=256, help="images per eval measurement (runs = images / batch)")
    b.set_defaults(fn=cmd_bench)
    a = ap.parse_args()
    a.fn(a, build)


if __name__ == "__main__":
    main()
