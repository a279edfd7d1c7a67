"""Wrappers of the convolution kernels (csrc/conv.c): im2col, col2im, layout swaps, bias,
depthwise stencils and the Winograd F(2x2, 3x3) transforms.

Every function checks dtypes, shapes, contiguity and the geometry before calling C, so no
Python input can crash the process. The geometry of one convolution lives in a validated
`ConvGeometry`; activations are NCHW (1-D convolutions use H = 1).

Column matrix layout ("rows"): for images n0 <= n < n1 of a batch, `col` is a
(C*KH*KW, n1 - n0, OH*OW) array whose row r = (c*KH + i)*KW + j holds, for each image,
x[n, c, oh*sh - pt + i*dh, ow*sw - pl + j*dw] (0 in the padding), so
`w.reshape(O, -1) @ col.reshape(C*KH*KW, -1)` is the convolution of the whole chunk.
With `row_stride` the rows sit row_stride >= (n1 - n0)*OH*OW elements apart in a flat
buffer (`col_stride` picks one off powers of two, which keeps the taps out of each other's
cache sets). The "images" layout (n1 - n0, C*KH*KW, OH*OW) stacks one matrix per image.

Winograd: see `wino_input` and the comment above the kernels in csrc/winograd.c.
"""

from __future__ import annotations

import numpy as np

from zoo.engine import _native
from zoo.engine.kernels._common import (
    INT32_MAX,
    chunk,
    dtype_code,
    instance,
    nonneg_int,
    pos_int,
    require,
    shape_is,
    team,
    writable,
)

__all__ = ["ConvGeometry", "bias_add", "col2im", "col_stride", "depthwise_backward_w", "depthwise_backward_x",
           "depthwise_forward", "im2col", "swap01", "wino_input", "wino_input_adjoint", "wino_output",
           "wino_output_adjoint", "wino_stride", "wino_supported", "wino_tiles", "wino_weights",
           "wino_weights_adjoint"]


class ConvGeometry:
    """The validated geometry of one 2-D convolution (or pooling window walk).

    Args:
        x_shape: (N, C, H, W) input shape.
        kernel: (KH, KW) kernel size.
        strides, dilation: (sh, sw) and (dh, dw), positive ints.
        pads: ((top, bottom), (left, right)), non-negative ints.
        out_channels: O (0 for pooling); groups must divide C and O.
    Output size: OH = (H + top + bottom - ((KH - 1)*dh + 1)) // sh + 1 (same for OW).

    Example:
        >>> ConvGeometry((2, 3, 7, 6), (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), 4).out_shape
        (2, 4, 7, 6)
    """

    __slots__ = ("C", "H", "N", "O", "OH", "OW", "P", "W", "dh", "dw", "groups", "kh", "kw", "pb", "pl", "pr",
                 "pt", "sh", "sw", "taps")

    def __init__(self, x_shape, kernel, strides, dilation, pads, out_channels: int, groups: int = 1,
                 what: str = "conv2d"):
        x_shape = tuple(x_shape)
        if len(x_shape) != 4 or not all(pos_int(s) for s in x_shape):
            raise ValueError(f"{what}: expected an input shape (N, C, H, W) of positive ints, got {x_shape}")
        for name, pair, check in (
            ("kernel", kernel, pos_int),
            ("strides", strides, pos_int),
            ("dilation", dilation, pos_int),
        ):
            if len(tuple(pair)) != 2 or not all(check(v) for v in pair):
                raise ValueError(f"{what}: {name} must be a pair of positive ints, got {pair!r}")
        try:
            (pt, pb), (pl, pr) = pads
        except (TypeError, ValueError):
            raise ValueError(f"{what}: pads must be ((top, bottom), (left, right)), got {pads!r}") from None
        if not all(nonneg_int(v) for v in (pt, pb, pl, pr)):
            raise ValueError(f"{what}: pads must be non-negative ints, got {pads!r}")
        if not nonneg_int(out_channels) or not pos_int(groups):
            raise ValueError(
                f"{what}: expected out_channels >= 0 and groups >= 1, got {out_channels}, {groups}"
            )
        self.N, self.C, self.H, self.W = (int(s) for s in x_shape)
        self.kh, self.kw = (int(v) for v in kernel)
        self.sh, self.sw = (int(v) for v in strides)
        self.dh, self.dw = (int(v) for v in dilation)
        self.pt, self.pb, self.pl, self.pr = int(pt), int(pb), int(pl), int(pr)
        self.O, self.groups = int(out_channels), int(groups)
        if self.C % self.groups or self.O % self.groups:
            raise ValueError(
                f"{what}: groups={self.groups} must divide the input channels ({self.C}) and the "
                f"output channels ({self.O})"
            )
        ekh, ekw = (self.kh - 1) * self.dh + 1, (self.kw - 1) * self.dw + 1
        ph, pw = self.H + self.pt + self.pb, self.W + self.pl + self.pr
        if ekh > ph or ekw > pw:
            raise ValueError(
                f"{what}: kernel {self.kh}x{self.kw} (dilated {ekh}x{ekw}) is larger than the padded "
                f"input {ph}x{pw} (input {self.H}x{self.W}, pads {pads})"
            )
        self.OH, self.OW = (ph - ekh) // self.sh + 1, (pw - ekw) // self.sw + 1
        if (
            max(self.kh, self.kw, self.sh, self.sw, self.dh, self.dw, self.pt, self.pb, self.pl, self.pr)
            > INT32_MAX
        ):
            raise ValueError(f"{what}: kernel, strides, dilation and pads must fit in 32 bits")
        self.taps = self.kh * self.kw
        self.P = self.OH * self.OW

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        return (self.N, self.O, self.OH, self.OW)

    def col_rows(self) -> int:
        """Rows of the column matrix: C*KH*KW."""
        return self.C * self.taps

    def _args(self) -> tuple:
        return (self.C, self.H, self.W, self.kh, self.kw, self.sh, self.sw, self.dh, self.dw, self.pt,
                self.pl, self.OH, self.OW)

    def __repr__(self) -> str:
        return (
            f"ConvGeometry(x=({self.N}, {self.C}, {self.H}, {self.W}), O={self.O}, k=({self.kh}, {self.kw}), "
            f"s=({self.sh}, {self.sw}), d=({self.dh}, {self.dw}), pads=(({self.pt}, {self.pb}), "
            f"({self.pl}, {self.pr})), groups={self.groups}, out=({self.OH}, {self.OW}))"
        )


def _check_geometry(kernel: str, g) -> None:
    instance(kernel, g, ConvGeometry)


def _chunk(kernel: str, g: ConvGeometry, n0, n1) -> int:
    return chunk(kernel, g.N, n0, n1)


def _strides(
    kernel: str, g: ConvGeometry, nb: int, layout: str, col: np.ndarray, row_stride
) -> tuple[int, int]:
    """(rs, ns) of the column buffer, after checking its size."""
    if layout not in ("rows", "images"):
        raise ValueError(f"{kernel}: layout must be 'rows' or 'images', got {layout!r}")
    if row_stride is None:
        require(
            kernel,
            col.size == g.col_rows() * nb * g.P,
            f"expected col of {g.col_rows() * nb * g.P} elements ({g.col_rows()}, {nb}, {g.P}), got shape "
            f"{col.shape}",
        )
        return (nb * g.P, g.P) if layout == "rows" else (g.P, g.col_rows() * g.P)
    require(kernel, layout == "rows", "row_stride needs the 'rows' layout")
    require(
        kernel,
        nonneg_int(row_stride) and row_stride >= nb * g.P,
        f"expected row_stride >= {nb * g.P}, got {row_stride!r}",
    )
    need = (g.col_rows() - 1) * row_stride + nb * g.P
    require(kernel, col.size >= need, f"expected col of >= {need} elements, got shape {col.shape}")
    return int(row_stride), g.P


def col_stride(nb: int, g: ConvGeometry) -> int:
    """A row stride >= nb*OH*OW for a column buffer: a multiple of 16 elements plus 16, so that
    the rows of a chunk do not fall on the same cache sets."""
    return -(-(nb * g.P) // 16) * 16 + 16


def im2col(x: np.ndarray, col: np.ndarray, g: ConvGeometry, n0: int = 0, n1: int | None = None,
           layout: str = "rows", nthreads: int = 0, row_stride: int | None = None) -> np.ndarray:
    """Fill `col` with the column matrix of images n0..n1-1 of x (see the module docstring).

    x: (N, C, H, W); col: C*KH*KW*(n1-n0)*OH*OW elements, any shape, C-contiguous; or, with
    `row_stride` (rows layout), a flat buffer whose row r starts at r*row_stride.
    nthreads: OpenMP threads (0: the current setting). Returns col.
    """
    _check_geometry("im2col", g)
    n1 = g.N if n1 is None else n1
    code = dtype_code("im2col", x, col)
    writable("im2col", col)
    shape_is("im2col", "x", x, (g.N, g.C, g.H, g.W))
    nb = _chunk("im2col", g, n0, n1)
    rs, ns = _strides("im2col", g, nb, layout, col, row_stride)
    _native.im2col(col, x, int(n0), int(n1), *g._args(), rs, ns, team("im2col", nthreads), code)
    return col


def col2im(col: np.ndarray, dx: np.ndarray, g: ConvGeometry, n0: int = 0, n1: int | None = None,
           overwrite: bool = False, layout: str = "rows", nthreads: int = 0, clobber: bool = False,
           row_stride: int | None = None) -> np.ndarray:
    """dx[n0:n1] += the adjoint of im2col applied to `col` (zeroed first if `overwrite`). Returns dx.

    With `clobber`, the kernel may set the entries of `col` that im2col would have set to 0
    (taps in the padding) to 0, which lets a stride-1 'same' convolution add whole shifted
    blocks; the sums are the same.
    """
    _check_geometry("col2im", g)
    n1 = g.N if n1 is None else n1
    code = dtype_code("col2im", dx, col)
    writable("col2im", dx)
    if clobber:
        writable("col2im", col)
    shape_is("col2im", "dx", dx, (g.N, g.C, g.H, g.W))
    nb = _chunk("col2im", g, n0, n1)
    rs, ns = _strides("col2im", g, nb, layout, col, row_stride)
    require("col2im", not np.may_share_memory(col, dx), "col must not overlap dx")
    _native.col2im(dx, col, int(n0), int(n1), *g._args(), rs, ns, int(bool(overwrite)), int(bool(clobber)),
                   team("col2im", nthreads), code)
    return dx


def swap01(inp: np.ndarray, out: np.ndarray, bias: np.ndarray | None = None, nthreads: int = 0) -> np.ndarray:
    """out[b, a, :] = inp[a, b, :] (+ bias[a]): inp (A, B, P), out (B, A, P), bias (A,). Returns out."""
    arrays = (out, inp) if bias is None else (out, inp, bias)
    code = dtype_code("swap01", *arrays)
    writable("swap01", out)
    require("swap01", inp.ndim == 3, f"expected a 3-D input (A, B, P), got shape {inp.shape}")
    a, b, p = inp.shape
    shape_is("swap01", "out", out, (b, a, p))
    require(
        "swap01",
        bias is None or bias.shape == (a,),
        f"expected bias of shape {(a,)}, got {None if bias is None else bias.shape}",
    )
    require("swap01", not np.may_share_memory(out, inp), "out must not overlap the input")
    _native.swap01(out, inp, inp if bias is None else bias, a, b, p, int(bias is not None),
                   team("swap01", nthreads), code)
    return out


def bias_add(y: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """y[n, o, ...] += bias[o] in place: y (N, O, ...), bias (O,). Returns y."""
    code = dtype_code("bias_add", y, bias)
    writable("bias_add", y)
    require(
        "bias_add",
        y.ndim >= 2 and bias.shape == (y.shape[1],),
        f"expected y (N, O, ...) and bias (O,), got {y.shape} and {bias.shape}",
    )
    n, o = y.shape[0], y.shape[1]
    p = int(np.prod(y.shape[2:], dtype=np.int64))
    _native.bias_add(y, bias, n, o, p, code)
    return y


def _depthwise_check(kernel: str, g: ConvGeometry) -> int:
    _check_geometry(kernel, g)
    require(
        kernel,
        g.groups == g.C and g.O % g.C == 0,
        f"expected a depthwise geometry (groups == C, O a multiple of C), got groups={g.groups}, C={g.C}, O={g.O}",
    )
    return g.O // g.C


def _dw_args(g: ConvGeometry, m: int) -> tuple:
    return (g.N, g.C, g.H, g.W, m, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pt, g.pl, g.OH, g.OW)


def depthwise_forward(
    x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, y: np.ndarray, g: ConvGeometry
) -> np.ndarray:
    """Depthwise convolution: y[n, c*M + m] = sum_ij w[c*M + m, 0, i, j] * x[n, c, ...] (+ bias).

    x (N, C, H, W), w (C*M, 1, KH, KW), bias (C*M,) or None, y (N, C*M, OH, OW). Returns y.
    """
    m = _depthwise_check("depthwise_forward", g)
    arrays = (y, x, w) if bias is None else (y, x, w, bias)
    code = dtype_code("depthwise_forward", *arrays)
    writable("depthwise_forward", y)
    require(
        "depthwise_forward",
        x.shape == (g.N, g.C, g.H, g.W),
        f"expected x {(g.N, g.C, g.H, g.W)}, got {x.shape}",
    )
    require(
        "depthwise_forward",
        w.shape == (g.O, 1, g.kh, g.kw),
        f"expected w {(g.O, 1, g.kh, g.kw)}, got {w.shape}",
    )
    require("depthwise_forward", bias is None or bias.shape == (g.O,), f"expected bias ({g.O},)")
    require("depthwise_forward", y.shape == g.out_shape, f"expected y {g.out_shape}, got {y.shape}")
    _native.depthwise_forward(
        y, x, w, x if bias is None else bias, *_dw_args(g, m), int(bias is not None), code
    )
    return y


def depthwise_backward_x(gy: np.ndarray, w: np.ndarray, dx: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """dx += the input gradient of depthwise_forward for output gradient gy. Returns dx."""
    m = _depthwise_check("depthwise_backward_x", g)
    code = dtype_code("depthwise_backward_x", dx, gy, w)
    writable("depthwise_backward_x", dx)
    require("depthwise_backward_x", dx.shape == (g.N, g.C, g.H, g.W), f"expected dx {(g.N, g.C, g.H, g.W)}")
    require("depthwise_backward_x", w.shape == (g.O, 1, g.kh, g.kw), f"expected w {(g.O, 1, g.kh, g.kw)}")
    require("depthwise_backward_x", gy.shape == g.out_shape, f"expected gy {g.out_shape}, got {gy.shape}")
    _native.depthwise_backward_x(dx, gy, w, *_dw_args(g, m), code)
    return dx


def depthwise_backward_w(gy: np.ndarray, x: np.ndarray, dw: np.ndarray, g: ConvGeometry) -> np.ndarray:
    """dw += the weight gradient of depthwise_forward for output gradient gy. Returns dw."""
    m = _depthwise_check("depthwise_backward_w", g)
    code = dtype_code("depthwise_backward_w", dw, gy, x)
    writable("depthwise_backward_w", dw)
    require("depthwise_backward_w", dw.shape == (g.O, 1, g.kh, g.kw), f"expected dw {(g.O, 1, g.kh, g.kw)}")
    require("depthwise_backward_w", x.shape == (g.N, g.C, g.H, g.W), f"expected x {(g.N, g.C, g.H, g.W)}")
    require("depthwise_backward_w", gy.shape == g.out_shape, f"expected gy {g.out_shape}, got {gy.shape}")
    _native.depthwise_backward_w(dw, gy, x, *_dw_args(g, m), code)
    return dw


# ---- Winograd F(2x2, 3x3) -------------------------------------------------------------------
#
# For 3x3, stride-1, undilated, ungrouped convolutions: output tiles of 2x2 (TH = ceil(OH/2)
# by TW = ceil(OW/2) per image, T = TH*TW), each from a 4x4 input patch. V = B^T d B and
# M = A^T-side arrays are (16, channels, images, T); y = A^T (U @ V) A with U = G w G^T.

_WINO_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def wino_supported(g: ConvGeometry) -> bool:
    """Whether the Winograd kernels apply: 3x3 kernel, stride 1, dilation 1, groups 1."""
    return g.kh == g.kw == 3 and g.sh == g.sw == 1 and g.dh == g.dw == 1 and g.groups == 1


def wino_tiles(g: ConvGeometry) -> tuple[int, int]:
    """(TH, TW) = (ceil(OH / 2), ceil(OW / 2))."""
    return (g.OH + 1) // 2, (g.OW + 1) // 2


def wino_stride(channels: int, nb: int, g: ConvGeometry) -> int:
    """A stride ks >= channels*nb*T between the 16 blocks of a Winograd V or M buffer: a
    multiple of 16 elements plus 16, so the blocks do not fall on the same cache sets."""
    th, tw = wino_tiles(g)
    base = channels * nb * th * tw
    return -(-base // 16) * 16 + 16


def _wino_check(kernel: str, g, n0, n1, arr: np.ndarray, channels: int, ks) -> tuple[int, int, int]:
    _check_geometry(kernel, g)
    require(kernel, wino_supported(g), f"expected a 3x3 stride-1 undilated ungrouped geometry, got {g!r}")
    nb = _chunk(kernel, g, n0, n1)
    th, tw = wino_tiles(g)
    block = channels * nb * th * tw
    ks = block if ks is None else ks
    require(kernel, nonneg_int(ks) and ks >= block, f"expected a block stride ks >= {block}, got {ks!r}")
    require(
        kernel,
        arr.ndim == 1 and arr.size >= 15 * ks + block,
        f"expected a flat buffer of >= {15 * ks + block} elements (16 blocks of ({channels}, {nb}, {th * tw}) "
        f"{ks} apart), got shape {arr.shape}",
    )
    return th, tw, int(ks)


def wino_input(x: np.ndarray, v: np.ndarray, g: ConvGeometry, n0: int = 0, n1: int | None = None,
               ks: int | None = None, nthreads: int = 0) -> np.ndarray:
    """V[k][c, n - n0, t] = (B^T d B)[k] for the 4x4 input patch d of tile t of x[n, c].

    v: flat buffer holding 16 blocks of (C, n1 - n0, T) elements, block k at k*ks (ks defaults
    to the block size). Returns v.
    """
    n1 = g.N if n1 is None else n1
    code = dtype_code("wino_input", v, x)
    writable("wino_input", v)
    shape_is("wino_input", "x", x, (g.N, g.C, g.H, g.W))
    th, tw, ks = _wino_check("wino_input", g, n0, n1, v, g.C, ks)
    _native.wino_input(
        v, x, int(n0), int(n1), g.C, g.H, g.W, g.pt, g.pl, th, tw, ks, team("wino_input", nthreads), code
    )
    return v


def wino_input_adjoint(v: np.ndarray, dx: np.ndarray, g: ConvGeometry, n0: int = 0, n1: int | None = None,
                       overwrite: bool = False, ks: int | None = None, nthreads: int = 0) -> np.ndarray:
    """dx[n0:n1] += the adjoint of wino_input applied to v (zeroed first if `overwrite`). Returns dx."""
    n1 = g.N if n1 is None else n1
    code = dtype_code("wino_input_adjoint", dx, v)
    writable("wino_input_adjoint", dx)
    shape_is("wino_input_adjoint", "dx", dx, (g.N, g.C, g.H, g.W))
    th, tw, ks = _wino_check("wino_input_adjoint", g, n0, n1, v, g.C, ks)
    require("wino_input_adjoint", not np.may_share_memory(v, dx), "v must not overlap dx")
    _native.wino_input_adjoint(dx, v, int(n0), int(n1), g.C, g.H, g.W, g.pt, g.pl, th, tw, ks,
                               int(bool(overwrite)), team("wino_input_adjoint", nthreads), code)
    return dx


def wino_output(m: np.ndarray, y: np.ndarray, g: ConvGeometry, n0: int = 0, n1: int | None = None,
                bias: np.ndarray | None = None, ks: int | None = None, nthreads: int = 0) -> np.ndarray:
    """y[n, o] = A^T M[:][o, n - n0] A per tile (+ bias[o]) for n0 <= n < n1; m as v of wino_input
    with O channels. Returns y."""
    n1 = g.N if n1 is None else n1
    arrays = (y, m) if bias is None else (y, m, bias)
    code = dtype_code("wino_output", *arrays)
    writable("wino_output", y)
    shape_is("wino_output", "y", y, g.out_shape)
    require("wino_output", bias is None or bias.shape == (g.O,), f"expected bias of shape ({g.O},)")
    th, tw, ks = _wino_check("wino_output", g, n0, n1, m, g.O, ks)
    require("wino_output", not np.may_share_memory(m, y), "m must not overlap y")
    _native.wino_output(y, m, m if bias is None else bias, int(n0), int(n1), g.O, g.OH, g.OW, th, tw, ks,
                        int(bias is not None), team("wino_output", nthreads), code)
    return y


def wino_output_adjoint(gy: np.ndarray, m: np.ndarray, g: ConvGeometry, n0: int = 0, n1: int | None = None,
                        ks: int | None = None, nthreads: int = 0) -> np.ndarray:
    """M[:][o, n - n0] = A dy A^T per 2x2 tile dy of gy[n, o] (0 past the edge). Returns m."""
    n1 = g.N if n1 is None else n1
    code = dtype_code("wino_output_adjoint", m, gy)
    writable("wino_output_adjoint", m)
    shape_is("wino_output_adjoint", "gy", gy, g.out_shape)
    th, tw, ks = _wino_check("wino_output_adjoint", g, n0, n1, m, g.O, ks)
    _native.wino_output_adjoint(
        m, gy, int(n0), int(n1), g.O, g.OH, g.OW, th, tw, ks, team("wino_output_adjoint", nthreads), code
    )
    return m


def _wino_gk(dtype) -> np.ndarray:
    """G (x) G as a (16, 9) matrix: U[4a + b] = sum_{ij} G[a, i] G[b, j] w[i, j]."""
    gk = _WINO_GK.get(np.dtype(dtype))
    if gk is None:
        gk = _WINO_GK[np.dtype(dtype)] = np.kron(_WINO_G, _WINO_G).astype(dtype)
    return gk


_WINO_GK: dict = {}


def wino_weights(w: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """U[4a + b, o, c] = (G w[o, c] G^T)[a, b]: w (O, C, 3, 3) -> U (16, O, C), one GEMM."""
    if not isinstance(w, np.ndarray) or w.ndim != 4 or w.shape[2:] != (3, 3):
        raise ValueError(f"wino_weights: expected w of shape (O, C, 3, 3), got {getattr(w, 'shape', w)!r}")
    o, c = w.shape[:2]
    if out is None:
        out = np.empty((16, o, c), w.dtype)
    require(
        "wino_weights",
        out.shape == (16, o, c) and out.flags.c_contiguous and out.dtype == w.dtype,
        f"expected a C-contiguous {w.dtype} out of shape {(16, o, c)}",
    )
    np.matmul(_wino_gk(w.dtype), np.ascontiguousarray(w).reshape(o * c, 9).T, out=out.reshape(16, o * c))
    return out


def wino_weights_adjoint(du: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """dw[o, c] = G^T dU[:, o, c] G (as 4x4): dU (16, O, C) -> dw (O, C, 3, 3), one GEMM."""
    if not isinstance(du, np.ndarray) or du.ndim != 3 or du.shape[0] != 16:
        raise ValueError(
            f"wino_weights_adjoint: expected dU of shape (16, O, C), got {getattr(du, 'shape', du)!r}"
        )
    o, c = du.shape[1:]
    if out is None:
        out = np.empty((o, c, 3, 3), du.dtype)
    require(
        "wino_weights_adjoint",
        out.shape == (o, c, 3, 3) and out.flags.c_contiguous and out.dtype == du.dtype,
        f"expected a C-contiguous {du.dtype} out of shape {(o, c, 3, 3)}",
    )
    np.matmul(np.ascontiguousarray(du).reshape(16, o * c).T, _wino_gk(du.dtype), out=out.reshape(o * c, 9))
    return out
