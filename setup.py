"""Build the Cython extensions in ``_ext/`` as ``plasticity._ext.*``.

``plasticity/_ext`` is a symlink to the top-level ``_ext/`` directory, so that
``cimport plasticity._ext.synapses`` resolves for Cython and the compiled modules
land inside the package.
"""
import glob
import os
import shutil
import sys
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))

# -ffp-contract=off: no fused multiply-add, also in the functions compiled for a
# newer target (engine's AVX-512 loops): the same numbers on every machine
compile_args = ["-O3", "-fno-math-errno", "-ffp-contract=off", "-Wno-unreachable-code",
                "-Wno-unused-function"]


def openmp_flags():
    """``-fopenmp`` if a tiny OpenMP program compiles and links here, else [] (the
    engine then runs on one thread and says so at run time). PLASTICITY_OPENMP=0
    builds without OpenMP (as where it is absent)."""
    if os.environ.get("PLASTICITY_OPENMP", "1") in ("0", "no", "false", "off"):
        return []
    from setuptools._distutils import ccompiler, sysconfig
    src = ("#include <omp.h>\nint main(void) {\n  int n = 0;\n"
           "  #pragma omp parallel reduction(+:n)\n  n += 1;\n"
           "  return n > 0 && omp_get_max_threads() > 0 ? 0 : 1;\n}\n")
    tmp = tempfile.mkdtemp(prefix="plasticity-omp-")
    try:
        cc = ccompiler.new_compiler()
        sysconfig.customize_compiler(cc)
        path = os.path.join(tmp, "omp.c")
        with open(path, "w") as f:
            f.write(src)
        objs = cc.compile([path], output_dir=tmp, extra_postargs=["-fopenmp"])
        cc.link_executable(objs, os.path.join(tmp, "omp"), extra_postargs=["-fopenmp"])
        return ["-fopenmp"]
    except Exception as exc:  # noqa: BLE001 - any failure means no OpenMP
        print(f"setup.py: OpenMP not available ({type(exc).__name__}); the engine "
              "will run on one thread", file=sys.stderr)
        return []
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# modules with parallel code (OpenMP via cython.parallel)
OPENMP_MODULES = {"engine", "conv"}

# PLASTICITY_EXT=engine,rules restricts a development build to those modules.
only = [m for m in os.environ.get("PLASTICITY_EXT", "").split(",") if m]

omp = openmp_flags() if not only or OPENMP_MODULES & set(only) else []
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
            extra_compile_args=compile_args + (omp if name in OPENMP_MODULES else []),
            extra_link_args=omp if name in OPENMP_MODULES else [],
            # link libm explicitly: without it the modules bind the unversioned
            # (oldest, SVID-compatible) exp/log wrappers, whose underflow path goes
            # through __kernel_standard; the values are the same either way
            libraries=["m"],
        )
    )

setup(
    packages=find_packages(include=["plasticity", "plasticity.*"]),
    # the .pxd files let users cimport the rule API for their own Cython rules; the
    # header is the threads' code the OpenMP modules share
    package_data={"plasticity._ext": ["*.pxd", "*.h"], "plasticity.experiments": ["*.toml"]},
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
