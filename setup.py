"""Build the Cython extensions in ``_ext/`` as ``plasticity._ext.*``.

``plasticity/_ext`` is a symlink to the top-level ``_ext/`` directory, so that
``cimport plasticity._ext.synapses`` resolves for Cython and the compiled modules
land inside the package.
"""
import glob
import os

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))

compile_args = ["-O3", "-fno-math-errno", "-Wno-unreachable-code",
                "-Wno-unused-function"]

# PLASTICITY_EXT=engine,rules restricts a development build to those modules.
only = [m for m in os.environ.get("PLASTICITY_EXT", "").split(",") if m]

extensions = []
for pyx in sorted(glob.glob(os.path.join("_ext", "*.pyx"))):
    name = os.path.splitext(os.path.basename(pyx))[0]
    if only and name not in only:
        continue
    extensions.append(
        Extension(
            f"plasticity._ext.{name}",
            [os.path.join("plasticity", "_ext", f"{name}.pyx")],
            include_dirs=[np.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            extra_compile_args=compile_args,
            # link libm explicitly: without it the modules bind the unversioned
            # (oldest, SVID-compatible) exp/log wrappers, whose underflow path goes
            # through __kernel_standard; the values are the same either way
            libraries=["m"],
        )
    )

setup(
    packages=find_packages(include=["plasticity", "plasticity.*"]),
    # the .pxd files let users cimport the rule API for their own Cython rules
    package_data={"plasticity._ext": ["*.pxd"], "plasticity.experiments": ["*.toml"]},
    ext_modules=cythonize(
        extensions,
        include_path=[HERE],
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
            "embedsignature": True,
        },
    ),
    zip_safe=False,
)
