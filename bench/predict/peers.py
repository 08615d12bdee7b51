# The Python side of bench/predict, one subcommand per peer, each printing one JSON line:
#   train-pandas | train-codes TRAIN_CSV CONFIG OUT_MODEL THREADS   a 300-tree depth-6 XGBoost booster, saved
#   pandas SCORE_CSV CONFIG MODEL OUT_CSV THREADS   pandas read_csv, categories, DMatrix predict, to_csv
#   polars SCORE_CSV CONFIG MODEL OUT_CSV THREADS   polars read_csv, ordinal codes, inplace_predict, write_csv
#   matrix MATRIX_F32 ROWS MODEL THREADS REPEATS    inplace_predict and DMatrix predict on a prebuilt float32 matrix
#   monitor CSV BASELINE_JSON CONFIG                pandas read_csv + numpy/scipy drift statistics of every feature
# Whole processes are timed from outside (the bench); the stage timings inside are printed for the record.
# The codes booster sees categoricals as their index in the config's list, as mltk's trees do; the
# pandas booster sees pandas categories (enable_categorical), as a pandas team would train it.
import json, os, resource, statistics, sys, time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OPS = {"ratio": np.divide, "product": np.multiply, "difference": np.subtract, "sum": np.add}
PARAMS = {"tree_method": "hist", "max_depth": 6, "eta": 0.1, "max_bin": 256, "objective": "reg:squarederror",
          "min_child_weight": 20, "reg_lambda": 1, "seed": 1}
ROUNDS = 300


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pandas_features(df, c):
    import pandas as pd
    cols = {}
    for f in c["features"]:
        col = df[f["name"]]
        cols[f["name"]] = (pd.Categorical(col, categories=f["values"]) if f["type"] == "categorical"
                           else col.astype(np.float32))
    for d in c.get("derived", []):
        a, b = (cols[i].to_numpy(np.float32) for i in d["inputs"])
        with np.errstate(divide="ignore", invalid="ignore"):
            cols[d["name"]] = OPS[d["op"]](a, b).astype(np.float32)
    return pd.DataFrame(cols)


def polars_matrix(df, c):
    """The float32 feature matrix, categoricals as their index in the config's list (nulls → NaN)."""
    import polars as pl
    exprs = []
    for f in c["features"]:
        col = pl.col(f["name"])
        value = col.cast(pl.Enum(f["values"])).to_physical() if f["type"] == "categorical" else col
        exprs.append(value.cast(pl.Float32).alias(f["name"]))
    base = df.select(exprs)
    derived = []
    for d in c.get("derived", []):
        a, b = (pl.col(i) for i in d["inputs"])
        e = {"ratio": a / b, "product": a * b, "difference": a - b, "sum": a + b}[d["op"]]
        derived.append(e.cast(pl.Float32).alias(d["name"]))
    return base.with_columns(derived).to_numpy().astype(np.float32, copy=False) if derived else base.to_numpy()


def train(kind, train_csv, config_path, out, threads):
    import xgboost as xgb
    c = json.load(open(config_path))
    params = {**PARAMS, "nthread": int(threads)}
    if kind == "pandas":
        import pandas as pd
        df = pd.read_csv(train_csv)
        d = xgb.DMatrix(pandas_features(df, c), label=df[c["target"]["column"]].to_numpy(np.float64),
                        enable_categorical=True)
    else:
        import polars as pl
        df = pl.read_csv(train_csv)
        d = xgb.DMatrix(polars_matrix(df, c), label=df[c["target"]["column"]].to_numpy().astype(np.float64),
                        missing=np.nan)
    xgb.train(params, d, num_boost_round=ROUNDS).save_model(out)
    print(json.dumps({"saved": out}))


def score_pandas(score_csv, config_path, model, out, threads):
    import pandas as pd
    import xgboost as xgb
    c = json.load(open(config_path))
    booster = xgb.Booster(model_file=model)
    booster.set_param({"nthread": int(threads)})
    t0 = time.perf_counter()
    df = pd.read_csv(score_csv)
    X = pandas_features(df, c)
    t1 = time.perf_counter()
    pred = booster.predict(xgb.DMatrix(X, enable_categorical=True, nthread=int(threads)))
    t2 = time.perf_counter()
    pd.DataFrame({c["id_column"]: df[c["id_column"]], c["output"]["column"]: pred}).to_csv(out, index=False)
    t3 = time.perf_counter()
    print(json.dumps({"rows": len(df), "read_s": t1 - t0, "predict_s": t2 - t1, "write_s": t3 - t2, "total_s": t3 - t0,
                      "xgboost": xgb.__version__, "pandas": pd.__version__, "peak_rss_mb": peak_mb()}))


def score_polars(score_csv, config_path, model, out, threads):
    import polars as pl
    import xgboost as xgb
    c = json.load(open(config_path))
    booster = xgb.Booster(model_file=model)
    booster.set_param({"nthread": int(threads)})
    t0 = time.perf_counter()
    df = pl.read_csv(score_csv)
    t1 = time.perf_counter()
    X = polars_matrix(df, c)
    t2 = time.perf_counter()
    pred = booster.inplace_predict(X, missing=np.nan)
    t3 = time.perf_counter()
    pl.DataFrame({c["id_column"]: df[c["id_column"]], c["output"]["column"]: pred}).write_csv(out)
    t4 = time.perf_counter()
    print(json.dumps({"rows": df.height, "read_s": t1 - t0, "features_s": t2 - t1, "predict_s": t3 - t2,
                      "write_s": t4 - t3, "total_s": t4 - t0, "xgboost": xgb.__version__, "polars": pl.__version__,
                      "peak_rss_mb": peak_mb()}))


def matrix(path, rows, model, threads, repeats):
    import xgboost as xgb
    X = np.fromfile(path, dtype=np.float32).reshape(int(rows), -1)
    booster = xgb.Booster(model_file=model)
    booster.set_param({"nthread": int(threads)})
    booster.inplace_predict(X[:1000], missing=np.nan)  # warm-up
    inplace, dmatrix = [], []
    for _ in range(int(repeats)):
        t0 = time.perf_counter()
        booster.inplace_predict(X, missing=np.nan)
        inplace.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        booster.predict(xgb.DMatrix(X, missing=np.nan, nthread=int(threads)))
        dmatrix.append(time.perf_counter() - t0)
    print(json.dumps({"inplace_predict_s": statistics.median(inplace),
                      "dmatrix_predict_s": statistics.median(dmatrix)}))


def monitor(csv, baseline_path, config_path):
    import pandas as pd
    sys.path.insert(0, os.path.join(HERE, "..", "drift"))
    from peer import drift  # the same statistics bench/drift checks against mltk's, to 1e-16
    c = json.load(open(config_path))
    profile = json.load(open(baseline_path))
    t0 = time.perf_counter()
    df = pd.read_csv(csv)
    t1 = time.perf_counter()
    specs = {f["name"]: f for f in c["features"]}
    out = {}
    prediction = [{**profile["prediction"], "name": c["output"]["column"]}] if profile.get("prediction") else []
    for p in profile["features"] + prediction:
        if p["name"] not in df.columns:
            continue
        s = specs.get(p["name"], {})
        f = {**p, "lo": s.get("min", -np.inf), "hi": s.get("max", np.inf)}
        if p["type"] == "categorical":
            x = pd.Categorical(df[p["name"]], categories=p["categories"]).codes.astype(np.int64)
        else:
            x = df[p["name"]].to_numpy(np.float64)
        out[p["name"]] = drift(f, x)
    t2 = time.perf_counter()
    print(json.dumps({"rows": len(df), "read_s": t1 - t0, "stats_s": t2 - t1, "total_s": t2 - t0,
                      "peak_rss_mb": peak_mb(), "features": len(out), "pandas": pd.__version__}))


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    {"train-pandas": lambda *a: train("pandas", *a), "train-codes": lambda *a: train("codes", *a),
     "pandas": score_pandas, "polars": score_polars, "matrix": matrix, "monitor": monitor}[cmd](*args)
