# numpy/scipy peer of the monitor's drift statistics over the same arrays: PSI on the baseline's
# quantile bins (np.searchsorted + np.bincount), scipy.stats.ks_2samp, scipy jensenshannon(base=2).
import json, resource, sys, time
import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

EPS = 1e-4
def psi(b, c):
    b = np.maximum(b / b.sum(), EPS); c = np.maximum(c / c.sum(), EPS)
    return float(np.sum((c - b) * np.log(c / b)))

d = sys.argv[1]
meta = json.load(open(f'{d}/meta.json'))
t0 = time.perf_counter()
out = {}
for f in meta['features']:
    if f['type'] == 'numeric':
        x = np.fromfile(f'{d}/{f["name"]}.f64', dtype=np.float64)
        miss = np.isnan(x); v = x[~miss]
        edges = np.asarray(f['edges'])
        cur = np.bincount(np.searchsorted(edges, v, side='left'), minlength=len(edges) + 1).astype(float)
        base = np.asarray(f['bin_counts'], dtype=float)
        if f['missing'] or miss.any():
            cur = np.append(cur, miss.sum()); base = np.append(base, f['missing'])
        ks = stats.ks_2samp(np.asarray(f['sample']), v)
        out[f['name']] = [psi(base, cur), float(ks.statistic), float(ks.pvalue), float(jensenshannon(base, cur, base=2))]
    elif f['type'] == 'boolean':
        x = np.fromfile(f'{d}/{f["name"]}.f64', dtype=np.float64)
        cur = np.array([np.sum(x == 0), np.sum(x == 1)], dtype=float)
        base = np.asarray(f['counts'], dtype=float)
        out[f['name']] = [psi(base, cur), None, None, float(jensenshannon(base, cur, base=2))]
    else:
        codes = np.fromfile(f'{d}/{f["name"]}.i32', dtype=np.int32)
        k = len(f['counts'])
        cur = np.bincount(codes[codes >= 0], minlength=k).astype(float)
        base = np.asarray(f['counts'], dtype=float)
        out[f['name']] = [psi(base, cur), None, None, float(jensenshannon(base, cur, base=2))]
secs = time.perf_counter() - t0
print(json.dumps({'seconds': secs, 'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'stats': out}))
