#!/usr/bin/env python3
"""embed.py - the embedding of one face photo from Python, through ctypes and the
installed shared library libfacenet.so (include/facenet_app.h): the numbers
`facenet encode` prints for it, on one line.  Uses numpy when it is importable (the
embedding becomes a float32 array and an RGB array can be embedded too), plain
ctypes otherwise.

    python3 examples/python/embed.py photo.jpg [MODEL_DIR]

MODEL_DIR defaults to the model installed with the library.  The library is found
as libfacenet.so.0 by the dynamic linker (a PREFIX outside /usr and /usr/local needs
LD_LIBRARY_PATH=PREFIX/lib), or at the path in $FACENET_LIB.
"""
import ctypes
import os
import sys

try:
    import numpy as np
except ImportError:
    np = None


class Err(ctypes.Structure):
    """fn_err: the kind of error and its one-line message."""
    _fields_ = [("kind", ctypes.c_int), ("msg", ctypes.c_char * 1024)]


class FacenetError(Exception):
    pass


class Embedder:
    """An open model: embed(path) -> its embedding (numpy float32 array or list)."""

    def __init__(self, model_dir=None, lib=None):
        self.lib = ctypes.CDLL(lib or os.environ.get("FACENET_LIB") or "libfacenet.so.0")
        L = self.lib
        L.fn_embedder_open.restype = ctypes.c_void_p
        L.fn_embedder_open.argtypes = [ctypes.c_char_p, ctypes.POINTER(Err)]
        L.fn_embedder_close.argtypes = [ctypes.c_void_p]
        L.fn_embedder_dim.argtypes = [ctypes.c_void_p]
        L.fn_embedder_threshold.argtypes = [ctypes.c_void_p]
        L.fn_embedder_threshold.restype = ctypes.c_float
        L.fn_embedder_embed_file.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                             ctypes.POINTER(ctypes.c_float), ctypes.POINTER(Err)]
        L.fn_embedder_embed_rgb.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                                            ctypes.POINTER(ctypes.c_float), ctypes.POINTER(Err)]
        L.fn_default_model_dir.restype = ctypes.c_char_p
        err = Err()
        self.handle = L.fn_embedder_open(os.fsencode(model_dir) if model_dir else None, ctypes.byref(err))
        if not self.handle:
            raise FacenetError(err.msg.decode(errors="replace"))
        self.dim = L.fn_embedder_dim(self.handle)
        self.threshold = L.fn_embedder_threshold(self.handle)

    def _out(self):
        if np is not None:
            v = np.empty(self.dim, dtype=np.float32)
            return v, v.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        v = (ctypes.c_float * self.dim)()
        return v, v

    def _check(self, rc, err, v):
        if rc != 0:
            raise FacenetError(err.msg.decode(errors="replace"))
        return v if np is not None else list(v)

    def embed(self, path):
        v, p = self._out()
        err = Err()
        rc = self.lib.fn_embedder_embed_file(self.handle, os.fsencode(path), p, ctypes.byref(err))
        return self._check(rc, err, v)

    def embed_rgb(self, rgb):
        """rgb: a (height, width, 3) uint8 numpy array (needs numpy)."""
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise FacenetError("embed_rgb: expected a (height, width, 3) array, got %s" % (rgb.shape,))
        v, p = self._out()
        err = Err()
        rc = self.lib.fn_embedder_embed_rgb(self.handle, rgb.ctypes.data, rgb.shape[1], rgb.shape[0], p,
                                            ctypes.byref(err))
        return self._check(rc, err, v)

    def close(self):
        if self.handle:
            self.lib.fn_embedder_close(self.handle)
            self.handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def main(argv):
    if len(argv) not in (2, 3):
        print("usage: %s IMAGE [MODEL_DIR]" % argv[0], file=sys.stderr)
        return 2
    try:
        with Embedder(argv[2] if len(argv) == 3 else None) as e:
            v = e.embed(argv[1])
    except (OSError, FacenetError) as x:
        print("embed.py: %s" % x, file=sys.stderr)
        return 2
    # repr of a float32 converted to a Python float would print 17 digits; %.9g is
    # what the C example and `facenet encode` print (it round-trips float32)
    print(" ".join("%.9g" % float(x) for x in v))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
