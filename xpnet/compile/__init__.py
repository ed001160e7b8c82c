"""``xn.compile``: trace a training step once, replay it without the engine.

The first call of a step runs eagerly; the next ones are *traced*: the step runs for real on proxy
arrays (:mod:`.tracer`) that record every array-namespace call and operator, the optimiser's Python
numbers become runtime scalars (:mod:`.scalars`), and the model/optimiser state is walked before and
after to find inputs and write-backs (:mod:`.state`). The record becomes a plan of straight-line
Python over the real arrays (:mod:`.plan`), replayed while its guards hold (:mod:`.guards`);
:mod:`.api` holds ``compile`` and the call sequence. See the README section "Compiled training".
"""
from .api import CompiledFunction, CompiledModel, CompileWarning, compile, enabled_default

__all__ = ["CompileWarning", "CompiledFunction", "CompiledModel", "compile", "enabled_default"]
