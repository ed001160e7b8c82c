"""A sample of PyTorch's own test definitions (module_db, module_tests, optim_db and their error inputs,
see tests/pytorch_conformance.py) must pass on numpy, array_api_strict and torch. Every 4th case runs
here to keep CI fast; ``python tests/pytorch_conformance.py`` runs all of them (README: PyTorch
conformance)."""
import pytest

import pytorch_conformance as pc

SAMPLE = 4
CASES = pc.collect()[::SAMPLE]


def test_the_definitions_are_there():
    kinds = {c.kind for c in CASES}
    assert {"module", "module-error", "optim", "optim-error"} <= kinds
    assert len(CASES) > 100


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c.id}"[:90] for i, c in enumerate(CASES)])
def test_pytorch_definition(case):
    results = {ns: pc.run_case(case, ns) for ns in pc.NAMESPACES}
    assert all(r in ("pass", "random") for r in results.values()), results
