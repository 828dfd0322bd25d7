"""The drain thread is invisible to the program: not in threading's lists,
not running while the program forks, yet nothing sampled is lost."""


def test_drain_thread_is_not_in_threadings_lists(scenario):
    result = scenario("""
        import os, threading
        s = Sampler(rate_hz=1000)
        s.start()
        burn(0.2)
        time.sleep(0.1)  # the drain thread has run a few rounds
        seen = (threading.active_count(), [t.name for t in threading.enumerate()])
        tasks = len(os.listdir("/proc/self/task"))
        s.stop()
        total = sum(p for _, (_, p) in s.take().items())
        report(seen=seen, tasks=tasks, total=total,
               after=threading.active_count(),
               tasks_after=len(os.listdir("/proc/self/task")))
    """)
    assert result["seen"] == [1, ["MainThread"]], result
    assert result["tasks"] == 2, result  # it runs, as an OS thread
    assert result["tasks_after"] == 1, result  # and stop() ends it
    assert result["after"] == 1, result
    assert 120 < result["total"] < 300, result  # ~0.2 s at 1 kHz


def test_fork_of_a_single_threaded_program_does_not_warn(scenario):
    # CPython 3.12+ warns when fork() sees a second OS thread. "error"
    # would not do: fork() clears the exception its warning raises.
    result = scenario("""
        import io, os, threading, warnings
        warnings.simplefilter("always", DeprecationWarning)
        sys.stderr = io.StringIO()
        s = Sampler(rate_hz=1000)
        s.start()
        statuses = []
        for i in range(5):
            burn(0.02)
            pid = os.fork()
            if pid == 0:
                os._exit(7)
            statuses.append(os.waitpid(pid, 0)[1])
        burn(0.2)
        time.sleep(0.1)
        # The drain thread is back after the forks and drained without take().
        tasks = len(os.listdir("/proc/self/task"))
        drained = sum(p for (_, p) in s._aggregate.values())
        s.stop()
        pid = os.fork()  # right after stop(): the drain thread is gone
        if pid == 0:
            os._exit(7)
        statuses.append(os.waitpid(pid, 0)[1])
        total = sum(p for _, (_, p) in s.take().items())
        report(statuses=statuses, tasks=tasks, drained=drained, total=total,
               stderr=sys.stderr.getvalue())
    """)
    assert result["stderr"] == "", result
    assert result["statuses"] == [7 << 8] * 6, result
    assert result["tasks"] == 2, result
    assert result["drained"] > 100, result
    assert 200 < result["total"] < 450, result  # ~0.3 s at 1 kHz


def test_fork_leaves_profile_functions_and_monitoring_tools_alone(scenario):
    # The drain thread comes back after the fork without the program's own
    # profile function being replaced or a sys.monitoring tool left behind;
    # a fork from a second thread works the same.
    result = scenario("""
        import io, os, threading, warnings
        warnings.simplefilter("always", DeprecationWarning)
        sys.stderr = io.StringIO()
        events = []
        def mine(frame, event, arg):
            events.append(event)
        def fork_and_wait():
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            return os.waitpid(pid, 0)[1]
        s = Sampler(rate_hz=1000)
        s.start()
        sys.setprofile(mine)
        status = fork_and_wait()
        profile_kept = sys.getprofile() is mine
        sys.setprofile(None)
        burn(0.1)
        time.sleep(0.1)
        tasks_after_first = len(os.listdir("/proc/self/task"))
        statuses = []
        helper = threading.Thread(target=lambda: statuses.append(fork_and_wait()))
        helper.start(); helper.join()
        burn(0.1)
        time.sleep(0.1)
        tasks_after_second = len(os.listdir("/proc/self/task"))
        tools = []
        if hasattr(sys, "monitoring"):
            tools = [sys.monitoring.get_tool(i) for i in range(6)]
        s.stop()
        report(status=status, profile_kept=profile_kept, events=len(events),
               tasks=[tasks_after_first, tasks_after_second], statuses=statuses,
               tools=tools, total=sum(p for _, (_, p) in s.take().items()))
    """)
    assert result["status"] == 0 and result["statuses"] == [0], result
    assert result["profile_kept"], result
    assert result["events"] > 2, result  # it saw the calls around the fork
    assert result["tasks"] == [2, 2], result  # the drain thread came back
    assert all(tool is None for tool in result["tools"]), result
    assert 120 < result["total"] < 320, result  # ~0.2 s at 1 kHz


def test_many_forks_while_threads_burn_lose_no_samples(scenario):
    result = scenario("""
        import os, threading
        s = Sampler(rate_hz=1000)
        s.start()
        stop = threading.Event()
        cpu = {}
        def worker(name):
            start = time.thread_time()
            while not stop.is_set():
                burn(0.005)
            cpu[name] = time.thread_time() - start
        workers = [threading.Thread(target=worker, args=(f"w{i}",), name=f"w{i}")
                   for i in range(2)]
        for w in workers: w.start()
        hung = 0
        main_start = time.thread_time()
        for i in range(200):
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            deadline = time.monotonic() + 20
            while not os.waitpid(pid, os.WNOHANG)[0]:
                if time.monotonic() > deadline:
                    os.kill(pid, 9); os.waitpid(pid, 0); hung += 1
                    break
                time.sleep(0.0005)
        stop.set()
        for w in workers: w.join()
        main_cpu = time.thread_time() - main_start
        s.stop()
        per_thread = {}
        for (thread, frames), (samples, periods) in s.take().items():
            per_thread[thread] = per_thread.get(thread, 0) + periods
        report(hung=hung, cpu=cpu, main_cpu=main_cpu, per_thread=per_thread,
               stats=s.stats)
    """, timeout=300)
    assert result["hung"] == 0, result
    assert result["stats"]["dropped"] == 0, result
    for name in ("w0", "w1"):
        # Periods are 1 ms of CPU each; the kernel tick makes the count
        # lag the thread's clock a little, never exceed it by much.
        seconds = result["per_thread"].get(name, 0) / 1000
        cpu = result["cpu"][name]
        assert 0.75 * cpu < seconds < 1.25 * cpu + 0.05, result
