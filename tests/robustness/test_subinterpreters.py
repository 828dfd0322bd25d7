"""Programs that create, run and destroy subinterpreters, recorded with
``pyprof record`` (CPU, and with --memory) and through pyprof.start()/stop().

A subinterpreter's code objects die with it (from 3.12 in arenas it frees
wholesale), so pyprof must never keep or read one: the program must exit as
without pyprof, its profiles must load, and the main interpreter's functions
must keep their names. A stack sampled while a thread runs a
subinterpreter shows as one ``[subinterpreter]`` frame; before 3.12 a
thread of the main interpreter keeps its main thread state there, so that
time goes to the call that entered the subinterpreter instead.

The crash these guard against came on most runs, not all: each scenario
runs several times.
"""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

import pyprof
from pyprof import pprof

MODULE = next((name for name in ("_interpreters", "_xxsubinterpreters")
               if importlib.util.find_spec(name) is not None), None)
pytestmark = [
    pytest.mark.skipif(MODULE is None, reason="this Python has no subinterpreters"),
    pytest.mark.slow,
]

ATTEMPTS = 3
N = 10_000  # sub_churn's loop count in each subinterpreter
ROUNDS = 3  # subinterpreters made by the main thread and by each of two workers
TAGS = sorted([f"m-{r}" for r in range(ROUNDS)] +
              [f"w{k}-{r}" for k in range(2) for r in range(ROUNDS)])
HELD_BYTES = 3000 * 1000  # main_hold's bytearrays, in use at exit
# A whole process runs several subinterpreters of ~0.08 s of CPU each.
SUB_CPU_S = 0.25
SUBINTERP = "[subinterpreter]"
ISOLATED_TSTATE = sys.version_info >= (3, 12)

PROGRAM = textwrap.dedent(
    """
    import json, os, sys, threading, time
    try:
        import _interpreters as interpreters  # 3.13
    except ImportError:
        import _xxsubinterpreters as interpreters  # 3.9 to 3.12

    OUT = os.path.abspath("sub-results")
    N, ROUNDS = %(n)d, %(rounds)d

    # What each subinterpreter runs: it allocates, uses CPU, and leaves its
    # result in a file (its objects cannot be handed back).
    SUB = '''
    def sub_churn(n):
        total = 0
        for i in range(n):
            block = [bytearray(64) for _ in range(50)]
            total += len(block) + i
        return total
    with open({path!r}, "w") as out:
        out.write(str(sub_churn({n})))
    '''

    def spin(seconds):
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass

    def in_subinterpreter(tag):
        iid = interpreters.create()
        try:
            source = SUB.format(path=os.path.join(OUT, tag), n=N)
            error = interpreters.run_string(iid, source)
            assert error is None, error
        finally:
            interpreters.destroy(iid)

    held = []

    def main_hold():
        held.extend(bytearray(1000) for _ in range(3000))

    def worker_work(k):
        for r in range(ROUNDS):
            in_subinterpreter(f"w{k}-{r}")
        spin(0.1)

    def main_work():
        os.makedirs(OUT, exist_ok=True)
        main_hold()
        workers = [threading.Thread(target=worker_work, args=(k,), name=f"w{k}")
                   for k in range(2)]
        for worker in workers:
            worker.start()
        for r in range(ROUNDS):
            in_subinterpreter(f"m-{r}")
        spin(0.2)
        for worker in workers:
            worker.join()

    def results():
        found = {}
        for name in sorted(os.listdir(OUT)):
            with open(os.path.join(OUT, name)) as f:
                found[name] = int(f.read())
            os.remove(os.path.join(OUT, name))
        return found
    """
) % {"n": N, "rounds": ROUNDS}

# Under pyprof record: run once and say what came out.
RECORDED = PROGRAM + textwrap.dedent(
    """
    main_work()
    print("RESULT " + json.dumps({"results": results()}), flush=True)
    """
)

# Through the API: two start/stop cycles in one process, each writing its
# profiles, with the memory profiler when the first argument says so.
API = PROGRAM + textwrap.dedent(
    """
    import pyprof
    memory = sys.argv[1] == "memory"
    out = []
    for cycle in range(2):
        pyprof.start(rate_hz=1000, memory=memory, mem_rate=4096)
        main_work()
        profile = pyprof.stop()
        profile.write(f"cpu-{cycle}.pb.gz")
        if memory:
            profile.heap.write(f"heap-{cycle}.pb.gz")
        held.clear()
        out.append(results())
    print("RESULT " + json.dumps({"results": out}), flush=True)
    """
)


def expected_result():
    return 50 * N + N * (N - 1) // 2


def stacks(profile, index=-1):
    """[(function names leaf first, value at index)] of every sample."""
    strings = profile.string_table
    names = {f.id: strings[f.name] for f in profile.function}
    locations = {loc.id: [names[line.function_id] for line in loc.line]
                 for loc in profile.location}
    return [([n for loc in s.location_id for n in locations[loc]], s.value[index])
            for s in profile.sample]


def value_where(profile, predicate, index=-1):
    return sum(v for names, v in stacks(profile, index) if predicate(names))


def check_results(results):
    assert results == {tag: expected_result() for tag in TAGS}


def check_cpu(profile, where):
    """The main interpreter's functions by name, the subinterpreters' time
    where it belongs, and not one of their functions resolved."""
    all_stacks = stacks(profile)
    names = {n for stack, _ in all_stacks for n in stack}
    assert {"main_work", "worker_work", "spin"} <= names, (where, names)
    assert "sub_churn" not in names, where
    assert value_where(profile, lambda s: "main_work" in s) > 0.1e9, where
    assert value_where(profile, lambda s: "worker_work" in s) > 0.1e9, where
    if ISOLATED_TSTATE:
        sub = [(stack, v) for stack, v in all_stacks if SUBINTERP in stack]
        assert all(stack == [SUBINTERP] for stack, _ in sub), (where, sub[:3])
        assert sum(v for _, v in sub) >= SUB_CPU_S * 1e9, where
    else:
        assert SUBINTERP not in names, where
        flat = value_where(profile, lambda s: s[0] == "in_subinterpreter")
        assert flat >= SUB_CPU_S * 1e9, where


ALLOC_SPACE, INUSE_SPACE = 1, 3


def check_heap(profile, where):
    types = [profile.string_table[t.type] for t in profile.sample_type]
    assert types == ["alloc_objects", "alloc_space", "inuse_objects",
                     "inuse_space"], where
    names = {n for stack, _ in stacks(profile) for n in stack}
    assert "sub_churn" not in names, where
    held = value_where(profile, lambda s: "main_hold" in s, INUSE_SPACE)
    assert 0.75 * HELD_BYTES <= held <= 1.5 * HELD_BYTES, (where, held)
    # Each subinterpreter allocates ~60 MB; at least one of them is seen.
    where_sub = SUBINTERP if ISOLATED_TSTATE else "in_subinterpreter"
    sub = value_where(profile, lambda s: s[0] == where_sub, ALLOC_SPACE)
    assert sub >= 50e6, (where, sub)


@pytest.mark.parametrize("memory", [False, True], ids=["cpu", "memory"])
def test_recorded_program_runs_and_its_profiles_load(run_program, tmp_path, memory):
    heap = tmp_path / "heap.pb.gz"
    options = ("--memory", "--mem-rate", "4096", "--memory-output",
               str(heap)) if memory else ()
    for attempt in range(ATTEMPTS):
        where = f"attempt {attempt}"
        if heap.exists():
            heap.unlink()
        run = run_program(RECORDED, rate=1000, options=options)
        assert run.proc.returncode == 0, run.explain()
        assert run.result is not None, run.explain()
        check_results(run.result["results"])
        # A subinterpreter starts nothing of pyprof's (see _bootstrap).
        notes = [c for c in run.comments
                 if "cannot load" in c or "starting the sampler" in c]
        assert not notes, (where, notes)
        check_cpu(run.profile, where)
        if memory:
            check_heap(pprof.load(str(heap)), where)


@pytest.mark.parametrize("memory", [False, True], ids=["cpu", "memory"])
def test_start_stop_around_subinterpreters(tmp_path, memory):
    program = tmp_path / "api_prog.py"
    program.write_text(API, encoding="utf-8")
    env = dict(os.environ)
    parent = str(pathlib.Path(pyprof.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([parent, env.get("PYTHONPATH", "")])
    for attempt in range(ATTEMPTS):
        done = subprocess.run(
            [sys.executable, str(program), "memory" if memory else "cpu"],
            capture_output=True, text=True, timeout=180, env=env, cwd=str(tmp_path))
        assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
        lines = [l for l in done.stdout.splitlines() if l.startswith("RESULT ")]
        assert lines, done.stdout + done.stderr
        cycles = json.loads(lines[-1][len("RESULT "):])["results"]
        assert len(cycles) == 2
        for cycle, results in enumerate(cycles):
            where = f"attempt {attempt}, cycle {cycle}"
            check_results(results)
            check_cpu(pprof.load(str(tmp_path / f"cpu-{cycle}.pb.gz")), where)
            if memory:
                check_heap(pprof.load(str(tmp_path / f"heap-{cycle}.pb.gz")), where)
