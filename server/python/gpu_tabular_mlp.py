"""Tandem template: train a PyTorch MLP on a CSV, Parquet, JSON or Arrow table (CUDA when present, else CPU).

Inputs (JSON, first argument): data, label, features (default: numeric columns), task
(classification | regression), epochs, batchSize, learningRate, hidden, testFraction, seed.
Reports loss and validation metrics per epoch; writes model.onnx (with input standardisation
built in), model.pt (state dict) and model_info.json.
"""
import json
import os

import numpy as np
import pandas as pd
import tandem_job as tj
import torch
from torch import nn


class TabularMlp(nn.Module):
    """An MLP with input standardisation built in; for regression the output is scaled back to the label's units."""

    def __init__(self, n_in, hidden, n_out, mean, std, y_mean=0.0, y_std=1.0):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32))
        self.register_buffer("y_mean", torch.tensor(y_mean, dtype=torch.float32))
        self.register_buffer("y_std", torch.tensor(y_std, dtype=torch.float32))
        layers, width = [], n_in
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, n_out))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net((x - self.mean) / self.std) * self.y_std + self.y_mean


def main():
    cfg = tj.inputs()
    torch.manual_seed(cfg["seed"])
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(f"device: {device}" + (f" ({torch.cuda.get_device_name(0)})" if device.type == "cuda" else ""), flush=True)
    df = tj.read_pandas(cfg["data"])
    label = cfg["label"]
    if label not in df.columns:
        raise ValueError(f"label column {label!r} is not in the data; columns: {', '.join(df.columns)}")
    features = cfg.get("features") or [c for c in df.columns if c != label and pd.api.types.is_numeric_dtype(df[c])]
    missing = [c for c in features if c not in df.columns]
    if missing:
        raise ValueError(f"feature column(s) {missing} are not in the data; columns: {', '.join(df.columns)}")
    df = df[features + [label]].dropna()
    x = df[features].to_numpy(dtype=np.float32)
    classification = cfg["task"] == "classification"
    if classification:
        classes = sorted(df[label].unique().tolist())
        y = df[label].map({c: i for i, c in enumerate(classes)}).to_numpy(dtype=np.int64)
    else:
        classes = None
        y = df[label].to_numpy(dtype=np.float32)

    order = np.random.default_rng(cfg["seed"]).permutation(len(df))
    n_test = int(len(df) * cfg["testFraction"])
    test_idx, train_idx = order[:n_test], order[n_test:]
    mean, std = x[train_idx].mean(axis=0), x[train_idx].std(axis=0) + 1e-6
    # A regression net learns the standardised label (the loss is in those units), so labels in the
    # thousands train as fast as labels near 1; the exported model answers in the label's units.
    y_mean, y_std = (0.0, 1.0) if classification else (float(y[train_idx].mean()), float(y[train_idx].std()) + 1e-6)
    model = TabularMlp(len(features), cfg["hidden"], len(classes) if classification else 1, mean, std, y_mean, y_std).to(device)
    mse = nn.MSELoss()
    loss_fn = nn.CrossEntropyLoss() if classification else (lambda out, target: mse(out, target) / (y_std * y_std))
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["learningRate"])
    xt, yt = torch.tensor(x, device=device), torch.tensor(y, device=device)

    metrics = {}
    for epoch in range(cfg["epochs"]):
        model.train()
        total = 0.0
        perm = torch.tensor(np.random.default_rng(cfg["seed"] + epoch).permutation(train_idx), device=device)
        for start in range(0, len(perm), cfg["batchSize"]):
            batch = perm[start : start + cfg["batchSize"]]
            out = model(xt[batch])
            loss = loss_fn(out, yt[batch]) if classification else loss_fn(out.squeeze(1), yt[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        metrics = {"loss": total / max(1, len(perm))}
        if n_test > 0:
            model.eval()
            with torch.no_grad():
                out = model(xt[test_idx])
                if classification:
                    metrics["val_loss"] = loss_fn(out, yt[test_idx]).item()
                    metrics["val_accuracy"] = (out.argmax(1) == yt[test_idx]).float().mean().item()
                else:
                    metrics["val_rmse"] = float(torch.sqrt(mse(out.squeeze(1), yt[test_idx])).item())
        tj.metric(step=epoch + 1, **metrics)
        tj.progress((epoch + 1) / cfg["epochs"], f"epoch {epoch + 1}/{cfg['epochs']}")

    out_dir = tj.output_dir()
    model = model.cpu().eval()
    torch.save(model.state_dict(), os.path.join(out_dir, "model.pt"))
    example = torch.zeros(1, len(features))
    torch.onnx.export(model, (example,), os.path.join(out_dir, "model.onnx"), input_names=["features"], output_names=["output"], dynamic_shapes=({0: torch.export.Dim("batch")},), external_data=False)
    with open(os.path.join(out_dir, "model_info.json"), "w") as f:
        json.dump({"framework": "pytorch", "template": "tabular-mlp", "task": cfg["task"], "label": label, "features": features, "classes": classes, "metrics": metrics}, f, indent=2)


if __name__ == "__main__":
    main()
