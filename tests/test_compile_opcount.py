"""``xpnet bench --count-ops`` counts the compiled replay on the CuPy stand-in."""
from xpnet.bench import opcount
from xpnet.bench.workloads import WORKLOADS


def test_compiled_replay_is_counted_and_reads_nothing_back():
    wl = WORKLOADS["W2"]
    eager = opcount.count_xpnet(wl, steps=1)
    comp = opcount.count_compiled(wl, steps=2)
    assert comp["host_reads"] == 0  # no synchronisation inside a replayed step
    assert 0 < comp["total"] < eager["total"]  # elementwise runs fused
    assert comp["fused_kernels"] > 0 and comp["fused_ops"] > comp["fused_kernels"]
    # each fused kernel replaces its run: the eager count less what fusion and folding removed
    assert comp["total"] <= eager["total"] - (comp["fused_ops"] - comp["fused_kernels"])
    assert comp["plan_ops"] + comp["views"] > 0 and comp["plan_ops"] <= comp["total"] + comp["views"]
    md = opcount.markdown({"W2": {"workload": wl.to_json(), "xpnet-cupy": eager, "xpnet-cupy-compiled": comp}})
    assert "xpnet compiled" in md and f"**{comp['total']}**" in md and "fused" in md


def test_fusion_off_counts_the_unfused_plan():
    wl = WORKLOADS["W2"]
    fused = opcount.count_compiled(wl, steps=1)
    plain = opcount.count_compiled(wl, steps=1, fusion=False)
    assert plain["fused_kernels"] == 0 and plain["total"] > fused["total"]
    exact = opcount.count_compiled(wl, steps=1, fusion=True)  # exp/log stay unfused on the stand-in
    assert fused["total"] <= exact["total"] < plain["total"]
