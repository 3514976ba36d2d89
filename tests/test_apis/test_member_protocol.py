"""The ``Member`` Protocol is typed exactly like its two implementations."""
import inspect
import typing

import pytest

from mmseg_ext.apis.ensemble import CheckpointMember
from mmseg_ext.apis.member import Member
from mmseg_ext.deploy.onnx_member import ExportedMember

METHODS = ('views', 'add_probs')


def _signature(func) -> list:
    """(name, kind, default, type) of each parameter but ``self``, then the return type."""
    hints = typing.get_type_hints(func)
    params = list(inspect.signature(func).parameters.values())[1:]
    return [(p.name, p.kind, p.default, hints.get(p.name)) for p in params] + [
        hints.get('return')]


@pytest.mark.parametrize('implementation', [CheckpointMember, ExportedMember])
def test_member_protocol_matches(implementation):
    for name in METHODS:
        assert _signature(getattr(implementation, name)) == _signature(getattr(Member, name)), \
            f'{implementation.__name__}.{name}'
    assert typing.get_type_hints(implementation.mask_rule.fget)['return'] \
        is typing.get_type_hints(Member.mask_rule.fget)['return']
    assert typing.get_type_hints(Member)['weight'] is float
