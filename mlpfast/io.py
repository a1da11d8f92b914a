"""Model files: one .npz holding a format tag and version, the architecture and
hyper-parameters as JSON, every parameter, the optimiser's state and the
generator's state, so that training resumes exactly.

Read with ``allow_pickle=False``; written atomically (a temporary file in the
same folder, then ``os.replace``).  Anything wrong with a file raises
``ModelFormatError``, a ValueError that says what.
"""
import io
import json
import os
import tempfile
import zipfile

import numpy as np

from ._validation import as_path

FORMAT = "mlpfast-model"
VERSION = 1
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")     # a zip's first entry; an empty zip


class ModelFormatError(ValueError):
    """A model file is corrupt, truncated, foreign or from a newer mlpfast."""


def _arrays(net):
    """What a model file holds, by name."""
    arrays = {"format": np.array(FORMAT), "version": np.array(VERSION),
              "config": np.array(json.dumps(net.config())),
              "rng": np.array(json.dumps(net.rng.bit_generator.state)),
              "metadata": np.array(json.dumps(getattr(net, "metadata", {})))}
    for i, p in enumerate(net.params):
        arrays[f"params_{i}"] = p
    opt = net.optimizer
    if opt is not None:
        arrays["optimizer"] = np.array(json.dumps({"config": opt.config(), "t": opt.t}))
        for i, state in enumerate(opt.state or ()):
            for slot, value in state.items():
                arrays[f"state_{i}_{slot}"] = value
    return arrays


def save(net, path):
    arrays = _arrays(net)
    path = as_path(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".mlpfast-", suffix=".npz")
    except OSError as exc:      # name the file asked for, not the temporary one
        raise type(exc)(exc.errno, exc.strerror, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _text(data, key):
    if key not in data:
        raise ModelFormatError(f"model file lacks {key!r}")
    value = data[key]
    if value.dtype.kind != "U" or value.shape != ():
        raise ModelFormatError(f"model file entry {key!r} is not text")
    return str(value)


def _json(data, key):
    try:
        return json.loads(_text(data, key))
    except json.JSONDecodeError as exc:
        raise ModelFormatError(f"model file entry {key!r} is not valid JSON: {exc}") from None


def to_bytes(net):
    """The model file of `net` as bytes (what pickle and copy.deepcopy of an MLP carry)."""
    buf = io.BytesIO()
    np.savez(buf, **_arrays(net))
    return buf.getvalue()


def from_bytes(data, backend=None):
    """The network of to_bytes' `data`, on `backend` (None: the default)."""
    return load(io.BytesIO(data), backend)


def load(path, backend=None):
    """Read a network written by ``MLP.save``, on `backend` (None: the default; a model
    file does not say, so that it loads wherever mlpfast runs)."""
    from . import _backend, optimizers
    from .network import MLP
    _backend.get(backend)           # a bad backend is the caller's error, not the file's
    if hasattr(path, "read"):       # an open binary file: peek, then rewind
        start = path.tell()
        magic = path.read(4)
        path.seek(start)
        name = getattr(path, "name", "<file object>")
    else:                           # FileNotFoundError and other OSErrors pass through
        path = name = as_path(path, also=" or an open binary file")
        with open(path, "rb") as f:
            magic = f.read(4)
    if magic not in _ZIP_MAGIC:     # otherwise np.load would try (and refuse) a pickle
        what = "an empty file" if not magic else "not a .npz (zip) archive"
        raise ModelFormatError(f"{name!r} is not an mlpfast model file: {what}")
    try:
        with np.load(path, allow_pickle=False) as data:
            return _build(data, MLP, optimizers, backend)
    except ModelFormatError:
        raise
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFormatError(f"{name!r} is not a readable mlpfast model file "
                               f"({type(exc).__name__}: {exc})") from None


def _build(data, MLP, optimizers, backend):
    if _text(data, "format") != FORMAT:
        raise ModelFormatError("not an mlpfast model file (wrong format tag)")
    version = data["version"]
    if version.dtype.kind not in "iu" or version.shape != ():
        raise ModelFormatError("model file has a malformed version")
    if int(version) > VERSION:
        raise ModelFormatError(f"model file version {int(version)} is newer than this "
                               f"mlpfast reads ({VERSION}); upgrade mlpfast")
    if int(version) != VERSION:
        raise ModelFormatError(f"model file version {int(version)} is unknown; this mlpfast "
                               f"reads version {VERSION}")
    config = _json(data, "config")
    try:
        net = MLP(**config, backend=backend)
    except (TypeError, ValueError) as exc:
        raise ModelFormatError(f"model file describes an invalid network: {exc}") from None
    for i, p in enumerate(net.params):
        stored = data.get(f"params_{i}")
        if stored is None or stored.shape != p.shape or stored.dtype != p.dtype:
            raise ModelFormatError(f"model file parameters params_{i} are missing or do not "
                                   f"match the architecture (expected {p.shape} {p.dtype})")
        if not np.isfinite(stored).all():
            raise ModelFormatError(f"model file parameters params_{i} are not finite")
        p[...] = stored
    try:
        net.rng.bit_generator.state = _json(data, "rng")
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise ModelFormatError(f"model file has a malformed generator state 'rng': "
                               f"{exc}") from None
    net.metadata = _json(data, "metadata")
    if "optimizer" in data:
        net.optimizer = _optimizer(data, net, optimizers)
    return net


def _optimizer(data, net, optimizers):
    """The optimiser of entry 'optimizer' with its step count and state arrays, each
    checked: the kernels trust them, and one NaN or negative r makes every weight NaN."""
    info = _json(data, "optimizer")
    if not isinstance(info, dict) or not isinstance(info.get("config"), dict):
        raise ModelFormatError("model file entry 'optimizer' must hold a 'config' object")
    try:
        opt = optimizers.from_config(info["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFormatError(f"model file entry 'optimizer' has an invalid config "
                               f"({type(exc).__name__}: {exc})") from None
    opt.reset(net.params)
    try:
        opt.t = info.get("t")
    except (TypeError, ValueError) as exc:
        raise ModelFormatError(f"model file entry 'optimizer' has a bad step count: "
                               f"{exc}") from None
    for i, state in enumerate(opt.state):
        for slot in state:
            key = f"state_{i}_{slot}"
            stored = data.get(key)
            if stored is None or stored.shape != state[slot].shape \
                    or stored.dtype != state[slot].dtype:
                raise ModelFormatError(f"model file optimiser state {key} is missing or "
                                       f"malformed (expected {state[slot].shape} "
                                       f"{state[slot].dtype})")
            if not np.isfinite(stored).all():
                raise ModelFormatError(f"model file optimiser state {key} is not finite")
            if slot in opt.nonnegative and (stored < 0).any():
                raise ModelFormatError(f"model file optimiser state {key} is negative; it "
                                       "holds squared gradients")
            state[slot][...] = stored
    return opt
