"""``Args:`` sections of the public API of evaluation/, apis/, deploy/ and utils/postprocessing/.

Every public function, method and class there that takes a parameter has an ``Args:`` section
in its docstring (Google/mmseg style) naming each parameter, and names no parameter it does not
take (so a renamed parameter is caught). Public means: a module-level name not starting with
``_``; a method of a public class not starting with ``_``, plus ``__init__`` and ``__call__``.
``self``/``cls`` are not parameters. A class documents its constructor in the class docstring,
as mmseg does: the ``__init__`` parameters, or the fields of a dataclass or ``NamedTuple``.

The files are read with ``ast``; nothing is imported. Run this file as a script to print the
list.
"""
import ast
import glob
import os.path as osp
import re
import sys
from typing import Iterator, List, Optional, Union

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PACKAGES = ('mmseg_ext/evaluation', 'mmseg_ext/apis', 'mmseg_ext/deploy',
            'mmseg_ext/utils/postprocessing', 'mmseg_ext/utils/masks')
PUBLIC_DUNDERS = ('__init__', '__call__')
# One parameter line of an Args section: ``name (type): text``, ``name: text``, ``*args``,
# or several names sharing one text (``a, b (list): text``, as napoleon reads them).
NAME = r'\*{0,2}[A-Za-z_]\w*'
ENTRY = re.compile(rf'({NAME}(?:\s*,\s*{NAME})*)\s*(?:\(.*\))?\s*:')

Function = Union[ast.FunctionDef, ast.AsyncFunctionDef]


def source_files() -> List[str]:
    """The checked ``.py`` files, relative to the repository root, sorted."""
    files = []
    for package in PACKAGES:
        files += glob.glob(osp.join(REPO_ROOT, package, '**', '*.py'), recursive=True)
    return sorted(osp.relpath(f, REPO_ROOT) for f in files)


def args_section(doc: Optional[str]) -> Optional[List[str]]:
    """The parameter names documented under ``Args:`` in ``doc``; None if there is none.

    Args:
        doc (str, optional): A docstring as ``ast.get_docstring`` gives it (dedented).

    Returns:
        list[str] | None: The names (stars stripped), in order.
    """
    if not doc:
        return None
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == 'Args:':
            indent = len(line) - len(line.lstrip())
            break
    else:
        return None
    names: List[str] = []
    entry_indent = None
    for line in lines[i + 1:]:
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        if depth <= indent:
            break  # the next section
        if entry_indent is None:
            entry_indent = depth
        if depth == entry_indent:
            match = ENTRY.match(line.strip())
            if match:
                names += [name.strip().lstrip('*') for name in match.group(1).split(',')]
    return names


def parameters(func: Function, drop_first: bool) -> List[str]:
    """The names of ``func``'s parameters, ``*args``/``**kwargs`` without stars.

    Args:
        func (ast.FunctionDef): The function.
        drop_first (bool): Whether the first positional parameter is ``self``/``cls``.

    Returns:
        list[str]: The names, in signature order.
    """
    a = func.args
    names = [p.arg for p in a.posonlyargs + a.args]
    if drop_first and names:
        names = names[1:]
    if a.vararg:
        names.append(a.vararg.arg)
    names += [p.arg for p in a.kwonlyargs]
    if a.kwarg:
        names.append(a.kwarg.arg)
    return names


def _decorators(node: Union[Function, ast.ClassDef]) -> List[str]:
    names = []
    for dec in node.decorator_list:
        if isinstance(dec, ast.Call):
            dec = dec.func
        if isinstance(dec, ast.Attribute):
            names.append(dec.attr)
        elif isinstance(dec, ast.Name):
            names.append(dec.id)
    return names


def _base_names(cls: ast.ClassDef) -> List[str]:
    names = []
    for base in cls.bases:
        if isinstance(base, ast.Subscript):
            base = base.value
        if isinstance(base, ast.Attribute):
            names.append(base.attr)
        elif isinstance(base, ast.Name):
            names.append(base.id)
    return names


def _fields(cls: ast.ClassDef) -> List[str]:
    """The constructor parameters of a dataclass or ``NamedTuple``: its annotated fields
    (not ``ClassVar`` ones, nor ``field(init=False)``)."""
    names = []
    for stmt in cls.body:
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        if 'ClassVar' in ast.unparse(stmt.annotation):
            continue
        value = stmt.value
        if isinstance(value, ast.Call) and any(
                k.arg == 'init' and isinstance(k.value, ast.Constant) and k.value.value is False
                for k in value.keywords):
            continue
        names.append(stmt.target.id)
    return names


def _top_level(body: List[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of a body, looking into ``if``/``try`` blocks (e.g. optional imports)."""
    for stmt in body:
        if isinstance(stmt, ast.If):
            yield from _top_level(stmt.body + stmt.orelse)
        elif isinstance(stmt, ast.Try):
            yield from _top_level(stmt.body + stmt.orelse + stmt.finalbody
                                  + [s for h in stmt.handlers for s in h.body])
        else:
            yield stmt


def _check(where: str, name: str, doc: Optional[str], params: List[str]) -> Optional[str]:
    if not params:
        return None
    documented = args_section(doc)
    if documented is None:
        return f'{where} {name}: no Args:'
    missing = [p for p in params if p not in documented]
    extra = [d for d in documented if d not in params]
    if not missing and not extra:
        return None
    parts = []
    if missing:
        parts.append('not in Args: ' + ', '.join(missing))
    if extra:
        parts.append('in Args but no such parameter: ' + ', '.join(extra))
    return f'{where} {name}: ' + '; '.join(parts)


def _check_function(path: str, func: Function, qualname: str, method: bool) -> Optional[str]:
    decorators = _decorators(func)
    if {'overload', 'setter', 'deleter'} & set(decorators):
        return None  # documented on the implementation / the property's getter
    drop_first = method and 'staticmethod' not in decorators
    return _check(f'{path}:{func.lineno}', qualname, ast.get_docstring(func),
                  parameters(func, drop_first))


def _check_class(path: str, cls: ast.ClassDef) -> Iterator[str]:
    methods = {s.name: s for s in cls.body
               if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if 'dataclass' in _decorators(cls) or 'NamedTuple' in _base_names(cls):
        params = _fields(cls)
    elif '__init__' in methods:
        params = parameters(methods['__init__'], drop_first=True)
    else:
        params = []  # the constructor is inherited and documented where it is written
    problem = _check(f'{path}:{cls.lineno}', cls.name, ast.get_docstring(cls), params)
    if problem:
        yield problem
    for name, func in methods.items():
        if name == '__init__' or (name.startswith('_') and name not in PUBLIC_DUNDERS):
            continue  # __init__ is documented in the class docstring
        problem = _check_function(path, func, f'{cls.name}.{name}', method=True)
        if problem:
            yield problem


def undocumented(path: str) -> List[str]:
    """The public functions, methods and classes of one file whose ``Args:`` are incomplete.

    Args:
        path (str): The file, relative to the repository root.

    Returns:
        list[str]: One ``file:line name: what is wrong`` line each.
    """
    with open(osp.join(REPO_ROOT, path), encoding='utf-8') as f:
        tree = ast.parse(f.read(), filename=path)
    problems = []
    for node in _top_level(tree.body):
        if getattr(node, 'name', '_').startswith('_'):
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            problem = _check_function(path, node, node.name, method=False)
            problems += [problem] if problem else []
        elif isinstance(node, ast.ClassDef):
            problems += list(_check_class(path, node))
    return problems


def all_undocumented() -> List[str]:
    """:func:`undocumented` over every checked file."""
    return [p for path in source_files() for p in undocumented(path)]


def test_args_parser():
    doc = ('Do it.\n\nArgs:\n    a (int): One\n        continued: not an entry.\n'
           '    b, c (list): Two.\n    **kwargs: Rest.\n\nReturns:\n    x (int): not an arg.')
    assert args_section(doc) == ['a', 'b', 'c', 'kwargs']
    assert args_section('No section.') is None
    tree = ast.parse('class A:\n    def f(self, x, *a, y=1, **k): pass\n'
                     '    @staticmethod\n    def g(x): pass\n')
    f, g = tree.body[0].body
    assert parameters(f, drop_first=True) == ['x', 'a', 'y', 'k']
    assert parameters(g, drop_first=False) == ['x']
    tree = ast.parse('class B:\n    a: int\n    b: ClassVar[int] = 1\n'
                     '    c: list = field(init=False)\n    d: list = field(default_factory=list)\n')
    assert _fields(tree.body[0]) == ['a', 'd']


def test_public_api_has_args():
    assert source_files(), 'no files found'
    problems = all_undocumented()
    assert not problems, (f'{len(problems)} public functions/methods/classes without a '
                          'complete Args: section:\n' + '\n'.join(problems))


if __name__ == '__main__':
    found = all_undocumented()
    print('\n'.join(found))
    print(f'{len(found)} found', file=sys.stderr)
    sys.exit(1 if found else 0)
