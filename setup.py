"""Build of zoo's C extension `zoo.engine._native` (OpenMP kernels).

Hot kernels carry `target_clones`, so one build picks AVX-512, AVX2 or plain
x86-64 code at run time.
"""

import glob
import os
import platform

from setuptools import Extension, setup

sources = sorted(glob.glob(os.path.join("zoo", "engine", "csrc", "*.c")))
compile_args = ["-O3", "-std=gnu11", "-fopenmp", "-fno-fast-math", "-fno-math-errno", "-fno-trapping-math", "-Wall", "-Wno-unused-function"]
if platform.machine() in ("x86_64", "AMD64"):
    compile_args.append("-DZOO_X86_64=1")

setup(
    ext_modules=[
        Extension(
            "zoo.engine._native",
            sources=sources,
            depends=glob.glob(os.path.join("zoo", "engine", "csrc", "*.h")),
            include_dirs=[os.path.join("zoo", "engine", "csrc")],
            extra_compile_args=compile_args,
            extra_link_args=["-fopenmp"],
        )
    ]
)
