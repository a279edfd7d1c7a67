"""Convolution layers (channels-first by default, as Analytics Zoo; channels-last as Keras).

Convolutions 1-D/2-D/3-D (strided, dilated, grouped, explicit padding: `conv`), transposed
convolutions (`transposed`), depthwise and separable convolutions (`separable`), their Keras 1 /
Analytics Zoo spellings (Convolution1D/2D/3D, AtrousConvolution1D/2D, Deconvolution2D,
SeparableConvolution2D, ShareConvolution2D: `keras1`) as factory functions returning the Keras 2
classes; and the shape layers of the family: UpSampling, ZeroPadding, Cropping (1-D/2-D/3-D)
and ResizeBilinear (`spatial`).

Whatever the data format, weights move in Keras's layouts (get_weights/set_weights): a
Conv2D kernel is (kh, kw, in/groups, filters), a Conv2DTranspose kernel (kh, kw, filters, in),
a depthwise kernel (kh, kw, in, depth_multiplier). The engine is channels-first; a
channels-last layer transposes at its edges.
"""

from zoo.keras.layers.base import to_channels_first, to_channels_last  # noqa: F401 (importable from here)
from zoo.keras.layers.convolutional import conv, keras1, separable, spatial, transposed
from zoo.keras.layers.convolutional.conv import *
from zoo.keras.layers.convolutional.keras1 import *
from zoo.keras.layers.convolutional.separable import *
from zoo.keras.layers.convolutional.spatial import *
from zoo.keras.layers.convolutional.transposed import *

__all__ = conv.__all__ + transposed.__all__ + separable.__all__ + keras1.__all__ + spatial.__all__
