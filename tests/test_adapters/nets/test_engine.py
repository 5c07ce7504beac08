"""Engine: every evaluation path against a hand loop, the fast path against the generic one."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from adapters.nets.batched_path import batched_cross_entropy, mlp_plan
from adapters.nets.engine import Engine
from adapters.nets.models import cnn_bn, mlp, small_resnet
from adapters.nets.params import ParamSpace, recompute_bn_stats


def _data(n: int = 40, d: int = 6, k: int = 4, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randint(0, k, (n,), generator=g)


def _points(model: nn.Module, P: int, buffers: str = "refuse", scale: float = 0.3):
    base = ParamSpace(model, buffers=buffers).vector()  # type: ignore[arg-type]
    g = torch.Generator().manual_seed(1)
    return base + scale * torch.randn(P, base.numel(), generator=g)


def _hand_losses(model: nn.Module, pts, X, y, buffers="refuse", recompute_on=None):
    """An independent loop: copy the model, write each point with parameters_to_vector's
    inverse, and call the module."""
    out = []
    for theta in pts:
        net = copy.deepcopy(model)
        tensors = [*net.parameters()]
        if buffers == "include":
            tensors += [b for b in net.buffers() if b.is_floating_point()]
            names = [n for n, _ in net.named_parameters()]
            names += [n for n, b in net.named_buffers() if b.is_floating_point()]
            assert names == list(ParamSpace(net, buffers="include").names)
        with torch.no_grad():
            torch.nn.utils.vector_to_parameters(theta, tensors)
            if recompute_on is not None:
                recompute_bn_stats(net, recompute_on)
            out.append(F.cross_entropy(net(X), y))
    return torch.stack(out)


@pytest.mark.parametrize("path", ["load", "functional", "vmap", "bmm", "auto"])
def test_mlp_loss_equals_hand_loop(path: str) -> None:
    torch.manual_seed(0)
    net = mlp(6, (9, 5), 4)
    X, y = _data()
    pts = _points(net, 7)
    eng = Engine(net, X, y, strategy=path, chunk_points=3)
    torch.testing.assert_close(eng.loss(pts), _hand_losses(net, pts, X, y), rtol=0, atol=1e-6)
    assert eng.evaluations == 7


@pytest.mark.parametrize("path", ["load", "functional", "vmap"])
def test_batchnorm_cnn_include_equals_hand_loop(path: str) -> None:
    torch.manual_seed(0)
    net = cnn_bn(channels=2, out_features=3).eval()
    X = torch.randn(12, 1, 8, 8)
    y = torch.randint(0, 3, (12,))
    pts = _points(net, 3, "include", scale=0.05)
    pts[:, -12:] = pts[:, -12:].abs()  # running variances stay positive
    eng = Engine(net, X, y, space=ParamSpace(net, "include"), strategy=path)
    hand = _hand_losses(net, pts, X, y, buffers="include")
    torch.testing.assert_close(eng.loss(pts), hand, rtol=0, atol=1e-5)


def test_resnet_recompute_equals_hand_loop() -> None:
    torch.manual_seed(0)
    net = small_resnet(channels=2, out_features=3).eval()
    X = torch.randn(10, 1, 8, 8)
    y = torch.randint(0, 3, (10,))
    pts = _points(net, 2, "recompute", scale=0.1)
    eng = Engine(net, X, y, space=ParamSpace(net, "recompute"))
    assert eng.strategy == "load"
    hand = _hand_losses(net, pts, X, y, recompute_on=X)
    torch.testing.assert_close(eng.loss(pts), hand, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="recompute"):
        Engine(net, X, y, space=ParamSpace(net, "recompute"), strategy="vmap")


def test_fast_path_equals_generic_path_float64() -> None:
    torch.manual_seed(3)
    net = nn.Sequential(
        nn.Flatten(),
        nn.Sequential(nn.Linear(12, 8, bias=False), nn.Tanh()),
        nn.Linear(8, 8),
        nn.Dropout(0.5),
        nn.GELU(),
        nn.Linear(8, 3),
        nn.Sequential(nn.ReLU()),
    ).eval()
    X = torch.randn(15, 3, 4)
    y = torch.randint(0, 3, (15,))
    pts = _points(net, 9).double()
    fast = Engine(net, X, y, dtype=torch.float64, chunk_points=4)
    slow = Engine(net, X, y, dtype=torch.float64, strategy="functional")
    assert fast.strategy == "bmm"
    torch.testing.assert_close(fast.outputs(pts), slow.outputs(pts), rtol=0, atol=1e-12)
    torch.testing.assert_close(fast.loss(pts), slow.loss(pts), rtol=0, atol=1e-12)
    for layer in ["1", "1.0", "1.1", "2", "4", "5:in", "0", "1.0:in", "1:in", ":in", ""]:
        torch.testing.assert_close(
            fast.representations(pts, layer), slow.representations(pts, layer), rtol=0, atol=1e-12
        )


def test_mlp_plan_rejects_non_mlps() -> None:
    assert mlp_plan(mlp()) is not None
    assert mlp_plan(cnn_bn()) is None
    assert mlp_plan(nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))) is None  # train mode
    assert mlp_plan(nn.Sequential(nn.Linear(3, 3), nn.Softmax(-1))) is None  # not elementwise
    assert mlp_plan(nn.Sequential(nn.Linear(3, 3), nn.Flatten())) is None
    assert mlp_plan(nn.Linear(3, 3)) is None


def test_representation_default_is_penultimate_by_hand() -> None:
    torch.manual_seed(0)
    net = mlp(6, (9, 5), 4)
    X, y = _data()
    pts = _points(net, 3)
    eng = Engine(net, X, y)
    assert eng.layer == "3"
    reps = eng.representations(pts)
    assert reps.shape == (3, 40, 5)
    for i, theta in enumerate(pts):
        p = ParamSpace(net).unflatten(theta)
        h = torch.relu(X @ p["0.weight"].T + p["0.bias"])
        h = torch.relu(h @ p["2.weight"].T + p["2.bias"])
        torch.testing.assert_close(reps[i], h, rtol=0, atol=1e-6)
    torch.testing.assert_close(eng.representations(pts, "4:in"), reps, rtol=0, atol=0)


def test_representation_of_resnet_head_matches_hook() -> None:
    torch.manual_seed(0)
    net = small_resnet(channels=2).eval()
    X = torch.randn(6, 1, 8, 8)
    eng = Engine(net, X, space=ParamSpace(net, "include"))
    theta = eng.space.vector()
    seen = []
    net.head[2].register_forward_pre_hook(lambda _m, a: seen.append(a[0]))
    with torch.no_grad():
        net(X)
    torch.testing.assert_close(eng.representations(theta), seen[0], rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="labels"):
        eng.loss(theta)


def test_point_formats_and_errors() -> None:
    torch.manual_seed(0)
    net = mlp(6, (5,), 4)
    X, y = _data()
    eng = Engine(net, X, y)
    pts = _points(net, 3)
    single = eng.loss(pts[1])
    assert single.ndim == 0
    assert torch.equal(eng.loss(list(pts)), eng.loss(pts))
    assert float(single) == float(eng.loss(pts)[1])
    assert eng.outputs(pts[0]).shape == (40, 4)
    with pytest.raises(ValueError, match=r"expected \(59,\) or \(P, 59\)"):
        eng.loss(torch.zeros(3, 58))
    with pytest.raises(ValueError, match="point 1 of the list"):
        eng.loss([pts[0], pts[0][:3]])
    with pytest.raises(TypeError, match="floating"):
        eng.loss(torch.zeros(59, dtype=torch.long))
    with pytest.raises(TypeError, match="Tensor"):
        eng.loss("theta")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pure MLP"):
        cnn = cnn_bn()
        Engine(cnn, torch.randn(3, 1, 8, 8), space=ParamSpace(cnn, "include"), strategy="bmm")
    with pytest.raises(ValueError, match="samples"):
        Engine(net, X, y[:5])
    with pytest.raises(ValueError, match="no submodule"):
        Engine(net, X, y, layer="nope")


def test_deterministic_chunk_invariant_and_model_untouched() -> None:
    torch.manual_seed(0)
    net = mlp(6, (9,), 4)
    before = ParamSpace(net).vector()
    X, y = _data()
    pts = _points(net, 10)
    a = Engine(net, X, y, chunk_points=1).loss(pts)
    b = Engine(net, X, y, chunk_points=4).loss(pts)
    c = Engine(net, X, y, chunk_points=4).loss(pts)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    assert torch.equal(b, c)
    assert torch.equal(ParamSpace(net).vector(), before)


def test_float64_matches_double_hand_loop() -> None:
    torch.manual_seed(0)
    net = mlp(6, (9,), 4)
    X, y = _data()
    pts = _points(net, 4).double()
    eng = Engine(net, X, y, dtype=torch.float64)
    hand = _hand_losses(net.double(), pts, X.double(), y)
    assert eng.loss(pts).dtype == torch.float64
    torch.testing.assert_close(eng.loss(pts), hand, rtol=0, atol=1e-13)


def test_accuracy_and_other_data() -> None:
    torch.manual_seed(0)
    net = mlp(6, (9,), 4)
    X, y = _data()
    X2, y2 = _data(seed=5)
    pts = _points(net, 3)
    eng = Engine(net, X, y)
    for i, theta in enumerate(pts):
        logits = ParamSpace(net).functional(net, theta, X2)
        expected = (logits.argmax(1) == y2).float().mean()
        assert float(eng.accuracy(pts, X2, y2)[i]) == pytest.approx(float(expected))
        torch.testing.assert_close(eng.loss(theta, X2, y2), F.cross_entropy(logits, y2).detach())
    with pytest.raises(ValueError, match="both"):
        eng.accuracy(pts, X2)


def test_loss_fn_at_gradient_equals_backward() -> None:
    torch.manual_seed(0)
    net = mlp(6, (9,), 4)
    X, y = _data()
    eng = Engine(net, X, y)
    theta = eng.space.vector().requires_grad_(True)
    (g,) = torch.autograd.grad(eng.loss_fn_at(theta), theta)
    F.cross_entropy(net(X), y).backward()
    expected = torch.cat([p.grad.flatten() for p in net.parameters()])
    torch.testing.assert_close(g, expected, rtol=0, atol=1e-6)
    assert eng.evaluations == 1


def test_custom_loss_regression() -> None:
    torch.manual_seed(0)
    net = mlp(3, (4,), 1)
    X, y = torch.randn(20, 3), torch.randn(20, 1)
    pts = _points(net, 5)
    eng = Engine(net, X, y, loss_fn=F.mse_loss)
    for i, theta in enumerate(pts):
        expected = F.mse_loss(ParamSpace(net).functional(net, theta, X), y).detach()
        torch.testing.assert_close(eng.loss(pts)[i], expected, rtol=0, atol=1e-6)


def test_batched_cross_entropy_equals_torch() -> None:
    out = torch.randn(5, 11, 7) * 20
    y = torch.randint(0, 7, (11,))
    expected = torch.stack([F.cross_entropy(o, y) for o in out])
    torch.testing.assert_close(batched_cross_entropy(out, y), expected, rtol=0, atol=1e-5)
    class_major = out.transpose(1, 2).contiguous().transpose(1, 2)
    torch.testing.assert_close(batched_cross_entropy(class_major, y), expected, rtol=0, atol=1e-5)


def test_auto_path_rule() -> None:
    X1, X2 = torch.randn(4, 6), torch.randn(4, 1, 8, 8)
    assert Engine(mlp(6, (5,), 3), X1).strategy == "bmm"
    cnn = cnn_bn(channels=2).eval()
    assert Engine(cnn, X2, space=ParamSpace(cnn, "include")).strategy == "load"
    assert Engine(cnn, X2, space=ParamSpace(cnn, "recompute")).strategy == "load"
    dropout = nn.Sequential(nn.Linear(6, 5), nn.Dropout(0.5), nn.Linear(5, 3))
    assert Engine(dropout, X1).strategy == "load"  # active Dropout: not a pure MLP


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_paths_equal_cpu_float64() -> None:
    torch.manual_seed(0)
    net = mlp(6, (9, 5), 4)
    X, y = _data()
    pts = _points(net, 33)
    ref = Engine(net, X, y, dtype=torch.float64).loss(pts.double())
    for path in ("auto", "functional", "vmap", "bmm"):
        got = Engine(net, X, y, strategy=path, device="cuda").loss(pts)
        assert got.device.type == "cuda"
        torch.testing.assert_close(got.cpu().double(), ref, rtol=0, atol=1e-5)
    cnn = cnn_bn(channels=2, out_features=4).eval()
    X2 = torch.randn(40, 1, 8, 8)
    space = ParamSpace(cnn, "include")
    pts2 = space.vector() + 0.01 * torch.randn(5, space.n)
    cpu = Engine(cnn, X2, y, space=space, dtype=torch.float64).loss(pts2.double())
    gpu = Engine(cnn, X2, y, space=space, device="cuda")
    assert gpu.strategy == "vmap"
    torch.testing.assert_close(gpu.loss(pts2).cpu().double(), cpu, rtol=0, atol=1e-4)


def test_evaluating_points_leaves_the_engines_own_point_in_place() -> None:
    """The one-point-at-a-time strategy writes each point into the engine's model; the
    model's own point (the centre of a landscape, part of a stored key) is restored."""
    torch.manual_seed(0)
    X, y = torch.randn(40, 3), torch.randn(40, 1)
    for strategy in ("load", "functional"):
        e = Engine(nn.Linear(3, 1), X, y, loss_fn=F.mse_loss, strategy=strategy)
        home = e.space.vector().clone()
        e.loss(torch.randn(4, e.space.n))
        assert torch.equal(e.space.vector(), home), strategy
