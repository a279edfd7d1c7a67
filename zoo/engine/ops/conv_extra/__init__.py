"""Transposed convolutions, locally connected products, nearest upsampling and bilinear resizing.

- ConvTranspose1D/2D/3D: the adjoint of a convolution (the gradient of Conv w.r.t. its input),
  x (N, Cin, *S) and w (Cin, O, *K) -> y (N, O, *OS):

      y[n, o, q] = b[o] + sum_{c, k, p : p*s - pad + k*d = q} w[c, o, k] * x[n, c, p]

  computed as col = w.reshape(Cin, O*K)^T @ x (one GEMM per chunk of images) and col2vol.
  Output size per axis (Keras): 'valid' size*s + max(k_eff - s, 0), 'same' size*s, or with
  output_padding op: (size - 1)*s + k_eff - 2*pad + op (pad = k_eff // 2 for 'same', else 0),
  k_eff = (k - 1)*d + 1. The padding is the forward convolution's on the output size (TF).
- LocallyConnected1D/2D: a convolution whose weights differ per output position,
  x (N, C, *S), w (P, C*K, O) with P output positions and rows ordered (c, kernel taps), b (O, *OS):

      y[n, o, p] = b[o, p] + sum_r w[p, r, o] * patch(x[n], p)[r]

  computed as one batched GEMM over positions on a (P, N, C*K) patch buffer.
- Upsample: nearest-neighbour repetition of chosen axes by integer factors.
- ResizeBilinear: bilinear resize of two spatial axes, channels first or last, following
  TensorFlow's resize_bilinear (align_corners, half_pixel_centers).
- BlockGradient (in zoo.engine.ops.misc.utility, re-exported here): identity forward, no
  gradient to its input (Analytics Zoo's propagate_back=False).

Families: `transpose` (ConvTranspose1D/2D/3D), `local` (LocallyConnected1D/2D) and `resize`
(Upsample, ResizeBilinear); `_common` holds the chunked-GEMM helpers the first two share.
"""

from __future__ import annotations

from zoo.engine.ops.conv_extra.local import LocallyConnected1D, LocallyConnected2D
from zoo.engine.ops.conv_extra.resize import ResizeBilinear, Upsample
from zoo.engine.ops.conv_extra.transpose import (
    ConvTranspose1D,
    ConvTranspose2D,
    ConvTranspose3D,
    transpose_output_size,
)
from zoo.engine.ops.misc.utility import BlockGradient

__all__ = [
    "BlockGradient",
    "ConvTranspose1D",
    "ConvTranspose2D",
    "ConvTranspose3D",
    "LocallyConnected1D",
    "LocallyConnected2D",
    "ResizeBilinear",
    "Upsample",
    "transpose_output_size",
]
