"""Scoped process settings: each puts back what was there, and quiet_logger touches only its own thread."""

from __future__ import annotations

import logging
import os
import platform
import subprocess
import sys
import threading

import pytest

from kgagent.kg.process import deterministic_algorithms, env_default, quiet_logger, torch_threads


def test_torch_settings_are_restored() -> None:
    import torch

    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    with torch_threads(1), deterministic_algorithms(not det):
        assert torch.get_num_threads() == 1 and torch.are_deterministic_algorithms_enabled() == (not det)
    assert torch.get_num_threads() == threads and torch.are_deterministic_algorithms_enabled() == det
    with torch_threads(0):  # 0: leave torch's
        assert torch.get_num_threads() == threads


def test_env_default_keeps_a_users_value_and_removes_its_own() -> None:
    name = "KGAGENT_TEST_ENV_DEFAULT"
    os.environ.pop(name, None)
    with env_default(name, "ours"):
        assert os.environ[name] == "ours"
    assert name not in os.environ
    os.environ[name] = "theirs"
    try:
        with env_default(name, "ours"):
            assert os.environ[name] == "theirs"
        assert os.environ[name] == "theirs"
    finally:
        del os.environ[name]


def test_quiet_logger_is_per_thread_and_leaves_the_level(caplog) -> None:
    log = logging.getLogger("kgagent.test.quiet")
    with caplog.at_level(logging.INFO, logger="kgagent.test.quiet"):
        level = log.level
        with quiet_logger("kgagent.test.quiet"):
            log.warning("dropped")
            t = threading.Thread(target=log.warning, args=("kept, another thread",))
            t.start()
            t.join()
            assert log.level == level
        log.warning("kept, after the block")
    assert [r.getMessage() for r in caplog.records] == ["kept, another thread", "kept, after the block"]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator setting")
def test_mmap_threshold_is_fixed_by_an_entry_point_and_the_environment_wins() -> None:
    """The commands fix glibc's mmap threshold (freed large tensors go back to the system); a child process is
    used so this test process keeps its allocator as it was. ``MALLOC_MMAP_THRESHOLD_`` set by the user wins."""
    code = "from kgagent.kg.process import fixed_mmap_threshold; print(fixed_mmap_threshold())"
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_MMAP_THRESHOLD_"}
    run = [sys.executable, "-c", code]
    assert subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout.strip() == "True"
    env["MALLOC_MMAP_THRESHOLD_"] = "1048576"
    assert subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_gc_frozen_leaves_older_objects_out_of_collections_for_the_block_only():
    import gc

    from kgagent.kg.process import gc_frozen

    assert gc.get_freeze_count() == 0
    with gc_frozen():
        frozen = gc.get_freeze_count()
        assert frozen > 0
        gc.collect()
        assert gc.get_freeze_count() == frozen  # a collection in the block does not walk them
    assert gc.get_freeze_count() == 0
    gc.freeze()  # frozen by the caller: still frozen after the block
    try:
        with gc_frozen():
            pass
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
