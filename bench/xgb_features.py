# Shared by the Python peers of bench/train and bench/predict: a config's features as XGBoost sees
# them — categoricals as pandas categories (enable_categorical), numerics and derived features in
# float32, as our ONNX graph computes them.
import numpy as np
import pandas as pd

OPS = {"ratio": np.divide, "product": np.multiply, "difference": np.subtract, "sum": np.add}


def features(df, config):
    cols = {}
    for f in config["features"]:
        if f["type"] == "categorical":
            cols[f["name"]] = pd.Categorical(df[f["name"]], categories=f["values"])
        else:
            cols[f["name"]] = df[f["name"]].astype(np.float32)
    for d in config.get("derived", []):
        a, b = (cols[i].to_numpy(np.float32) for i in d["inputs"])
        with np.errstate(divide="ignore", invalid="ignore"):
            cols[d["name"]] = OPS[d["op"]](a, b).astype(np.float32)
    return pd.DataFrame(cols)
