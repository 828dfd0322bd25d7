"""Python constructs show up in profiles as the code that ran them:
generators, async generators, asyncio tasks, class bodies, lambdas,
comprehensions, exec/eval/compile, unicode and undecodable names, and
recursion far deeper than --max-frames."""

import os
import sys

import pytest

from pprof_check import go_reads

CONSTRUCTS = """
import asyncio

def gen_body():
    while True:
        burn(0.002)
        yield 1

def drive_generator():
    g = gen_body()
    for _ in range(100):
        next(g)
drive_generator()

async def agen_body():
    for _ in range(100):
        burn(0.002)
        yield 1

async def inner_coroutine():
    burn(0.2)

async def task_body():
    await inner_coroutine()

async def drive_async_generator():
    async for _ in agen_body():
        pass

async def async_main():
    await drive_async_generator()
    task = asyncio.ensure_future(task_body())
    await task

asyncio.run(async_main())

class ClassBody:
    burn(0.2)

hot_lambda = lambda: burn(0.2)
def call_lambda():
    hot_lambda()

def comprehension_host():
    return [burn(0.002) for _ in range(100)]
comprehension_host()

source = '''
def exec_hot():
    burn(0.2)
exec_hot()
'''
exec(compile(source, "<string>", "exec"), {"burn": burn})
eval(compile("burn(0.2)", "<string>", "eval"), {"burn": burn})
call_lambda()
report(ok=True)
"""


def callers(run, leaf_name):
    """CPU per (leaf, its caller) for samples whose leaf is leaf_name."""
    out = {}
    for names, files, labels, ns in run.samples:
        if names and names[0] == "burn" and len(names) > 2 and names[1] == leaf_name:
            out[names[2]] = out.get(names[2], 0) + ns / 1e9
    return out


def test_constructs_appear_as_the_code_that_ran(run_program):
    run = run_program(CONSTRUCTS, rate=1000)
    assert run.proc.returncode == 0, run.explain()
    assert run.result == {"ok": True}

    # A generator's frame sits on its consumer's.
    assert callers(run, "gen_body").get("drive_generator", 0) > 0.1, run.samples
    # An async generator's on the coroutine iterating it.
    assert callers(run, "agen_body").get("drive_async_generator", 0) > 0.1
    # A task's coroutine chain is the stack: awaited coroutine on the task's.
    assert callers(run, "inner_coroutine").get("task_body", 0) > 0.1
    # A class body is a code object named after the class.
    assert callers(run, "ClassBody").get("<module>", 0) > 0.1
    assert callers(run, "<lambda>").get("call_lambda", 0) > 0.1
    # Comprehensions: their own frame before 3.12, inlined since (PEP 709).
    if sys.version_info >= (3, 12):
        assert callers(run, "comprehension_host").get("<module>", 0) > 0.1
        assert run.cpu_in("<listcomp>") == 0
    else:
        listcomp = "comprehension_host.<locals>.<listcomp>"
        assert callers(run, listcomp).get("comprehension_host", 0) > 0.1
    # exec and eval of compiled strings: the file name is "<string>".
    exec_cpu = run.cpu(lambda names, files, labels:
                       names[:2] == ["burn", "exec_hot"] and files[1] == "<string>")
    assert exec_cpu > 0.1, run.samples
    eval_cpu = run.cpu(lambda names, files, labels:
                       names[:2] == ["burn", "<module>"] and files[1] == "<string>")
    assert eval_cpu > 0.1, run.samples


def test_unicode_and_undecodable_names_make_a_valid_profile(run_program, tmp_path):
    # A module whose file name is not valid UTF-8 (Python carries the bad
    # byte as a lone surrogate), a unicode one, and a function whose code
    # object was renamed to a string with a lone surrogate.
    bad_name = os.fsdecode(b"bad_\xff_mod.py")
    (tmp_path / bad_name).write_text("def from_bad_file(burn):\n    burn(0.3)\n")
    (tmp_path / "módulo_ü.py").write_text(
        "def größe_β(burn):\n    burn(0.3)\n", encoding="utf-8")
    run = run_program("""
        import importlib.util, os
        def load(path, name):
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
        bad = load(os.fsdecode(b"bad_\\xff_mod.py"), "bad_mod")
        bad.from_bad_file(burn)
        load("módulo_ü.py", "modulo").größe_β(burn)
        def odd(burn):
            burn(0.3)
        renamed = {"co_name": "odd_\\udcff"}
        if sys.version_info >= (3, 11):
            renamed["co_qualname"] = "odd_\\udcff"
        odd.__code__ = odd.__code__.replace(**renamed)
        odd(burn)
        report(ok=True)
    """, rate=1000)
    assert run.proc.returncode == 0, run.explain()
    # Every string in the profile is valid UTF-8 (the protobuf library
    # refuses anything else): undecodable bytes are written as \\xff.
    names = {name: file for names, files, _, _ in run.samples
             for name, file in zip(names, files)}
    assert names.get("from_bad_file", "").endswith("bad_\\xff_mod.py"), names
    assert names.get("größe_β", "").endswith("módulo_ü.py"), names
    assert any(name.startswith("odd_\\") for name in names), names
    assert run.cpu_in("größe_β") > 0.15 and run.cpu_in("from_bad_file") > 0.15
    raw = go_reads(run.path)
    assert "größe_β" in raw and "bad_\\xff_mod.py" in raw


def test_deep_recursion_is_truncated_counted_and_readable(run_program):
    run = run_program("""
        import sys
        sys.setrecursionlimit(20000)
        def down(n):
            if n == 0:
                burn(0.5)
                return 0
            return down(n - 1) + 1
        report(depth=down(5000))
    """, rate=1000, options=["--max-frames", "64"])
    assert run.proc.returncode == 0, run.explain()
    assert run.result == {"depth": 5000}
    deep = [names for names, _, _, _ in run.samples if "burn" in names]
    assert deep, run.samples
    for names in deep:
        # 32 innermost frames, the marker, and the outermost ones: 64 in all.
        assert len(names) == 64, names
        marker = names[32]
        assert marker.startswith("[truncated ") and marker.endswith(" frames]"), names
        cut = int(marker.split()[1])
        assert cut == 5000 + 3 - 63, names  # burn, down x5001, <module>
        assert names[-1] == "<module>" and names[0] == "burn"
    comment = " ".join(run.comments)
    assert "stacks truncated" in comment, run.comments
    assert "truncated" in run.proc.stderr, run.proc.stderr
    go_reads(run.path)
