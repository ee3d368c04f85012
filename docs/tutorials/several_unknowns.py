"""Several unknowns from far starts: KdV's lambda1 and lambda2 together.

With 64 points the misfit has many local minima; with two unknowns a scan of the plane is not
enough, so the global phase continues in time: it fits the first eighth of the time span, then
a quarter, a half and all of it, each from the previous estimate (a wrong parameter shifts the
solution's phase by an amount that grows with time, so the basin is widest early on).
"""
import pdeinv

obs = pdeinv.simulate("kdv", points=64, layout="random", seed=3, fixed=())  # lambda1 not recorded as known
truth = obs.true_params
for start in ({"lambda1": 3.0, "lambda2": 0.02}, {"lambda1": 0.3, "lambda2": 0.0008}):
    result = pdeinv.fit(pdeinv.InverseProblem(obs, ["lambda1", "lambda2"]), start)
    shown = ", ".join(f"{k} = {result.params[k]:.6g} ({abs(result.params[k] / truth[k] - 1):.1e} off)"
                      for k in ("lambda1", "lambda2"))
    print(f"from {start}: {result.status}, {shown}, {result.nfev} solver calls")
    corr = result.uncertainty["correlation"]["lambda1"]["lambda2"]
    print(f"   correlation of the two estimates: {corr:+.2f}")
    assert result.status == "converged"
    assert all(abs(result.params[k] / truth[k] - 1) < 1e-6 for k in ("lambda1", "lambda2"))  # noise-free data
