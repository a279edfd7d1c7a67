"""Keras-style layers (Keras 2/3 names and Analytics Zoo / Keras 1 spellings)."""

from zoo.keras.layers.base import Input, InputLayer, Layer
from zoo.keras.layers.convolutional import Conv1D, Conv2D, Convolution1D, Convolution2D
from zoo.keras.layers.core import Activation, Dense, Dropout, Flatten, Reshape
from zoo.keras.layers.merge import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract
from zoo.keras.layers.normalization import BatchNormalization
from zoo.keras.layers.pooling import (AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D,
                                      GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling1D,
                                      MaxPooling2D)

__all__ = ["Activation", "Add", "Average", "AveragePooling1D", "AveragePooling2D", "BatchNormalization",
           "Concatenate", "Conv1D", "Conv2D", "Convolution1D", "Convolution2D", "Dense", "Dropout", "Flatten",
           "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "Input",
           "InputLayer", "Layer", "Maximum", "MaxPooling1D", "MaxPooling2D", "Minimum", "Multiply", "Reshape",
           "Subtract"]
