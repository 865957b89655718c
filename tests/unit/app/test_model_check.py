"""What the servability check reads without loading a model: a pickle's modules, and which packages are key."""

from __future__ import annotations

import pickle
import sysconfig
from collections import OrderedDict

import pytest

from jupyter_mlops.app.model_check import key_packages
from jupyter_mlops.app.model_sandbox import pickle_modules


def test_pickle_modules_are_read_without_loading():
    data = pickle.dumps(OrderedDict(a=pytest.approx(1)), protocol=pickle.HIGHEST_PROTOCOL)
    assert pickle_modules(data) == ["_pytest", "collections"]
    assert pickle_modules(pickle.dumps(OrderedDict(), protocol=2)) == ["collections"]
    assert pickle_modules(b"\x80\x05not a pickle") == []


def test_key_packages_are_the_flavors_and_the_installed_modules_of_the_pickle():
    site = sysconfig.get_paths()["purelib"]
    installed = {"scikit-learn": "1.5.0", "numpy": "2.0.0", "pyyaml": "6.0"}
    files = {"sklearn": f"{site}/sklearn/__init__.py", "yaml": f"{site}/yaml/__init__.py",
             "mymodels": "/home/ana/project/mymodels.py"}
    assert key_packages("sklearn", "joblib", ["collections", "sklearn", "yaml", "mymodels", "__main__"], installed,
                        files) == ["scikit-learn", "numpy", "scipy", "joblib", "pyyaml"]
    assert key_packages("python", "pickle", ["numpy"], installed) == ["numpy"]
