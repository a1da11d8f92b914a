"""Model files: one .npz holding a format tag and version, the architecture and
hyper-parameters as JSON, every parameter, the optimiser's state and the
generator's state, so that training resumes exactly.

Read with ``allow_pickle=False``; written atomically (a temporary file in the
same folder, then ``os.replace``).  Anything wrong with a file raises
``ModelFormatError``, a ValueError that says what.
"""
import json
import os
import tempfile
import zipfile

import numpy as np

FORMAT = "mlpfast-model"
VERSION = 1
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")     # a zip's first entry; an empty zip


class ModelFormatError(ValueError):
    """A model file is corrupt, truncated, foreign or from a newer mlpfast."""


def save(net, path):
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
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".mlpfast-", suffix=".npz")
    except OSError as exc:      # name the file asked for, not the temporary one
        raise type(exc)(exc.errno, exc.strerror, os.fspath(path)) from None
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


def load(path):
    """Read a network written by ``MLP.save``."""
    from . import optimizers
    from .network import MLP
    if hasattr(path, "read"):       # an open binary file: peek, then rewind
        start = path.tell()
        magic = path.read(4)
        path.seek(start)
        name = getattr(path, "name", "<file object>")
    else:                           # FileNotFoundError and other OSErrors pass through
        with open(path, "rb") as f:
            magic = f.read(4)
        name = os.fspath(path)
    if magic not in _ZIP_MAGIC:     # otherwise np.load would try (and refuse) a pickle
        what = "an empty file" if not magic else "not a .npz (zip) archive"
        raise ModelFormatError(f"{name!r} is not an mlpfast model file: {what}")
    try:
        with np.load(path, allow_pickle=False) as data:
            return _build(data, MLP, optimizers)
    except ModelFormatError:
        raise
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFormatError(f"{name!r} is not a readable mlpfast model file "
                               f"({type(exc).__name__}: {exc})") from None


def _build(data, MLP, optimizers):
    if _text(data, "format") != FORMAT:
        raise ModelFormatError("not an mlpfast model file (wrong format tag)")
    version = data["version"]
    if version.dtype.kind not in "iu" or version.shape != ():
        raise ModelFormatError("model file has a malformed version")
    if int(version) > VERSION:
        raise ModelFormatError(f"model file version {int(version)} is newer than this "
                               f"mlpfast reads ({VERSION}); upgrade mlpfast")
    config = _json(data, "config")
    try:
        net = MLP(**config)
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
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelFormatError(f"model file has a malformed generator state: {exc}") from None
    net.metadata = _json(data, "metadata")
    if "optimizer" in data:
        info = _json(data, "optimizer")
        opt = optimizers.from_config(info["config"])
        opt.reset(net.params)
        opt.t = int(info["t"])
        for i, state in enumerate(opt.state):
            for slot in state:
                stored = data.get(f"state_{i}_{slot}")
                if stored is None or stored.shape != state[slot].shape:
                    raise ModelFormatError(f"model file optimiser state state_{i}_{slot} is "
                                           "missing or malformed")
                state[slot][...] = stored
        net.optimizer = opt
    return net
