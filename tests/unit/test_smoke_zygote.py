"""The zygote's fork-safety check, the provisioner's registration (ADR-099) and the early start (ADR-118),
without kernels.

The check runs in a fresh interpreter (this test process has its own threads): the zygote's module is run by
path, as nb-smoke runs it, after importing what a zygote imports.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from jupyter_mlops.notebooks.smoke import fork, zygotes
from jupyter_mlops.notebooks.smoke.zygotes import call_env

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="--fork is Linux-only")

CHECK = """
import json, runpy, sys
zygote = runpy.run_path(sys.argv[1])
zygote['import_modules'](list(zygote['KERNEL_MODULES']) + sys.argv[2].split(',')[:-1])
{setup}
print(json.dumps({{'hazards': zygote['hazards'](), 'threads': zygote['threads'](),
                  'pool': zygote['blas_pool'](zygote['mapped_libraries']())}}))
"""


def check(modules: list[str], setup: str = "") -> dict:
    out = subprocess.run([sys.executable, "-c", CHECK.format(setup=setup), zygotes._ZYGOTE_PATH,
                          ",".join([*modules, ""])], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout)


def test_a_zygote_with_ipykernel_numpy_and_pandas_is_safe_to_fork():
    """numpy's OpenBLAS pool and pyarrow's jemalloc thread (loaded by pandas) are the threads it may hold."""
    found = check(["numpy", "pandas"])
    assert found["hazards"] == [], found
    assert len(found["threads"]) <= 1 + found["pool"] + found["threads"].count("jemalloc_bg_thd")


def test_a_thread_started_in_the_zygote_makes_it_refuse():
    found = check([], "import threading, time\nthreading.Thread(target=time.sleep, args=(60,), daemon=True).start()")
    assert len(found["hazards"]) == 1 and "OS threads, more than its BLAS pool accounts for" in found["hazards"][0]


def test_the_provisioner_is_found_by_name_without_an_installed_entry_point():
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.provisioning.factory import KernelProvisionerFactory

    fork.register()
    spec = KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                      display_name="Python", language="python",
                      metadata=fork.kernelspec_metadata(["numpy"], 30.0))
    provisioner = KernelProvisionerFactory.instance().create_provisioner_instance("k1", spec, parent=None)
    assert isinstance(provisioner, fork.ForkProvisioner)
    assert list(provisioner.modules) == ["numpy"] and provisioner.timeout == 30.0


@pytest.fixture
def no_zygotes():
    """Each test starts and ends its own zygotes (real processes; ipykernel imported, no kernel forked)."""
    zygotes.close_zygotes()
    yield
    zygotes.close_zygotes()


def test_an_early_zygote_is_adopted_by_the_first_set_it_was_told_and_its_environment(no_zygotes):
    """ADR-118: started before the module set is known, told the set later, adopted by zygote_for."""
    env = zygotes.zygote_env(call_env())
    early = zygotes.start_early(call_env())
    assert early is not None and early.early and early.process.poll() is None
    zygotes.load_early(("json",))
    other_env = {**env, "NB_SMOKE_TEST_OTHER": "1"}
    assert zygotes.zygote_for(("json",), other_env, 60.0) is not early  # another environment: a zygote of its own
    assert zygotes.zygote_for(("csv",), env, 60.0) is not early  # another set: never the early one's
    adopted = zygotes.zygote_for(("json",), env, 60.0)
    assert adopted is early and early.info["loaded"] == ["json"] and early.info["ready"]
    assert zygotes.zygote_for(("json",), env, 60.0) is early  # and shared by the set's later notebooks


def test_an_early_zygote_nobody_adopts_ends_with_close_zygotes(no_zygotes):
    early = zygotes.start_early(call_env())
    assert early is not None
    zygotes.close_zygotes()
    assert early.process.poll() == 0  # it left on its own when the socket closed, before being told anything
