"""The training engine against PyTorch 1.13: the same small ViT (vit_torch.py) built in
PyTorch, loaded with OUR initial weights from OUR safetensors file, must reproduce our logits,
loss and every parameter gradient of one step (relative error <= 1e-4 per tensor, PyTorch in
float64), and the parameters after one AdamW step (groups, decay, per-group clipping), for
SoftMax and for MultiMax (the official modulator formula), at the ViT init and with
parameters spread so that scores cross the modulator's thresholds.

Our side comes from the `vit_dump` helper (tests/vit_dump.c); CTest sets MMX_VIT_DUMP.
"""
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file
from safetensors import safe_open

import vit_torch

REPO = Path(__file__).resolve().parents[2]


def dump_path():
    p = os.environ.get("MMX_VIT_DUMP") or str(REPO / "build" / "vit_dump")
    if not os.access(p, os.X_OK):
        pytest.fail(f"vit_dump not built at {p} (make build)")
    return p


def run_dump(tmp_path, norm, head_norm, spread):
    args = [dump_path(), str(tmp_path), norm, head_norm] + (["spread"] if spread else [])
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    init = load_file(str(tmp_path / "init.safetensors"))
    step = load_file(str(tmp_path / "step.safetensors"))
    with safe_open(str(tmp_path / "init.safetensors"), framework="np") as f:
        meta = f.metadata()
    return init, step, meta


def rel_err(ours, ref):
    ours = np.asarray(ours, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    return np.linalg.norm(ours - ref) / max(np.linalg.norm(ref), 1e-30)


def torch_model(init, norm, head_norm):
    model = vit_torch.ViT(image=28, patch=7, dim=32, depth=2, heads=4, mlp_ratio=2,
                          classes=10, norm=norm, head_norm=head_norm).double()
    state = {k: torch.from_numpy(v.astype(np.float64)) for k, v in init.items()
             if not k.startswith("input.")}
    missing, unexpected = model.load_state_dict(state, strict=True)
    assert not missing and not unexpected
    return model


@pytest.mark.parametrize("spread", [False, True], ids=["vit_init", "spread"])
@pytest.mark.parametrize("norm,head_norm", [("softmax", "softmax"), ("multimax", "multimax"),
                                            ("multimax", "softmax")])
def test_one_step_matches_pytorch(tmp_path, norm, head_norm, spread):
    init, step, meta = run_dump(tmp_path, norm, head_norm, spread)
    model = torch_model(init, norm, head_norm)
    img = torch.from_numpy(init["input.images"].astype(np.float64))
    labels = torch.from_numpy(init["input.labels"].astype(np.int64))
    ls = float(meta["label_smoothing"])

    logits = model(img)
    loss = model.loss(logits, labels, ls)
    loss.backward()
    assert rel_err(step["logits"], logits.detach().numpy()) <= 1e-4
    assert abs(step["loss"][0] - loss.item()) <= 1e-4 * abs(loss.item())

    grads = {n: p.grad.detach().numpy().copy() for n, p in model.named_parameters()}
    assert len(grads) == len([k for k in init if not k.startswith("input.")])
    for name, g in grads.items():
        err = rel_err(step["grad." + name], g)
        assert err <= 1e-4, f"gradient of {name}: relative error {err:.2e}"
        if "mm_" in name and spread:
            assert np.linalg.norm(g) > 1e-3, f"{name}: modulator gradient ~0, check vacuous"

    # One AdamW step: per-group clipping (the modulators are their own group), then update.
    lr, wd = float(meta["lr"]), float(meta["weight_decay"])
    groups, mod = vit_torch.param_groups(model, lr, wd, float(meta["mod_lr_scale"]))
    mod_ids = {id(p) for p in mod}
    rest = [p for p in model.parameters() if id(p) not in mod_ids]
    torch.nn.utils.clip_grad_norm_(rest, float(meta["clip"]))
    if mod:
        torch.nn.utils.clip_grad_norm_(mod, float(meta["mod_clip"]))
    opt = torch.optim.AdamW([g for g in groups if g["params"]], betas=(0.9, 0.999), eps=1e-8)
    opt.step()
    for name, p in model.named_parameters():
        ours = step["step1." + name].astype(np.float64)
        ref = p.detach().numpy()
        before = init[name].astype(np.float64)
        # The first Adam step moves each entry by about lr * sign(g): compare the moves, where
        # the gradient is not so tiny that float32 rounding could flip its sign.
        g = np.abs(grads[name])
        sure = g > 1e-3 * max(g.max(), 1e-30)
        move_ours, move_ref = ours - before, ref - before
        assert np.allclose(move_ours[sure], move_ref[sure], rtol=1e-3, atol=1e-7 * lr), name
        assert np.all(np.abs(move_ours) <= 1.01 * lr * float(meta["mod_lr_scale"])
                      + wd * lr * np.abs(before) + 1e-9), name
