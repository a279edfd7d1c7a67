"""`import zoo.engine` / `zoo.keras` / `zoo.autograd` need only numpy and the C extension."""

import subprocess
import sys


def test_light_imports_pull_no_heavy_dependencies():
    code = ("import sys, zoo.engine, zoo.keras, zoo.keras.layers, zoo.keras.models, zoo.autograd, zoo.feature.image;"
            "heavy = [m for m in ('tensorflow', 'pyspark', 'cv2', 'onnx', 'onnxruntime', 'torch', 'pandas', 'py4j')"
            " if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_every_op_module_registers_its_ops():
    from zoo.engine import ops

    assert {"conv2d", "matmul", "linear", "reshape", "activation", "batchnorm"} <= set(ops.OPS) or len(ops.OPS) > 100
    for name, cls in ops.OPS.items():
        assert cls.type_name == name


def test_analytics_zoo_paths_are_aliases():
    import zoo.keras
    import zoo.pipeline.api.keras as az

    for mod in az.__all__:
        alias, real = getattr(az, mod), __import__(f"zoo.keras.{mod}", fromlist=["*"])
        assert alias.__all__ == real.__all__ and alias.__all__, mod
        for name in real.__all__:
            assert getattr(alias, name) is getattr(real, name), f"{mod}.{name}"
    assert zoo.keras.regularizers.l2 is az.regularizers.l2
