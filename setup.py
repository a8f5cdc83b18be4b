"""Packaging: everything is declared in setup.cfg except the one thing it cannot say.

The shipped policies stay in the top-level ``policies/`` folder that people read and edit;
this maps that folder into the package as ``refundctl/_policies`` so that a wheel or an
sdist carries them (``refundctl.policy.shipped`` finds them in either place).
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["refundctl", "refundctl.*"]), "refundctl._policies"],
    package_dir={"refundctl._policies": "policies"},
)
