# numpy/scipy peer of the monitor's drift statistics over the same arrays, doing the same work:
# missing and out-of-range counts, PSI and JS on the baseline's quantile bins (np.searchsorted +
# np.bincount), scipy.stats.ks_2samp, category counts. Arrays are loaded before the clock starts
# (mltk gets them in memory too); the computation runs `repeats` times and the median is reported.
import json, resource, statistics, sys, time
import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

EPS = 1e-4
def psi(b, c):
    b = np.maximum(b / b.sum(), EPS); c = np.maximum(c / c.sum(), EPS)
    return float(np.sum((c - b) * np.log(c / b)))

def with_missing(base, cur, base_missing, cur_missing):
    if base_missing or cur_missing:
        return np.append(base, base_missing), np.append(cur, cur_missing)
    return base, cur

def drift(f, x):
    if f['type'] == 'numeric':
        miss = np.isnan(x); v = x[~miss]
        out_of_range = int(np.count_nonzero((v < f['lo']) | (v > f['hi'])))
        edges = np.asarray(f['edges'])
        cur = np.bincount(np.searchsorted(edges, v, side='left'), minlength=len(edges) + 1).astype(float)
        base, cur = with_missing(np.asarray(f['bin_counts'], dtype=float), cur, f['missing'], int(miss.sum()))
        ks = stats.ks_2samp(np.asarray(f['sample']), v)
        return [psi(base, cur), float(ks.statistic), float(ks.pvalue), float(jensenshannon(base, cur, base=2)),
                out_of_range]
    if f['type'] == 'boolean':
        zeros = int(np.count_nonzero(x == 0)); ones = int(np.count_nonzero(x == 1)); miss = int(np.isnan(x).sum())
        base, cur = with_missing(np.asarray(f['counts'], dtype=float), np.array([zeros, ones], dtype=float),
                                 f['missing'], miss)
        return [psi(base, cur), None, None, float(jensenshannon(base, cur, base=2)), len(x) - zeros - ones - miss]
    k = len(f['counts'])
    counts = np.bincount(x + 1, minlength=k + 1).astype(float)
    base, cur = with_missing(np.asarray(f['counts'], dtype=float), counts[1:], f['missing'], counts[0])
    return [psi(base, cur), None, None, float(jensenshannon(base, cur, base=2)), 0]

if __name__ == '__main__':
    d, repeats = sys.argv[1], int(sys.argv[2])
    meta = json.load(open(f'{d}/meta.json'))
    def load(f):
        categorical = f['type'] == 'categorical'
        return np.fromfile(f'{d}/{f["name"]}.' + ('i32' if categorical else 'f64'),
                           dtype=np.int32 if categorical else np.float64)
    arrays = {f['name']: load(f) for f in meta['features']}
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = {f['name']: drift(f, arrays[f['name']]) for f in meta['features']}
        times.append(time.perf_counter() - t0)
    print(json.dumps({'seconds': statistics.median(times), 'all_seconds': times,
                      'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'stats': out}))
