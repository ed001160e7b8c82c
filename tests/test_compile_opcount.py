"""``xpnet bench --count-ops`` counts the compiled replay on the CuPy stand-in."""
from xpnet.bench import opcount
from xpnet.bench.workloads import WORKLOADS


def test_compiled_replay_is_counted_and_reads_nothing_back():
    wl = WORKLOADS["W2"]
    eager = opcount.count_xpnet(wl, steps=1)
    comp = opcount.count_compiled(wl, steps=2)
    assert comp["host_reads"] == 0  # no synchronisation inside a replayed step
    assert 0 < comp["total"] <= eager["total"]  # no fusion yet: never more than eager
    assert comp["plan_ops"] + comp["views"] > 0 and comp["plan_ops"] <= comp["total"] + comp["views"]
    md = opcount.markdown({"W2": {"workload": wl.to_json(), "xpnet-cupy": eager, "xpnet-cupy-compiled": comp}})
    assert "xpnet compiled" in md and f"**{comp['total']}**" in md
