"""`CompileLog`: how often, and for how long, a compiled engine compiled, per protocol method.

The compiled engines (`TorchBackend(compile=...)`, `JaxBackend(jit=True)`) count their
compilations themselves, through public APIs only: PyTorch's `torch.compiler.set_stance(
"fail_on_recompile")` tells whether a call would compile, JAX's ahead-of-time API
(`jax.jit(f).lower(*args).compile()`) compiles explicitly. The wall time of a call that compiled
is compile time (it includes one run of the compiled code, a negligible part of it); the time of
every other call is run time. `CompileLog.summary()` is the line the report prints.
"""

from dataclasses import dataclass, field

__all__ = ["CompileLog", "MethodLog"]


@dataclass
class MethodLog:
    """The compilations and calls of one protocol method (e.g. `grads`)."""

    compilations: int = 0
    failed: int = 0
    """Calls whose compilation raised (the engine reports the error; the time counts as compile
    time)."""
    compile_seconds: float = 0.0
    calls: int = 0
    """Calls that ran code compiled earlier (a call that compiled is not counted here)."""
    run_seconds: float = 0.0


@dataclass
class CompileLog:
    """Per protocol method, the compilations and the calls that reused them.

    - `what`: how the engine compiles, for the report, e.g. `"torch.compile (backend 'inductor',
      dynamic=True, fullgraph=True)"`.

    Example: `log.compiled("grads", 1.5); log.ran("grads", 0.001); log.compilations == 1`.
    """

    what: str
    methods: dict[str, MethodLog] = field(default_factory=dict)

    def compiled(self, method: str, seconds: float) -> None:
        """Record a call of `method` that compiled, and took `seconds`."""
        m = self.methods.setdefault(method, MethodLog())
        m.compilations += 1
        m.compile_seconds += seconds

    def failed(self, method: str, seconds: float) -> None:
        """Record a call of `method` whose compilation raised after `seconds`."""
        m = self.methods.setdefault(method, MethodLog())
        m.failed += 1
        m.compile_seconds += seconds

    def ran(self, method: str, seconds: float) -> None:
        """Record a call of `method` that reused compiled code, and took `seconds`."""
        m = self.methods.setdefault(method, MethodLog())
        m.calls += 1
        m.run_seconds += seconds

    @property
    def compilations(self) -> int:
        """Return the number of compilations, all methods together."""
        return sum(m.compilations for m in self.methods.values())

    @property
    def compile_seconds(self) -> float:
        """Return the wall time of the calls that compiled, all methods together."""
        return sum(m.compile_seconds for m in self.methods.values())

    @property
    def run_seconds(self) -> float:
        """Return the wall time of the calls that reused compiled code, all methods together."""
        return sum(m.run_seconds for m in self.methods.values())

    def summary(self) -> str:
        """Return the report's lines: totals, then compilations and compile time per method."""
        if not self.methods:
            return (
                f"{self.what}: no call in this process (with --workers the checks run in "
                "worker processes)"
            )
        calls = sum(m.calls for m in self.methods.values())
        failed = sum(m.failed for m in self.methods.values())
        per = ", ".join(
            f"{k} {m.compilations} ({m.compile_seconds:.1f}s"
            + (f", {m.failed} failed)" if m.failed else ")")
            for k, m in sorted(self.methods.items())
        )
        return (
            f"{self.what}: {self.compilations} compilation(s)"
            + (f" and {failed} failed one(s)" if failed else "")
            + f" in {self.compile_seconds:.1f}s; "
            f"{calls} call(s) of compiled code in {self.run_seconds:.1f}s\n"
            f"  compilations per method: {per}"
        )
