"""A plain argparse training script tracked by jupyter_mlops (used by 03_train_script.ipynb).

Run it directly: ``python train.py --learning-rate 0.1 --epochs 5``. Its parsed arguments become params
(``mlops.autolog_argparse``), each epoch's loss a metric point; the last line printed is a JSON summary.
"""

import argparse
import json

import numpy as np

import jupyter_mlops as mlops


def train(learning_rate: float, epochs: int, seed: int) -> list[float]:
    """Fit y = 3x + 1 by gradient descent; return the loss after each epoch."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=256)
    y = 3 * x + 1 + rng.normal(scale=0.1, size=256)
    weight, bias, losses = 0.0, 0.0, []
    for _ in range(epochs):
        error = weight * x + bias - y
        weight -= learning_rate * 2 * float(np.mean(error * x))
        bias -= learning_rate * 2 * float(np.mean(error))
        losses.append(float(np.mean((weight * x + bias - y) ** 2)))
    return losses


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Parse arguments inside a tracked run, train, log the loss curve and the final loss."""
    mlops.autolog_argparse()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    with mlops.start_run("train-script", experiment="demo", tags=["script"]) as run:
        args = parser.parse_args(argv)
        losses = train(args.learning_rate, args.epochs, args.seed)
        for epoch, loss in enumerate(losses):
            run.log_metric("loss", loss, step=epoch)
        run.log_metric("final_loss", losses[-1])
        summary = {"run_id": run.id, "final_loss": losses[-1]}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
