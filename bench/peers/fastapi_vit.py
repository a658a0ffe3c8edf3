#!/usr/bin/python3
"""The seed's serving style, as the peer of `npm run bench -- serve`: a FastAPI + uvicorn app that
decodes each uploaded image with PIL, resizes it, and runs one PyTorch forward pass per request
(no batching) of the same Vision Transformer as src/models/vit.ts (bench/peers/vit_torch.py).

Weights are random (seeded): speed does not depend on them. The response has the same shape as
secondread's `POST /v1/models/:name/predict` so the load generator treats both servers alike.

    /usr/bin/python3 bench/peers/fastapi_vit.py --config cfg.json --port 8601 --threads 2

Run with Debian's interpreter (python3-torch, python3-fastapi, python3-uvicorn, python3-multipart,
python3-pil), not pyenv's python3.
"""
import argparse
import io
import json
import os
import sys
import time
import uuid

import numpy as np
import torch
import uvicorn
from fastapi import FastAPI, File, HTTPException, UploadFile
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vit_torch import ViT  # noqa: E402


def build_app(cfg, classes):
    torch.manual_seed(0)
    model = ViT(cfg).eval()
    size = cfg["imageSize"]
    app = FastAPI()

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.post("/predict")
    async def predict(file: UploadFile = File(...)):
        t0 = time.perf_counter()
        data = await file.read()
        try:
            img = Image.open(io.BytesIO(data)).convert("L").resize((size, size), Image.BILINEAR)
        except Exception as exc:  # the seed answered bad images with 400
            raise HTTPException(status_code=400, detail=f"invalid image: {exc}")
        x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0)[None, None]
        with torch.no_grad():
            probs = torch.softmax(model(x), dim=-1)[0].tolist()
        ranked = sorted(({"class": c, "probability": p} for c, p in zip(classes, probs)), key=lambda r: -r["probability"])
        return {
            "model": "vit-torch-peer",
            "version": 1,
            "predictions": ranked,
            "top": ranked[0],
            "latencyMs": (time.perf_counter() - t0) * 1000,
            "requestId": uuid.uuid4().hex,
        }

    return app


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="ViT config JSON (src/models/vit.ts VIT_CONFIGS entry)")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    with open(a.config) as f:
        cfg = json.load(f)
    classes = cfg.get("classes") or [f"class-{i}" for i in range(cfg["numClasses"])]
    uvicorn.run(build_app(cfg, classes), host=a.host, port=a.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
