"""The user documentation (README.md, docs/*.md) against the code.

- every ``python``/``bash`` command (and every repository path) shown in code names a file
  that exists;
- every ``--flag`` shown after a ``tools/*.py`` (or ``projects/*/tools/*.py``) script is in
  that script's ``--help``;
- docs/cli.md equals what ``python docs/make_cli_md.py`` writes now;
- no bookkeeping (dates, commit hashes, "run A", "this machine" ...) in README.md,
  docs/*.md and requirements/*.txt: the pages say what is true and how to reproduce it.

Each tool's ``--help`` runs once per session, in parallel (docs/make_cli_md.py).
"""
import functools
import glob
import importlib.util
import os.path as osp
import re
from typing import Dict, List, Tuple

import pytest

from tests.helpers import REPO_ROOT

GENERATED = 'docs/cli.md'
DOC_FILES = ['README.md'] + sorted(
    osp.relpath(p, REPO_ROOT) for p in glob.glob(osp.join(REPO_ROOT, 'docs', '*.md'))
    if osp.relpath(p, REPO_ROOT) != GENERATED)
TEXT_FILES = DOC_FILES + sorted(
    osp.relpath(p, REPO_ROOT) for p in glob.glob(osp.join(REPO_ROOT, 'requirements', '*.txt')))

FENCE = re.compile(r'^[ \t]*```[^\n]*\n(.*?)^[ \t]*```', re.S | re.M)  # indented too
INLINE = re.compile(r'`([^`\n]+(?:\n[^`\n]+)*)`')  # may wrap onto the next line
# A repository path in code: a top-level folder, then a file with one of these endings.
PATH = re.compile(r'(?<![\w./-])((?:tools|projects|benchmarks|configs|docs|requirements|tests|'
                  r'mmseg_ext)/[\w./-]*\.(?:py|sh|txt|md|yml|yaml|json|png))(?![\w*{<])')
SCRIPT = re.compile(r'(?<![\w./-])((?:tools/|projects/[\w-]+/tools/)[\w/-]*\.py)\b')
FLAG = re.compile(r'(?<![\w-])(--[a-zA-Z][\w-]*)')
# Bookkeeping, not documentation. Case-insensitive unless marked (?-i:...).
HISTORY = re.compile('|'.join((
    r'\bhelper\b', r'\bprevious (stop|run|code|commit|version)s?\b', r'(?-i:\bruns? [AB]\b)',
    r'\bissues?\b', r'\bthis (?:[\w-]+ ){0,2}(?:machine|checkout|CPU|host)s?\b', r'\bverified on\b',
    r'\b20\d\d-\d\d-\d\d\b', r'`(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,40}`',
    r'\bcommit [0-9a-f]{7,40}\b', r'\bload average\b',
    r'\b(earlier|later) (run|tries|try|stop)s?\b', r'\btries on\b')), re.I)


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        'make_cli_md', osp.join(REPO_ROOT, 'docs', 'make_cli_md.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.lru_cache(maxsize=None)
def _helps() -> Dict[str, str]:
    """``{tool: --help text}`` of every tool, run once (in parallel) per session."""
    return _load_generator().collect_help(REPO_ROOT)


def code_spans(text: str) -> List[str]:
    """Code of a markdown text: each command line of the fenced blocks (continuation
    lines joined, ``#`` comments cut) and each inline code span outside them."""
    spans = []
    for block in FENCE.findall(text):
        for line in block.replace('\\\n', ' ').splitlines():
            spans.append(re.split(r'(?:^|\s)#', line, maxsplit=1)[0])
    spans += [span.replace('\n', ' ') for span in INLINE.findall(FENCE.sub('', text))]
    return [s for s in spans if s.strip()]


def script_commands(span: str) -> List[Tuple[str, List[str]]]:
    """``(script, [flags])`` of each ``tools/X.py ...`` in one code span (a command ends at
    ``|``, ``;``, ``&&``, ``||`` or the next script)."""
    found = []
    for command in re.split(r'\|\||&&|[|;]', span):
        matches = list(SCRIPT.finditer(command))
        for i, match in enumerate(matches):
            end = matches[i + 1].start() if i + 1 < len(matches) else len(command)
            found.append((match.group(1), FLAG.findall(command[match.end():end])))
    return found


def _read(rel: str) -> str:
    with open(osp.join(REPO_ROOT, rel), encoding='utf-8') as f:
        return f.read()


@pytest.mark.parametrize('doc', DOC_FILES)
def test_paths_in_code_exist(doc):
    missing = sorted({path for span in code_spans(_read(doc)) for path in PATH.findall(span)
                      if not osp.exists(osp.join(REPO_ROOT, path))})
    assert not missing, f'{doc} shows files that do not exist: {missing}'


@pytest.mark.slow
@pytest.mark.parametrize('doc', DOC_FILES)
def test_flags_are_in_the_tools_help(doc):
    commands = [c for span in code_spans(_read(doc)) for c in script_commands(span)
                if osp.isfile(osp.join(REPO_ROOT, c[0]))]  # missing files: the test above
    if not commands:
        return
    helps = dict(_helps())
    generator = _load_generator()
    for script, _ in commands:  # a script that hands over to another has that one's options
        target = generator.forwards_to(script, REPO_ROOT)
        if script not in helps and target in helps:
            helps[script] = helps[target]
    unknown = sorted({f'{script} {flag}' for script, flags in commands for flag in flags
                      if script in helps and not re.search(
                          rf'(?<![\w-]){re.escape(flag)}(?![\w-])', helps[script])})
    no_parser = sorted({script for script, flags in commands if flags and script not in helps})
    assert not unknown, f'{doc} shows options the tools do not have: {unknown}'
    assert not no_parser, f'{doc} shows options for scripts without --help: {no_parser}'


@pytest.mark.slow
def test_cli_md_is_current():
    expected = _load_generator().render(REPO_ROOT, helps=_helps())
    path = osp.join(REPO_ROOT, GENERATED)
    current = _read(GENERATED) if osp.isfile(path) else ''
    assert current == expected, 'docs/cli.md is stale: run python docs/make_cli_md.py'


@pytest.mark.parametrize('doc', TEXT_FILES)
def test_no_bookkeeping(doc):
    hits = [f'{doc}:{number}: {match.group(0)!r}'
            for number, line in enumerate(_read(doc).splitlines(), 1)
            for match in HISTORY.finditer(line)]
    assert not hits, ('history or bookkeeping (say what is true now and how to reproduce '
                      'it):\n' + '\n'.join(hits))
