"""Exported models shared by the deploy tests (one export per session)."""
import os.path as osp

import pytest

from tests.helpers import run_tool


@pytest.fixture(scope='session')
def exported_tiny(tiny_run, tmp_path_factory):
    """``tiny_run`` exported with the default (dynamo) exporter: (onnx path, tool stdout)."""
    pytest.importorskip('onnx')
    pytest.importorskip('onnxruntime')
    config, ckpt = tiny_run
    out = str(tmp_path_factory.mktemp('exported') / 'tiny.onnx')
    proc = run_tool('tools/deployment/export_onnx.py', config, ckpt, '--out', out)
    assert osp.isfile(out) and osp.isfile(out[:-len('.onnx')] + '.json')
    return out, proc.stdout
