"""Minimal safetensors reader/writer (the pip package may be absent on the peer's interpreter).

Layout: 8-byte little-endian header length N, N bytes of JSON header
{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then raw little-endian data.
"""
import json
import struct

import numpy as np

_NP_OF = {
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_CODE_OF = {v: k for k, v in _NP_OF.items()}


def read(path):
    """Returns ({name: np.ndarray}, metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    data = memoryview(raw)[8 + n :]
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype=_NP_OF[e["dtype"]]).reshape(e["shape"]).copy()
        tensors[name] = arr
    return tensors, metadata


def write(path, tensors, metadata=None):
    """Writes {name: np.ndarray} (kept in insertion order) and string metadata."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, arr in tensors.items():
        arr = np.asarray(arr, order="C")  # (ascontiguousarray would turn a 0-d scalar into shape [1])
        code = _CODE_OF.get(arr.dtype.newbyteorder("<") if arr.dtype.kind in "fi" else arr.dtype)
        if code is None:
            raise ValueError(f"unsupported dtype {arr.dtype} for {name}")
        blob = arr.astype(_NP_OF[code], copy=False).tobytes()
        header[name] = {"dtype": code, "shape": list(arr.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    h = json.dumps(header).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
