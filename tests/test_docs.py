"""Docs that run: the commands and snippets of README.md and docs/**/*.md are executed, so the
docs cannot rot. One test per shell command and per Python block, named FILE:LINE.

The rules (whatever is not run is listed with its reason and checked against these rules by
`test_what_does_not_run_is_what_the_rules_name`, never dropped silently):

1. Blocks whose info string starts with `bash`, `sh`, `shell` or `console` hold shell commands;
   `python` and `pycon` blocks hold Python. Blocks in other languages (`text`, `yaml`, `toml`, no
   language, …) are not code to run and are not collected.
2. `norun` anywhere in the info string (```` ```bash norun ````) leaves the whole block out.
3. In `bash`, `sh` and `shell` blocks each non-blank line that is not a comment is a command (a
   trailing backslash continues it on the next line). In `console` blocks commands are the lines
   starting with `$ `; the lines after a command, up to the next one, are its output, and every
   one of them is checked: the shown lines must be what the command prints (stdout and stderr),
   line for line from the first to the last, blank lines aside and whitespace runs collapsed.
   Two placeholders, both visible in the docs: `...` inside a line stands for text that differs
   from run to run (a time: `0.51s` is shown `...s`) or from commit to commit (a source line
   number), and a line that is `...` alone stands for lines the docs leave out (any number,
   perhaps none). Without a `...` line at its start or end, the shown output must begin at the
   first printed line or end at the last.
4. A trailing `# exit N` (or `# exits N`) comment gives a command's expected exit status (default
   0); any other trailing comment is ignored.
5. `python -m spec …` and `python3 -m spec …`, optionally preceded by `VAR=value` assignments,
   run with this interpreter, with the repository on PYTHONPATH, in a temporary directory (one
   per block, shared by its commands in order); `/path/to/repo` in an assignment stands for the
   repository. A `check` without `--examples` gets `--examples 3 --max-dim 4` appended (without
   `--max-dim` when one is given), to keep this file fast; with `--examples` it runs as written.
6. These commands are left out by rule, with the reason: `pip …`, `python -m pip …` (they install
   packages); `python -m pytest …` (the test suite this test belongs to); `python benchmarks/…`
   (benchmarks take minutes; `tests/test_bench.py` smoke-tests them); a `--backend
   MODULE:ATTR` whose top-level module is a placeholder listed in `PLACEHOLDERS` (`mypackage`);
   `--backend torch` or `jax` when that package is not installed; `--device cuda` or `gpu` when
   there is no such GPU.
7. Any other command fails its test: mark the block `norun`, or add a rule here.
8. `python` blocks run with `exec` in a fresh namespace, `pycon` blocks as doctests (ELLIPSIS,
   NORMALIZE_WHITESPACE), both in a temporary working directory with the repository importable.

The shell blocks run in parallel subprocesses (started together when the first one is needed), so
the file takes about as long as its slowest few blocks.
"""

from __future__ import annotations

import doctest
import functools
import importlib.util
import io
import os
import re
import shlex
import subprocess
import sys
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHELL = ("bash", "sh", "shell", "console")
PYTHON = ("python", "pycon")
PLACEHOLDERS = frozenset({"mypackage"})
"""Top-level module names the docs use as placeholders for the reader's own engine."""
SMALL = ["--examples", "3"]
SMALL_DIM = ["--max-dim", "4"]
TIMEOUT = 300

_FENCE = re.compile(r"^(?P<fence>```+|~~~+)\s*(?P<info>.*)$")
_EXIT = re.compile(r"\s#\s*exits?\s+(\d+)\s*$")
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    line: int
    """The line of the opening fence, 1-based."""
    lang: str
    flags: frozenset[str]
    body: list[str]

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"


@dataclass
class Command:
    """One shell command of a block, and what the docs say it does."""

    text: str
    line: int
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    exit_status: int = 0
    expect: list[str] = field(default_factory=list)
    """The output the docs show, without blank lines (rule 3)."""
    skip: str | None = None


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def parse_blocks(path: Path) -> list[Block]:
    """Return the fenced code blocks of a Markdown file (a fence closes on the same fence)."""
    out: list[Block] = []
    lines = path.read_text("utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m.group("fence"), m.group("info").split()
        end = i + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        lang = info[0].lower() if info else ""
        out.append(Block(path, i + 1, lang, frozenset(info[1:]), lines[i + 1 : end]))
        i = end + 1
    return out


def collected() -> list[Block]:
    return [b for p in doc_files() for b in parse_blocks(p) if b.lang in SHELL + PYTHON]


def shell_commands(block: Block) -> list[Command]:
    """Return the commands of a shell block with their expected status and output (rules 3, 4)."""
    cmds: list[Command] = []
    if block.lang == "console":
        for k, raw in enumerate(block.body):
            if raw.startswith("$ "):
                cmds.append(Command(raw[2:], block.line + 1 + k))
            elif cmds and raw.strip():
                cmds[-1].expect.append(raw.strip())
    else:
        pending = ""
        for k, raw in enumerate(block.body):
            text = raw.strip()
            if not pending and (not text or text.startswith("#")):
                continue
            if text.endswith("\\"):
                pending += text[:-1] + " "
                continue
            cmds.append(Command(pending + text, block.line + 1 + k))
            pending = ""
    for c in cmds:
        m = _EXIT.search(c.text)
        if m:
            c.exit_status = int(m.group(1))
        words = shlex.split(c.text, comments=True)
        while words and _ASSIGN.match(words[0]):
            key, _, value = words.pop(0).partition("=")
            c.env[key] = value.replace("/path/to/repo", str(ROOT))
        c.argv = words
        c.skip = _skip_reason(words)
    return cmds


UNKNOWN = "no rule runs or skips this command"


def _skip_reason(argv: list[str]) -> str | None:
    """Return why a command is not run (rule 6), None to run it, `UNKNOWN` for anything else
    (its test then fails, rule 7)."""
    py = argv[:1] in (["python"], ["python3"])
    if argv[:1] in (["pip"], ["pip3"]) or (py and argv[1:3] == ["-m", "pip"]):
        return "installs packages"
    if py and argv[1:3] == ["-m", "pytest"]:
        return "runs the test suite this test belongs to"
    if py and argv[1:2] and argv[1].startswith("benchmarks/"):
        return "a benchmark, minutes long, run by hand (tests/test_bench.py smoke-tests it)"
    if not (py and argv[1:3] == ["-m", "spec"]):
        return UNKNOWN
    if "--backend" in argv:
        backend = argv[argv.index("--backend") + 1]
        top = backend.split(":")[0].split(".")[0]
        if ":" in backend and top in PLACEHOLDERS:
            return f"{top} is a placeholder for the reader's own engine"
        if backend in ("torch", "jax") and importlib.util.find_spec(backend) is None:
            return f"{backend} is not installed"
    if "--device" in argv:
        device = argv[argv.index("--device") + 1]
        if device in ("cuda", "gpu") and not _has_gpu(device):
            return f"no {device} device on this machine"
    return None


@functools.cache
def _has_gpu(device: str) -> bool:
    cuda = "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"
    gpu = "import jax, sys; sys.exit(0 if any(d.platform == 'gpu' for d in jax.devices()) else 1)"
    probe = cuda if device == "cuda" else gpu
    try:
        r = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, timeout=120, check=False
        )
    except subprocess.TimeoutExpired:
        return False
    return r.returncode == 0


def _argv(c: Command) -> list[str]:
    argv = [sys.executable, *c.argv[1:]]
    if argv[3:4] == ["check"] and "--examples" not in argv:
        argv += SMALL + ([] if "--max-dim" in argv else SMALL_DIM)
    return argv


@dataclass
class Ran:
    command: Command
    argv: list[str]
    returncode: int
    output: str


def _run_block(block: Block) -> list[Ran]:
    out: list[Ran] = []
    with tempfile.TemporaryDirectory(prefix="docs-") as cwd:
        for c in shell_commands(block):
            if c.skip is not None:
                continue
            env = dict(os.environ)
            env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
            env.update(c.env)
            extra = env.get("PYTHONPATH", "")
            env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *([extra] if extra else [])])
            argv = _argv(c)
            try:
                r = subprocess.run(
                    argv,
                    cwd=cwd,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=TIMEOUT,
                    check=False,
                )
                out.append(Ran(c, argv, r.returncode, r.stdout + r.stderr))
            except subprocess.TimeoutExpired:
                out.append(Ran(c, argv, -1, f"timed out after {TIMEOUT} s"))
    return out


_POOL: list[ThreadPoolExecutor] = []
_FUTURES: dict[str, Future[list[Ran]]] = {}


def shell_results(block: Block) -> list[Ran]:
    """Return the results of a shell block; on the first call, start every shell block at once."""
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))))
        for b in collected():
            if b.lang in SHELL and "norun" not in b.flags:
                _FUTURES[b.id] = _POOL[0].submit(_run_block, b)
    return _FUTURES[block.id].result()


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


GAP = "..."
"""A shown output line that stands for lines left out (rule 3)."""


def _line_matches(expected: str, line: str) -> bool:
    """Whether one printed line is the shown one; `...` inside it matches any text."""
    pattern = ".*".join(re.escape(part) for part in _normal(expected).split("..."))
    return re.fullmatch(pattern, _normal(line)) is not None


def _mismatch(expected: list[str], output: str) -> str | None:
    """Return None when the printed `output` is the shown `expected` output (rule 3), else what
    differs: the first shown line not printed where the docs show it."""
    printed = [ln for ln in output.splitlines() if ln.strip()]
    shown = [ln for ln in expected if ln.strip()]
    if not shown:
        return None
    # Runs of consecutive shown lines, between `...` lines.
    runs: list[list[str]] = [[]]
    for ln in shown:
        if _normal(ln) == GAP:
            runs.append([])
        else:
            runs[-1].append(ln)
    open_start, open_end = _normal(shown[0]) == GAP, _normal(shown[-1]) == GAP
    at = 0
    for k, run in enumerate(runs):
        if not run:
            continue
        last = k == len(runs) - 1 and not open_end
        first = k == 0 and not open_start
        if first and last and len(run) != len(printed):
            return f"printed {len(printed)} lines, the docs show {len(run)}:\n  " + "\n  ".join(run)
        starts = (
            [0]
            if first
            else [len(printed) - len(run)]
            if last
            else range(at, len(printed) - len(run) + 1)
        )
        found = next(
            (
                i
                for i in starts
                if i >= at and all(_line_matches(e, printed[i + j]) for j, e in enumerate(run))
            ),
            None,
        )
        if found is None:
            where = "as the first lines" if first else "as the last lines" if last else "in order"
            return f"not printed {where}:\n  " + "\n  ".join(run)
        at = found + len(run)
    return None


BLOCKS = collected()


def _cases() -> tuple[list[tuple[Block, Command | None]], list[tuple[Block, str]]]:
    # One case per shell command that runs and per Python block; the commands that do not run
    # here (rule 6) and `norun` blocks are listed apart, with their reasons, and checked by
    # `test_what_does_not_run_is_what_the_rules_name` rather than reported as skipped tests.
    out: list[tuple[Block, Command | None]] = []
    not_run: list[tuple[Block, str]] = []
    for b in BLOCKS:
        if "norun" in b.flags:
            not_run.append((b, f"{b.id}: marked norun"))
        elif b.lang in SHELL:
            for c in shell_commands(b):
                if c.skip is not None and c.skip != UNKNOWN:
                    not_run.append((b, f"{c.text!r}: {c.skip}"))
                else:
                    out.append((b, c))
        else:
            out.append((b, None))
    return out, not_run


CASES, NOT_RUN = _cases()


def test_what_does_not_run_is_what_the_rules_name() -> None:
    """Every command the docs show but this file does not run is an install, the test suite
    itself, a placeholder engine, a GPU run, a benchmark, or a block marked `norun`; nothing else
    is left out, and README's install line is among them (so the rules are exercised)."""
    allowed = (
        "installs packages",
        "runs the test suite",
        "placeholder",
        "no cuda device",
        "no gpu device",
        "a benchmark",
        "marked norun",
        "is not installed",
    )
    for _b, reason in NOT_RUN:
        assert any(a in reason for a in allowed), reason
    assert any("README.md" in r and "norun" in r for _b, r in NOT_RUN), NOT_RUN


@pytest.mark.parametrize(
    ("block", "command"),
    CASES,
    ids=[f"{b.id.rsplit(':', 1)[0]}:{c.line if c else b.line}" for b, c in CASES],
)
def test_docs(
    block: Block, command: Command | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if command is None:
        run_python(block, tmp_path, monkeypatch)
        return
    if command.skip == UNKNOWN:
        pytest.fail(
            f"{block.path.name}:{command.line}: no rule runs or skips {command.text!r}: "
            "mark the block `norun` or add a rule to tests/test_docs.py"
        )
    r = {r.command.line: r for r in shell_results(block)}[command.line]
    where = f"{block.path.name}:{command.line}: {shlex.join(r.argv)}"
    assert r.returncode == command.exit_status, f"{where}\nexit {r.returncode}\n{r.output[-4000:]}"
    problem = _mismatch(command.expect, r.output)
    assert problem is None, f"{where}\n{problem}\nprinted:\n{r.output}"


def run_python(block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run a `python` block with `exec`, a `pycon` block as a doctest (rule 8)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT))
    source = "\n".join(block.body) + "\n"
    if block.lang == "python":
        exec(compile(source, block.id, "exec"), {"__name__": "__docs__"})  # noqa: S102
        return
    test = doctest.DocTestParser().get_doctest(
        source, {"__name__": "__docs__"}, block.id, str(block.path), block.line
    )
    report = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    result = runner.run(test, out=report.write)
    assert result.attempted > 0 and result.failed == 0, report.getvalue()


def test_the_rules_find_the_blocks() -> None:
    # The parser sees the README's commands, and the reports page's Python, doctest and console.
    readme = [b for b in BLOCKS if b.path.name == "README.md" and b.lang in SHELL]
    assert len(readme) >= 3
    assert any(
        c.argv[1:3] == ["-m", "spec"]
        for b in readme
        if "norun" not in b.flags
        for c in shell_commands(b)
    )
    reports = {b.lang for b in BLOCKS if b.path.name == "reports.md"}
    assert {"python", "pycon", "console"} <= reports


def test_rules_classify_commands() -> None:
    block = Block(
        ROOT / "README.md",
        1,
        "console",
        frozenset(),
        [
            "$ PYTHONPATH=/path/to/repo/docs python -m spec check --backend m:E --examples 5"
            "  # exit 1",
            "FAIL Proofs.Autograd.grad_W1_mse: ...",
            "more output",
            "$ python3 -m pip install -e '.[plots]'",
            "$ python -m spec check --backend mypackage.engine:MyEngine",
            "$ python3 -m pytest",
        ],
    )
    a, b, c, d = shell_commands(block)
    assert a.exit_status == 1 and a.expect == [
        "FAIL Proofs.Autograd.grad_W1_mse: ...",
        "more output",
    ]
    assert a.env == {"PYTHONPATH": f"{ROOT}/docs"} and a.skip is None
    assert _argv(a)[1:] == ["-m", "spec", "check", "--backend", "m:E", "--examples", "5"]
    assert b.skip == "installs packages"
    assert c.skip == "mypackage is a placeholder for the reader's own engine"
    assert d.skip == "runs the test suite this test belongs to"
    assert _argv(Command("python -m spec check", 1, ["python", "-m", "spec", "check"]))[-4:] == [
        "--examples",
        "3",
        "--max-dim",
        "4",
    ]
    assert _line_matches("FAIL X: engine ... = -8.0", "FAIL X:  engine grads['W1'][0, 0] = -8.0")
    assert not _line_matches("FAIL X: engine", "FAIL X: engine grads")
    (unknown,) = shell_commands(Block(ROOT / "x.md", 1, "bash", frozenset(), ["rm -rf build"]))
    assert unknown.skip == UNKNOWN
    (bench,) = shell_commands(
        Block(
            ROOT / "x.md",
            1,
            "bash",
            frozenset(),
            ["python benchmarks/bench.py --sizes 16  # d = 16"],
        )
    )
    assert bench.skip is not None and bench.skip.startswith("a benchmark")


PRINTED = "head\nrow 1  0.51s\n\nrow 2  1.20s\nsummary in 1.7s\n"


@pytest.mark.parametrize(
    ("shown", "ok"),
    [
        (["head", "row 1 ...s", "row 2 ...s", "summary in ...s"], True),
        (["head", "...", "summary in ...s"], True),
        (["...", "row 2 ...s", "summary in ...s"], True),
        (["head", "row 1 ...s", "..."], True),
        (["head", "...", "row 2 ...s", "..."], True),
        ([], True),
        (["head"], False),  # the rest is neither shown nor elided
        (["head", "row 1 ...s"], False),
        (["row 1 ...s", "...", "summary in ...s"], False),  # not the first line
        (["head", "row 2 ...s", "..."], False),  # a line skipped without `...`
        (["head", "...", "row 1 ...s"], False),  # not the last line
        (["head", "row 1 0.50s", "..."], False),  # a time shown exactly differs
        (["head", "...", "row 3", "..."], False),
        (["head", "...", "summary in 1.7s", "row 2 ...s"], False),  # out of order
    ],
    ids=lambda v: str(v) if isinstance(v, bool) else "|".join(v) or "nothing",
)
def test_shown_output_is_checked_line_for_line(shown: list[str], ok: bool) -> None:
    """Rule 3 on a small printed output: every shown line is checked, in order, from the first to
    the last, except where a `...` line elides lines; `...` in a line matches a time."""
    assert (_mismatch(shown, PRINTED) is None) == ok, _mismatch(shown, PRINTED)
