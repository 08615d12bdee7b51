# The Python side of the batch-scoring bench, done the way a Python team would: pandas read_csv,
# the same features (categoricals as pandas categories, the derived ratio in float32), XGBoost
# predict with a 300-tree depth-6 booster trained on the same training rows, then to_csv.
# Only read → predict → write is timed; training is set-up. Prints one JSON line.
import json, os, resource, sys, time
import numpy as np
import pandas as pd
import xgboost as xgb

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from xgb_features import features as config_features  # noqa: E402

train_csv, score_csv, config_path, out_csv, threads = sys.argv[1:]
threads = int(threads)
c = json.load(open(config_path))
train = pd.read_csv(train_csv)
params = {"tree_method": "hist", "nthread": threads, "max_depth": 6, "eta": 0.1, "max_bin": 256,
          "objective": "reg:squarederror", "min_child_weight": 20, "seed": 1}
booster = xgb.train(params, xgb.DMatrix(config_features(train, c), label=train[c["target"]["column"]].to_numpy(np.float64), enable_categorical=True, nthread=threads), num_boost_round=300)
del train

t0 = time.perf_counter()
df = pd.read_csv(score_csv)
X = config_features(df, c)
t1 = time.perf_counter()
pred = booster.predict(xgb.DMatrix(X, enable_categorical=True, nthread=threads))
t2 = time.perf_counter()
pd.DataFrame({c["id_column"]: df[c["id_column"]], c["output"]["column"]: pred}).to_csv(out_csv, index=False)
t3 = time.perf_counter()
print(json.dumps({
    "rows": len(df), "read_s": t1 - t0, "predict_s": t2 - t1, "write_s": t3 - t2, "total_s": t3 - t0,
    "trees": booster.num_boosted_rounds(), "xgboost": xgb.__version__, "pandas": pd.__version__,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
