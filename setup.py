"""Packaging hook: ship the repository's ``configs/`` inside the package as ``xpnet/configs``, so that
``xpnet train --config mnist1d_best`` works after a plain ``pip install`` (metadata: pyproject.toml)."""
import pathlib
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithConfigs(build_py):
    def run(self):
        super().run()
        src = pathlib.Path(__file__).resolve().parent / "configs"
        dst = pathlib.Path(self.build_lib) / "xpnet" / "configs"
        for f in sorted(src.rglob("*.toml")):
            target = dst / f.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, target)


setup(cmdclass={"build_py": BuildPyWithConfigs})
