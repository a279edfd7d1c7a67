"""Reference networks built with the engine's functional API (no Keras layer code), shared by
the data-parallel tests and benchmarks: an MLP, LeNet-5 and ResNet-20 (with batch norm)."""

from __future__ import annotations

import itertools

import numpy as np

from zoo.engine import functional as F
from zoo.engine import graph as G
from zoo.engine.graph import Graph
from zoo.engine.params import Parameter


def _he(rng, shape, fan_in):
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), shape).astype(np.float32)


def mlp(sizes=(784, 512, 256, 10), seed: int = 0, dropout: float = 0.0, name: str = "mlp") -> Graph:
    """Dense layers with ReLU, softmax output; input (None, sizes[0])."""
    rng = np.random.default_rng(seed)
    x = G.input((None, sizes[0]), name=G.unique_name(f"{name}_x"))
    h = x
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        w = Parameter(G.unique_name(f"{name}_w{i}"), _he(rng, (a, b), a))
        bias = Parameter(G.unique_name(f"{name}_b{i}"), np.zeros(b, np.float32))
        last = i == len(sizes) - 2
        h = F.bias_act(F.linear(h, w), bias, "linear" if last else "relu")
        if dropout and not last:
            h = F.dropout(h, dropout)
    return Graph([x], [F.softmax(h)])


def lenet(seed: int = 0, name: str = "lenet") -> Graph:
    """LeNet-5 on (None, 1, 28, 28): conv5x5(6, same)-pool-conv5x5(16)-pool-120-84-10."""
    rng = np.random.default_rng(seed)
    u = G.unique_name
    x = G.input((None, 1, 28, 28), name=u(f"{name}_x"))
    w1, b1 = Parameter(u("c1_w"), _he(rng, (6, 1, 5, 5), 25)), Parameter(u("c1_b"), np.zeros(6))
    w2, b2 = Parameter(u("c2_w"), _he(rng, (16, 6, 5, 5), 150)), Parameter(u("c2_b"), np.zeros(16))
    h = F.max_pool(F.bias_act(F.conv2d(x, w1, padding="same"), b1, "relu", axis=1), (2, 2), (2, 2))
    h = F.max_pool(F.bias_act(F.conv2d(h, w2), b2, "relu", axis=1), (2, 2), (2, 2))
    h = F.flatten(h)
    for i, (a, b) in enumerate(((400, 120), (120, 84), (84, 10))):
        w = Parameter(u(f"f{i}_w"), _he(rng, (a, b), a))
        bias = Parameter(u(f"f{i}_b"), np.zeros(b))
        h = F.bias_act(F.linear(h, w), bias, "relu" if i < 2 else "linear")
    return Graph([x], [F.softmax(h)])


def resnet20(seed: int = 0, name: str = "resnet20") -> Graph:
    """ResNet-20 for CIFAR on (None, 3, 32, 32), batch norm after every convolution."""
    rng = np.random.default_rng(seed)
    u = G.unique_name

    def conv_bn(h, cin, cout, k=3, stride=1, act=True):
        w = Parameter(u("conv_w"), _he(rng, (cout, cin, k, k), cin * k * k))
        h = F.conv2d(h, w, strides=stride, padding="same")
        gamma, beta = Parameter(u("bn_g"), np.ones(cout)), Parameter(u("bn_b"), np.zeros(cout))
        mean = Parameter(u("bn_m"), np.zeros(cout), trainable=False, kind="state")
        var = Parameter(u("bn_v"), np.ones(cout), trainable=False, kind="state")
        h = F.batch_norm(h, gamma, beta, mean, var, axis=1)
        return F.activation(h, "relu") if act else h

    x = G.input((None, 3, 32, 32), name=u(f"{name}_x"))
    h, cin = conv_bn(x, 3, 16), 16
    for stage, cout in enumerate((16, 32, 64)):
        for block in range(3):
            stride = 2 if stage > 0 and block == 0 else 1
            y = conv_bn(conv_bn(h, cin, cout, stride=stride), cout, cout, act=False)
            if stride != 1:
                h = conv_bn(h, cin, cout, k=1, stride=stride, act=False)
            h = F.activation(F.add(h, y), "relu")
            cin = cout
    h = F.reduce(h, "mean", axis=(2, 3))
    w = Parameter(u("fc_w"), _he(rng, (64, 10), 64))
    b = Parameter(u("fc_b"), np.zeros(10))
    return Graph([x], [F.softmax(F.bias_act(F.linear(h, w), b))])


BUILDERS = {"mlp": mlp, "lenet": lenet, "resnet20": resnet20}
SHAPES = {"mlp": (784,), "lenet": (1, 28, 28), "resnet20": (3, 32, 32)}


def data(name: str, n: int, seed: int = 0):
    """Random inputs of the model's shape and 10-class labels."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n,) + SHAPES[name]).astype(np.float32)
    y = rng.integers(0, 10, n).astype(np.int64)
    return x, y


def toy_data(n: int = 600, d: int = 20, seed: int = 0):
    """A learnable 3-class problem: x ~ N(0, 1)^d, y = [x0 > 0] + [x1 > 0.5]."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)
    return x, y
