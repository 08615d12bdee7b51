# The XGBoost side of the bench: same CSV, same train/test rows, same features (derived ones
# computed in float32 as our ONNX graph does), categoricals as pandas categories
# (enable_categorical), tree_method=hist with nthread=2. Prints JSON.
import json, os, resource, sys, time
import numpy as np
import pandas as pd
import xgboost as xgb

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from xgb_features import features  # noqa: E402

csv, train_rows, *config_paths = sys.argv[1:]
train_rows = int(train_rows)
configs = [json.load(open(p)) for p in config_paths]
df = pd.read_csv(csv)
results = {}
for c in configs:
    X = features(df, c)
    y = df[c["target"]["column"]].to_numpy(np.float64)
    p = c["trainer"]["params"]
    params = {
        "tree_method": "hist", "nthread": 2, "max_depth": 6, "eta": 0.1, "max_bin": 256,
        "objective": "reg:squarederror", "reg_lambda": p.get("l2", 1),
        # Squared error has unit hessians, so min_child_weight is a minimum row count per leaf.
        "min_child_weight": p.get("min_samples_leaf", 20), "seed": 1,
    }
    t0 = time.perf_counter()
    dtrain = xgb.DMatrix(X.iloc[:train_rows], label=y[:train_rows], enable_categorical=True, nthread=2)
    booster = xgb.train(params, dtrain, num_boost_round=300)
    seconds = time.perf_counter() - t0
    dtest = xgb.DMatrix(X.iloc[train_rows:], enable_categorical=True)
    pred = booster.predict(dtest)
    rmse = float(np.sqrt(np.mean((pred - y[train_rows:]) ** 2)))
    results[c["target"]["column"]] = {"seconds": seconds, "rmse": rmse}
print(json.dumps({"rows": train_rows, "results": results, "xgboost": xgb.__version__,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
