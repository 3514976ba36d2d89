"""Write docs/cli.md: every tool's ``--help`` and the shell scripts' usage comments.

    python docs/make_cli_md.py [--python PY] [--check]

The repository is the folder above this file, so running it in any checkout documents
that checkout's tools. Each ``tools/**/*.py`` and ``projects/*/tools/*.py`` that builds
an argparse parser is run with ``--help`` by the checkout's ``.venv`` Python (else this
Python), with the checkout first on ``PYTHONPATH``: two processes side by side, each runs
its share of the tools through ``runpy``, so torch and mmseg are imported once per process.
A script that only hands over to another tool is listed with its docstring's first line
and a link to that tool. Each ``tools/*.sh`` contributes its header comment. ``--check``
writes nothing and exits 1 when docs/cli.md differs from what would be written
(tests/test_docs.py checks the same).
"""
import argparse
import ast
import glob
import os
import os.path as osp
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
OUT = osp.join(ROOT, 'docs', 'cli.md')
PATTERNS = ('tools/**/*.py', 'projects/*/tools/*.py')
COLUMNS = '100'  # argparse wraps help at $COLUMNS: fixed, so the page does not depend on a terminal


def default_python(root: str = ROOT) -> str:
    """The checkout's .venv Python when there is one, else this Python."""
    venv = osp.join(root, '.venv', 'bin', 'python')
    return venv if osp.isfile(venv) else sys.executable


def python_tools(root: str = ROOT) -> List[str]:
    """Paths (relative to ``root``) of the Python tools: ``tools/`` first, then the
    projects', each sorted; no ``__init__.py``."""
    found = {osp.relpath(p, root) for pattern in PATTERNS
             for p in glob.glob(osp.join(root, pattern), recursive=True)}
    return sorted((p for p in found if osp.basename(p) != '__init__.py'),
                  key=lambda p: (not p.startswith('tools' + os.sep), p))


def shell_tools(root: str = ROOT) -> List[str]:
    return sorted(osp.relpath(p, root) for p in glob.glob(osp.join(root, 'tools', '*.sh')))


def has_parser(path: str) -> bool:
    with open(path) as f:
        return 'ArgumentParser(' in f.read()


def forwards_to(tool: str, root: str = ROOT) -> Optional[str]:
    """The tool a script without a parser hands over to (``runpy.run_path(... 'x.py')``),
    relative to ``root``; None for others."""
    import re
    with open(osp.join(root, tool)) as f:
        match = re.search(r"run_path\((?:.|\n)*?'([\w./-]+\.py)'", f.read())
    return osp.normpath(osp.join(osp.dirname(tool), match.group(1))) if match else None


def first_doc_line(path: str) -> str:
    with open(path) as f:
        doc = ast.get_docstring(ast.parse(f.read())) or ''
    return doc.strip().splitlines()[0] if doc.strip() else ''


# Runs in a child process: each tool's ``--help`` through runpy, so the heavy imports
# (torch, mmengine, mmseg) are paid once per child, not once per tool.
_CHILD = r"""
import contextlib, io, json, runpy, sys
results = {}
for tool in sys.argv[1:]:
    out = io.StringIO()
    sys.argv = [tool, '--help']
    code = 0
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(tool, run_name='__main__')
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException as err:  # noqa: B036  (reported, then run on its own)
        code = repr(err)
    results[tool] = {'code': code, 'out': out.getvalue()}
sys.__stdout__.write('\nCLI_HELP ' + json.dumps(results) + '\n')
"""


def _env(root: str) -> dict:
    env = dict(os.environ, COLUMNS=COLUMNS)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (root, env.get('PYTHONPATH')) if p)
    return env


def _clean(text: str, root: str) -> str:
    return text.replace(root + os.sep, '').replace(root, '.').rstrip() + '\n'


def run_help(tool: str, python: str, root: str = ROOT, timeout: int = 300) -> str:
    """``python TOOL --help`` in its own process, from ``root``; its stdout with the
    checkout's path as ``.``."""
    proc = subprocess.run([python, tool, '--help'], cwd=root, env=_env(root),
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0 or 'usage:' not in proc.stdout:
        raise RuntimeError(f'{tool} --help failed (exit {proc.returncode}):\n'
                           f'{proc.stdout[-2000:]}{proc.stderr[-2000:]}')
    return _clean(proc.stdout, root)


def _help_batch(tools: List[str], python: str, root: str, timeout: int = 600) -> Dict[str, str]:
    """``--help`` of several tools in one process; a tool that fails there is run on its own
    (for its error message)."""
    import json
    proc = subprocess.run([python, '-c', _CHILD, *tools], cwd=root, env=_env(root),
                          capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith('CLI_HELP ')]
    results = json.loads(lines[-1][len('CLI_HELP '):]) if lines else {}
    texts = {}
    for tool in tools:
        result = results.get(tool)
        if result and result['code'] == 0 and 'usage:' in result['out']:
            texts[tool] = _clean(result['out'], root)
        else:
            texts[tool] = run_help(tool, python, root)
    return texts


def collect_help(root: str = ROOT, python: Optional[str] = None,
                 workers: int = 2) -> Dict[str, str]:
    """``{tool: --help text}`` of every Python tool with a parser, in ``workers`` processes
    running side by side."""
    python = python or default_python(root)
    tools = [t for t in python_tools(root) if has_parser(osp.join(root, t))]
    batches = [tools[i::workers] for i in range(workers) if tools[i::workers]]
    texts: Dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=len(batches) or 1) as pool:
        for part in pool.map(lambda batch: _help_batch(batch, python, root), batches):
            texts.update(part)
    return {tool: texts[tool] for tool in tools}


def shell_usage(path: str) -> str:
    """The header comment of a shell script (after the shebang), without the ``#``."""
    lines = []
    with open(path) as f:
        for line in f.read().splitlines()[1:]:
            if not line.startswith('#'):
                break
            lines.append(line[2:] if line.startswith('# ') else line[1:])
    return '\n'.join(lines).rstrip() + '\n'


def render(root: str = ROOT, helps: Optional[Dict[str, str]] = None,
           python: Optional[str] = None) -> str:
    """The text of docs/cli.md."""
    helps = collect_help(root, python) if helps is None else helps
    tools = python_tools(root)
    parts = ['# Command-line reference\n',
             'Generated from each tool\'s `--help` by `python docs/make_cli_md.py`; do not edit '
             'by hand. Run the Python tools with the environment\'s Python from the repository '
             'root (`source .venv/bin/activate`, see [installation](installation.md)).\n']
    index = [f'- [`{t}`](#{anchor(t)})' for t in tools + shell_tools(root)]
    parts.append('\n'.join(index) + '\n')
    for tool in tools:
        parts.append(f'## {tool}\n')
        if tool in helps:
            parts.append('```text\n' + helps[tool] + '```\n')
        else:
            target = forwards_to(tool, root)
            see = f' Options: [`{target}`](#{anchor(target)}).' if target in helps else ''
            parts.append(first_doc_line(osp.join(root, tool)) + see + '\n')
    for tool in shell_tools(root):
        parts.append(f'## {tool}\n')
        parts.append('```text\n' + shell_usage(osp.join(root, tool)) + '```\n')
    return '\n'.join(parts)


def anchor(title: str) -> str:
    """GitHub's heading anchor of ``title`` (lower case, no dots or slashes)."""
    return ''.join(c for c in title.lower() if c.isalnum() or c in '-_ ').replace(' ', '-')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--python', help='interpreter that runs the tools (default: the '
                        "checkout's .venv/bin/python, else this one)")
    parser.add_argument('--check', action='store_true',
                        help='exit 1 when docs/cli.md is stale; write nothing')
    args = parser.parse_args()
    text = render(ROOT, python=args.python)
    if args.check:
        current = open(OUT).read() if osp.isfile(OUT) else ''
        if current != text:
            sys.exit('docs/cli.md is stale: run python docs/make_cli_md.py')
        print('docs/cli.md is current')
        return
    with open(OUT, 'w') as f:
        f.write(text)
    print(f'wrote {osp.relpath(OUT, ROOT)}: {len(python_tools(ROOT))} Python tools, '
          f'{len(shell_tools(ROOT))} shell scripts')


if __name__ == '__main__':
    main()
