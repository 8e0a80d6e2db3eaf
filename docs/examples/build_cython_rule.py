"""Build docs/examples/cython_pair_rule.pyx in place: python build_cython_rule.py [DIR]."""
import os
import shutil
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Distribution, Extension

import plasticity


def build(source, build_dir):
    """Compile ``source`` (a .pyx) into ``build_dir``; returns the module name."""
    name = os.path.splitext(os.path.basename(source))[0]
    build_dir = os.path.abspath(build_dir)
    os.makedirs(build_dir, exist_ok=True)
    # compile a copy, so the generated C file stays out of the source tree
    src = os.path.join(build_dir, os.path.basename(source))
    if os.path.abspath(source) != src:
        shutil.copyfile(source, src)
    ext = Extension(name, [src], include_dirs=[np.get_include()],
                    extra_compile_args=["-O3"])
    dist = Distribution({"ext_modules": cythonize(
        [ext], include_path=[plasticity.get_include()], quiet=True)})
    cmd = dist.get_command_obj("build_ext")
    cmd.build_lib = build_dir
    cmd.build_temp = os.path.join(build_dir, "tmp")
    dist.run_command("build_ext")
    return name


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else here
    print(build(os.path.join(here, "cython_pair_rule.pyx"), out))
