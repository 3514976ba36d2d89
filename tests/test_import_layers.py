"""The package's imports point one way: the layer order of docs/design.md, no cycle.

Every import counts: module level, inside functions, under ``if TYPE_CHECKING:``. The
graph is read from the source with ``ast`` (nothing is imported).
"""
import ast
import os
import os.path as osp
import re
from typing import Dict, List, Set, Tuple

from tests.conftest import REPO_ROOT

PACKAGE = 'mmseg_ext'
DESIGN = osp.join(REPO_ROOT, 'docs', 'design.md')
# The layer line of docs/design.md, e.g. `utils < datasets < ... < apis`.
LAYER_LINE = re.compile(r'`(\w+(?: < \w+)+)`')

Edges = Dict[str, Set[Tuple[str, int]]]


def module_files(root: str, package: str) -> Dict[str, str]:
    """Module name -> file of every module of ``package`` under ``root``."""
    modules = {}
    for folder, dirs, files in os.walk(osp.join(root, package)):
        dirs[:] = [d for d in dirs if not d.startswith('.') and d != '__pycache__']
        for name in files:
            if name.endswith('.py'):
                path = osp.join(folder, name)
                module = osp.relpath(path, root)[:-3].replace(os.sep, '.')
                modules[module[:-len('.__init__')] if module.endswith('.__init__')
                        else module] = path
    return modules


def _imported(module: str, path: str, node: ast.AST, modules: Dict[str, str]) -> Set[str]:
    """The package's modules that one import statement names."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            parts = module.split('.')
            if not path.endswith('__init__.py'):
                parts = parts[:-1]
            base = '.'.join(parts[:len(parts) - node.level + 1] + [node.module or ''])
        else:
            base = node.module or ''
        names = [f'{base.rstrip(".")}.{alias.name}' for alias in node.names]
        names = [n if n in modules else base.rstrip('.') for n in names]
    found = set()
    for name in names:
        while name and name not in modules:  # `import a.b.c` names module a.b.c
            name = name.rpartition('.')[0]
        if name:
            found.add(name)
    return found


def import_graph(root: str, package: str = PACKAGE) -> Edges:
    """Module -> the (module, line) pairs it imports from its own package."""
    modules = module_files(root, package)
    graph: Edges = {}
    for module, path in modules.items():
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read(), path)
        graph[module] = {(target, node.lineno) for node in ast.walk(tree)
                         if isinstance(node, (ast.Import, ast.ImportFrom))
                         for target in _imported(module, path, node, modules)
                         if target != module}
    return graph


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components with more than one node (Tarjan, iterative)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def layer_of(module: str) -> str:
    """``mmseg_ext.<layer>...`` -> layer ('' for the package's own ``__init__``)."""
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else ''


def back_references(graph: Edges, order: List[str]) -> List[str]:
    """Imports from a module to a layer above its own, as ``module:line -> module``."""
    rank = {layer: i for i, layer in enumerate(order)}
    wrong = []
    for module, targets in sorted(graph.items()):
        for target, line in sorted(targets):
            source, dest = layer_of(module), layer_of(target)
            if source in rank and dest != source and rank.get(dest, len(order)) > rank[source]:
                wrong.append(f'{module}:{line} -> {target}')
    return wrong


def design_layer_order() -> List[str]:
    """The layer order written in docs/design.md, lowest first."""
    with open(DESIGN, encoding='utf-8') as f:
        lines = [m.group(1) for m in LAYER_LINE.finditer(f.read())]
    assert len(lines) == 1, f'{DESIGN}: expected one `utils < ... < apis` layer line, got {lines}'
    return lines[0].split(' < ')


def test_layer_order_names_every_subpackage():
    order = design_layer_order()
    subpackages = {layer_of(m) for m in module_files(REPO_ROOT, PACKAGE)
                   if '.' in m and osp.isdir(osp.join(REPO_ROOT, PACKAGE, layer_of(m)))}
    assert order[0] == 'utils'
    assert set(order) == subpackages, f'design.md layers {order} vs subpackages {subpackages}'


def test_no_import_points_up_the_layers():
    assert back_references(import_graph(REPO_ROOT), design_layer_order()) == []


def test_no_module_cycle():
    graph = import_graph(REPO_ROOT)
    assert cycles({m: {t for t, _ in targets} for m, targets in graph.items()}) == []


def test_checker_finds_back_references_and_cycles(tmp_path):
    """The checks above can fail: a package with a loop and an upward import."""
    files = {
        'pkg/__init__.py': '',
        'pkg/utils/__init__.py': '',
        'pkg/utils/a.py': 'def f():\n    from pkg.apis.b import g\n',
        'pkg/utils/c.py': 'from . import d\n',
        'pkg/utils/d.py': 'from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n'
                          '    from .c import x\n',
        'pkg/apis/__init__.py': '',
        'pkg/apis/b.py': 'from ..utils.a import f\nimport pkg.utils.c\n',
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph(str(tmp_path), 'pkg')
    assert back_references(graph, ['utils', 'apis']) == ['pkg.utils.a:2 -> pkg.apis.b']
    assert sorted(cycles({m: {t for t, _ in v} for m, v in graph.items()})) == [
        ['pkg.apis.b', 'pkg.utils.a'], ['pkg.utils.c', 'pkg.utils.d']]
